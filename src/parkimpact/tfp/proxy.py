r"""Olley-Pakes and Levinsohn-Petrin: control-function estimators with a two-step second stage.

Both estimate a value-added production function

.. math:: y_{it} = \beta_0 + w_{it}'\beta_w + k_{it}'\beta_k + \omega_{it} + \varepsilon_{it}

in which productivity :math:`\omega` is a first-order Markov process,
:math:`\omega_{it} = g(\omega_{i,t-1}) + \xi_{it}`, and a proxy :math:`m`
(investment for Olley and Pakes, materials for Levinsohn and Petrin) is
monotone in :math:`\omega` given the state :math:`k`, so that
:math:`\omega_{it} = h(k_{it}, m_{it})`.

*First stage*: least squares of :math:`y` on :math:`w`, the controls and a
polynomial in :math:`(k, m)` (degree ``first_stage_degree``) gives
:math:`\hat\beta_w` and :math:`\hat\phi_{it} = \hat y_{it} - w_{it}'\hat\beta_w`.

*Second stage* (the R ``prodest`` 1.0.1 form): for candidate :math:`\beta_k`,
:math:`\omega_{it} = \hat\phi_{it} - k_{it}'\beta_k`; the law of motion is
concentrated out by least squares on :math:`P(\omega_{i,t-1})` (a cubic by
default), and :math:`\beta_k` minimises

.. math:: Q(\beta_k) = \sum_{it} \big(y_{it} - w_{it}'\hat\beta_w - k_{it}'\beta_k
          - \hat g(\omega_{i,t-1})\big)^2 .

Exit correction (Olley and Pakes 1996, section 4): the probability that a firm
exits after year :math:`t` is fitted by a probit on the lagged first-stage
terms and enters the law of motion (``prodest``'s ``exit = TRUE``).

References
----------
Olley, G. S. and Pakes, A. (1996). The dynamics of productivity in the
telecommunications equipment industry. *Econometrica* 64(6), 1263-1297.

Levinsohn, J. and Petrin, A. (2003). Estimating production functions using
inputs to control for unobservables. *Review of Economic Studies* 70(2),
317-341.

Rovigatti, G. and Mollisi, V. (2018). Theory and practice of total-factor
productivity estimation: the control function approach using Stata. *Stata
Journal* 18(3), 618-662 (and the R package ``prodest``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from parkimpact.errors import IdentificationError
from parkimpact.tfp._base import CoreFit, Labels, block, fit_estimator
from parkimpact.tfp._optimize import second_stage
from parkimpact.tfp._polynomial import motion_basis, polynomial_terms
from parkimpact.tfp._settings import COMMON_PARAMETERS, PROXY_PARAMETERS, ProxySettings, document
from parkimpact.tfp._stages import (
    ConcentratedCriterion,
    check_monotone,
    lag_positions,
    least_squares_fit,
    motion_series,
    survival_probability,
    take_lag,
)
from parkimpact.tfp.results import (
    FirstStageFit,
    GroupedProductionFunctionResult,
    ProductionFunctionResult,
)

__all__ = ["OlleyPakes", "LevinsohnPetrin"]


def _first_stage(
    frame: pd.DataFrame, labels: Labels, degree: int, check: bool
) -> tuple[FirstStageFit, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First stage; returns the fit, coefficients, phi (net of free inputs), poly and resid."""
    n = len(frame)
    free = block(frame, "_f", len(labels.free))
    controls = block(frame, "_c", len(labels.controls))
    state = block(frame, "_s", len(labels.state))
    columns = {name: state[:, i] for i, name in enumerate(labels.state)}
    columns[str(labels.proxy)] = frame["_m"].to_numpy(dtype=float)
    poly, poly_names = polynomial_terms(columns, degree)
    design = np.column_stack([np.ones(n), free, controls, poly])
    fit = least_squares_fit(frame["_y"].to_numpy(dtype=float), design, require_full_rank=True)
    k_free, k_control = len(labels.free), len(labels.controls)
    net = free @ fit.coef[1 : 1 + k_free] + controls @ fit.coef[1 + k_free : 1 + k_free + k_control]
    if check:
        check_monotone(columns, str(labels.proxy), degree, fit.coef[1 + k_free + k_control :])
    names = ["const", *labels.free, *labels.controls, *poly_names]
    summary = FirstStageFit(
        coef=pd.Series(fit.coef, index=names, name="first_stage"),
        r_squared=fit.r_squared,
        n_obs=n,
        resid_sd=float(np.std(fit.resid, ddof=design.shape[1])),
    )
    return summary, fit.coef, fit.fitted - net, poly, fit.resid


