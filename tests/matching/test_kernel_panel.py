"""Kernel and radius matching; PSM-DiD on a simulated firm panel."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from parkimpact import FirmPanel
from parkimpact.errors import DroppedRowsWarning
from parkimpact.matching import KernelMatch, PSMDiD, RadiusMatch, firm_ipw_weights
from parkimpact.matching.kernel import window_pairs

from .conftest import stacked_panel


def test_window_pairs_equal_brute_force():
    rng = np.random.default_rng(2)
    d = rng.random(300)
    focal = rng.random(300) < 0.3
    f, c = window_pairs(d, focal, 0.02)
    got = set(zip(f.tolist(), c.tolist(), strict=True))
    want = {
        (i, j)
        for i in np.flatnonzero(focal)
        for j in np.flatnonzero(~focal)
        if abs(d[i] - d[j]) <= 0.02
    }
    assert got == want


@pytest.mark.parametrize("kernel", ["epanechnikov", "gaussian"])
def test_kernel_matching_within_three_standard_errors(sim, kernel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        result = KernelMatch("d", "y", covariates=["x1", "x2"], kernel=kernel, bandwidth=0.02).fit(
            sim
        )
    assert abs(result.estimate - 1.5) <= 3 * result.std_error
    sums = result.matches.groupby("focal")["weight"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)


def test_radius_matching_reports_off_support(sim):
    data = sim.assign(score=np.where(sim.index < 5, 2.0, sim["x1"] * 0.1))
    data.loc[data.index < 5, "d"] = 1
    with pytest.warns(DroppedRowsWarning, match="off support"):
        result = RadiusMatch("d", "y", distance="score", bandwidth=0.01).fit(data)
    assert result.weights.iloc[:5].eq(0).all()


@pytest.fixture(scope="module")
def panel() -> FirmPanel:
    return FirmPanel(stacked_panel(), unit="firm", time="year", entry="entry", industry="industry")


def test_psm_did_recovers_effect(panel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = PSMDiD("y", covariates=["size"], replace=True).fit(panel)
    assert abs(result.att - 0.3) <= 3 * result.std_error
    tidy = result.tidy()
    pre = tidy.loc[(tidy["event_time"] < -1), "estimate"]
    assert (pre.abs() < 0.1).all()
    assert set(result.cohorts) == {2005, 2006, 2007}
    smd = result.balance().table
    assert smd.loc["size", "smd_after"] ** 2 < smd.loc["size", "smd_before"] ** 2


def test_psm_did_needs_entry_role():
    panel = FirmPanel(stacked_panel(n_firms=50), unit="firm", time="year")
    with pytest.raises(ValueError, match="panel role 'entry' must be declared for PSMDiD"):
        PSMDiD("y", covariates=["size"]).fit(panel)


def test_firm_ipw_weights_constant_within_firm(panel):
    w = firm_ipw_weights(panel, ["size"])
    data = panel.data
    assert (w.groupby(data["firm"]).nunique() == 1).all()
    treated = data["entry"].notna()
    assert (w[treated] == 1).all()
