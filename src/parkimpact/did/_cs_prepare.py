"""Checks and row accounting before the Callaway-Sant'Anna estimator runs.

Rows with a missing outcome, covariate or subgroup, and rows of cohorts that
entered in or before the first sample year (plus anticipation, so that no
base year exists), are dropped and recorded in the drop report with step
``"callaway_santanna"``. Firms entering after the last sample year plus the
anticipation are never-treated within the sample (recoded, with a note).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.data.panel import FirmPanel
from parkimpact.errors import DataFormatError, IdentificationError, SmallCohortWarning

if TYPE_CHECKING:
    from parkimpact.did.callaway import CallawaySantAnna

__all__ = ["PreparedData", "prepare_panel", "warn_small_cohorts", "STEP", "SMALL_COHORT"]

STEP = "callaway_santanna"
"""Step name of the estimator's drops in the drop report."""
SMALL_COHORT = 5
"""Cohorts with fewer than ``SMALL_COHORT + len(covariates)`` firms trigger a warning."""


@dataclass(frozen=True, eq=False)
class PreparedData:
    """The estimation rows and what was done to get them."""

    frame: pd.DataFrame
    unit: str
    time: str
    entry: str
    weights: str | None
    drops: DropReport
    notes: tuple[str, ...]
    first_year: int


def _check_columns(est: CallawaySantAnna, panel: FirmPanel, weights: str | None) -> None:
    wanted = [est.outcome, *(est.covariates or ()), weights, est.cluster, est.by]
    data_columns = set(panel.data.columns)
    missing = [c for c in wanted if c is not None and c not in data_columns]
    if missing:
        raise ValueError(
            f"columns {missing} must be in the panel; got columns "
            f"{sorted(map(str, data_columns))[:12]}. Check the names passed to CallawaySantAnna."
        )
    data = panel.data
    for column in [est.outcome, *(est.covariates or ())]:
        values = data[column]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            example = values.dropna().iloc[0] if values.notna().any() else None
            raise DataFormatError(
                f"column {column!r} must be numeric; got dtype {values.dtype} (e.g. {example!r}). "
                "Convert it with pd.to_numeric or encode categories as 0/1 dummies."
            )


def _firm_level(frame: pd.DataFrame, unit: str, column: str, role: str) -> None:
    varying = frame.groupby(unit, sort=False)[column].nunique(dropna=False) > 1
    if varying.any():
        raise ValueError(
            f"{role} column {column!r} must be constant within each firm; got "
            f"{int(varying.sum())} firm(s) with several values "
            f"(e.g. {varying.index[varying][0]!r}). "
            "Use a firm-level variable, e.g. its value in the first year."
        )


