"""Tests of the within transformation: demeaning, singletons and parameter counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkimpact.did.within import FixedEffects, demean, is_nested
from parkimpact.errors import ConvergenceError


def _unbalanced(seed: int = 7, n_units: int = 60, n_years: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n_units), n_years),
            "year": np.tile(np.arange(2000, 2000 + n_years), n_units),
        }
    )
    frame = frame[rng.random(len(frame)) > 0.25].reset_index(drop=True)
    frame["x"] = rng.normal(size=len(frame)) + 0.1 * frame["year"]
    frame["z"] = rng.gamma(2.0, size=len(frame))
    frame["w"] = rng.uniform(0.5, 2.0, size=len(frame))
    return frame


def _lsdv_residuals(
    frame: pd.DataFrame, columns: list[str], weights: np.ndarray | None
) -> np.ndarray:
    """Residuals of weighted least squares on unit and year dummies (the exact projection)."""
    dummies = pd.get_dummies(frame[["unit", "year"]].astype(str), drop_first=False).to_numpy(float)
    root = np.ones(len(frame)) if weights is None else np.sqrt(weights)
    values = frame[columns].to_numpy(float)
    coef = np.linalg.lstsq(dummies * root[:, None], values * root[:, None], rcond=None)[0]
    return values - dummies @ coef


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _unbalanced()


def test_one_fixed_effect_is_one_pass_of_group_means(frame: pd.DataFrame) -> None:
    fe = FixedEffects.from_columns(frame, ["unit"])
    result = demean(frame[["x", "z"]].to_numpy(), fe)
    expected = frame[["x", "z"]] - frame.groupby("unit")[["x", "z"]].transform("mean")
    np.testing.assert_allclose(result.values, expected.to_numpy(), rtol=0, atol=1e-12)
    assert result.iterations == (1, 1)


def test_two_fixed_effects_equal_the_dummy_regression_residuals(frame: pd.DataFrame) -> None:
    fe = FixedEffects.from_columns(frame, ["unit", "year"])
    result = demean(frame[["x", "z"]].to_numpy(), fe)
    expected = _lsdv_residuals(frame, ["x", "z"], None)
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=1e-9)
    assert all(it > 1 for it in result.iterations)


def test_weighted_demeaning_equals_weighted_dummy_regression(frame: pd.DataFrame) -> None:
    fe = FixedEffects.from_columns(frame, ["unit", "year"])
    w = frame["w"].to_numpy()
    result = fe.demean(frame[["x"]].to_numpy(), w)
    expected = _lsdv_residuals(frame, ["x"], w)
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=1e-9)


def test_balanced_panel_converges_after_one_sweep() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"unit": np.repeat(np.arange(30), 5), "year": np.tile(np.arange(5), 30)})
    fe = FixedEffects.from_columns(frame, ["unit", "year"])
    result = fe.demean(rng.normal(size=len(frame)))
    assert result.iterations == (1,)
    assert result.values.shape == (150, 1)


def test_demean_does_not_modify_its_input(frame: pd.DataFrame) -> None:
    fe = FixedEffects.from_columns(frame, ["unit", "year"])
    values = frame[["x"]].to_numpy().copy()
    before = values.copy()
    demean(values, fe)
    np.testing.assert_array_equal(values, before)


def test_no_fixed_effect_returns_a_copy() -> None:
    fe = FixedEffects((), (), ())
    values = np.arange(4.0)
    result = demean(values, fe)
    np.testing.assert_array_equal(result.values[:, 0], values)
    assert result.iterations == (0,)


def test_non_convergence_raises(frame: pd.DataFrame) -> None:
    fe = FixedEffects.from_columns(frame, ["unit", "year"])
    with pytest.raises(ConvergenceError, match="must converge within max_iter=1 sweeps"):
        fe.demean(frame[["x"]].to_numpy(), max_iter=1)


def test_singletons_are_found_iteratively() -> None:
    # unit 3 has one row and year 2003 has one row (unit 2's); dropping them leaves unit 2
    # with a single row, which is dropped in the second round.
    frame = pd.DataFrame(
        {
            "unit": [1, 1, 2, 2, 3, 4, 4],
            "year": [2000, 2001, 2001, 2003, 2002, 2000, 2001],
        }
    )
    fe = FixedEffects.from_columns(frame, ["unit", "year"])
    drop = fe.singletons()
    np.testing.assert_array_equal(drop, [False, False, True, True, True, False, False])


def test_parameter_counts_follow_fixest() -> None:
    frame = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(6), 4),
            "year": np.tile(np.arange(4), 6),
            "region": np.repeat([0, 0, 1, 1, 2, 2], 4),
        }
    )
    fe = FixedEffects.from_columns(frame, ["unit", "year"])
    assert fe.n_params() == 6 + 4 - 1
    unit_codes = pd.factorize(frame["unit"])[0]
    region_codes = pd.factorize(frame["region"])[0]
    year_codes = pd.factorize(frame["year"])[0]
    # sum(L) - (F - 1), then a nested fixed effect counts one parameter instead of L:
    # unit nested in unit or region clusters -> 9 - 6 + 1 = 4 (the year levels)
    assert fe.n_params(nested_in=unit_codes) == 4
    assert fe.n_params(nested_in=region_codes) == 4
    # year nested in year clusters -> 9 - 4 + 1 = 6 (the unit levels)
    assert fe.n_params(nested_in=year_codes) == 6
    assert FixedEffects((), (), ()).n_params() == 0


def test_is_nested() -> None:
    code = np.array([0, 0, 1, 1, 2])
    assert is_nested(code, 3, np.array([5, 5, 5, 5, 6]))
    assert not is_nested(code, 3, np.array([5, 6, 5, 5, 6]))


def test_poorly_connected_panel_converges_to_the_projection() -> None:
    # firms observed for three consecutive years only: alternating projections converge
    # slowly here; the extrapolation steps must not change the fixed point
    rng = np.random.default_rng(3)
    start = rng.integers(0, 13, size=300)
    frame = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(300), 3),
            "year": np.repeat(start, 3) + np.tile([0, 1, 2], 300),
        }
    )
    frame["x"] = rng.normal(size=len(frame)) + 0.2 * frame["year"]
    fe = FixedEffects.from_columns(frame, ["unit", "year"])
    result = fe.demean(frame[["x"]].to_numpy())
    expected = _lsdv_residuals(frame, ["x"], None)
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=1e-8)
    assert result.iterations[0] > 10
