"""build_panel(engine="duckdb"): the pandas engine's panel, drop report, notes, warnings and errors.

Every test builds the same sources with both engines and compares: the panel
frame (columns, dtypes, row order; values exact except money, to 1e-12
relative, the tolerance of deflating and summing in another order), the drop
report row for row, the accounting, the notes, the warnings (category and
text, in order) and, when the pandas engine raises, the error type and message.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parkimpact import build_panel
from parkimpact.data import DuckDBEngine, FirmPanel, PanelFile
from parkimpact.datasets import simulate_parks
from parkimpact.datasets._parks_sources import MAPPING as SIM_MAPPING

pytest.importorskip("duckdb", reason="the DuckDB engine needs the 'big' extra")
pytest.importorskip("pyarrow", reason="the DuckDB engine needs the 'big' extra")

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "example"
DROP_ALL = {"bad_values": "drop", "duplicates": "drop", "zeros": "drop"}
SMALL = DuckDBEngine(memory_limit="256MB", threads=1)


# ------------------------------------------------------------------------ helpers
def run(**kw: object) -> tuple[object, list[tuple[str, str]]]:
    """The panel (or the error) and the warnings of one build."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: object = build_panel(**kw)  # type: ignore[call-overload]
        except Exception as exc:  # noqa: BLE001 - compared with the other engine's
            result = exc
    return result, [(w.category.__name__, str(w.message)) for w in caught]


def assert_same(expected: object, got: object) -> None:
    """Same panel, drops, notes, or same error."""
    if isinstance(expected, Exception) or isinstance(got, Exception):
        assert type(got) is type(expected), (expected, got)
        assert str(got) == str(expected)
        return
    assert isinstance(expected, FirmPanel)
    if isinstance(got, PanelFile):
        assert (got.n_obs, got.n_units) == (expected.n_obs, expected.n_units)
        assert got.columns == tuple(expected.data.columns)
        got = got.to_panel()
    assert isinstance(got, FirmPanel)
    pd.testing.assert_frame_equal(got.data, expected.data, check_exact=False, rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(got.drops.to_frame(), expected.drops.to_frame())
    pd.testing.assert_frame_equal(got.drops.accounting(), expected.drops.accounting())
    assert got.notes == expected.notes
    assert got.roles == expected.roles and got.exits == expected.exits


def compare(*outputs: Path | None, **kw: object) -> object:
    """Build with both engines and compare everything.

    DuckDB builds once per entry of ``outputs``: None in memory, a path to Parquet
    (default: in memory only).
    """
    expected, warned = run(**kw)
    for output in outputs or (None,):
        got, got_warned = run(**kw, engine=SMALL, output=output)
        assert_same(expected, got)
        assert got_warned == warned
    return expected


def as_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to Parquet; object columns mixing numbers and text become text."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = [
                None
                if v is None or (isinstance(v, float) and np.isnan(v))
                else v
                if isinstance(v, str)
                else repr(v)
                for v in out[col]
            ]
    out.to_parquet(path, index=False)
    return path


# ------------------------------------------------------------------- example data
def test_example_data_from_csv(tmp_path: Path) -> None:
    panel = compare(
        None,
        tmp_path / "panel.parquet",
        mapping=EXAMPLE / "mapping.toml",
        exits="keep_treated",
        **DROP_ALL,
    )
    assert isinstance(panel, FirmPanel) and len(panel.drops) > 0


def test_example_data_errors_alike(tmp_path: Path) -> None:
    # text cells in the financials: both engines raise the same DataFormatError
    error = compare(mapping=EXAMPLE / "mapping.toml", exits="keep_treated")
    assert isinstance(error, ValueError) and "must be numeric; got text in" in str(error)


# ------------------------------------------------------- simulated messy Parquet
@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    sim = simulate_parks(n_firms=300, seed=5, missing=0.01, format_errors=0.01, duplicates=0.01)
    root = tmp_path_factory.mktemp("messy")
    names = ("financials", "tenancy", "patents", "deflators")
    return {name: as_parquet(getattr(sim, name), root / f"{name}.parquet") for name in names}


@pytest.mark.parametrize(
    "policies",
    [
        {**DROP_ALL, "exits": "keep_treated"},
        {**DROP_ALL, "exits": "censor"},
        {**DROP_ALL, "exits": "censor", "zeros": "nan", "logs": ("output", "rd_capital")},
        {"exits": "keep_treated"},
        {**DROP_ALL, "duplicates": "error", "exits": "keep_treated"},
        {**DROP_ALL, "exits": "error"},
    ],
)
def test_simulated_parquet_sources(
    messy: dict[str, Path], tmp_path: Path, policies: dict[str, object]
) -> None:
    compare(None, tmp_path / "panel.parquet", **messy, mapping=SIM_MAPPING, **policies)


