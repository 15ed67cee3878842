r"""Benchmark production functions: pooled OLS and firm fixed effects.

.. math:: y_{it} = \beta_0 + x_{it}'\beta + [\alpha_i] + [\tau_t] + u_{it}

OLS ignores that inputs respond to productivity (Marschak and Andrews 1944:
the labour coefficient is biased up); the within estimator removes a
time-invariant productivity :math:`\alpha_i` but not its changes. They are the
usual benchmarks for the proxy estimators.

Standard errors are clustered by firm,

.. math::

    \hat V = c\,(X'X)^{-1}\Big(\sum_g S_g S_g'\Big)(X'X)^{-1}, \quad
    S_g = \sum_{t} x_{gt} \hat u_{gt}, \quad c = \frac{G}{G-1}\frac{N-1}{N-K}

(Stata's ``vce(cluster)`` factor; :math:`K` excludes absorbed firm effects).
The result also stores firm-level influence functions for aggregation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parkimpact.errors import IdentificationError
from parkimpact.inference import InfluenceFunction
from parkimpact.tfp._base import CoreFit, Labels, block, fit_estimator
from parkimpact.tfp._settings import COMMON_PARAMETERS, ProductionSettings, document
from parkimpact.tfp.results import GroupedProductionFunctionResult, ProductionFunctionResult

__all__ = ["OLS", "FixedEffects", "LinearFit", "fit_linear", "within", "year_dummies"]


@dataclass(frozen=True, eq=False)
class LinearFit:
    """Coefficients, clustered covariance and influence functions of a linear fit."""

    coef: np.ndarray
    vcov: np.ndarray
    resid: np.ndarray
    influence: InfluenceFunction
    n_clusters: int


def within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Subtract group means (columns of a 2-D array, or a 1-D array), vectorised."""
    codes, _ = pd.factorize(groups)
    counts = np.bincount(codes).astype(float)
    matrix = values.reshape(len(values), -1)
    means = (
        np.column_stack(
            [np.bincount(codes, weights=matrix[:, j]) / counts for j in range(matrix.shape[1])]
        )
        if matrix.shape[1]
        else np.empty((counts.size, 0))
    )
    return (matrix - means[codes]).reshape(values.shape)


