"""Reference: the Chilean plant panel of R prodest 1.0.1 (Rovigatti), value added.

Source of the numbers: the R ``prodest`` 1.0.1 vignette, as recorded in
``shared/reference-data/README.md`` (2,544 rows, 497 plants, 1996-2006; ``Y``
log value added, ``fX1``/``fX2`` log skilled/unskilled labour (free), ``sX`` log
capital (state), ``pX`` log materials, ``inv`` log investment). The calls are

    prodestOP(Y, fX = cbind(fX1, fX2), sX, pX = inv, idvar, timevar)
    prodestLP(Y, fX = cbind(fX1, fX2), sX, pX = pX, idvar, timevar)
    prodestACF(Y, fX = cbind(fX1, fX2), sX, pX = pX, idvar, timevar)
    prodestWRDG(Y, fX = cbind(fX1, fX2), sX, pX = pX, idvar, timevar)
    prodestOP(..., exit = TRUE)

with prodest's defaults: stage 1 a second-degree polynomial in state and proxy
(in free inputs, state and proxy for ACF), a cubic law of motion, lags only
across consecutive years. The estimates are GMM/NLS solutions printed to three
decimals, so the tolerance is 1e-3 (STYLE.md: GMM/NLS elasticities 1e-3).

Wooldridge: ``prodestWRDG`` in 1.0.1 is the IV version (package NEWS, 1.0.1:
"changed prodestWRDG - implemented the IV version"; source R/prodestWRDG.R of
the CRAN release, https://rdrr.io/cran/prodest/src/R/prodestWRDG.R). It
stacks both Wooldridge (2009) equations on the rows where every lag exists
(lags by calendar year, ``lagPanel``): regressors ``(fX, sX, c)`` over
``(fX, sX, c_lag)`` and instruments ``(fX_lag, sX, c)`` over
``(fX_lag, sX, c_lag)``, with ``c = (sX, pX, sX*pX, sX^2, pX^2)``, so all
coefficients (including the polynomial's) are shared, and regresses the
stacked output on a constant and the regressors projected on the instruments
without a constant. ``Wooldridge(convention="prodest")`` implements that
convention; the default ``"textbook"`` one (2SLS of the second equation alone,
``prodestROB``) is recorded separately. Other variants checked on this panel
(skilled, unskilled, capital): the stacked form with the constant among the
instruments (proper 2SLS) 0.2494, 0.2170, 0.1476; the stacked form with lags
over rows instead of years 0.2372, 0.2103, 0.1532.
"""

from __future__ import annotations

import hashlib
import warnings

import pandas as pd
import pytest
from tests.conftest import reference_file

from parkimpact import FirmPanel
from parkimpact.tfp import ACF, LevinsohnPetrin, OlleyPakes, ProxyWarning, Wooldridge

pytestmark = pytest.mark.reference

SHA256 = "d405334f65240334f8c7ab76a12f5411e62ece90da569d7c29c90fbe1211b23b"
TOL = 1e-3  # three printed decimals of a GMM/NLS solution
INPUTS = {"output": "Y", "free": ("fX1", "fX2"), "state": "sX"}


@pytest.fixture(scope="module")
def panel() -> FirmPanel:
    path = reference_file("chilean_prodest.csv")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256
    data = pd.read_csv(path)
    return FirmPanel(data, unit="idvar", time="timevar")


def _fit(estimator, panel: FirmPanel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows without a lag are reported, not errors
        return estimator.fit(panel)


def _close(params: pd.Series, expected: tuple[float, ...]) -> None:
    got = params[["fX1", "fX2", "sX"]].to_numpy()
    assert got == pytest.approx(expected, abs=TOL)


def test_olley_pakes_investment_proxy(panel: FirmPanel) -> None:
    # prodest 1.0.1 vignette: OP 0.314, 0.256, 0.168
    result = _fit(OlleyPakes(**INPUTS, proxy="inv"), panel)
    _close(result.params, (0.314, 0.256, 0.168))
    assert result.n_second_stage == 1944


@pytest.mark.filterwarnings("ignore::parkimpact.errors.DroppedRowsWarning")
def test_olley_pakes_warns_that_investment_is_not_monotone(panel: FirmPanel) -> None:
    # On this panel the fitted first stage decreases in investment for most plants.
    with pytest.warns(ProxyWarning, match="proxy inv must be increasing in productivity"):
        OlleyPakes(**INPUTS, proxy="inv").fit(panel)


def test_olley_pakes_exit_correction(panel: FirmPanel) -> None:
    # prodest 1.0.1 with exit = TRUE: capital moves from 0.168 to about 0.202
    result = _fit(OlleyPakes(**INPUTS, proxy="inv", exit_correction=True), panel)
    assert result.params["sX"] == pytest.approx(0.202, abs=TOL)
    assert {"s", "omega_c*s"} <= set(result.law_of_motion.index)


def test_levinsohn_petrin_materials_proxy(panel: FirmPanel) -> None:
    # prodest 1.0.1 vignette: LP 0.199, 0.169, 0.117
    result = _fit(LevinsohnPetrin(**INPUTS, proxy="pX"), panel)
    _close(result.params, (0.199, 0.169, 0.117))


def test_acf_finds_the_global_minimum(panel: FirmPanel) -> None:
    # README: global minimum 0.646, 0.644, 0.251 with criterion about 0 (just identified)
    result = _fit(ACF(**INPUTS, proxy="pX"), panel)
    _close(result.params, (0.646, 0.644, 0.251))
    assert result.criterion < 1e-12


def test_acf_started_at_the_local_point_still_finishes_at_the_global_one(
    panel: FirmPanel,
) -> None:
    # README: local minimum at 0.152, 0.156, 0.143 with criterion about 6.5e-5
    result = _fit(ACF(**INPUTS, proxy="pX", start=(0.152, 0.156, 0.143)), panel)
    _close(result.params, (0.646, 0.644, 0.251))
    local = [s for s in result.optimizer.solutions if abs(s.params[0] - 0.152) < TOL]
    assert len(local) == 1
    assert local[0].params == pytest.approx((0.152, 0.156, 0.143), abs=TOL)
    assert local[0].criterion == pytest.approx(6.5e-5, rel=0.01)
    assert "user" in local[0].labels


def test_wooldridge_iv_materials_proxy(panel: FirmPanel) -> None:
    # README: Wooldridge one-step IV 0.246, 0.214, 0.145 (prodestWRDG, prodest 1.0.1)
    result = _fit(Wooldridge(**INPUTS, proxy="pX", convention="prodest"), panel)
    _close(result.params, (0.246, 0.214, 0.145))
    assert result.n_second_stage == 1944  # plant-years with the previous year observed
    # full precision of the reproduction, so that a change is noticed
    assert result.params[["fX1", "fX2", "sX"]].to_numpy() == pytest.approx(
        (0.245648, 0.214146, 0.144679), abs=1e-6
    )


def test_wooldridge_iv_matches_the_prodest_rob_form(panel: FirmPanel) -> None:
    # Textbook convention (2SLS of the second equation, prodestROB's form), checked
    # against linearmodels' IV2SLS in tests/tfp/test_results.py; recorded here so a
    # change is noticed.
    result = _fit(Wooldridge(**INPUTS, proxy="pX"), panel)
    assert result.params[["fX1", "fX2", "sX"]].to_numpy() == pytest.approx(
        (0.254801, 0.218014, 0.160103), abs=1e-6
    )
