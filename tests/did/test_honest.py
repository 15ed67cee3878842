"""Tests of HonestDiD: closed forms, LP equivalences, monotonicity, inputs, bad input."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from parkimpact import FirmPanel
from parkimpact.did import EventStudy
from parkimpact.did._honest_arp import dual_vertices, identified_set_rm, rm_constraints
from parkimpact.did.honest import HonestDiD, HonestDiDResult, honest_ci
from parkimpact.did.sun_abraham import SunAbraham
from parkimpact.errors import DroppedRowsWarning, ParkImpactWarning
from parkimpact.report import TIDY_COLUMNS

SEED = 20240925


def event_study_arrays(seed: int = SEED, n_pre: int = 3, n_post: int = 3) -> tuple[np.ndarray, ...]:
    """Coefficients with a mild pre-trend and an AR(1)-correlated covariance."""
    rng = np.random.default_rng(seed)
    size = n_pre + n_post
    times = np.concatenate([np.arange(-n_pre - 1, -1), np.arange(n_post)])
    lags = np.abs(times[:, None] - times[None, :])
    sigma = 0.02**2 * 0.5**lags * np.outer(1 + 0.1 * np.arange(size), 1 + 0.1 * np.arange(size))
    betahat = np.where(times < 0, 0.01 * (times + 1), 0.15 + 0.02 * times)
    betahat = betahat + rng.multivariate_normal(np.zeros(size), sigma)
    return betahat, sigma


@pytest.fixture(scope="module")
def arrays() -> tuple[np.ndarray, np.ndarray]:
    betahat, sigma = event_study_arrays()
    assert betahat.sum() == pytest.approx(0.4176240674630892, rel=1e-12)
    return betahat, sigma


# ---------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("target", [0, 1, "average_post"])
def test_smoothness_m0_one_pre_period_is_linear_extrapolation(target: int | str) -> None:
    betahat, sigma = event_study_arrays(n_pre=1, n_post=3)
    l_vec = np.full(3, 1 / 3) if target == "average_post" else np.eye(3)[int(target)]
    kappa = float(np.arange(1, 4) @ l_vec)
    weights = np.concatenate([[kappa], l_vec])  # theta = l'beta_post + kappa * beta_{-1}
    center = float(weights @ betahat)
    half = stats.norm.ppf(0.975) * float(np.sqrt(weights @ sigma @ weights))
    result = honest_ci(betahat, sigma, 1, 3, restriction="smoothness", m_values=[0], target=target)
    assert result.conf_low[0] == pytest.approx(center - half, abs=1e-10)
    assert result.conf_high[0] == pytest.approx(center + half, abs=1e-10)
    identified = result.identified_set()
    assert identified.loc[0, "id_low"] == pytest.approx(center, abs=1e-12)
    assert identified.loc[0, "id_high"] == pytest.approx(center, abs=1e-12)


def test_smoothness_one_pre_period_is_folded_normal_interval() -> None:
    """With one pre-period the estimator is fixed; the FLCI is |N(b/sd, 1)| quantile * sd."""
    betahat, sigma = event_study_arrays(n_pre=1, n_post=2)
    m = 0.03
    weights = np.array([1.0, 1.0, 0.0])  # target 0: kappa = 1, no post-period curvature
    sd = float(np.sqrt(weights @ sigma @ weights))
    half = sd * stats.foldnorm.ppf(0.95, m * 1.0 / sd)
    result = honest_ci(betahat, sigma, 1, 2, restriction="smoothness", m_values=[m], level=0.95)
    assert result.conf_high[0] - result.conf_low[0] == pytest.approx(2 * half, rel=1e-9)
    assert result.centers[0] == pytest.approx(weights @ betahat, abs=1e-12)


def test_relative_magnitudes_mbar0_zero_pretrends_is_conventional(arrays: tuple) -> None:
    betahat, sigma = arrays
    flat = betahat.copy()
    flat[:3] = 0.0
    conditional = honest_ci(
        flat, sigma, 3, 3, restriction="relative_magnitudes", m_values=[0], hybrid=False
    )
    low, high = conditional.original
    assert conditional.conf_low[0] == pytest.approx(low, abs=1e-7)
    assert conditional.conf_high[0] == pytest.approx(high, abs=1e-7)
    hybrid = honest_ci(flat, sigma, 3, 3, restriction="relative_magnitudes", m_values=[0])
    assert hybrid.method == "C-LF"
    assert hybrid.conf_low[0] == pytest.approx(low, abs=1e-3)  # simulated first-stage value
    assert hybrid.conf_high[0] == pytest.approx(high, abs=1e-3)


@pytest.mark.parametrize("restriction", ["smoothness", "relative_magnitudes"])
def test_invariant_to_rescaling_the_outcome(arrays: tuple, restriction: str) -> None:
    betahat, sigma = arrays
    m_values = [0.0, 0.01] if restriction == "smoothness" else [0.0, 1.0]
    base = honest_ci(betahat, sigma, 3, 3, restriction=restriction, m_values=m_values)
    for factor in (1e-4, 1e5):
        scaled_m = [m * factor for m in m_values] if restriction == "smoothness" else m_values
        scaled = honest_ci(
            betahat * factor, sigma * factor**2, 3, 3, restriction=restriction, m_values=scaled_m
        )
        np.testing.assert_allclose(scaled.conf_low / factor, base.conf_low, rtol=1e-7)
        np.testing.assert_allclose(scaled.conf_high / factor, base.conf_high, rtol=1e-7)


def test_original_interval(arrays: tuple) -> None:
    betahat, sigma = arrays
    result = honest_ci(betahat, sigma, 3, 3, restriction="smoothness", m_values=[0.01], level=0.9)
    half = stats.norm.ppf(0.95) * np.sqrt(sigma[3, 3])
    assert result.original == pytest.approx((betahat[3] - half, betahat[3] + half), abs=1e-14)


@pytest.mark.parametrize(
    ("restriction", "m_values"),
    [("smoothness", [0, 0.005, 0.01, 0.02, 0.05]), ("relative_magnitudes", [0, 0.5, 1, 2, 3])],
)
@pytest.mark.parametrize("target", [0, 2, "average_post"])
def test_intervals_widen_with_m(arrays: tuple, restriction: str, m_values: list, target) -> None:
    betahat, sigma = arrays
    result = honest_ci(
        betahat, sigma, 3, 3, restriction=restriction, m_values=m_values, target=target,
        grid_points=400,
    )  # fmt: skip
    assert np.all(np.diff(result.conf_low) <= 1e-9)
    assert np.all(np.diff(result.conf_high) >= -1e-9)
    original_low, original_high = result.original
    assert result.conf_low[-1] < original_low and result.conf_high[-1] > original_high


def test_relative_magnitudes_identified_set_matches_linear_programs(arrays: tuple) -> None:
    """The closed-form identified set equals the union of LP bounds over the polyhedra."""
    betahat, _ = arrays
    l_vec = np.array([0.2, 0.3, 0.5])
    point = float(l_vec @ betahat[3:])
    equality = np.hstack([np.eye(3), np.zeros((3, 3))])
    for mbar in (0.5, 1.0, 2.0):
        lows, highs = [], []
        for s in range(-2, 1):
            for sign in (1.0, -1.0):
                a_full = _rm_full_constraints(3, 3, mbar, s, sign)
                extremes = []
                for direction in (1.0, -1.0):  # min and max of l'delta_post
                    res = optimize.linprog(
                        direction * np.concatenate([np.zeros(3), l_vec]),
                        A_ub=a_full, b_ub=np.zeros(len(a_full)), A_eq=equality,
                        b_eq=betahat[:3], bounds=[(None, None)] * 6,
                    )  # fmt: skip
                    extremes.append(direction * res.fun if res.status == 0 else np.nan)
                if not np.isnan(extremes).any():
                    highs.append(point - extremes[0])
                    lows.append(point - extremes[1])
        low, high = identified_set_rm(betahat, 3, l_vec, mbar)
        assert low == pytest.approx(min(lows), abs=1e-10)
        assert high == pytest.approx(max(highs), abs=1e-10)


def _rm_full_constraints(n_pre: int, n_post: int, mbar: float, s: int, sign: float) -> np.ndarray:
    """All rows of Delta^RM_{s,sign} including the pre-period 'largest difference' rows."""
    width = n_pre + n_post + 1
    diffs = np.zeros((n_pre + n_post, width))
    rows = np.arange(n_pre + n_post)
    diffs[rows, rows], diffs[rows, rows + 1] = -1.0, 1.0
    largest = sign * diffs[n_pre + s - 1]
    bound = np.vstack([np.tile(largest, (n_pre, 1)), np.tile(mbar * largest, (n_post, 1))])
    full = np.vstack([diffs - bound, -diffs - bound])
    full = full[np.einsum("ij,ij->i", full, full) > 1e-12]
    return np.delete(full, n_pre, axis=1)


def test_dual_vertices_give_the_lp_value() -> None:
    rng = np.random.default_rng(11)
    for _ in range(5):
        m, k = 8, 3
        nuisance = rng.normal(size=(m, k))
        root = rng.normal(size=(m, m))
        sd = np.sqrt(np.diag(root @ root.T))
        y = rng.normal(size=m)
        vertices = dual_vertices(nuisance, sd)
        assert np.all(vertices >= 0)
        np.testing.assert_allclose(vertices @ sd, 1.0, atol=1e-12)
        np.testing.assert_allclose(vertices @ nuisance, 0.0, atol=1e-10)
        lp = optimize.linprog(
            np.r_[1.0, np.zeros(k)], A_ub=-np.c_[sd, nuisance], b_ub=-y,
            bounds=[(None, None)] * (k + 1),
        )  # fmt: skip
        assert (vertices @ y).max() == pytest.approx(lp.fun, abs=1e-10)


def test_rm_constraints_shape() -> None:
    matrices = rm_constraints(3, 2, 1.5)
    assert len(matrices) == 6  # three pre-period differences x two signs
    assert all(a.shape == (4, 5) for a in matrices)


# ---------------------------------------------------------------------------
# inputs: event-study results
# ---------------------------------------------------------------------------
def simulate_panel(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_firms, years = 200, np.arange(2010, 2020)
    cohort = rng.choice([2014.0, 2016.0, np.nan], size=n_firms)
    frame = pd.DataFrame(
        {"firm": np.repeat(np.arange(n_firms), len(years)), "year": np.tile(years, n_firms)}
    )
    frame["entry"] = np.repeat(cohort, len(years))
    since = (frame["year"] - frame["entry"]).to_numpy()
    effect = np.where(np.nan_to_num(since, nan=-1.0) >= 0, 0.3, 0.0)
    alpha = np.repeat(rng.normal(size=n_firms), len(years))
    frame["y"] = alpha + 0.1 * frame["year"] + effect + rng.normal(scale=0.5, size=len(frame))
    return frame


@pytest.fixture(scope="module")
def panel() -> FirmPanel:
    return FirmPanel(simulate_panel(), unit="firm", time="year", entry="entry")


def test_fit_event_study_equals_fit_arrays(panel: FirmPanel) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        es = EventStudy("y", window=(-4, 3), bin_endpoints=False).fit(panel)
    estimator = HonestDiD(restriction="relative_magnitudes", m_values=[0.5, 1.0], grid_points=200)
    result = estimator.fit(es)
    terms = [f"event_time[{e}]" for e in (-4, -3, -2, 0, 1, 2, 3)]
    direct = estimator.fit_arrays(
        es.params[terms].to_numpy(), es.vcov.loc[terms, terms].to_numpy(), 3, 4
    )
    np.testing.assert_allclose(result.conf_low, direct.conf_low, atol=1e-12)
    np.testing.assert_allclose(result.conf_high, direct.conf_high, atol=1e-12)
    assert result.event_times == (-4, -3, -2, 0, 1, 2, 3)
    assert (result.n_pre, result.n_post) == (3, 4)


def test_binned_endpoints_are_left_out(panel: FirmPanel) -> None:
    es = EventStudy("y", window=(-5, 3)).fit(panel)
    result = HonestDiD(restriction="smoothness", m_values=[0.0, 0.05]).fit(es)
    assert result.event_times == (-4, -3, -2, 0, 1, 2)
    assert any("binned endpoint" in note for note in result.notes)


def test_fit_sun_abraham_result(panel: FirmPanel) -> None:
    fitted = SunAbraham("y").fit(panel)
    result = HonestDiD(restriction="smoothness", m_values=[0.0, 0.02], target="average_post").fit(
        fitted
    )
    assert result.n_pre == int((fitted.att.index < -1).sum())
    assert result.estimate == pytest.approx(fitted.att[fitted.att.index >= 0].mean(), rel=1e-12)


def test_reference_period_must_be_minus_one(panel: FirmPanel) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        es = EventStudy("y", window=(-4, 3), reference=-2, bin_endpoints=False).fit(panel)
    with pytest.raises(ValueError, match="reference period must be -1 .* got -2"):
        HonestDiD(restriction="smoothness", m_values=[0.0]).fit(es)


def test_unsupported_input_raises() -> None:
    with pytest.raises(TypeError, match="event_study must be an EventStudyResult"):
        HonestDiD(restriction="smoothness", m_values=[0.0]).fit(object())


# ---------------------------------------------------------------------------
# result protocol
# ---------------------------------------------------------------------------
def test_tidy_summary_conf_int_plot(arrays: tuple) -> None:
    betahat, sigma = arrays
    result = honest_ci(betahat, sigma, 3, 3, restriction="relative_magnitudes", m_values=[0, 1, 2])
    assert isinstance(result, HonestDiDResult)
    tidy = result.tidy()
    assert set(TIDY_COLUMNS) <= set(tidy.columns)
    assert tidy["term"].tolist() == ["original", "Mbar=0", "Mbar=1", "Mbar=2"]
    assert tidy["method"].tolist() == ["original", "C-LF", "C-LF", "C-LF"]
    np.testing.assert_allclose(tidy["conf_low"].iloc[1:], result.conf_low)
    assert tidy.loc[0, "conf_low"] == pytest.approx(result.original[0])
    assert result.conf_int().shape == (4, 2)
    with pytest.raises(ValueError, match="level must equal the fitted level 0.95"):
        result.conf_int(0.9)
    assert "Breakdown Mbar" in result.summary()
    assert "HonestDiDResult" in repr(result)
    ax = result.plot()
    assert ax.get_xlabel() == "Mbar"
    plt.close("all")


def test_breakdown_value(arrays: tuple) -> None:
    betahat, sigma = arrays
    m_values = [0, 0.5, 1, 2, 4, 8]
    result = honest_ci(betahat, sigma, 3, 3, restriction="relative_magnitudes", m_values=m_values)
    contains = (result.conf_low <= 0) & (result.conf_high >= 0)
    expected = result.m_values[np.argmax(contains)] if contains.any() else np.nan
    assert result.breakdown_value == expected or np.isnan(expected)
    assert not contains[0] and contains[-1]


def test_seed_reproducible_and_settings_recorded(arrays: tuple) -> None:
    betahat, sigma = arrays
    first = honest_ci(betahat, sigma, 3, 3, restriction="relative_magnitudes", m_values=[1], seed=3)
    again = honest_ci(betahat, sigma, 3, 3, restriction="relative_magnitudes", m_values=[1], seed=3)
    assert first.conf_low[0] == again.conf_low[0] and first.conf_high[0] == again.conf_high[0]
    assert first.spec["settings"]["seed"] == 3


def test_open_grid_warns(arrays: tuple) -> None:
    betahat, sigma = arrays
    with pytest.warns(ParkImpactWarning, match="reaches the end of the theta grid"):
        result = honest_ci(
            betahat, sigma, 3, 3, restriction="relative_magnitudes", m_values=[1],
            grid_bounds=(0.1, 0.2),
        )  # fmt: skip
    assert result.open_ended[0]
    with pytest.warns(ParkImpactWarning, match="must contain an accepted value; got none"):
        empty = honest_ci(
            betahat, sigma, 3, 3, restriction="relative_magnitudes", m_values=[1],
            grid_bounds=(5.0, 6.0),
        )  # fmt: skip
    assert np.isnan(empty.conf_low[0]) and np.isnan(empty.breakdown_value)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_bad_settings_raise() -> None:
    with pytest.raises(ValueError, match="'restriction' parameter of HonestDiD must be one of"):
        HonestDiD(restriction="linear", m_values=[1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="m_values must be finite and non-negative; got -1"):
        HonestDiD(restriction="smoothness", m_values=[-1])
    with pytest.raises(ValueError, match="m_values must be a non-empty sequence"):
        HonestDiD(restriction="smoothness", m_values=[])
    with pytest.raises(ValueError, match="level must be strictly between 0 and 1"):
        HonestDiD(restriction="smoothness", m_values=[1], level=95)
    with pytest.raises(ValueError, match="target must be 'average_post' or a non-negative"):
        HonestDiD(restriction="smoothness", m_values=[1], target="first")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="grid_points must be an integer >= 10"):
        HonestDiD(restriction="smoothness", m_values=[1], grid_points=5)
    with pytest.raises(ValueError, match="grid_bounds must be None or a pair"):
        HonestDiD(restriction="smoothness", m_values=[1], grid_bounds=(1.0, 0.0))
    with pytest.raises(TypeError, match="refine and hybrid must be True or False"):
        HonestDiD(restriction="smoothness", m_values=[1], hybrid="yes")  # type: ignore[arg-type]


def test_bad_arrays_raise(arrays: tuple) -> None:
    betahat, sigma = arrays
    fit = HonestDiD(restriction="smoothness", m_values=[0.0]).fit_arrays
    with pytest.raises(ValueError, match="betahat must hold n_pre \\+ n_post = 6 finite"):
        fit(betahat[:5], sigma, 3, 3)
    with pytest.raises(ValueError, match="sigma must be a finite 6 x 6 matrix"):
        fit(betahat, sigma[:5, :5], 3, 3)
    with pytest.raises(ValueError, match="sigma must be symmetric"):
        fit(betahat, sigma + np.triu(np.ones((6, 6)), 1) * 1e-3, 3, 3)
    with pytest.raises(ValueError, match="sigma must be positive definite"):
        fit(betahat, np.ones((6, 6)), 3, 3)
    with pytest.raises(ValueError, match="n_pre must be an integer >= 1"):
        fit(betahat, sigma, 0, 6)
    with pytest.raises(ValueError, match="target must index one of the 3 post-entry"):
        HonestDiD(restriction="smoothness", m_values=[0.0], target=3).fit_arrays(
            betahat, sigma, 3, 3
        )
