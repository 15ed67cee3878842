"""Wooldridge one-step IV in R prodest 1.0.1's convention (``convention="prodest"``).

The estimator stacks both Wooldridge (2009) equations on every plant-year with
a previous calendar year, shares all coefficients, instruments free inputs by
their lags, projects the regressors on the instruments without a constant and
regresses the stacked output on a constant and the projection. Here it is
rebuilt by hand from pandas lags, and its firm-level influence functions are
checked against the derivative of the estimator with respect to firm weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.tfp.conftest import acf_panel, quiet_fit

from parkimpact import FirmPanel
from parkimpact.tfp import Wooldridge

KW = {"output": "y", "free": "l", "state": "k", "proxy": "m"}


@pytest.fixture(scope="module")
def panel() -> FirmPanel:
    data = acf_panel(2, n_firms=300).data
    # drop some middle years so that calendar-year lags differ from row lags
    gap = (data["firm_id"] % 7 == 0) & (data["year"] == data["year"].min() + 4)
    return FirmPanel(data.loc[~gap].reset_index(drop=True), unit="firm_id", time="year")


def _stacked(data: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Stacked y, X (inputs, polynomial) and Z of the prodest convention, by hand."""
    data = data.sort_values(["firm_id", "year"]).reset_index(drop=True)
    k, m = data["k"], data["m"]
    poly = pd.DataFrame({"k": k, "m": m, "kk": k * k, "km": k * m, "mm": m * m})
    lagged = pd.concat([data[["l", "year"]], poly], axis=1).groupby(data["firm_id"]).shift(1)
    rows = (lagged["year"] == data["year"] - 1).to_numpy()
    y = data["y"].to_numpy()[rows]
    inputs = data[["l", "k"]].to_numpy()[rows]
    c_now, c_lag = poly.to_numpy()[rows], lagged[list(poly)].to_numpy()[rows]
    lag_l, k_now = lagged[["l"]].to_numpy()[rows], data[["k"]].to_numpy()[rows]
    x = np.vstack([np.column_stack([inputs, c_now]), np.column_stack([inputs, c_lag])])
    z = np.vstack([np.column_stack([lag_l, k_now, c_now]), np.column_stack([lag_l, k_now, c_lag])])
    firm = data["firm_id"].to_numpy()[rows]
    return np.concatenate([y, y]), x, z, np.concatenate([firm, firm])


def _estimate(y, x, z, weights=None) -> np.ndarray:
    """Weighted prodest stacked IV: (const, inputs, polynomial) coefficients."""
    root = np.sqrt(np.ones(len(y)) if weights is None else weights)
    pi = np.linalg.lstsq(root[:, None] * z, root[:, None] * x, rcond=None)[0]
    design = np.column_stack([np.ones(len(y)), z @ pi])
    return np.linalg.lstsq(root[:, None] * design, root * y, rcond=None)[0]


def test_prodest_convention_is_the_stacked_regression_on_the_projection(
    panel: FirmPanel,
) -> None:
    result = quiet_fit(Wooldridge(**KW, convention="prodest"), panel)
    y, x, z, _ = _stacked(panel.data)
    expected = _estimate(y, x, z)[1:3]
    assert result.params[["l", "k"]].to_numpy() == pytest.approx(expected, rel=1e-9)
    assert result.n_second_stage == len(y) // 2
    assert result.method.endswith("(prodest)")
    # a constant among the instruments (proper stacked 2SLS) gives another number
    z1 = np.column_stack([np.ones(len(y)), z])
    x1 = np.column_stack([np.ones(len(y)), x])
    tsls = np.linalg.lstsq(z1 @ np.linalg.lstsq(z1, x1, rcond=None)[0], y, rcond=None)[0]
    assert abs(tsls[1] - expected[0]) > 1e-6


def test_prodest_influence_is_the_derivative_in_firm_weights(panel: FirmPanel) -> None:
    result = quiet_fit(Wooldridge(**KW, convention="prodest"), panel)
    y, x, z, firm = _stacked(panel.data)
    influence = result.influence
    ids = pd.Index(influence.unit_ids)
    n_firms = len(ids)
    step = 1e-3  # central differences; the estimator is smooth in the weights
    for chosen in ids[[0, 5, 17, 101, n_firms - 1]]:
        up = _estimate(y, x, z, np.where(firm == chosen, 1.0 + step, 1.0))[1:3]
        down = _estimate(y, x, z, np.where(firm == chosen, 1.0 - step, 1.0))[1:3]
        derivative = (up - down) / (2 * step)
        psi = influence.values[ids.get_loc(chosen)]
        assert psi / n_firms == pytest.approx(derivative, rel=1e-5, abs=1e-9)
    # the reported covariance is the clustered sandwich of those scores
    n, k = len(y), x.shape[1] + 1
    factor = n_firms / (n_firms - 1) * (n - 1) / (n - k)
    sandwich = factor * influence.values.T @ influence.values / n_firms**2
    assert result.std_errors.to_numpy() == pytest.approx(np.sqrt(np.diag(sandwich)), rel=1e-9)


def test_prodest_convention_is_close_to_the_truth_on_a_large_panel() -> None:
    # ACF DGP2 (l = 0.6, k = 0.4): the no-constant first stage makes the stacked
    # regression differ from 2SLS, but on this design it stays near the truth
    result = quiet_fit(Wooldridge(**KW, convention="prodest"), acf_panel(2))
    assert (np.abs(result.params.to_numpy() - [0.6, 0.4]) <= 4 * result.std_errors).all()


def test_textbook_convention_is_the_default_and_unchanged(panel: FirmPanel) -> None:
    default = quiet_fit(Wooldridge(**KW), panel)
    textbook = quiet_fit(Wooldridge(**KW, convention="textbook"), panel)
    assert default.params.to_numpy() == pytest.approx(textbook.params.to_numpy(), rel=0)
    assert default.settings["convention"] == "textbook"