def _criterion(
    est: ProxySettings,
    frame: pd.DataFrame,
    labels: Labels,
    phi: np.ndarray,
    poly: np.ndarray,
    resid: np.ndarray,
) -> tuple[ConcentratedCriterion, np.ndarray]:
    prev = lag_positions(frame["_unit"].to_numpy(), frame["_time"].to_numpy())
    survival = None
    usable = prev >= 0
    if labels.exit:
        survival = survival_probability(frame["_exit"].to_numpy(), take_lag(poly, prev))
        usable &= np.isfinite(survival)
    state = block(frame, "_s", len(labels.state))
    motion = block(frame, "_g", len(labels.motion))
    phi_lag = take_lag(phi, prev)
    n_basis = est.law_of_motion_degree + 1 + (6 if labels.exit else 0) + len(labels.motion)
    if usable.sum() <= n_basis + len(labels.state):
        raise IdentificationError(
            f"the second stage must have more rows with a previous year than parameters "
            f"({n_basis + len(labels.state)}); got {int(usable.sum())}. Use a longer panel or "
            "fewer law-of-motion terms."
        )
    basis = motion_basis(
        est.law_of_motion_degree,
        exit_terms=labels.exit,
        centre=float(np.mean(phi_lag[usable])),
        n_extra=len(labels.motion),
    )
    criterion = ConcentratedCriterion(
        "nls",
        phi[usable],
        phi_lag[usable],
        state[usable],
        take_lag(state, prev)[usable],
        basis,
        survival=None if survival is None else survival[usable],
        extra=take_lag(motion, prev)[usable] if labels.motion else None,
        first_stage_resid=resid[usable],
    )
    return criterion, usable


def oplp_core(
    est: ProxySettings,
    method: str,
    frame: pd.DataFrame,
    labels: Labels,
    start: np.ndarray | None,
    multi_start: bool,
) -> CoreFit:
    """Both stages of Olley-Pakes / Levinsohn-Petrin on a canonical frame."""
    summary, coef, phi, poly, resid = _first_stage(
        frame, labels, est.first_stage_degree, multi_start
    )
    criterion, usable = _criterion(est, frame, labels, phi, poly, resid)
    k_free, k_control, k_state = len(labels.free), len(labels.controls), len(labels.state)
    offset = 1 + k_free + k_control
    first = coef[offset : offset + k_state] if start is None else start
    outcome = second_stage(
        criterion.residuals,
        criterion.jacobian,
        first=first,
        user=est.start,
        box=np.array([est.search_box] * k_state, dtype=float),
        n_grid=est.n_grid,
        n_polish=est.n_polish,
        max_evaluations=est.max_evaluations,
        multi_start=multi_start,
        names=labels.state,
    )
    theta = outcome.params
    state = block(frame, "_s", k_state)
    params = np.concatenate([coef[1 : 1 + k_free], theta, coef[1 + k_free : offset]])
    names = (*labels.free, *labels.state, *labels.controls)
    omega = phi - state @ theta
    return CoreFit(
        method=method,
        params=params,
        names=names,
        elasticities=pd.Series(
            params[: k_free + k_state], index=list(names[: k_free + k_state]), name="elasticity"
        ),
        omega=omega,
        omega_shock=omega + resid,
        second_stage=usable,
        first_stage=summary,
        law_of_motion=motion_series(
            criterion.basis, criterion.motion_coefficients(theta), labels.motion
        ),
        search=outcome,
        search_names=labels.state,
    )


@document(COMMON_PARAMETERS, PROXY_PARAMETERS)
@dataclass(frozen=True, kw_only=True)
class OlleyPakes(ProxySettings):
    r"""Olley and Pakes (1996) with investment as the proxy.

        See :mod:`parkimpact.tfp.proxy` for the model and the two stages. Rows with
        zero (non-positive, or log of zero) investment cannot be inverted and are
        dropped and reported before estimation.

        Parameters
        ----------
    {parameters}
        exit_correction : bool, default False
            Add the fitted exit probability to the law of motion (``prodest``
            convention: a firm exits after its last observed year when that is
            before the panel's last year).

        Examples
        --------
        >>> from parkimpact.tfp import OlleyPakes
        >>> estimator = OlleyPakes(output="Y", free=("fX1", "fX2"), state="sX", proxy="inv")
        >>> estimator.law_of_motion_degree
        3
    """

    exit_correction: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_value_added()

    def fit(self, panel: object) -> ProductionFunctionResult | GroupedProductionFunctionResult:
        """Estimate on a :class:`~parkimpact.FirmPanel`; returns a new result."""
        return fit_estimator(self, panel, zero_proxy=True)

    def _core(
        self, frame: pd.DataFrame, labels: Labels, start: np.ndarray | None, multi_start: bool
    ) -> CoreFit:
        return oplp_core(self, "Olley-Pakes", frame, labels, start, multi_start)


@document(COMMON_PARAMETERS, PROXY_PARAMETERS)
@dataclass(frozen=True, kw_only=True)
class LevinsohnPetrin(ProxySettings):
    r"""Levinsohn and Petrin (2003) with an intermediate input (materials) as the proxy.

        See :mod:`parkimpact.tfp.proxy` for the model and the two stages. The
        first stage identifies the free-input coefficients only if labour varies
        independently of :math:`(k, m)`; when labour is a deterministic function of
        them (Ackerberg, Caves and Frazer's functional dependence, e.g. their
        DGP1) the labour coefficient collapses. Use :class:`~parkimpact.tfp.ACF`.

        Parameters
        ----------
    {parameters}
        exit_correction : bool, default False
            As in :class:`OlleyPakes`.
    """

    exit_correction: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_value_added()

    def fit(self, panel: object) -> ProductionFunctionResult | GroupedProductionFunctionResult:
        """Estimate on a :class:`~parkimpact.FirmPanel`; returns a new result."""
        return fit_estimator(self, panel)

    def _core(
        self, frame: pd.DataFrame, labels: Labels, start: np.ndarray | None, multi_start: bool
    ) -> CoreFit:
        return oplp_core(self, "Levinsohn-Petrin", frame, labels, start, multi_start)
