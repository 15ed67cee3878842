"""build_panel: mapping, deflation, tenancy spells, patents, file types and bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parkimpact import build_panel
from parkimpact.data import load_mapping, read_table
from parkimpact.errors import (
    DataFormatError,
    DroppedRowsWarning,
    PanelNoteWarning,
    PanelStructureError,
)

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


@pytest.fixture()
def sources() -> dict[str, pd.DataFrame]:
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
            "p_cpi": [100.0, 100.0, 100.0, 100.0, 100.0, 100.0],
        }
    )
    return {"financials": fin, "tenancy": ten, "patents": pat, "deflators": defl}


def build(src: dict[str, pd.DataFrame], **kw: object) -> object:
    warnings.simplefilter("ignore", PanelNoteWarning)  # notes are checked on panel.notes
    return build_panel(
        src["financials"],
        src["tenancy"],
        src["patents"],
        src["deflators"],
        mapping=MAPPING,
        exits="keep_treated",
        **kw,
    )


def test_hand_computed_panel(sources: dict[str, pd.DataFrame]) -> None:
    panel = build(sources)
    d = panel.data.set_index(["firm_id", "year"])
    # real = nominal / (P/100), matched on year x industry
    assert d.loc[(1, 2000), "output"] == pytest.approx(100.0, rel=1e-14)
    assert d.loc[(1, 2002), "output"] == pytest.approx(100.0, rel=1e-14)
    assert d.loc[(2, 2001), "output"] == pytest.approx(50.0, rel=1e-14)
    # spells chain (exit 2001, next entry 2002 = exit + 1): one tenancy, still open
    assert d.loc[(1, 2000), ["entry_year", "park"]].tolist() == [2001.0, "Hsinchu"]
    assert np.isnan(d.loc[(1, 2000), "exit_year"])
    assert np.isnan(d.loc[(2, 2000), "entry_year"]) and pd.isna(d.loc[(2, 2000), "park"])
    # patents: firm 1 filed 2 in 2001 (citations 4 + 0, weighted 5 + 1) and 1 in 2002
    assert d.loc[(1, 2001), ["patents", "citations", "patents_cw"]].tolist() == [2.0, 4.0, 6.0]
    assert d.loc[(1, 2002), ["patents", "citations", "patents_cw"]].tolist() == [1.0, 2.0, 3.0]
    assert d.loc[(2, 2001), "patents"] == 0.0
    # R&D capital: 2/0.2 = 10, then 0.85*10 + 2 = 10.5
    assert d.loc[(1, 2001), "rd_capital"] == pytest.approx(10.5, rel=1e-14)
    assert d.loc[(3, 2002), "age"] == 3
    assert d.loc[(1, 2000), "log_output"] == pytest.approx(np.log(100.0), rel=1e-14)
    assert any("moved between parks" in n for n in panel.notes)


def test_accounting_adds_up(sources: dict[str, pd.DataFrame]) -> None:
    sources["tenancy"].loc[3] = [99, "Hsinchu", "2005-01-01", None]  # unknown firm
    sources["patents"].loc[4] = [14, 2, "1980-01-01", 0]  # outside firm 2's years
    with pytest.warns(
        DroppedRowsWarning, match=r"2 source row\(s\) dropped .*tenancy 1, patents 1"
    ):
        panel = build(sources)
    acc = panel.drops.accounting().set_index("source")
    assert acc["balanced"].all()
    assert acc.loc["tenancy"].tolist()[:3] == [4, 3, 1]
    reasons = panel.drops.counts()["reason"].tolist()
    assert reasons == [
        "firm not in financials",
        "no panel row for the firm in the filing year (outside its years, or that row was dropped)",
    ]


def test_text_in_numeric_column(sources: dict[str, pd.DataFrame]) -> None:
    fin = sources["financials"].astype({"sales": object})
    fin.loc[[4, 5], "sales"] = ["n/a", "1,234"]
    sources["financials"] = fin
    with pytest.raises(
        DataFormatError, match=r"column 'output' must be numeric; got text in 2 row"
    ):
        build(sources)
    with pytest.warns(DroppedRowsWarning):
        panel = build(sources, bad_values="drop")
    assert panel.drops.counts()["reason"].tolist() == ["text in numeric column output"]
    assert panel.n_obs == 7


def test_duplicate_firm_years(sources: dict[str, pd.DataFrame]) -> None:
    fin = sources["financials"]
    sources["financials"] = pd.concat([fin, fin.iloc[[2]]], ignore_index=True)
    with pytest.raises(PanelStructureError, match=r"got 2 rows sharing 1 duplicated key"):
        build(sources)
    with pytest.warns(DroppedRowsWarning):
        panel = build(sources, duplicates="drop")
    assert panel.drops.counts()["reason"].tolist() == ["repeated firm-year (kept the first)"]


def test_non_positive_before_logs(sources: dict[str, pd.DataFrame]) -> None:
    sources["financials"].loc[5, "sales"] = 0.0
    with pytest.raises(ValueError, match="output must be positive before taking logs; got 1 row"):
        build(sources)


def test_entry_after_exit(sources: dict[str, pd.DataFrame]) -> None:
    sources["tenancy"].loc[0, "out"] = "2000-01-01"
    with pytest.raises(PanelStructureError, match="entry after exit in 1 spell"):
        build(sources)


def test_mapping_names_missing_column(sources: dict[str, pd.DataFrame]) -> None:
    sources["financials"] = sources["financials"].rename(columns={"sales": "turnover"})
    with pytest.raises(DataFormatError, match=r"mapping \[financials\] output = 'sales'"):
        build(sources)


def test_unreadable_file_type(tmp_path: Path) -> None:
    path = tmp_path / "fin.json"
    path.write_text("{}")
    with pytest.raises(DataFormatError, match=r"path must end in one of .*got 'fin.json'"):
        read_table(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".dta", ".xlsx"])
def test_file_types_round_trip(
    tmp_path: Path, sources: dict[str, pd.DataFrame], suffix: str
) -> None:
    fin = sources["financials"]
    path = tmp_path / f"fin{suffix}"
    writers = {
        ".csv": lambda p: fin.to_csv(p, index=False),
        ".parquet": lambda p: fin.to_parquet(p, index=False),
        ".dta": lambda p: fin.to_stata(p, write_index=False),
        ".xlsx": lambda p: fin.to_excel(p, index=False),
    }
    if suffix in (".parquet",):
        pytest.importorskip("pyarrow", reason="Parquet needs the 'io' extra")
    if suffix == ".xlsx":
        pytest.importorskip("openpyxl", reason="Excel needs the 'io' extra")
    writers[suffix](path)
    back = read_table(path)
    pd.testing.assert_frame_equal(back.astype(fin.dtypes.to_dict()), fin, check_dtype=False)


def test_toml_mapping(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text('[files]\nfinancials = "f.csv"\n[financials]\nfirm_id = "id"\nyear = "yr"\n')
    spec = load_mapping(path)
    assert spec.path("financials") == tmp_path / "f.csv"
    assert dict(spec.financials) == {"firm_id": "id", "year": "yr"}
    bad = tmp_path / "bad.toml"
    bad.write_text("[financial]\nfirm_id = 'id'\n")
    with pytest.raises(ValueError, match="mapping sections must be among"):
        load_mapping(bad)


def test_missing_io_extra_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "fin.parquet"
    path.write_bytes(b"")
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    with pytest.raises(ImportError, match=r"needs the optional 'io' extra.*pip install 'parkimpact\[io\]'"):
        read_table(path)
