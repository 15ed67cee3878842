"""`parkimpact run / verify / simulate` on a small simulated project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parkimpact.analysis import load_config, run_analysis, verify_outputs
from parkimpact.cli import main
from parkimpact.datasets import simulate_parks

CONFIG = """
[analysis]
name = "small"
seed = 3
output = "output/small"

[data]
mapping = "data/example/mapping.toml"
bad_values = "drop"
duplicates = "drop"
exits = "keep_treated"
zeros = "drop"
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "pyproject.toml").write_text("[project]\nname = 'study'\n")
    (root / "analyses").mkdir()
    (root / "analyses" / "small.toml").write_text(CONFIG)
    simulate_parks(n_firms=150, seed=4, format_errors=0.002, duplicates=0.01).write_sources(
        root / "data" / "example"
    )
    return root


@pytest.fixture(scope="module")
def first_run(project: Path):  # type: ignore[no-untyped-def]
    return run_analysis(project / "analyses" / "small.toml", quiet=True)


def test_outputs_and_manifest(project: Path, first_run) -> None:  # type: ignore[no-untyped-def]
    out = project / "output" / "small"
    assert first_run.output_dir == out.resolve()
    manifest = json.loads((out / "manifest.json").read_text())
    expected = {
        "panel_description.txt",
        "data/row_accounting.csv",
        "data/drop_summary.csv",
        "data/dropped_rows.csv",
        "data/cohorts.csv",
        "tables/row_accounting.tex",
        "tables/row_accounting.md",
        "tables/descriptive_in_vs_out.csv",
        "tables/descriptive_in_vs_out.tex",
        "tables/descriptive_in_vs_out.md",
        "figures/entry_cohorts.png",
        # the report is built from the outputs above before the manifest is written
        "report/scorecard.html",
        "report/scorecard.md",
    }
    assert set(manifest["outputs"]) == expected
    assert manifest["seed"] == 3 and manifest["config"] == CONFIG
    assert set(manifest["inputs"]) == {"mapping", "financials", "tenancy", "patents", "deflators"}
    assert manifest["environment"]["packages"]["numpy"]
    every_file = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert every_file == expected | {"manifest.json"}  # nothing written outside the list
    accounting = (out / "data" / "row_accounting.csv").read_text()
    assert "False" not in accounting


def test_verify_passes_then_detects_tampering(project: Path, first_run) -> None:  # type: ignore[no-untyped-def]
    out = project / "output" / "small"
    assert verify_outputs(out) == []
    target = out / "data" / "cohorts.csv"
    original = target.read_bytes()
    try:
        target.write_bytes(original + b"tampered\n")
        problems = verify_outputs(out)
        assert [m.path for m in problems] == ["data/cohorts.csv"]
    finally:
        target.write_bytes(original)


def test_same_seed_same_bytes(project: Path, first_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = load_config(project / "analyses" / "small.toml")
    again = run_analysis(config, output_dir=project / "output" / "again", quiet=True)
    for a, b in zip(sorted(first_run.outputs), sorted(again.outputs), strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_refuses_to_overwrite_a_foreign_folder(project: Path) -> None:
    foreign = project / "output" / "foreign"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="must be empty or a previous run's output"):
        run_analysis(project / "analyses" / "small.toml", output_dir=foreign, quiet=True)


def test_cli_run_simulate_verify(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--out", str(tmp_path / "sim"), "--n-firms", "60", "--seed", "1"]) == 0
    assert (tmp_path / "sim" / "mapping.toml").is_file()
    assert (
        main(
            [
                "run",
                str(project / "analyses" / "small.toml"),
                "--out",
                str(project / "output" / "cli"),
                "--quiet",
            ]
        )
        == 0
    )
    assert "Drop report" in capsys.readouterr().out
    assert main(["verify", str(project / "output" / "cli")]) == 0
    (project / "output" / "cli" / "data" / "cohorts.csv").write_text("x\n")
    assert main(["verify", str(project / "output" / "cli")]) == 1
    assert "MISMATCH data/cohorts.csv" in capsys.readouterr().err


def test_run_without_config_outside_a_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="parkimpact run needs a configuration"):
        run_analysis(quiet=True)


def test_failed_run_keeps_previous_outputs(project: Path, first_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = project / "output" / "small"
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    broken = project / "analyses" / "broken.toml"
    broken.write_text(CONFIG.replace("data/example/mapping.toml", "data/example/missing.toml"))
    with pytest.raises(FileNotFoundError):
        run_analysis(broken, output_dir=out, quiet=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not out.with_name("small.partial").exists()
