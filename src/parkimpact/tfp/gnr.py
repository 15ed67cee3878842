r"""Gandhi, Navarro and Rivers (2020): gross output with a flexible input.

Proxy estimators cannot identify the elasticity of a flexible input
(materials) in a gross-output production function: conditional on the proxy
the flexible input has no independent variation. GNR use the first-order
condition of the flexible input :math:`m`. With
:math:`y_{it} = f(k_{it}, l_{it}, m_{it}) + \omega_{it} + \varepsilon_{it}`,

.. math::

    s_{it} \equiv \ln\frac{\rho_t M_{it}}{P_t Y_{it}}
          = \ln \mathcal{D}(k_{it}, l_{it}, m_{it}) - \varepsilon_{it},
    \qquad \mathcal{D} = \mathcal{E}\, \frac{\partial f}{\partial m},
    \quad \mathcal{E} = E[e^{\varepsilon}],

so the *share regression* (nonlinear least squares of :math:`s` on
:math:`\ln \mathcal{D}` with :math:`\mathcal{D}` a polynomial of degree
``first_stage_degree``) identifies the flexible-input elasticity
:math:`d_{it} = \hat{\mathcal{D}}_{it}/\hat{\mathcal{E}}` and the shock
:math:`\hat\varepsilon_{it} = \ln\hat{\mathcal{D}}_{it} - s_{it}`.
*Integration*: :math:`\int d\, dm` is computed term by term from the
polynomial, and

.. math:: \mathcal{Y}_{it} \equiv y_{it} - \hat\varepsilon_{it} - \int d(k_{it}, l_{it}, m)\,dm
          = -\mathcal{C}(k_{it}, l_{it}) + \omega_{it}.

*Second stage*: with :math:`-\mathcal{C}(k, l) = p(k, l)'\alpha` a
polynomial of degree ``production_degree`` (no constant) plus linear controls
:math:`\gamma' r`, :math:`\omega_{it}(\alpha, \gamma) = \mathcal{Y}_{it} -
p(k_{it}, l_{it})'\alpha - \gamma' r_{it}` follows
:math:`\omega_{it} = g(\omega_{i,t-1}) + \xi_{it}`, and
:math:`\alpha` solves the same concentrated GMM problem as ACF with
instruments built from current state and lagged free inputs
(:mod:`parkimpact.tfp.acf`). Output elasticities of the other inputs are
:math:`\partial \int d\,dm / \partial x + \partial (p'\alpha)/\partial x`,
averaged over the second-stage rows; ``params`` holds these mean elasticities
(and the control coefficients).

References
----------
Gandhi, A., Navarro, S. and Rivers, D. A. (2020). On the identification of
gross output production functions. *Journal of Political Economy* 128(8),
2973-3016.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np
import pandas as pd
from scipy import optimize

from parkimpact.errors import ConvergenceError, IdentificationError
from parkimpact.tfp._base import CoreFit, Labels, block, fit_estimator
from parkimpact.tfp._optimize import second_stage
from parkimpact.tfp._polynomial import motion_basis
from parkimpact.tfp._settings import COMMON_PARAMETERS, PROXY_PARAMETERS, ProxySettings, document
from parkimpact.tfp._stages import (
    ConcentratedCriterion,
    lag_positions,
    least_squares_fit,
    motion_series,
    take_lag,
)
from parkimpact.tfp.results import (
    FirstStageFit,
    GroupedProductionFunctionResult,
    ProductionFunctionResult,
)

__all__ = ["GNR"]


def _exponents(n_vars: int, degree: int, constant: bool) -> list[tuple[int, ...]]:
    """Exponent vectors of all monomials of total degree (0 or 1)..degree."""
    out = [tuple([0] * n_vars)] if constant else []
    for order in range(1, degree + 1):
        for combo in combinations_with_replacement(range(n_vars), order):
            powers = [0] * n_vars
            for index in combo:
                powers[index] += 1
            out.append(tuple(powers))
    return out


def _monomials(values: np.ndarray, exponents: list[tuple[int, ...]]) -> np.ndarray:
    """Columns :math:`\\prod_j x_j^{a_j}`, one per exponent vector."""
    return np.column_stack([np.prod(values ** np.asarray(e), axis=1) for e in exponents])


def _integral(values: np.ndarray, exponents: list[tuple[int, ...]], coef: np.ndarray) -> np.ndarray:
    """Antiderivative in the last variable of the polynomial ``coef`` (constant of 0)."""
    raised = [tuple(e[:-1]) + (e[-1] + 1,) for e in exponents]
    scale = np.array([1.0 / (e[-1] + 1) for e in exponents])
    return _monomials(values, raised) @ (coef * scale)


def _share_regression(log_share: np.ndarray, design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NLS of the log share on the log of a polynomial; returns coefficients and fitted D."""
    start = np.linalg.lstsq(design, np.exp(log_share), rcond=None)[0]

    def residuals(coef: np.ndarray) -> np.ndarray:
        level = design @ coef
        return np.where(level > 0, log_share - np.log(np.abs(level) + 1e-300), 1e3)

    def jacobian(coef: np.ndarray) -> np.ndarray:
        level = design @ coef
        return -design / np.where(level > 0, level, 1.0)[:, None]

    fit = optimize.least_squares(
        residuals,
        start,
        jac=jacobian,
        method="trf",
        ftol=1e-12,
        xtol=1e-12,
        gtol=1e-12,
        max_nfev=500,
    )
    level = design @ fit.x
    if fit.status <= 0 or (level <= 0).any():
        raise ConvergenceError(
            f"the GNR share regression must converge to a positive elasticity everywhere; got "
            f"status {fit.status} with {int((level <= 0).sum())} non-positive fitted value(s). "
            "Check the share column or lower first_stage_degree."
        )
    return fit.x, level