def _check_firm_columns(
    est: CallawaySantAnna, frame: pd.DataFrame, unit: str, weights: str | None, role: str | None
) -> None:
    if weights is not None and weights != role:
        values = pd.to_numeric(frame[weights], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            raise ValueError(
                f"weights column {weights!r} must hold non-negative numbers; got {int(bad.sum())} "
                "missing, negative or text value(s). Fix or drop those rows first."
            )
        _firm_level(frame, unit, weights, "weights")
    if est.cluster is not None:
        if frame[est.cluster].isna().any():
            raise ValueError(
                f"cluster column {est.cluster!r} must not be missing; got "
                f"{int(frame[est.cluster].isna().sum())} missing row(s). Fill or drop them first."
            )
        _firm_level(frame, unit, est.cluster, "cluster")
    if est.by is not None:
        _firm_level(frame, unit, est.by, "by")


def _drop_missing(est: CallawaySantAnna, panel: FirmPanel) -> FirmPanel:
    columns = [est.outcome, *(est.covariates or ())]
    if est.by is not None:
        columns.append(est.by)
    panel = panel.dropna(columns, step=STEP)
    outcome = panel.data[est.outcome].to_numpy(dtype=float)
    return panel.drop_rows(~np.isfinite(outcome), step=STEP, reason=f"non-finite {est.outcome}")


def _recode_late(frame: pd.DataFrame, entry: str, unit: str, last: int, antic: int) -> list[str]:
    late = frame[entry].to_numpy() > last + antic
    if not late.any():
        return []
    n_firms = int(frame.loc[late, unit].nunique())
    frame.loc[late, entry] = np.nan
    return [
        f"{n_firms} firm(s) entering after {last + antic} (last year plus anticipation) are "
        "never-treated within the sample"
    ]


def _check_cohorts(est: CallawaySantAnna, frame: pd.DataFrame, unit: str, entry: str) -> None:
    firms = frame.groupby(unit, sort=False)[entry].first()
    if firms.notna().sum() == 0:
        raise IdentificationError(
            f"entry column {entry!r} must have firms entering after the first sample year; got "
            "none. The estimator needs at least one entry cohort."
        )
    if est.control_group == "never_treated" and firms.isna().sum() == 0:
        raise IdentificationError(
            "control_group='never_treated' must have never-treated firms as comparisons; got 0 "
            f"firms without entry among {len(firms)}. Use control_group='not_yet_treated'."
        )
    warn_small_cohorts(firms.dropna(), len(est.covariates or ()))


def warn_small_cohorts(
    cohorts: pd.Series, n_covariates: int, where: str = "", stacklevel: int = 6
) -> None:
    """Warn about cohorts (one entry per firm) with fewer than ``5 + n_covariates`` firms."""
    sizes = cohorts.astype(int).value_counts().sort_index()
    threshold = SMALL_COHORT + n_covariates
    small = sizes[sizes < threshold]
    if len(small):
        listed = ", ".join(f"{g} ({n} firms)" for g, n in small.items())
        warnings.warn(
            f"cohorts should have at least {threshold} firms for reliable ATT(g,t){where}; got "
            f"{listed}. Their estimates rest on very few firms.",
            SmallCohortWarning,
            stacklevel=stacklevel,
        )


def prepare_panel(est: CallawaySantAnna, panel: FirmPanel) -> PreparedData:
    """Validate the panel for ``est`` and return the estimation rows with the drop report.

    Raises
    ------
    TypeError, ValueError, DataFormatError, IdentificationError
        See :meth:`CallawaySantAnna.fit`.
    """
    if not isinstance(panel, FirmPanel):
        raise TypeError(f"panel must be a FirmPanel; got {type(panel).__name__}.")
    roles = panel.roles
    panel.require_role("entry", "CallawaySantAnna")
    weights = est.weights if est.weights is not None else roles.weights
    _check_columns(est, panel, weights)
    panel = _drop_missing(est, panel)
    if panel.n_obs == 0:
        raise ValueError(
            f"the panel must keep some rows with {est.outcome!r} and covariates present; got 0."
            " See the drop report."
        )
    _check_firm_columns(est, panel.data, roles.unit, weights, roles.weights)
    years = panel.years
    first, last = int(years.min()), int(years.max())
    frame = panel.data  # copy-on-write: changes below never reach the panel
    notes = _recode_late(frame, roles.entry, roles.unit, last, est.anticipation)
    early = frame[roles.entry].to_numpy() <= first + est.anticipation
    if early.any():
        panel = panel.drop_rows(early, step=STEP, reason="cohort treated in the first period")
        frame = frame.loc[~early].reset_index(drop=True)
    _check_cohorts(est, frame, roles.unit, roles.entry)
    if not panel.is_balanced:
        notes.append(
            "unbalanced panel: each ATT(g,t) is the effect among firms observed in both years "
            "of its cell"
        )
    return PreparedData(
        frame=frame,
        unit=roles.unit,
        time=roles.time,
        entry=roles.entry,
        weights=weights,
        drops=panel.drops,
        notes=tuple(notes),
        first_year=first,
    )
