"""The TFP stage of a study: the point fit, and re-fits on resamples from its estimate.

On the original panel the production-function estimator runs as configured
(for ACF: the grid search and polishes of :mod:`parkimpact.tfp._optimize`).
On a bootstrap resample the estimator is re-run with a *warm start*, the
convention of the TFP estimators' own firm-cluster bootstrap: the canonical
frame is prepared as in ``fit`` and the estimator's core polishes the second
stage once, from the point estimate of the firm's group, without the grid,
the other starts or the first-stage monotonicity check (re-fitting the
global multi-start search on every resample would cost as much as the point
fit and find the same local minimum). With ``by="industry"`` each industry
is re-fitted separately from its own estimate. Estimators whose coefficients
are not the optimised parameters (GNR) or that have no search (OLS, fixed
effects, Wooldridge) are re-run as configured, without their own bootstrap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from parkimpact.data.panel import FirmPanel
from parkimpact.tfp import OlleyPakes
from parkimpact.tfp._base import prepare

__all__ = ["WarmTFP", "warm_tfp", "check_tfp"]


def check_tfp(estimator: object) -> None:
    """A TFP stage must be a :mod:`parkimpact.tfp` estimator (a dataclass with ``fit``)."""
    names = (
        {f.name for f in fields(estimator)} if hasattr(estimator, "__dataclass_fields__") else set()
    )  # type: ignore[arg-type]
    if not callable(getattr(estimator, "fit", None)) or not {"output", "state"} <= names:
        raise TypeError(
            f"tfp must be a parkimpact.tfp production-function estimator or None; got "
            f"{type(estimator).__name__}. Pass e.g. tfp=ACF(output='log_value_added', ...)."
        )


def _settings(estimator: Any) -> set[str]:
    return {f.name for f in fields(estimator)}


def _start(result: Any) -> np.ndarray | None:
    """Optimised parameters of a result when they are its reported coefficients."""
    optimizer = getattr(result, "optimizer", None)
    if optimizer is None or tuple(result.params.index) != tuple(optimizer.names):
        return None
    return result.params.to_numpy(dtype=float).copy()


@dataclass(frozen=True, eq=False)
class WarmTFP:
    """Re-fits a production function on a (resampled) panel and adds the TFP column.

    Attributes
    ----------
    estimator : production-function estimator
        Settings of the re-fit (no own bootstrap).
    column : str
        Name of the TFP column.
    by : str or None
        Column of the groups fitted separately (None: one fit).
    starts : Mapping[str, numpy.ndarray or None]
        Warm start of each group (key ``""`` without groups); all None when
        the estimator is re-run as configured.
    prepare_options : Mapping[str, Any]
        Options of the estimator's data preparation (as its ``fit`` passes them).
    """

    estimator: Any
    column: str
    by: str | None
    starts: Mapping[str, np.ndarray | None]
    prepare_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def warm(self) -> bool:
        """Whether every group is re-fitted from its point estimate."""
        return all(start is not None for start in self.starts.values())

    def __call__(self, panel: FirmPanel) -> FirmPanel:
        """The panel with the re-fitted TFP column."""
        if self.warm:
            return panel.assign(**{self.column: self._warm(panel)})
        estimator = replace(self.estimator, by=None) if self.by is not None else self.estimator
        if self.by is None:
            return panel.assign(**{self.column: estimator.fit(panel).tfp.to_numpy(dtype=float)})
        groups = panel.data[self.by].astype(str).to_numpy()
        values = np.full(panel.n_obs, np.nan)
        for group in self.starts:
            rows = groups == group
            if rows.any():
                sub = panel.drop_rows(~rows, step="tfp", reason=f"other {self.by} than {group}")
                values[rows] = estimator.fit(sub).tfp.to_numpy(dtype=float)
        return panel.assign(**{self.column: values})

    def _warm(self, panel: FirmPanel) -> np.ndarray:
        """TFP of every row: one polish per group from its point estimate."""
        prepared = prepare(panel, self.estimator, **self.prepare_options)
        frame = prepared.frame
        values = np.full(prepared.n_input_rows, np.nan)
        for group, start in self.starts.items():
            sub = frame if self.by is None else frame.loc[frame["_group"].to_numpy() == group]
            if len(sub):
                sub = sub.reset_index(drop=True)
                core = self.estimator._core(sub, prepared.labels, start, False)
                values[sub["_row"].to_numpy()] = core.omega
        return values


def warm_tfp(estimator: Any, result: Any, panel: FirmPanel, column: str) -> WarmTFP:
    """The warm re-fit of ``estimator`` around its point ``result`` on ``panel``."""
    settings = _settings(estimator)
    changes: dict[str, Any] = {}
    if "n_boot" in settings:
        changes["n_boot"] = 0
    by = getattr(estimator, "by", None)
    parts = dict(result.results) if by is not None else {"": result}
    starts = {group: _start(part) for group, part in parts.items()}
    if not ({"start", "n_grid", "n_polish"} <= settings and hasattr(estimator, "_core")):
        starts = {group: None for group in starts}
    column_of_groups = None if by is None else panel.roles.declared().get(by, by)
    options = {"zero_proxy": True} if isinstance(estimator, OlleyPakes) else {}
    return WarmTFP(replace(estimator, **changes), column, column_of_groups, starts, options)
