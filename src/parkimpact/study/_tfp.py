"""The TFP stage of a study: the point fit, and re-fits on resamples from its estimate.

On the original panel the production-function estimator runs as configured
(for ACF: the grid search and polishes of :mod:`parkimpact.tfp._optimize`).
On a bootstrap resample the same estimator is re-run with a *warm start*:
no grid, and the polish starts from the point estimate of the firm's group
(and from the first stage), as the TFP estimators' own bootstrap does. With
``by="industry"`` each industry is re-fitted separately from its own
estimate. Estimators whose coefficients are not the optimised parameters
(GNR) or that have no search (OLS, fixed effects, Wooldridge) are re-run as
configured, without their own bootstrap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from parkimpact.data.panel import FirmPanel

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
        Settings of the re-fit (no own bootstrap, no grid when warm-started,
        ``by`` removed when the groups are fitted one by one).
    column : str
        Name of the TFP column.
    by : str or None
        Column of the groups fitted separately (None: one fit).
    starts : Mapping[str, numpy.ndarray or None]
        Warm start of each group (key ``""`` without groups).
    """

    estimator: Any
    column: str
    by: str | None
    starts: Mapping[str, np.ndarray | None]

    def _fit(self, panel: FirmPanel, start: np.ndarray | None) -> np.ndarray:
        estimator = self.estimator
        if start is not None:
            estimator = replace(estimator, start=tuple(float(v) for v in start))
        return estimator.fit(panel).tfp.to_numpy(dtype=float)

    def __call__(self, panel: FirmPanel) -> FirmPanel:
        """The panel with the re-fitted TFP column."""
        if self.by is None:
            return panel.assign(**{self.column: self._fit(panel, self.starts[""])})
        groups = panel.data[self.by].astype(str).to_numpy()
        values = np.full(panel.n_obs, np.nan)
        for group, start in self.starts.items():
            rows = groups == group
            if rows.any():
                sub = panel.drop_rows(~rows, step="tfp", reason=f"other {self.by} than {group}")
                values[rows] = self._fit(sub, start)
        return panel.assign(**{self.column: values})


def warm_tfp(estimator: Any, result: Any, panel: FirmPanel, column: str) -> WarmTFP:
    """The warm re-fit of ``estimator`` around its point ``result`` on ``panel``."""
    settings = _settings(estimator)
    changes: dict[str, Any] = {}
    if "n_boot" in settings:
        changes["n_boot"] = 0
    by = getattr(estimator, "by", None)
    if by is not None:
        changes["by"] = None
    parts = dict(result.results) if by is not None else {"": result}
    starts = {group: _start(part) for group, part in parts.items()}
    if {"start", "n_grid", "n_polish"} <= settings and all(s is not None for s in starts.values()):
        changes.update(n_grid=0, n_polish=0)
    else:
        starts = {group: None for group in starts}
    column_of_groups = None if by is None else panel.roles.declared().get(by, by)
    return WarmTFP(replace(estimator, **changes), column, column_of_groups, starts)
