r"""Wooldridge (2009): both stages of the proxy approach in one estimation.

With productivity :math:`\omega_{it} = h(k_{it}, m_{it}) = c(k_{it},
m_{it})'\lambda` (a polynomial of degree ``first_stage_degree`` in state and
proxy) and a law of motion that is linear in lagged productivity,
:math:`\omega_{it} = \rho_0 + h(k_{i,t-1}, m_{i,t-1}) + \gamma'd_{i,t-1} +
\xi_{it}`, output satisfies two equations

.. math::

    y_{it} &= \alpha_1 + w_{it}'\beta_w + c_{it}'\lambda_1
              + e_{1,it},  &\quad E[e_1 \mid w_{it}, k_{it}, m_{it}] = 0,\\
    y_{it} &= \alpha + \rho_0 + w_{it}'\beta_w + k_{it}'\beta_k
              + c_{i,t-1}'\lambda_2 + \gamma'd_{i,t-1} + e_{2,it},
              &\quad E[e_2 \mid k_{it}, w_{i,t-1}, c_{i,t-1}] = 0,

(in the first equation :math:`k'\beta_k` is absorbed by the polynomial).

* ``method="iv"`` (one-step IV, ``prodest``'s ``prodestROB`` form): two-stage
  least squares of the second equation, free inputs instrumented by their
  lags.
* ``method="gmm"``: the system of both equations by two-step efficient GMM,
  sharing :math:`\beta_w` (and the control coefficients); in the first
  equation the full polynomial :math:`c(k, m)` absorbs the state, so
  :math:`\beta_k` is identified by the second. Instruments are
  :math:`Z_1 = (1, w, c)` and :math:`Z_2 = (1, w_{t-1}, k, c_{t-1}, d_{t-1})`.
  The second step weights by the inverse of the firm-clustered covariance of
  the moments,
  :math:`S = \sum_i g_i g_i'`, and :math:`\hat V = (G'S^{-1}G)^{-1}` with
  :math:`G = Z'X`; Hansen's J is reported.

Standard errors are analytic and clustered by firm. ``tfp_with_shock`` is
:math:`y - w'\hat\beta_w - k'\hat\beta_k`; ``tfp`` is its projection on
:math:`(1, c_{it})` (the estimated :math:`h`).

References
----------
Wooldridge, J. M. (2009). On estimating firm-level production functions using
proxy variables to control for unobservables. *Economics Letters* 104(3),
112-114.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, stats

from parkimpact.errors import IdentificationError
from parkimpact.inference import InfluenceFunction
from parkimpact.tfp._base import CoreFit, Labels, block, fit_estimator
from parkimpact.tfp._polynomial import polynomial_terms
from parkimpact.tfp._settings import COMMON_PARAMETERS, ProductionSettings, document
from parkimpact.tfp._stages import lag_positions, least_squares_fit, take_lag
from parkimpact.tfp.ols import fit_linear
from parkimpact.tfp.results import GroupedProductionFunctionResult, ProductionFunctionResult

__all__ = ["Wooldridge"]


@dataclass(frozen=True)
class _Parts:
    y: np.ndarray
    shared: np.ndarray
    names: tuple[str, ...]
    poly: np.ndarray
    lag_poly: np.ndarray
    lag_free: np.ndarray
    lag_motion: np.ndarray
    usable: np.ndarray
    unit: np.ndarray


def _parts(frame: pd.DataFrame, labels: Labels, degree: int) -> _Parts:
    prev = lag_positions(frame["_unit"].to_numpy(), frame["_time"].to_numpy())
    free = block(frame, "_f", len(labels.free))
    state = block(frame, "_s", len(labels.state))
    controls = block(frame, "_c", len(labels.controls))
    columns = {name: state[:, i] for i, name in enumerate(labels.state)}
    columns[str(labels.proxy)] = frame["_m"].to_numpy(dtype=float)
    poly, _ = polynomial_terms(columns, degree)
    lag_poly = take_lag(poly, prev)
    lag_free = take_lag(free, prev)
    lag_motion = take_lag(block(frame, "_g", len(labels.motion)), prev)
    usable = (prev >= 0) & np.isfinite(np.column_stack([lag_poly, lag_free, lag_motion])).all(1)
    shared = np.column_stack([np.ones(len(frame)), free, state, controls])
    return _Parts(
        y=frame["_y"].to_numpy(dtype=float),
        shared=shared,
        names=("const", *labels.free, *labels.state, *labels.controls),
        poly=poly,
        lag_poly=lag_poly,
        lag_free=lag_free,
        lag_motion=lag_motion,
        usable=usable,
        unit=frame["_unit"].to_numpy(),
    )


def _iv(parts: _Parts, labels: Labels) -> tuple[np.ndarray, np.ndarray, InfluenceFunction, str]:
    u = parts.usable
    k_free = len(labels.free)
    x = np.column_stack([parts.shared[u], parts.lag_motion[u], parts.lag_poly[u]])
    z = x.copy()
    z[:, 1 : 1 + k_free] = parts.lag_free[u]
    names = (
        parts.names
        + tuple(f"lag {n}" for n in labels.motion)
        + tuple(f"h_lag{j}" for j in range(parts.lag_poly.shape[1]))
    )
    fit = fit_linear(parts.y[u], x, parts.unit[u], names, instruments=z)
    keep = list(range(1, len(parts.names)))
    note = f"2SLS on {int(u.sum())} rows with a previous year"
    return fit.coef[keep], fit.vcov[np.ix_(keep, keep)], fit.influence.subset(keep), note


def _system(parts: _Parts, labels: Labels) -> tuple[np.ndarray, ...]:
    """Stacked design of both equations.

    ``theta = (beta_w, beta_k, beta_c, a_1, lambda_1, a_2, gamma, lambda_2)``.
    """
    u = parts.usable
    n = int(u.sum())
    k_free, k_state = len(labels.free), len(labels.state)
    free = parts.shared[u, 1 : 1 + k_free]
    state = parts.shared[u, 1 + k_free : 1 + k_free + k_state]
    controls = parts.shared[u, 1 + k_free + k_state :]
    poly, motion, lag_poly = parts.poly[u], parts.lag_motion[u], parts.lag_poly[u]
    ones, r2 = np.ones((n, 1)), 1 + motion.shape[1] + lag_poly.shape[1]
    x1 = np.column_stack([free, np.zeros_like(state), controls, ones, poly, np.zeros((n, r2))])
    x2 = np.column_stack(
        [free, state, controls, np.zeros((n, 1 + poly.shape[1])), ones, motion, lag_poly]
    )
    z1 = np.column_stack([ones, free, controls, poly])
    z2 = np.column_stack([ones, parts.lag_free[u], state, controls, motion, lag_poly])
    keep = np.arange(k_free + k_state + controls.shape[1])
    return parts.y[u], x1, x2, z1, z2, parts.unit[u], keep


def _gmm(parts: _Parts, labels: Labels) -> tuple[np.ndarray, np.ndarray, InfluenceFunction, str]:
    y, x1, x2, z1, z2, unit, keep = _system(parts, labels)
    g_mat = np.vstack([z1.T @ x1, z2.T @ x2])
    g_y = np.concatenate([z1.T @ y, z2.T @ y])
    weight = linalg.block_diag(np.linalg.pinv(z1.T @ z1), np.linalg.pinv(z2.T @ z2))

    def solve(w: np.ndarray) -> np.ndarray:
        return np.linalg.solve(g_mat.T @ w @ g_mat, g_mat.T @ w @ g_y)

    def scores(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        moments = np.column_stack([z1 * (y - x1 @ theta)[:, None], z2 * (y - x2 @ theta)[:, None]])
        codes, uniques = pd.factorize(unit)
        sums = np.zeros((uniques.size, moments.shape[1]))
        np.add.at(sums, codes, moments)
        return sums, np.asarray(uniques)

    sums, firms = scores(solve(weight))
    s_mat = sums.T @ sums
    weight = np.linalg.pinv(s_mat)
    theta = solve(weight)
    bread = np.linalg.inv(g_mat.T @ weight @ g_mat)
    final, _ = scores(theta)
    total = final.sum(axis=0)
    j_stat = float(total @ weight @ total)
    dof = g_mat.shape[0] - g_mat.shape[1]
    psi = firms.size * final @ (bread @ g_mat.T @ weight).T
    names = tuple(parts.names[1:])
    influence = InfluenceFunction(psi[:, keep], theta[keep], names, unit_ids=firms)
    p_value = float(stats.chi2.sf(j_stat, dof)) if dof > 0 else float("nan")
    note = f"two-step GMM; Hansen J = {j_stat:.3f} (df {dof}, p = {p_value:.3f})"
    return theta[keep], bread[np.ix_(keep, keep)], influence, note


@document(COMMON_PARAMETERS)
@dataclass(frozen=True, kw_only=True)
class Wooldridge(ProductionSettings):
    r"""Wooldridge (2009) one-step estimation: IV or system GMM, analytic firm-clustered SEs.

        See :mod:`parkimpact.tfp.wooldridge` for the two equations.

        Parameters
        ----------
    {parameters}
        proxy : str
            Proxy variable (log materials).
        method : {"iv", "gmm"}, default "iv"
            One-step IV of the second equation, or two-step GMM on both.
        first_stage_degree : int, default 2
            Degree of the polynomial :math:`c(k, m)`.
        law_of_motion_controls : str or sequence of str, default ()
            Lagged shifters of productivity (``"in_park"``, R&D), entering the
            second equation linearly.
    """

    proxy: str
    method: Literal["iv", "gmm"] = "iv"
    first_stage_degree: int = 2
    law_of_motion_controls: str | tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method not in ("iv", "gmm"):
            raise ValueError(
                f"method must be 'iv' or 'gmm'; got {self.method!r}. Pick one of those."
            )
        if self.kind != "value_added":
            raise ValueError(
                f"kind must be 'value_added' for Wooldridge; got {self.kind!r}. Use GNR for "
                "gross output."
            )

    def fit(self, panel: object) -> ProductionFunctionResult | GroupedProductionFunctionResult:
        """Estimate on a :class:`~parkimpact.FirmPanel`; returns a new result."""
        return fit_estimator(self, panel)

    def _core(
        self, frame: pd.DataFrame, labels: Labels, start: np.ndarray | None, multi_start: bool
    ) -> CoreFit:
        parts = _parts(frame, labels, self.first_stage_degree)
        if parts.usable.sum() <= 2 * (parts.shared.shape[1] + parts.poly.shape[1]):
            raise IdentificationError(
                f"Wooldridge must have more rows with a previous year than parameters; got "
                f"{int(parts.usable.sum())}. Use a longer panel or a lower first_stage_degree."
            )
        solver = _iv if self.method == "iv" else _gmm
        coef, vcov, influence, note = solver(parts, labels)
        k_in = len(labels.free) + len(labels.state)
        params, names = coef, parts.names[1:]
        shock = parts.y - parts.shared[:, 1:] @ params
        projection = least_squares_fit(
            shock, np.column_stack([np.ones(len(shock)), parts.poly]), require_full_rank=False
        )
        return CoreFit(
            method="Wooldridge " + ("IV" if self.method == "iv" else "GMM"),
            params=params,
            names=names,
            elasticities=pd.Series(params[:k_in], index=list(names[:k_in]), name="elasticity"),
            omega=projection.fitted,
            omega_shock=shock,
            second_stage=parts.usable,
            vcov=vcov,
            influence=influence,
            se_type="analytic, cluster-robust (firm)",
            notes=(note,),
        )