def test_clean_simulation_round_trips_bit_for_bit(tmp_path: Path) -> None:
    sim = simulate_parks(n_firms=200, seed=11)
    sources = {
        n: as_parquet(getattr(sim, n), tmp_path / f"{n}.parquet")
        for n in ("financials", "tenancy", "patents", "deflators")
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = build_panel(**sources, mapping=sim.mapping, exits="keep_treated", engine=SMALL)
        theirs = build_panel(**sources, mapping=sim.mapping, exits="keep_treated")
    assert ours.data.equals(theirs.data)  # R&D capital by the same function: bit for bit
    pd.testing.assert_frame_equal(ours.data, sim.panel, check_exact=False, rtol=1e-12, atol=0)


# --------------------------------------------------------- folders, globs, hive
def test_parquet_folder_glob_and_hive_partitions(messy: dict[str, Path], tmp_path: Path) -> None:
    fin = pd.read_parquet(messy["financials"])
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, lo in enumerate(range(0, len(fin), 2000)):
        fin.iloc[lo : lo + 2000].to_parquet(parts / f"part-{i:03d}.parquet", index=False)
    hive = tmp_path / "hive"
    codes = sorted(fin["industry_code"].unique())
    for code in codes:
        (hive / f"industry_code={code}").mkdir(parents=True)
        rows = fin[fin["industry_code"] == code].drop(columns="industry_code")
        rows.to_parquet(hive / f"industry_code={code}" / "part-0.parquet", index=False)
    in_hive_order = pd.concat([fin[fin["industry_code"] == c] for c in codes], ignore_index=True)
    rest = {k: v for k, v in messy.items() if k != "financials"}
    policies = {**DROP_ALL, "exits": "keep_treated", "mapping": SIM_MAPPING}
    for source, reference in (
        (parts, fin),
        (str(parts / "part-*.parquet"), fin),
        (hive, in_hive_order),
    ):
        expected, _ = run(financials=reference, **rest, **policies)
        got, _ = run(financials=source, **rest, **policies, engine=SMALL)
        assert_same(expected, got)


# ----------------------------------------------------- hand-made in-memory sources
MAPPING = {
    "financials": {
        "firm_id": "id",
        "year": "yr",
        "industry": "ind",
        "output": "sales",
        "employment": "emp",
        "rd": "rnd",
        "founded": "born",
    },
    "tenancy": {"firm_id": "id", "park": "park", "entry_date": "in", "exit_date": "out"},
    "patents": {
        "patent_id": "pno",
        "firm_id": "id",
        "application_date": "filed",
        "forward_citations": "cites",
    },
    "deflate": {"output": "p_out", "rd": "p_cpi"},
}


def hand_sources() -> dict[str, pd.DataFrame]:
    fin = pd.DataFrame(
        {
            "id": [1, 1, 1, 2, 2, 2, 3, 3, 3],
            "yr": [2000, 2001, 2002] * 3,
            "ind": ["A", "A", "A", "B", "B", "B", "A", "A", "A"],
            "sales": [90.0, 110.0, 120.0, 45.0, 50.0, 55.0, 9.0, 10.0, 11.0],
            "emp": [10, 11, 12, 5, 5, 6, 1, 1, 2],
            "rnd": [2.0, 2.0, 2.0, 0.0, 1.0, 1.0, 0.5, 0.5, 0.5],
            "born": [1990] * 3 + [1995] * 3 + [1999] * 3,
        }
    )
    ten = pd.DataFrame(
        {
            "id": [1, 1, 3],
            "park": ["Hsinchu", "Central", "Southern"],
            "in": ["2001-03-01", "2002-01-15", "2002-07-01"],
            "out": ["2001-12-31", None, None],
        }
    )
    pat = pd.DataFrame(
        {
            "pno": [10, 11, 12, 13],
            "id": [1, 1, 1, 3],
            "filed": ["2001-02-01", "2001-06-30", "2002-01-01", "2002-05-05"],
            "cites": [4, 0, 2, 1],
        }
    )
    defl = pd.DataFrame(
        {
            "year": [2000, 2001, 2002] * 2,
            "industry": ["A"] * 3 + ["B"] * 3,
            "p_out": [90.0, 100.0, 120.0, 100.0, 100.0, 100.0],
            "p_cpi": [100.0] * 6,
        }
    )
    return {"financials": fin, "tenancy": ten, "patents": pat, "deflators": defl}


def mutate(s: dict[str, pd.DataFrame | None], case: str) -> None:
    """Spoil the hand-made sources one way (the cases of test_adapters and a few more)."""
    fin, ten, pat = s["financials"], s["tenancy"], s["patents"]
    assert fin is not None and ten is not None and pat is not None
    if case == "unknown firms":
        ten.loc[3] = [99, "Hsinchu", "2005-01-01", None]
        pat.loc[4] = [14, 2, "1980-01-01", 0]
    elif case == "text in sales":
        s["financials"] = fin = fin.astype({"sales": object})
        fin.loc[[4, 5], "sales"] = ["n/a", "1,234"]
    elif case == "duplicate firm-year":
        s["financials"] = pd.concat([fin, fin.iloc[[2]]], ignore_index=True)
    elif case == "zero sales":
        fin.loc[5, "sales"] = 0.0
    elif case == "entry after exit":
        ten.loc[0, "out"] = "2000-01-01"
    elif case == "missing mapped column":
        s["financials"] = fin.rename(columns={"sales": "turnover"})
    elif case == "negative R&D":
        fin.loc[1, "rnd"] = -1.0
    elif case == "unreadable exit dates":
        ten["out"] = ["2001-12-31", "2001/13/01", "bad"]
    elif case == "odd but valid dates":
        ten["in"] = ["2001/03/01", " 2002-01-15", "2002"]
    elif case == "text citations":
        pat["cites"] = [4, "x", None, 1]
    elif case == "fractional year":
        fin["yr"] = [2000, 2001, 2002.5] + [2000, 2001, 2002] * 2
    elif case == "missing firm id":
        fin.loc[0, "id"] = None
    elif case == "text firm ids in register":
        ten["id"] = ["1", "1", "3"]
    elif case == "no register":
        s["tenancy"] = None
    elif case == "no patents":
        s["patents"] = None


CASES = [
    "clean",
    "unknown firms",
    "text in sales",
    "duplicate firm-year",
    "zero sales",
    "entry after exit",
    "missing mapped column",
    "negative R&D",
    "unreadable exit dates",
    "odd but valid dates",
    "text citations",
    "fractional year",
    "missing firm id",
    "text firm ids in register",
    "no register",
    "no patents",
]


@pytest.mark.parametrize("policies", [{}, {**DROP_ALL, "zeros": "nan"}])
@pytest.mark.parametrize("case", CASES)
def test_in_memory_sources_alike(case: str, policies: dict[str, str], tmp_path: Path) -> None:
    sources: dict[str, pd.DataFrame | None] = dict(hand_sources())
    mutate(sources, case)
    compare(
        None,
        tmp_path / "panel.parquet",
        **sources,
        mapping=MAPPING,
        exits="keep_treated",
        **policies,
    )


@pytest.mark.parametrize("logs", [("output", "nope"), ("rd_capital", "patents", "age")])
def test_logs_of_any_panel_column(logs: tuple[str, ...], tmp_path: Path) -> None:
    compare(
        tmp_path / "p.parquet",
        **hand_sources(),
        mapping=MAPPING,
        exits="keep_treated",
        zeros="nan",
        logs=logs,
    )


# ------------------------------------------------------------------- PanelFile
def test_panel_file_reads_columns_on_demand(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = build_panel(**hand_sources(), mapping=MAPPING, exits="keep_treated")
        file = build_panel(
            **hand_sources(),
            mapping=MAPPING,
            exits="keep_treated",
            engine="duckdb",
            output=tmp_path / "out" / "panel.parquet",
        )
    assert isinstance(file, PanelFile) and file.path.is_file()
    assert not (tmp_path / "out" / "panel.parquet.partial").exists()
    sub = file.read(["firm_id", "output"])
    pd.testing.assert_frame_equal(sub, panel.data[["firm_id", "output"]])
    small = file.to_panel(["log_output"])
    roles = list(panel.roles.declared().values())
    assert set(small.data.columns) == set(roles) | {"log_output"}
    pd.testing.assert_frame_equal(small.data, panel.data[list(small.data.columns)])
    assert small.drops.accounting()["balanced"].all()
    assert "9 firm-years, 3 firms" in repr(file)
    with pytest.raises(
        ValueError, match=r"columns must be columns of the panel file; got \['nope'\]"
    ):
        file.read(["nope"])


# ------------------------------------------------------------------ arguments
def test_engine_argument_errors(tmp_path: Path) -> None:
    src = hand_sources()
    with pytest.raises(
        ValueError,
        match=r"The 'engine' parameter of build_panel must be one of \('pandas', 'duckdb'\)",
    ):
        build_panel(**src, mapping=MAPPING, engine="spark")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="output needs engine='duckdb'"):
        build_panel(**src, mapping=MAPPING, output=tmp_path / "p.parquet")
    with pytest.raises(ValueError, match="The 'zeros' parameter of log must be one of"):
        build_panel(
            **src, mapping=MAPPING, engine="duckdb", output=tmp_path / "p.parquet", zeros="skip"
        )  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="threads must be a positive integer or None; got 0"):
        DuckDBEngine(threads=0)
    with pytest.raises(ValueError, match="memory_limit must be a size such as '1GB'"):
        DuckDBEngine(memory_limit="")


