"""Description of the machine and software a benchmark ran on, read programmatically."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

PACKAGES = (
    "parkimpact",
    "diff-diff",
    "csdid",
    "pyfixest",
    "scikit-learn",
    "numpy",
    "scipy",
    "pandas",
    "joblib",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _os_name() -> str:
    try:
        fields = dict(
            line.split("=", 1)
            for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines()
            if "=" in line
        )
        name = fields.get("PRETTY_NAME", "").strip('"')
    except OSError:
        name = ""
    return f"{name} ({platform.system()} {platform.release()})" if name else platform.platform()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info

        info = threadpool_info()
    except ImportError:
        return "unknown"
    return (
        ", ".join(f"{i.get('internal_api')} ({i.get('num_threads')} threads)" for i in info)
        or "none loaded"
    )


def describe(root: Path) -> dict[str, Any]:
    """CPU, cores, memory, OS, Python, package versions and the repository's commit."""
    import numpy  # noqa: F401  (loads the BLAS that _blas reports)

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = os.cpu_count() or 0
    commit = _git(root, "rev-parse", "--short", "HEAD")
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu": _cpu_model(),
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cores": usable,
        "memory_gib": psutil.virtual_memory().total / 2**30,
        "os": _os_name(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "blas": _blas(),
        "packages": {name: _version(name) for name in PACKAGES},
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
    }
