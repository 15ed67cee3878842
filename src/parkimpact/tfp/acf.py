r"""Ackerberg, Caves and Frazer (2015): the proxy estimator robust to functional dependence.

The production function (Cobb-Douglas or translog, value added or gross
output)

.. math:: y_{it} = f(x_{it}; \beta) + \omega_{it} + \varepsilon_{it}

is estimated in two stages. The first stage does *not* identify any input
coefficient: least squares of :math:`y` on a polynomial in all inputs, the
proxy and the controls gives :math:`\hat\phi_{it} = f(x_{it}; \beta) +
\omega_{it}`. In the second stage productivity is
:math:`\omega_{it}(\beta) = \hat\phi_{it} - f(x_{it}; \beta)`, its law of motion
:math:`\omega_{it} = g(\omega_{i,t-1}) + \gamma'd_{i,t-1} + \xi_{it}` is
concentrated out by least squares, and :math:`\beta` solves the GMM problem

.. math::

    \hat\beta = \arg\min_\beta \; \Big(\sum_{it} z_{it}\xi_{it}(\beta)\Big)'
    \frac{(Z'Z)^{-1}}{N} \Big(\sum_{it} z_{it}\xi_{it}(\beta)\Big),

with instruments :math:`z_{it}` = lagged free inputs (and lagged proxy for
gross output), current state inputs and controls; for a translog, the products
of those. The weighting matrix and the scale of the criterion are those of R
``prodest`` 1.0.1, so criterion values are comparable with it.

The criterion is not convex. :class:`ACF` evaluates it on a grid over
``search_box`` and polishes the best points together with the first-stage
start and any user ``start`` (:mod:`parkimpact.tfp._optimize`); every
distinct local minimum is reported in ``result.optimizer``.

References
----------
Ackerberg, D. A., Caves, K. and Frazer, G. (2015). Identification properties
of recent production function estimators. *Econometrica* 83(6), 2411-2451.

De Loecker, J. (2013). Detecting learning by exporting. *American Economic
Journal: Microeconomics* 5(3), 1-21 (endogenous productivity:
``law_of_motion_controls``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from parkimpact.errors import IdentificationError
from parkimpact.tfp._base import CoreFit, Labels, block, fit_estimator
from parkimpact.tfp._optimize import second_stage
from parkimpact.tfp._polynomial import motion_basis, polynomial_terms, translog_terms
from parkimpact.tfp._settings import COMMON_PARAMETERS, PROXY_PARAMETERS, ProxySettings, document
from parkimpact.tfp._stages import (
    ConcentratedCriterion,
    check_monotone,
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

__all__ = ["ACF"]


@dataclass(frozen=True)
class _Design:
    """Second-stage regressors, their lags and instruments (all rows of the frame)."""

    inputs: np.ndarray
    names: tuple[str, ...]
    n_first_order: int
    n_production: int
    pairs: tuple[tuple[str, str], ...]
    instruments: np.ndarray
    values: dict[str, np.ndarray]


def _design(
    frame: pd.DataFrame, labels: Labels, prev: np.ndarray, gross: bool, translog: bool
) -> _Design:
    free = block(frame, "_f", len(labels.free))
    state = block(frame, "_s", len(labels.state))
    values = {name: free[:, i] for i, name in enumerate(labels.free)}
    values |= {name: state[:, i] for i, name in enumerate(labels.state)}
    lagged = {name: take_lag(free[:, i], prev) for i, name in enumerate(labels.free)}
    lagged |= {name: values[name] for name in labels.state}
    if gross:
        proxy = frame["_m"].to_numpy(dtype=float)
        values[str(labels.proxy)] = proxy
        lagged[str(labels.proxy)] = take_lag(proxy, prev)
    production = dict(values)
    controls = block(frame, "_c", len(labels.controls))
    for i, name in enumerate(labels.controls):
        values[name] = lagged[name] = controls[:, i]
    columns, names = [values[n] for n in values], list(values)
    inst = [lagged[n] for n in values]
    pairs: tuple[tuple[str, str], ...] = ()
    if translog:
        terms, term_names, pairs = translog_terms(production)
        lag_terms, _, _ = translog_terms({n: lagged[n] for n in production})
        columns += list(terms.T)
        inst += list(lag_terms.T)
        names += list(term_names)
    return _Design(
        inputs=np.column_stack(columns),
        names=tuple(names),
        n_first_order=len(values),
        n_production=len(production),
        pairs=pairs,
        instruments=np.column_stack(inst),
        values=production,
    )


def _first_stage(
    frame: pd.DataFrame, labels: Labels, degree: int, check: bool
) -> tuple[FirstStageFit, np.ndarray, dict[str, float]]:
    free = block(frame, "_f", len(labels.free))
    state = block(frame, "_s", len(labels.state))
    controls = block(frame, "_c", len(labels.controls))
    columns = {name: free[:, i] for i, name in enumerate(labels.free)}
    columns |= {name: state[:, i] for i, name in enumerate(labels.state)}
    columns[str(labels.proxy)] = frame["_m"].to_numpy(dtype=float)
    columns |= {name: controls[:, i] for i, name in enumerate(labels.controls)}
    poly, poly_names = polynomial_terms(columns, degree)
    design = np.column_stack([np.ones(len(frame)), poly])
    fit = least_squares_fit(frame["_y"].to_numpy(dtype=float), design, require_full_rank=False)
    if check:
        check_monotone(columns, str(labels.proxy), degree, fit.coef[1:])
    coef = pd.Series(fit.coef, index=["const", *poly_names], name="first_stage")
    summary = FirstStageFit(
        coef, fit.r_squared, len(frame), float(np.std(fit.resid, ddof=fit.rank))
    )
    return summary, fit.fitted, coef.to_dict()


def _first_stage_start(design: _Design, coef: dict[str, float]) -> np.ndarray:
    start = [coef.get(name, 0.0) for name in design.names[: design.n_first_order]]
    for a, b in design.pairs:
        key = f"{a}^2" if a == b else f"{a}*{b}"
        start.append(coef.get(key, 0.0) * (2.0 if a == b else 1.0))
    return np.nan_to_num(np.asarray(start, dtype=float))


def _elasticities(design: _Design, params: np.ndarray, rows: np.ndarray) -> pd.Series:
    names = list(design.values)
    out = {name: float(params[i]) for i, name in enumerate(names)}
    for j, (a, b) in enumerate(design.pairs):
        coef = params[design.n_first_order + j]
        out[a] += coef * float(np.mean(design.values[b][rows]))
        if a != b:
            out[b] += coef * float(np.mean(design.values[a][rows]))
    return pd.Series(out, name="elasticity")


@document(COMMON_PARAMETERS, PROXY_PARAMETERS)
@dataclass(frozen=True, kw_only=True)
class ACF(ProxySettings):
    r"""Ackerberg, Caves and Frazer (2015) with a global search of the GMM criterion.

        See :mod:`parkimpact.tfp.acf` for the model, moments and criterion.

        Parameters
        ----------
    {parameters}
        functional_form : {"cobb_douglas", "translog"}, default "cobb_douglas"
            Translog adds :math:`\tfrac12\beta_{jj}x_j^2` and :math:`\beta_{jk}x_jx_k`
            terms for the inputs (not the controls), instrumented by the same
            products of the instruments; ``elasticities`` are then averaged over
            the second-stage rows.
        translog_box : (float, float), default (-0.25, 0.25)
            Grid box of the second-order coefficients.

        Examples
        --------
        >>> from parkimpact.datasets import simulate_acf
        >>> from parkimpact import FirmPanel
        >>> sim = simulate_acf(2, n_firms=300, n_years=10, seed=1)
        >>> panel = FirmPanel(sim.data, unit="firm_id", time="year")
        >>> result = ACF(output="y", free="l", state="k", proxy="m").fit(panel)
        >>> round(result.params["l"], 1), round(result.params["k"], 1)
        (0.6, 0.4)
    """

    functional_form: Literal["cobb_douglas", "translog"] = "cobb_douglas"
    translog_box: tuple[float, float] = (-0.25, 0.25)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.functional_form not in ("cobb_douglas", "translog"):
            raise ValueError(
                f"functional_form must be 'cobb_douglas' or 'translog'; got "
                f"{self.functional_form!r}. Pick one of those."
            )

    def fit(self, panel: object) -> ProductionFunctionResult | GroupedProductionFunctionResult:
        """Estimate on a :class:`~parkimpact.FirmPanel`; returns a new result."""
        return fit_estimator(self, panel)

    def _core(
        self, frame: pd.DataFrame, labels: Labels, start: np.ndarray | None, multi_start: bool
    ) -> CoreFit:
        summary, phi, coef = _first_stage(frame, labels, self.first_stage_degree, multi_start)
        prev = lag_positions(frame["_unit"].to_numpy(), frame["_time"].to_numpy())
        design = _design(
            frame, labels, prev, self.kind == "gross_output", self.functional_form == "translog"
        )
        criterion, usable = self._criterion(frame, labels, prev, phi, design)
        k = len(design.names)
        box = [self.search_box] * design.n_first_order + [self.translog_box] * (
            k - design.n_first_order
        )
        outcome = second_stage(
            criterion.residuals,
            criterion.jacobian,
            first=_first_stage_start(design, coef) if start is None else start,
            user=self.start,
            box=np.array(box, dtype=float),
            n_grid=self.n_grid,
            n_polish=self.n_polish,
            max_evaluations=self.max_evaluations,
            multi_start=multi_start,
            names=design.names,
        )
        theta = outcome.params
        omega = phi - design.inputs @ theta
        return CoreFit(
            method="ACF" + (" (translog)" if self.functional_form == "translog" else ""),
            params=theta,
            names=design.names,
            elasticities=_elasticities(design, theta, usable),
            omega=omega,
            omega_shock=frame["_y"].to_numpy(dtype=float) - design.inputs @ theta,
            second_stage=usable,
            first_stage=summary,
            law_of_motion=motion_series(
                criterion.basis, criterion.motion_coefficients(theta), labels.motion
            ),
            search=outcome,
            search_names=design.names,
        )

    def _criterion(
        self,
        frame: pd.DataFrame,
        labels: Labels,
        prev: np.ndarray,
        phi: np.ndarray,
        design: _Design,
    ) -> tuple[ConcentratedCriterion, np.ndarray]:
        phi_lag = take_lag(phi, prev)
        inputs_lag = take_lag(design.inputs, prev)
        usable = (prev >= 0) & np.isfinite(design.instruments).all(axis=1)
        if usable.sum() <= 2 * len(design.names) + self.law_of_motion_degree:
            raise IdentificationError(
                f"the ACF second stage must have more rows with a previous year than "
                f"parameters; got {int(usable.sum())}. Use a longer panel."
            )
        motion = block(frame, "_g", len(labels.motion))
        basis = motion_basis(
            self.law_of_motion_degree,
            exit_terms=False,
            centre=float(np.mean(phi_lag[usable])),
            n_extra=len(labels.motion),
        )
        criterion = ConcentratedCriterion(
            "gmm",
            phi[usable],
            phi_lag[usable],
            design.inputs[usable],
            inputs_lag[usable],
            basis,
            extra=take_lag(motion, prev)[usable] if labels.motion else None,
            instruments=design.instruments[usable],
        )
        return criterion, usable
