"""Results of production-function estimation.

:class:`ProductionFunctionResult` is returned by every estimator of
:mod:`parkimpact.tfp` (one production function); with ``by=...`` the
estimators return :class:`GroupedProductionFunctionResult`, one result per
group with the same interface. Both are immutable, follow the tidy protocol of
:mod:`parkimpact.report` and hand productivity to the impact estimators with
:meth:`~ProductionFunctionResult.augment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.data.panel import FirmPanel
from parkimpact.inference import InfluenceFunction, ResampleResult
from parkimpact.report.render import format_number
from parkimpact.report.tidy import ModelInfo, ResultBase, make_tidy
from parkimpact.tfp._optimize import LocalSolution, Polish

__all__ = [
    "FirstStageFit",
    "OptimizerDiagnostics",
    "ProductionFunctionResult",
    "GroupedProductionFunctionResult",
]


@dataclass(frozen=True)
class FirstStageFit:
    """The first-stage regression of output on the productivity polynomial.

    Attributes
    ----------
    coef : pandas.Series
        Coefficients by term (``"const"``, inputs, polynomial terms).
    r_squared : float
        Coefficient of determination.
    n_obs : int
        Observations used.
    resid_sd : float
        Standard deviation of the residual (the i.i.d. shock).
    """

    coef: pd.Series
    r_squared: float
    n_obs: int
    resid_sd: float


@dataclass(frozen=True)
class OptimizerDiagnostics:
    """What the multi-start search of the second stage found.

    Attributes
    ----------
    criterion : float
        Criterion at the reported estimate (the lowest local minimum).
    solutions : tuple of LocalSolution
        Every distinct local minimum found, best first, with its criterion and
        the starts that reached it.
    polishes : tuple of Polish
        Every local optimisation run, with its criterion path.
    n_grid : int
        Grid points evaluated before polishing.
    tie : bool
        Whether the two best distinct minima have nearly equal criteria
        (a :class:`~parkimpact.tfp.MultipleOptimaWarning` was issued).
    names : tuple of str
        Names of the optimised parameters.
    """

    criterion: float
    solutions: tuple[LocalSolution, ...]
    polishes: tuple[Polish, ...]
    n_grid: int
    tie: bool
    names: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per distinct local minimum: parameters, ``criterion`` and ``n_starts``."""
        rows = [dict(zip(self.names, s.params, strict=True)) for s in self.solutions]
        frame = pd.DataFrame(rows, columns=list(self.names))
        frame["criterion"] = [s.criterion for s in self.solutions]
        frame["n_starts"] = [s.n_starts for s in self.solutions]
        return frame


def _augment(panel: FirmPanel, keys: pd.DataFrame, values: pd.Series, column: str) -> FirmPanel:
    if not isinstance(panel, FirmPanel):
        raise TypeError(
            f"panel must be a FirmPanel; got {type(panel).__name__}. Build one with "
            "parkimpact.FirmPanel(...)."
        )
    roles = panel.roles
    data = panel.data
    lookup = pd.Series(values.to_numpy(), index=pd.MultiIndex.from_frame(keys))
    lookup = lookup[~lookup.index.duplicated()]
    index = pd.MultiIndex.from_arrays([data[roles.unit].to_numpy(), data[roles.time].to_numpy()])
    return panel.assign(**{column: lookup.reindex(index).to_numpy()})


