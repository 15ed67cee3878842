"""Firm-cluster bootstrap of the proxy estimators: reproducible, backend-free, right magnitude."""

from __future__ import annotations

import numpy as np
import pytest
from tests.tfp.conftest import acf_panel, gross_output_panel, quiet_fit

from parkimpact.tfp import ACF, GNR, LevinsohnPetrin

KW = {"output": "y", "free": "l", "state": "k", "proxy": "m"}


def test_bootstrap_is_reproducible_and_feeds_the_tidy_frame() -> None:
    panel = acf_panel(2, n_firms=300)
    first = quiet_fit(ACF(**KW, n_boot=12, seed=3), panel)
    second = quiet_fit(ACF(**KW, n_boot=12, seed=3), panel)
    assert np.array_equal(first.bootstrap.estimates, second.bootstrap.estimates)
    assert first.bootstrap.n_clusters == 300 and first.bootstrap.n_failed == 0
    assert (first.std_errors > 0).all()
    assert first.tidy()["std_error"].to_numpy() == pytest.approx(first.std_errors.to_numpy())
    assert first.vcov.to_numpy() == pytest.approx(np.cov(first.bootstrap.estimates, rowvar=False))
    assert "bootstrap, 12 draws, seed 3" in first.se_type
    other = quiet_fit(ACF(**KW, n_boot=12, seed=4), panel)
    assert not np.array_equal(first.bootstrap.estimates, other.bootstrap.estimates)


def test_bootstrap_does_not_depend_on_workers() -> None:
    panel = acf_panel(2, n_firms=200)
    serial = quiet_fit(LevinsohnPetrin(**KW, n_boot=8, seed=5), panel)
    parallel = quiet_fit(LevinsohnPetrin(**KW, n_boot=8, seed=5, n_jobs=2), panel)
    assert np.array_equal(serial.bootstrap.estimates, parallel.bootstrap.estimates)


def test_bootstrap_seed_is_recorded_when_not_given() -> None:
    result = quiet_fit(LevinsohnPetrin(**KW, n_boot=3), acf_panel(2, n_firms=100))
    again = quiet_fit(
        LevinsohnPetrin(**KW, n_boot=3, seed=result.bootstrap.seed), acf_panel(2, n_firms=100)
    )
    assert np.array_equal(result.bootstrap.estimates, again.bootstrap.estimates)


@pytest.mark.slow
def test_bootstrap_ses_have_the_monte_carlo_magnitude() -> None:
    # Reference magnitude: the SD of ACF estimates over 24 independent DGP2 panels
    # (1,000 firms x 10 years). Bootstrap SEs from one panel (99 draws) must be within
    # 30% of it: the SD of 24 draws has about 15% sampling error, 99 bootstrap draws 7%.
    estimates = np.array(
        [quiet_fit(ACF(**KW), acf_panel(2, seed=s)).params.to_numpy() for s in range(24)]
    )
    monte_carlo = estimates.std(axis=0, ddof=1)
    result = quiet_fit(ACF(**KW, n_boot=99, seed=11), acf_panel(2, seed=0))
    assert result.std_errors.to_numpy() == pytest.approx(monte_carlo, rel=0.3)


def test_gnr_bootstrap_gives_ses_for_elasticities_and_the_law_of_motion() -> None:
    estimator = GNR(
        output="y",
        free="l",
        state="k",
        proxy="m",
        share="share",
        law_of_motion_controls="d",
        n_boot=6,
        seed=2,
        n_grid=32,
    )
    result = quiet_fit(estimator, gross_output_panel())
    assert (result.std_errors > 0).all() and list(result.std_errors.index) == ["l", "k", "m"]
    assert list(result.law_of_motion_std_errors.index) == ["lag d"]
    assert 0 < result.law_of_motion_std_errors["lag d"] < 0.02
