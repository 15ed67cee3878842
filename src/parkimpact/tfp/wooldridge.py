r"""Wooldridge (2009): both stages of the proxy approach in one estimation.

With productivity :math:`\omega_{it} = h(k_{it}, m_{it}) = c(k_{it},
m_{it})'\lambda` (a polynomial of degree ``first_stage_degree`` in state and
proxy, without constant: all monomials of total degree 1 to the degree) and a
law of motion that is linear in lagged productivity,
:math:`\omega_{it} = \rho_0 + h(k_{i,t-1}, m_{i,t-1}) + \gamma'd_{i,t-1} +
\xi_{it}`, output satisfies two equations

.. math::

    y_{it} &= \alpha_1 + w_{it}'\beta_w + c_{it}'\lambda_1
              + e_{1,it},  &\quad E[e_1 \mid w_{it}, k_{it}, m_{it}] = 0,\\
    y_{it} &= \alpha + \rho_0 + w_{it}'\beta_w + k_{it}'\beta_k
              + c_{i,t-1}'\lambda_2 + \gamma'd_{i,t-1} + e_{2,it},
              &\quad E[e_2 \mid k_{it}, w_{i,t-1}, c_{i,t-1}] = 0,

(in the first equation :math:`k'\beta_k` is absorbed by the polynomial).
Controls enter every regressor and instrument set below as :math:`k` does.
Lags are taken over calendar years: a plant-year enters only when the same
plant is observed the year before (its first year and the year after a gap
drop out of every equation).

* ``method="iv"`` (one-step IV), in one of two conventions:

  - ``convention="textbook"`` (default; R ``prodest``'s ``prodestROB``):
    two-stage least squares of the second equation alone, free inputs
    instrumented by their lags,

    .. math::

        \hat\theta = (\hat X'X)^{-1}\hat X'y, \quad
        \hat X = Z(Z'Z)^{-1}Z'X, \quad
        X = (1, w, k, c_{t-1}, d_{t-1}), \quad
        Z = (1, w_{t-1}, k, c_{t-1}, d_{t-1}).

  - ``convention="prodest"`` (R ``prodest`` 1.0.1's ``prodestWRDG``): both
    equations stacked into one pooled regression on :math:`2N` rows (every
    plant-year with a previous year enters once per equation), with *all*
    coefficients shared, including one :math:`\lambda` for :math:`c_{it}` in
    the first block and :math:`c_{i,t-1}` in the second (productivity is a
    random walk, :math:`\omega_{it} = \omega_{i,t-1} + \xi_{it}`) and one
    constant; free inputs are instrumented by their lags in both blocks,

    .. math::

        \begin{pmatrix} y \\ y \end{pmatrix} =
        \alpha + \begin{pmatrix} w & k & c_t & 0 \\
                                 w & k & c_{t-1} & d_{t-1} \end{pmatrix}
        \begin{pmatrix} \beta_w \\ \beta_k \\ \lambda \\ \gamma \end{pmatrix}
        + \begin{pmatrix} e_1 \\ e_2 \end{pmatrix}
        = \alpha + X\vartheta + e, \quad
        Z = \begin{pmatrix} w_{t-1} & k & c_t & 0 \\
                            w_{t-1} & k & c_{t-1} & d_{t-1} \end{pmatrix}.

    As in ``prodest``, the first stage projects :math:`X` on :math:`Z`
    *without* a constant, :math:`\hat X = Z\hat\Pi`,
    :math:`\hat\Pi = (Z'Z)^{-1}Z'X`, and the second stage is least squares of
    the stacked :math:`y` on :math:`(1, \hat X)`. This is not 2SLS (which
    would put the constant among the instruments) unless :math:`Z` spans the
    constant: the two differ by the mean first-stage residual, and only the
    2SLS version is consistent in general. The convention exists to
    reproduce ``prodest``. Standard errors treat it as a two-step
    estimator: with :math:`\tilde X = (1, \hat X)`,
    :math:`\hat e = y - \tilde X\hat\theta`, :math:`v = X - \hat X`,
    :math:`Q = (Z'Z)^{-1}` and :math:`\hat\theta = (\hat\alpha,
    \hat\vartheta)`, firm :math:`g`'s score is

    .. math::

        S_g = \sum_{r \in g} \Big[\tilde x_r \hat e_r
              + \begin{pmatrix} 0 \\ v_r\, z_r'Q Z'\hat e \end{pmatrix}
              - \tilde X'Z Q\, z_r\, v_r'\hat\vartheta\Big],

    (the last two terms carry the estimation error of :math:`\hat\Pi`), and
    :math:`\hat V = c\,(\tilde X'\tilde X)^{-1}(\sum_g S_g S_g')
    (\tilde X'\tilde X)^{-1}` with
    :math:`c = \frac{G}{G-1}\frac{2N-1}{2N-K}`.

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

On the Chilean plant panel distributed with ``prodest`` (value added, free
skilled and unskilled labour, state capital, proxy materials, degree 2) the
``"prodest"`` convention gives 0.2456, 0.2141, 0.1447, the 1.0.1 vignette's
0.246, 0.214, 0.145; the ``"textbook"`` one gives 0.2548, 0.2180, 0.1601.

References
----------
Wooldridge, J. M. (2009). On estimating firm-level production functions using
proxy variables to control for unobservables. *Economics Letters* 104(3),
112-114.

Rovigatti, G. (2018). prodest: Production Function Estimation, R package
version 1.0.1 (functions ``prodestWRDG`` and ``prodestROB``).
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


def _prodest_iv(
    parts: _Parts, labels: Labels
) -> tuple[np.ndarray, np.ndarray, InfluenceFunction, str]:
    """``prodest``'s stacked IV: see the module docstring (``convention="prodest"``)."""
    u = parts.usable
    k_free = len(labels.free)
    inputs = parts.shared[u, 1:]  # free, state, controls
    exogenous = inputs[:, k_free:]
    motion = parts.lag_motion[u]
    absent = np.zeros_like(motion)
    poly, lag_poly, lag_free = parts.poly[u], parts.lag_poly[u], parts.lag_free[u]
    x = np.vstack(
        [np.column_stack([inputs, poly, absent]), np.column_stack([inputs, lag_poly, motion])]
    )
    z = np.vstack(
        [
            np.column_stack([lag_free, exogenous, poly, absent]),
            np.column_stack([lag_free, exogenous, lag_poly, motion]),
        ]
    )
    y = np.concatenate([parts.y[u], parts.y[u]])
    unit = np.concatenate([parts.unit[u], parts.unit[u]])
    q = np.linalg.pinv(z.T @ z)
    x_hat = z @ (q @ (z.T @ x))
    design = np.column_stack([np.ones(len(y)), x_hat])
    gram = design.T @ design
    if np.linalg.matrix_rank(gram) < design.shape[1]:
        raise IdentificationError(
            f"the stacked Wooldridge IV needs inputs identified by the instruments; got rank "
            f"{np.linalg.matrix_rank(gram)} for {design.shape[1]} columns. Drop collinear "
            "inputs or controls, or lower first_stage_degree."
        )
    bread = np.linalg.inv(gram)
    theta = bread @ (design.T @ y)
    resid = y - design @ theta
    first_resid = x - x_hat
    # per-row scores, with the correction for the estimated first stage
    rows = design * resid[:, None]
    rows[:, 1:] += first_resid * (z @ (q @ (z.T @ resid)))[:, None]
    rows -= (z * (first_resid @ theta[1:])[:, None]) @ (design.T @ z @ q).T
    codes, firms = pd.factorize(unit)
    scores = np.zeros((firms.size, design.shape[1]))
    np.add.at(scores, codes, rows)
    n, k, g = len(y), design.shape[1], firms.size
    factor = g / (g - 1.0) * (n - 1.0) / max(n - k, 1.0) if g > 1 else np.nan
    vcov = factor * bread @ (scores.T @ scores) @ bread.T
    vcov = 0.5 * (vcov + vcov.T)
    psi = g * scores @ bread.T
    keep = list(range(1, len(parts.names)))
    names = tuple(parts.names[1:])
    influence = InfluenceFunction(psi[:, keep], theta[keep], names, unit_ids=np.asarray(firms))
    note = (
        f"prodest stacked IV on 2 x {int(u.sum())} rows with a previous year "
        "(first stage without constant)"
    )
    return theta[keep], vcov[np.ix_(keep, keep)], influence, note


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
            One-step IV, or two-step GMM on both equations.
        convention : {"textbook", "prodest"}, default "textbook"
            Form of the one-step IV (``method="iv"`` only): 2SLS of the second
            equation, or R ``prodest`` 1.0.1's ``prodestWRDG`` (both equations
            stacked with shared coefficients, first stage without constant).
        first_stage_degree : int, default 2
            Degree of the polynomial :math:`c(k, m)`.
        law_of_motion_controls : str or sequence of str, default ()
            Lagged shifters of productivity (``"in_park"``, R&D), entering the
            second equation linearly.
    """

    proxy: str
    method: Literal["iv", "gmm"] = "iv"
    convention: Literal["textbook", "prodest"] = "textbook"
    first_stage_degree: int = 2
    law_of_motion_controls: str | tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method not in ("iv", "gmm"):
            raise ValueError(
                f"method must be 'iv' or 'gmm'; got {self.method!r}. Pick one of those."
            )
        if self.convention not in ("textbook", "prodest"):
            raise ValueError(
                f"convention must be 'textbook' or 'prodest'; got {self.convention!r}. Pick one "
                "of those."
            )
        if self.convention == "prodest" and self.method != "iv":
            raise ValueError(
                f"convention 'prodest' is defined for method='iv' only; got method="
                f"{self.method!r}. Use method='iv' or convention='textbook'."
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
        if self.method == "gmm":
            solver = _gmm
        else:
            solver = _prodest_iv if self.convention == "prodest" else _iv
        coef, vcov, influence, note = solver(parts, labels)
        k_in = len(labels.free) + len(labels.state)
        params, names = coef, parts.names[1:]
        shock = parts.y - parts.shared[:, 1:] @ params
        projection = least_squares_fit(
            shock, np.column_stack([np.ones(len(shock)), parts.poly]), require_full_rank=False
        )
        return CoreFit(
            method="Wooldridge "
            + {"iv": "IV", "gmm": "GMM"}[self.method]
            + (" (prodest)" if self.convention == "prodest" else ""),
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
