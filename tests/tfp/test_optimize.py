"""The multi-start search: every local minimum, ties, convergence failures."""

from __future__ import annotations

import numpy as np
import pytest

from parkimpact.errors import ConvergenceError, IdentificationError
from parkimpact.tfp import MultipleOptimaWarning
from parkimpact.tfp._optimize import grid_points, search


def _two_minima(theta: np.ndarray) -> np.ndarray:
    # Q = (t^2 - 1)^2 + 0.09 (t - 1)^2: global minimum at 1, local minimum near -1
    t = theta[0]
    return np.array([t * t - 1.0, 0.3 * (t - 1.0)])


def _two_minima_jac(theta: np.ndarray) -> np.ndarray:
    return np.array([[2.0 * theta[0]], [0.3]])


def test_search_reports_every_local_minimum_best_first() -> None:
    outcome = search(
        _two_minima,
        _two_minima_jac,
        starts=[("first stage", np.array([-1.2]))],
        box=np.array([[-2.0, 2.0]]),
        n_grid=21,
        n_polish=6,
        max_evaluations=200,
    )
    assert outcome.params == pytest.approx([1.0], abs=1e-8)
    assert len(outcome.solutions) == 2
    local = outcome.solutions[1]
    assert local.params[0] < -0.9 and local.criterion > 0.3
    assert "first stage" in local.labels
    assert not outcome.tie


def test_equal_minima_warn_and_report_the_widest_basin() -> None:
    def residuals(theta: np.ndarray) -> np.ndarray:
        return np.array([theta[0] ** 2 - 1.0])

    def jacobian(theta: np.ndarray) -> np.ndarray:
        return np.array([[2.0 * theta[0]]])

    with pytest.warns(MultipleOptimaWarning, match="two distinct local minima"):
        outcome = search(
            residuals,
            jacobian,
            starts=[],
            box=np.array([[-1.5, 3.0]]),
            n_grid=10,
            n_polish=10,
            max_evaluations=200,
        )
    assert outcome.tie
    assert outcome.params == pytest.approx([1.0])  # more grid points lie in its basin
    assert outcome.solutions[0].n_starts > outcome.solutions[1].n_starts


def test_no_convergence_raises_with_the_criterion_path() -> None:
    def rosenbrock(theta: np.ndarray) -> np.ndarray:
        return np.array([10 * (theta[1] - theta[0] ** 2), 1 - theta[0]])

    def jacobian(theta: np.ndarray) -> np.ndarray:
        return np.array([[-20 * theta[0], 10.0], [-1.0, 0.0]])

    with pytest.raises(ConvergenceError, match="must reach a local minimum") as info:
        search(
            rosenbrock,
            jacobian,
            starts=[("user", np.array([-1.2, 1.0]))],
            box=None,
            n_grid=0,
            n_polish=0,
            max_evaluations=2,
        )
    path = info.value.criterion_path
    assert len(path) >= 1 and path[0] == pytest.approx(24.2)


def test_a_criterion_that_cannot_be_evaluated_is_an_identification_error() -> None:
    def broken(theta: np.ndarray) -> np.ndarray:
        raise IdentificationError("the law-of-motion basis must have full rank; got singular.")

    with pytest.raises(IdentificationError, match="cannot be evaluated: the law-of-motion"):
        search(
            broken,
            broken,
            starts=[("s", np.zeros(1))],
            box=None,
            n_grid=0,
            n_polish=0,
            max_evaluations=5,
        )


def test_grid_is_a_product_grid_in_low_dimension_and_sobol_beyond() -> None:
    box = np.array([[0.0, 1.0], [0.0, 2.0]])
    grid = grid_points(box, 16)
    assert grid.shape == (16, 2) and grid[:, 1].max() == 2.0
    wide = grid_points(np.array([[0.0, 1.0]] * 6), 64)
    assert wide.shape == (64, 6)
    assert (wide >= 0).all() and (wide <= 1).all()
    assert np.array_equal(wide, grid_points(np.array([[0.0, 1.0]] * 6), 64))