@dataclass(frozen=True)
class _Share:
    """The share regression and what the second stage needs from it."""

    summary: FirstStageFit
    coef: np.ndarray
    exponents: list[tuple[int, ...]]
    values: np.ndarray
    epsilon: np.ndarray
    elasticity: np.ndarray
    integral: np.ndarray


def _share_stage(frame: pd.DataFrame, labels: Labels, degree: int, column: str) -> _Share:
    share = frame["_x0"].to_numpy(dtype=float)
    if (share <= 0).any():
        raise IdentificationError(
            f"{column} must be positive; got {int((share <= 0).sum())} row(s) <= 0. Drop them "
            "before fitting."
        )
    values = np.column_stack(
        [
            block(frame, "_f", len(labels.free)),
            block(frame, "_s", len(labels.state)),
            frame["_m"].to_numpy(dtype=float),
        ]
    )
    exps = _exponents(values.shape[1], degree, constant=True)
    coef, level = _share_regression(np.log(share), _monomials(values, exps))
    epsilon = np.log(level) - np.log(share)
    scale = float(np.mean(np.exp(epsilon)))
    names = [*labels.free, *labels.state, str(labels.proxy)]
    terms = ["const"] + [
        "*".join(names[j] + (f"^{p}" if p > 1 else "") for j, p in enumerate(e) if p)
        for e in exps[1:]
    ]
    summary = FirstStageFit(
        pd.Series(coef / scale, index=terms, name="share_regression"),
        float(1 - np.var(epsilon) / np.var(np.log(share))),
        len(frame),
        float(np.std(epsilon)),
    )
    integral = _integral(values, exps, coef / scale)
    return _Share(summary, coef / scale, exps, values, epsilon, level / scale, integral)


def _slopes(function: Callable[[np.ndarray], np.ndarray], values: np.ndarray, j: int) -> np.ndarray:
    """Central-difference derivative of ``function`` in column ``j`` of ``values``."""
    step = 1e-5 * max(float(np.std(values[:, j])), 1e-8)
    up, down = values.copy(), values.copy()
    up[:, j] += step
    down[:, j] -= step
    return (function(up) - function(down)) / (2 * step)


