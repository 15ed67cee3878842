"""Manifests of analysis outputs: hashes, seed, versions, thread settings and the config."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "sha256_file",
    "run_record",
    "write_manifest",
    "read_manifest",
    "compare_hashes",
    "Mismatch",
    "MANIFEST_NAME",
    "environment",
]

MANIFEST_NAME = "manifest.json"
_PACKAGES = (
    "parkimpact",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "linearmodels",
    "scikit-learn",
    "matplotlib",
    "seaborn",
)
_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def environment() -> dict[str, Any]:
    """Python, platform, package versions and thread settings of this run."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "threads": {"cpu_count": os.cpu_count(), **{v: os.environ.get(v) for v in _THREAD_VARS}},
    }


def run_record(
    *,
    config_text: str,
    config_name: str,
    project_root: Path,
    seed: int,
    inputs: Mapping[str, Path],
) -> dict[str, Any]:
    """The manifest's fields other than the output hashes: analysis, seed, config,
    project root, input hashes and the environment."""
    return {
        "analysis": config_name,
        "seed": seed,
        "config": config_text,
        "project_root": str(project_root),
        "inputs": {
            name: {"path": _shown_path(p, project_root), "sha256": sha256_file(p)}
            for name, p in sorted(inputs.items())
        },
        "environment": environment(),
    }


def write_manifest(out_dir: Path, outputs: list[Path], record: Mapping[str, Any]) -> Path:
    """Write ``manifest.json``: ``record`` (see :func:`run_record`) plus the SHA-256 of
    every output (paths relative to ``out_dir``)."""
    manifest = {
        **record,
        "outputs": {
            str(p.relative_to(out_dir).as_posix()): sha256_file(p) for p in sorted(outputs)
        },
    }
    path = out_dir / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _shown_path(path: Path, root: Path) -> str:
    """A path relative to the project, or to its parent for shared reference data."""
    for base in (root, root.parent):
        if path.resolve().is_relative_to(base.resolve()):
            return path.resolve().relative_to(base.resolve()).as_posix()
    return str(path)


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """Read the manifest of an output folder."""
    path = Path(out_dir) / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"output folder must contain {MANIFEST_NAME}; got none in {out_dir}. "
            "Point verify at a folder written by 'parkimpact run'."
        )
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Mismatch:
    """One output whose hash differs (``found`` is None when the file is missing)."""

    path: str
    expected: str | None
    found: str | None


def compare_hashes(expected: Mapping[str, str], folder: Path) -> list[Mismatch]:
    """Outputs listed in ``expected`` whose file in ``folder`` is missing or differs,
    and files in ``folder`` the manifest does not list."""
    found = {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME
    }
    problems = [
        Mismatch(k, v, found.get(k)) for k, v in sorted(expected.items()) if found.get(k) != v
    ]
    problems += [Mismatch(k, None, v) for k, v in sorted(found.items()) if k not in expected]
    return problems
