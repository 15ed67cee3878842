"""The teaching notebooks in notebooks/: paired with their sources, committed clean, and they run.

Each notebook is a Jupytext percent-format ``NN_name.py`` paired with ``NN_name.ipynb``. The
``.ipynb`` files are committed without outputs; this module checks that they hold exactly the cells
of their ``.py`` source and executes every one of them with nbclient in a fresh ``python3`` kernel
of the interpreter running the tests, with ``notebooks/`` as working directory and the Agg backend
for matplotlib. The time budget is stated in notebooks/README.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the dev extra runs the notebooks")
jupytext = pytest.importorskip("jupytext", reason="the dev extra runs the notebooks")
nbclient = pytest.importorskip("nbclient", reason="the dev extra runs the notebooks")
pytest.importorskip("ipykernel", reason="the dev extra runs the notebooks")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
SOURCES = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
NAMES = [p.stem for p in SOURCES]

CELL_TIMEOUT = 300  # seconds per cell
BUDGET = 60  # seconds per notebook on 2 cores, as stated in notebooks/README.md
HARD_LIMIT = 3 * BUDGET  # a notebook this slow has grown beyond its budget, not just a slow runner


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_the_five_notebooks_are_paired() -> None:
    assert len(SOURCES) == 5, [p.name for p in SOURCES]
    sources = {p.stem for p in SOURCES}
    notebooks = {p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")}
    assert sources == notebooks
    for path in SOURCES:
        header = path.read_text(encoding="utf-8").split("# ---", 2)[1]
        assert "formats: ipynb,py:percent" in header, path.name


@pytest.mark.parametrize("name", NAMES)
def test_ipynb_holds_the_cells_of_its_py_source(name: str) -> None:
    committed = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    source = jupytext.read(NOTEBOOK_DIR / f"{name}.py")
    assert _cells(committed) == _cells(source), (
        f"{name}.ipynb is out of sync with {name}.py; regenerate it with "
        f"`jupytext --to ipynb notebooks/{name}.py`"
    )
    assert committed.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_committed_ipynb_has_no_outputs(name: str) -> None:
    committed = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    nbformat.validate(committed)
    for index, cell in enumerate(committed.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}.ipynb cell {index} has outputs"
            assert cell.execution_count is None, f"{name}.ipynb cell {index} has a count"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``python3`` kernel spec that starts a kernel of the interpreter running the tests."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    return root


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name: str, kernel_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the kernel inherits this environment: our kernel spec first, non-interactive plots
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_env))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{name} raised in a cell:\n{exc}")
    elapsed = time.perf_counter() - start
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}"
    print(f"{name}: {elapsed:.1f} s")
    assert elapsed < HARD_LIMIT, f"{name} took {elapsed:.0f} s; its budget is {BUDGET} s"