def test_missing_duckdb_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(
        ImportError, match=r"needs the optional 'big' extra.*pip install 'parkimpact\[big\]'"
    ):
        build_panel(**hand_sources(), mapping=MAPPING, engine="duckdb")


def test_missing_source_file(tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match="financials must name an existing file, folder or glob"
    ):
        build_panel(tmp_path / "none" / "*.parquet", engine="duckdb")
    compare(financials=tmp_path / "none.parquet")  # the pandas engine's FileNotFoundError
    compare(financials=tmp_path / "fin.json")  # and its DataFormatError


def test_settings_duckdb_refuses() -> None:
    with pytest.raises(ValueError, match="DuckDBEngine settings must be accepted by DuckDB"):
        build_panel(**hand_sources(), mapping=MAPPING, engine=DuckDBEngine(memory_limit="lots"))


# -------------------------------------------------------- property: any mess alike
CELLS = st.one_of(
    st.floats(min_value=-5, max_value=100),
    st.just(np.nan),
    st.sampled_from(["n/a", "1,5", "", "abc", " 7", "1e3"]),
)
DATES = st.one_of(
    st.integers(1998, 2007).map(lambda y: f"{y}-03-03"),
    st.integers(1998, 2007).map(str),
    st.integers(1998, 2007).map(lambda y: f"{y}/06/30"),
    st.sampled_from(["bad date", "2001-02-30"]),
)


