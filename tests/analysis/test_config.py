"""Analysis configurations: validation and path confinement."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from parkimpact.analysis import load_config
from parkimpact.analysis.manifest import compare_hashes, sha256_file
from parkimpact.analysis.progress import Progress

GOOD = """
[analysis]
name = "t"
seed = 7
[data]
mapping = "data/map.toml"
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    (tmp_path / "analyses").mkdir()
    return tmp_path


def test_paths_resolve_inside_project(project: Path) -> None:
    path = project / "analyses" / "a.toml"
    path.write_text(GOOD)
    cfg = load_config(path)
    assert cfg.root == project.resolve() and cfg.seed == 7 and cfg.name == "t"
    assert cfg.resolve("data/map.toml") == project.resolve() / "data" / "map.toml"
    assert cfg.output_dir() == project.resolve() / "output" / "t"
    with pytest.raises(ValueError, match="must stay inside the project"):
        cfg.resolve("../elsewhere.csv")
    with pytest.raises(ValueError, match="must stay inside the project"):
        cfg.resolve("/etc/passwd")


def test_bad_configs(project: Path) -> None:
    path = project / "analyses" / "b.toml"
    path.write_text(GOOD + "\n[estimate]\nx = 1\n")
    with pytest.raises(ValueError, match=r"'study' analysis must be among .*got \['estimate'\]"):
        load_config(path)
    path.write_text(GOOD.replace('seed = 7', 'seed = 7\nkind = "forecast"'))
    with pytest.raises(ValueError, match=r"kind must be one of .*got 'forecast'"):
        load_config(path)
    path.write_text(GOOD.replace("seed = 7", "sed = 7"))
    with pytest.raises(ValueError, match=r"\[analysis\] keys must be among .*got \['sed'\]"):
        load_config(path)
    path.write_text("[analysis]\nname='x'\n[data]\nexits='censor'\n")
    with pytest.raises(ValueError, match=r"\[data\] must name the column mapping"):
        load_config(path)
    with pytest.raises(FileNotFoundError, match="must be an existing .toml file"):
        load_config(project / "missing.toml")


def test_compare_hashes_finds_changed_missing_and_extra(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "b.txt").write_text("b\n")
    expected = {"a.txt": sha256_file(tmp_path / "a.txt"), "b.txt": "0" * 64, "c.txt": "1" * 64}
    (tmp_path / "d.txt").write_text("d\n")
    problems = {m.path: m for m in compare_hashes(expected, tmp_path)}
    assert set(problems) == {"b.txt", "c.txt", "d.txt"}
    assert problems["c.txt"].found is None and problems["d.txt"].expected is None


def test_progress_logs_lines_off_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(2, stream=stream)
    progress.step("first")
    progress.tick("inner", 0.5)  # within the interval: not logged
    progress.step("second")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[parkimpact] step 1/2: first")
    assert lines[1].startswith("[parkimpact] step 2/2: second")
    assert lines[2].startswith("[parkimpact] finished in")
    quiet = io.StringIO()
    Progress(1, stream=quiet, quiet=True).step("x")
    assert quiet.getvalue() == ""