@document(COMMON_PARAMETERS, PROXY_PARAMETERS)
@dataclass(frozen=True, kw_only=True)
class GNR(ProxySettings):
    r"""Gandhi, Navarro and Rivers (2020) gross-output production function.

        ``proxy`` names the log flexible input (materials); see
        :mod:`parkimpact.tfp.gnr` for the share regression, the integration and
        the second stage. ``first_stage_degree`` is the degree of the share
        polynomial :math:`\mathcal{D}`; ``kind`` is ignored (always gross output).

        Parameters
        ----------
    {parameters}
        share : str
            Column of the flexible input's share of revenue in levels,
            :math:`\rho_t M_{it} / (P_t Y_{it})` in *nominal* values.
        production_degree : int, default 2
            Degree of the polynomial :math:`p(k, l)`.
        translog_box : (float, float), default (-0.25, 0.25)
            Grid box of the higher-order coefficients of :math:`p`.
    """

    share: str
    production_degree: int = 2
    translog_box: tuple[float, float] = (-0.25, 0.25)

    def fit(self, panel: object) -> ProductionFunctionResult | GroupedProductionFunctionResult:
        """Estimate on a :class:`~parkimpact.FirmPanel`; returns a new result."""
        if (
            isinstance(self.production_degree, bool)
            or not isinstance(self.production_degree, int)
            or self.production_degree < 1
        ):
            raise ValueError(
                f"production_degree must be an integer of at least 1; got "
                f"{self.production_degree!r}. Pass e.g. production_degree=2."
            )
        return fit_estimator(self, panel, extra=(self.share,))

    def _core(
        self, frame: pd.DataFrame, labels: Labels, start: np.ndarray | None, multi_start: bool
    ) -> CoreFit:
        share = _share_stage(frame, labels, self.first_stage_degree, self.share)
        prev = lag_positions(frame["_unit"].to_numpy(), frame["_time"].to_numpy())
        k_free = len(labels.free)
        inputs = share.values[:, :-1]
        exps = _exponents(inputs.shape[1], self.production_degree, constant=False)
        lagged = inputs.copy()
        lagged[:, :k_free] = take_lag(inputs[:, :k_free], prev)
        controls = block(frame, "_c", len(labels.controls))
        x = np.column_stack([_monomials(inputs, exps), controls])
        z = np.column_stack([_monomials(lagged, exps), controls])
        target = frame["_y"].to_numpy(dtype=float) - share.epsilon - share.integral
        criterion, usable = self._criterion(frame, labels, prev, target, x, z)
        n_first = inputs.shape[1]
        box = [self.search_box] * n_first + [self.translog_box] * (len(exps) - n_first)
        box += [self.search_box] * len(labels.controls)
        first = least_squares_fit(
            target, np.column_stack([np.ones(len(target)), x]), require_full_rank=False
        ).coef[1:]
        outcome = second_stage(
            criterion.residuals,
            criterion.jacobian,
            first=first if start is None else start,
            user=self.start,
            box=np.array(box, dtype=float),
            n_grid=self.n_grid,
            n_polish=self.n_polish,
            max_evaluations=self.max_evaluations,
            multi_start=multi_start,
            names=tuple(f"p{j}" for j in range(x.shape[1])),
        )
        theta = outcome.params
        elasticities = self._elasticities(share, exps, theta, usable, labels)
        omega = target - x @ theta
        return CoreFit(
            method="GNR",
            params=np.concatenate([elasticities.to_numpy(), theta[len(exps) :]]),
            names=(*elasticities.index, *labels.controls),
            elasticities=elasticities,
            omega=omega,
            omega_shock=omega + share.epsilon,
            second_stage=usable,
            first_stage=share.summary,
            law_of_motion=motion_series(
                criterion.basis, criterion.motion_coefficients(theta), labels.motion
            ),
            search=outcome,
            search_names=tuple(f"p{j}" for j in range(x.shape[1])),
            notes=(
                "params are mean output elasticities; share-regression coefficients in first_stage",
            ),
        )

    def _elasticities(
        self,
        share: _Share,
        exps: list[tuple[int, ...]],
        theta: np.ndarray,
        rows: np.ndarray,
        labels: Labels,
    ) -> pd.Series:
        names = [*labels.free, *labels.state]
        production = lambda v: _monomials(v[:, :-1], exps) @ theta[: len(exps)]  # noqa: E731
        integral = lambda v: _integral(v, share.exponents, share.coef)  # noqa: E731
        out = {}
        for j, name in enumerate(names):
            slope = _slopes(integral, share.values, j) + _slopes(production, share.values, j)
            out[name] = float(np.mean(slope[rows]))
        out[str(labels.proxy)] = float(np.mean(share.elasticity[rows]))
        return pd.Series(out, name="elasticity")

    def _criterion(
        self,
        frame: pd.DataFrame,
        labels: Labels,
        prev: np.ndarray,
        target: np.ndarray,
        x: np.ndarray,
        z: np.ndarray,
    ) -> tuple[ConcentratedCriterion, np.ndarray]:
        target_lag = take_lag(target, prev)
        usable = (prev >= 0) & np.isfinite(z).all(axis=1)
        if usable.sum() <= 2 * x.shape[1] + self.law_of_motion_degree:
            raise IdentificationError(
                f"the GNR second stage must have more rows with a previous year than "
                f"parameters; got {int(usable.sum())}. Use a longer panel."
            )
        motion = block(frame, "_g", len(labels.motion))
        basis = motion_basis(
            self.law_of_motion_degree,
            exit_terms=False,
            centre=float(np.mean(target_lag[usable])),
            n_extra=len(labels.motion),
        )
        criterion = ConcentratedCriterion(
            "gmm",
            target[usable],
            target_lag[usable],
            x[usable],
            take_lag(x, prev)[usable],
            basis,
            extra=take_lag(motion, prev)[usable] if labels.motion else None,
            instruments=z[usable],
        )
        return criterion, usable