def year_dummies(time: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Indicators of each year but the first."""
    years = np.unique(time)
    dummies = (time[:, None] == years[None, 1:]).astype(float)
    return dummies, tuple(f"year {int(y)}" for y in years[1:])


def fit_linear(
    y: np.ndarray,
    x: np.ndarray,
    clusters: np.ndarray,
    names: Sequence[str],
    *,
    instruments: np.ndarray | None = None,
    absorbed: int = 0,
) -> LinearFit:
    r"""OLS (or 2SLS with ``instruments``) with firm-clustered covariance.

    For 2SLS, :math:`\hat x = Z(Z'Z)^{-1}Z'x` replaces :math:`x` in the bread
    and scores: :math:`\hat\beta = (\hat x' x)^{-1}\hat x' y`.
    """
    x_hat = x
    if instruments is not None:
        x_hat = instruments @ np.linalg.lstsq(instruments, x, rcond=None)[0]
    gram = x_hat.T @ x
    if np.linalg.matrix_rank(gram) < x.shape[1]:
        raise IdentificationError(
            f"regressors must be linearly independent (and identified by the instruments); got "
            f"rank {np.linalg.matrix_rank(gram)} for {x.shape[1]} columns ({', '.join(names)}). "
            "Drop collinear inputs or controls."
        )
    bread = np.linalg.inv(gram)
    coef = bread @ (x_hat.T @ y)
    resid = y - x @ coef
    codes, uniques = pd.factorize(clusters)
    scores = np.zeros((uniques.size, x.shape[1]))
    np.add.at(scores, codes, x_hat * resid[:, None])
    n, k, g = len(y), x.shape[1] + absorbed, uniques.size
    factor = g / (g - 1.0) * (n - 1.0) / max(n - k, 1.0) if g > 1 else np.nan
    vcov = factor * bread @ (scores.T @ scores) @ bread.T
    psi = g * scores @ bread.T
    influence = InfluenceFunction(psi, coef, tuple(names), unit_ids=np.asarray(uniques))
    return LinearFit(coef, 0.5 * (vcov + vcov.T), resid, influence, g)


def _inputs(frame: pd.DataFrame, labels: Labels) -> tuple[np.ndarray, tuple[str, ...]]:
    parts = [block(frame, "_f", len(labels.free)), block(frame, "_s", len(labels.state))]
    names = [*labels.free, *labels.state]
    if labels.proxy is not None:
        parts.append(frame[["_m"]].to_numpy(dtype=float))
        names.append(labels.proxy)
    parts.append(block(frame, "_c", len(labels.controls)))
    names += list(labels.controls)
    return np.column_stack(parts), tuple(names)


def _linear_core(
    frame: pd.DataFrame, labels: Labels, fixed_effects: bool, time_effects: bool
) -> CoreFit:
    y = frame["_y"].to_numpy(dtype=float)
    x, names = _inputs(frame, labels)
    k_inputs = len(names) - len(labels.controls)
    design, all_names = x, names
    if time_effects:
        dummies, dummy_names = year_dummies(frame["_time"].to_numpy())
        design, all_names = np.column_stack([x, dummies]), names + dummy_names
    unit = frame["_unit"].to_numpy()
    if fixed_effects:
        fit = fit_linear(
            within(y, unit),
            within(design, unit),
            unit,
            all_names,
            absorbed=int(pd.unique(unit).size),
        )
    else:
        ones = np.ones((len(y), 1))
        fit = fit_linear(y, np.column_stack([ones, design]), unit, ("const", *all_names))
        fit = _drop_first(fit)
    k = len(names)
    coef = fit.coef[:k]
    shock = y - x @ coef
    return CoreFit(
        method="Fixed effects" if fixed_effects else "OLS",
        params=coef,
        names=names,
        elasticities=pd.Series(coef[:k_inputs], index=list(names[:k_inputs]), name="elasticity"),
        omega=shock,
        omega_shock=shock,
        second_stage=np.ones(len(y), dtype=bool),
        vcov=fit.vcov[:k, :k],
        influence=fit.influence.subset(list(range(k))),
        se_type=f"cluster-robust (firm), {fit.n_clusters} clusters",
    )


def _drop_first(fit: LinearFit) -> LinearFit:
    return LinearFit(
        fit.coef[1:],
        fit.vcov[1:, 1:],
        fit.resid,
        fit.influence.subset(list(range(1, fit.coef.size))),
        fit.n_clusters,
    )


@document(COMMON_PARAMETERS)
@dataclass(frozen=True, kw_only=True)
class OLS(ProductionSettings):
    r"""Pooled least squares of log output on log inputs, firm-clustered SEs.

        See :mod:`parkimpact.tfp.ols`. ``tfp`` is the residual plus the constant
        (there is no first stage, so it equals ``tfp_with_shock``). ``kind`` only
        labels the output; list materials among ``free`` for gross output.

        Parameters
        ----------
    {parameters}
        time_effects : bool, default False
            Add year indicators (their coefficients are not reported).
    """

    time_effects: bool = False

    def fit(self, panel: object) -> ProductionFunctionResult | GroupedProductionFunctionResult:
        """Estimate on a :class:`~parkimpact.FirmPanel`; returns a new result."""
        return fit_estimator(self, panel)

    def _core(
        self, frame: pd.DataFrame, labels: Labels, start: np.ndarray | None, multi_start: bool
    ) -> CoreFit:
        return _linear_core(frame, labels, fixed_effects=False, time_effects=self.time_effects)


@document(COMMON_PARAMETERS)
@dataclass(frozen=True, kw_only=True)
class FixedEffects(ProductionSettings):
    r"""Within-firm least squares (firm fixed effects), firm-clustered SEs.

        See :mod:`parkimpact.tfp.ols`. ``tfp`` is the firm effect plus the
        residual, :math:`y_{it} - x_{it}'\hat\beta`.

        Parameters
        ----------
    {parameters}
        time_effects : bool, default False
            Add year indicators (two-way fixed effects).
    """

    time_effects: bool = False

    def fit(self, panel: object) -> ProductionFunctionResult | GroupedProductionFunctionResult:
        """Estimate on a :class:`~parkimpact.FirmPanel`; returns a new result."""
        return fit_estimator(self, panel)

    def _core(
        self, frame: pd.DataFrame, labels: Labels, start: np.ndarray | None, multi_start: bool
    ) -> CoreFit:
        return _linear_core(frame, labels, fixed_effects=True, time_effects=self.time_effects)