@dataclass(frozen=True, eq=False, repr=False)
class ProductionFunctionResult(ResultBase):
    r"""A fitted production function and the productivity it implies.

    Attributes
    ----------
    method : str
        Estimator name (``"ACF"``, ``"Olley-Pakes"`` ...).
    params : pandas.Series
        Production-function coefficients by input name (translog terms
        included for a translog).
    std_errors : pandas.Series
        Their standard errors (NaN without inference).
    vcov : pandas.DataFrame or None
        Covariance of ``params`` (analytic or bootstrap).
    elasticities : pandas.Series
        Output elasticities by input, averaged over the estimation rows
        (equal to ``params`` for Cobb-Douglas).
    returns_to_scale : float
        Sum of ``elasticities``.
    tfp : pandas.Series
        Log productivity :math:`\hat\omega_{it} = \hat\phi_{it} - f(x_{it};
        \hat\beta)` without the i.i.d. shock, aligned to the rows of the
        fitted panel (NaN where the first stage has no prediction). It
        includes the constant of the production function.
    tfp_with_shock : pandas.Series
        :math:`y_{it} - f(x_{it}; \hat\beta) = \hat\omega_{it} + \hat\varepsilon_{it}`.
    first_stage : FirstStageFit or None
        The first-stage regression (proxy estimators).
    law_of_motion : pandas.Series or None
        Coefficients of the concentrated law of motion at the estimate
        (``lag <name>`` for each law-of-motion control).
    law_of_motion_std_errors : pandas.Series or None
        Bootstrap SEs of the law-of-motion controls' coefficients (e.g. the
        effect of being in a park last year on this year's productivity).
    criterion : float or None
        Second-stage criterion at the estimate.
    optimizer : OptimizerDiagnostics or None
        Every distinct local minimum found, with its criterion.
    bootstrap : ResampleResult or None
        Firm-cluster bootstrap replications.
    influence : InfluenceFunction or None
        Firm-level influence functions (analytic estimators).
    drops : DropReport
        Rows removed on the way (non-positive values before logs, zero
        investment, missing values) and second-stage rows without a lag.
    settings : Mapping[str, Any]
        The estimator's settings.
    n_obs, n_firms, n_second_stage : int
        Rows and firms used in the first stage, rows in the second stage.
    fingerprint : str
        Fingerprint of the fitted panel.
    se_type : str
        How the standard errors were computed.
    keys : pandas.DataFrame
        Unit and time of each row of the fitted panel (for :meth:`augment`).
    notes : tuple of str
        Extra lines for the summary.
    """

    method: str
    params: pd.Series
    std_errors: pd.Series
    vcov: pd.DataFrame | None
    elasticities: pd.Series
    returns_to_scale: float
    tfp: pd.Series = field(repr=False)
    tfp_with_shock: pd.Series = field(repr=False)
    first_stage: FirstStageFit | None
    law_of_motion: pd.Series | None
    law_of_motion_std_errors: pd.Series | None
    criterion: float | None
    optimizer: OptimizerDiagnostics | None
    bootstrap: ResampleResult | None
    influence: InfluenceFunction | None
    drops: DropReport
    settings: Mapping[str, Any]
    n_obs: int
    n_firms: int
    n_second_stage: int
    fingerprint: str
    se_type: str
    dependent: str
    keys: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in self.params.items())
        return f"ProductionFunctionResult({self.method}: {shown})"

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy frame of the production-function coefficients."""
        return make_tidy(
            list(self.params.index),
            self.params.to_numpy(),
            self.std_errors.to_numpy(),
            level=level,
        )

    def model_info(self) -> ModelInfo:
        """Counts, inference and optimisation facts for summaries and tables."""
        extra = {"Returns to scale": format_number(self.returns_to_scale, 4)}
        if self.criterion is not None:
            extra["Criterion"] = f"{self.criterion:.6g}"
        if self.optimizer is not None:
            extra["Local minima found"] = str(len(self.optimizer.solutions))
        if self.n_second_stage:
            extra["Second-stage rows"] = str(self.n_second_stage)
        return ModelInfo(
            name=f"{self.method} production function",
            n_obs=self.n_obs,
            n_units=self.n_firms,
            n_clusters=None if self.bootstrap is None else self.bootstrap.n_clusters,
            cluster="firm" if self.se_type != "none" else None,
            se_type=self.se_type,
            dependent=self.dependent,
            notes=self.notes,
            extra=extra,
        )

    def augment(
        self, panel: FirmPanel, *, column: str = "tfp", with_shock: bool = False
    ) -> FirmPanel:
        """A new panel with a productivity column, matched on firm and year.

        Parameters
        ----------
        panel : FirmPanel
            Usually the fitted panel; rows not in the fit get NaN.
        column : str, default "tfp"
            Name of the new column.
        with_shock : bool, default False
            Use :attr:`tfp_with_shock` (output residual) instead of :attr:`tfp`.
        """
        values = self.tfp_with_shock if with_shock else self.tfp
        return _augment(panel, self.keys, values, column)


@dataclass(frozen=True, eq=False, repr=False)
class GroupedProductionFunctionResult(ResultBase):
    """One production function per group (``by="industry"``).

    Attributes
    ----------
    by : str
        The grouping column.
    results : Mapping[str, ProductionFunctionResult]
        One result per group, keyed by the group's value as text.
    tfp, tfp_with_shock : pandas.Series
        Productivity of every row of the fitted panel from its group's fit.
    keys : pandas.DataFrame
        Unit and time of each row of the fitted panel.
    drops : DropReport
        Rows removed, including those of groups too small to estimate.
    """

    by: str
    results: Mapping[str, ProductionFunctionResult]
    tfp: pd.Series = field(repr=False)
    tfp_with_shock: pd.Series = field(repr=False)
    keys: pd.DataFrame = field(repr=False)
    drops: DropReport = field(repr=False)

    def __repr__(self) -> str:
        return f"GroupedProductionFunctionResult(by={self.by!r}, groups={list(self.results)})"

    @property
    def method(self) -> str:
        """Estimator name."""
        return next(iter(self.results.values())).method

    def _stacked(self, attribute: str) -> pd.Series:
        parts = {group: getattr(result, attribute) for group, result in self.results.items()}
        return pd.concat(parts, names=[self.by, "term"])

    @property
    def params(self) -> pd.Series:
        """Coefficients indexed by (group, input)."""
        return self._stacked("params")

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors indexed by (group, input)."""
        return self._stacked("std_errors")

    @property
    def elasticities(self) -> pd.Series:
        """Mean output elasticities indexed by (group, input)."""
        return self._stacked("elasticities")

    @property
    def returns_to_scale(self) -> pd.Series:
        """Returns to scale by group."""
        return pd.Series({g: r.returns_to_scale for g, r in self.results.items()}, name="rts")

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy frame with the group as a family key column."""
        params, errors = self.params, self.std_errors
        groups = [str(g) for g in params.index.get_level_values(0)]
        terms = [str(t) for t in params.index.get_level_values(1)]
        return make_tidy(
            terms, params.to_numpy(), errors.to_numpy(), level=level, keys={self.by: groups}
        )

    def model_info(self) -> ModelInfo:
        """Counts summed over groups."""
        results = list(self.results.values())
        se_types = sorted({r.se_type for r in results})
        return ModelInfo(
            name=f"{self.method} production functions by {self.by}",
            n_obs=sum(r.n_obs for r in results),
            n_units=sum(r.n_firms for r in results),
            se_type="; ".join(se_types),
            dependent=results[0].dependent,
            extra={"Groups": str(len(results))},
        )

    def augment(
        self, panel: FirmPanel, *, column: str = "tfp", with_shock: bool = False
    ) -> FirmPanel:
        """A new panel with a productivity column (see :meth:`ProductionFunctionResult.augment`)."""
        values = self.tfp_with_shock if with_shock else self.tfp
        return _augment(panel, self.keys, values, column)


def empty_errors(params: pd.Series) -> pd.Series:
    """Standard errors that are all missing, aligned to ``params``."""
    return pd.Series(np.full(len(params), np.nan), index=params.index, name="std_error")