@st.composite
def messy_build(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(1, 30))
    fin = pd.DataFrame(
        {
            "firm_id": draw(st.lists(st.integers(1, 8), min_size=n, max_size=n)),
            "year": draw(st.lists(st.integers(2000, 2005), min_size=n, max_size=n)),
            "output": draw(st.lists(CELLS, min_size=n, max_size=n)),
            "employment": draw(st.lists(st.floats(0, 50), min_size=n, max_size=n)),
            "rd": draw(
                st.lists(st.one_of(st.floats(0, 10), st.just(np.nan)), min_size=n, max_size=n)
            ),
        }
    )
    m = draw(st.integers(0, 8))
    entry = draw(st.lists(st.integers(1995, 2008), min_size=m, max_size=m))
    length = draw(st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=m, max_size=m))
    ten = pd.DataFrame(
        {
            "firm_id": draw(st.lists(st.integers(1, 10), min_size=m, max_size=m)),
            "park": draw(
                st.lists(st.sampled_from(["Hsinchu", "Central", None]), min_size=m, max_size=m)
            ),
            "entry_date": [f"{e}-06-01" for e in entry],
            "exit_date": [
                None if k is None else f"{e + k}-06-01" for e, k in zip(entry, length, strict=True)
            ],
        }
    )
    k = draw(st.integers(0, 12))
    pat = pd.DataFrame(
        {
            "patent_id": range(k),
            "firm_id": draw(st.lists(st.integers(1, 10), min_size=k, max_size=k)),
            "application_date": draw(st.lists(DATES, min_size=k, max_size=k)),
            "forward_citations": draw(
                st.lists(st.one_of(st.integers(0, 9), st.just("x")), min_size=k, max_size=k)
            ),
        }
    )
    policies = {
        "bad_values": draw(st.sampled_from(["drop", "drop", "error"])),
        "duplicates": draw(st.sampled_from(["drop", "drop", "error"])),
        "zeros": draw(st.sampled_from(["drop", "nan", "error"])),
        "exits": draw(st.sampled_from(["censor", "keep_treated", "error"])),
    }
    return {
        "sources": {"financials": fin, "tenancy": ten, "patents": pat},
        "policies": policies,
        "logs": draw(st.sampled_from([("output",), ("output", "rd_capital")])),
        "fmt": draw(st.sampled_from(["parquet", "csv"])),
        "to_file": draw(st.booleans()),
    }


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("property")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=messy_build())
def test_engines_agree_on_messy_sources(case: dict[str, object], scratch: Path) -> None:
    root = Path(tempfile.mkdtemp(dir=scratch))
    files = {}
    for name, frame in case["sources"].items():  # type: ignore[attr-defined]
        path = root / f"{name}.{case['fmt']}"
        if case["fmt"] == "csv":
            frame.to_csv(path, index=False)
        else:
            as_parquet(frame, path)
        files[name] = path
    output = root / "panel.parquet" if case["to_file"] else None
    compare(output, **files, logs=case["logs"], **case["policies"])  # type: ignore[arg-type]
