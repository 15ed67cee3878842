r"""The loop over group-time cells: one 2x2 DiD per cell, influence functions on all firms.

For cell :math:`(g, t)` with :math:`n_{gt}` member firms out of the
:math:`n` firms of the (sub)sample, the 2x2 estimator gives a cell-level
influence function :math:`\psi^{gt}_i` with
:math:`\hat\theta_{gt} - \theta_{gt} \approx n_{gt}^{-1}\sum_{i \in gt}\psi^{gt}_i`;
on the full sample it is :math:`(n / n_{gt})\,\psi^{gt}_i` for members and 0
for everyone else, so that :math:`\hat V = n^{-2}\Psi'\Psi` reproduces R
``did``'s analytic variance. The loop runs over cells, never over firms.

Nuisance models are fitted on the cell's groups of firms with equal
covariates and treatment (:mod:`parkimpact.did._cell_groups`) and a fit is
computed once per distinct set of groups: cells sharing firms share it, and
so do the fits of other outcomes on the same firms inside
:func:`shared_nuisance_fits` (a study fitting several outcomes). The key is a
digest of everything the fit reads, so sharing never changes a number.

A cell whose propensity score separates treated firms (no comparison firm
has their covariates) or whose outcome regression is singular is not
identified: it is listed with the cells without comparison firms, with the
reason, and left out of every aggregation.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from parkimpact.did._cs_cells import CellMembers, CellSpec, WidePanel
from parkimpact.did._cs_prepare import warn_small_cohorts
from parkimpact.did.drdid import (
    OVERLAP_LEVEL,
    CellGroups,
    GroupNuisance,
    estimate_cells_batch,
    expand,
    fit_groups,
    group_firms,
)
from parkimpact.errors import OverlapWarning, ParkImpactWarning

__all__ = [
    "CellsWithoutControlsWarning",
    "SeparatedCellsWarning",
    "warn_cells_not_estimated",
    "CellEstimates",
    "estimate_cells",
    "estimate_subgroups",
    "MISSING_COLUMNS",
    "LACKING_FIRMS",
    "shared_nuisance_fits",
]

_SHARED: ContextVar[dict[bytes, GroupNuisance] | None] = ContextVar("_SHARED", default=None)
_MAX_SHARED: Final[int] = 200_000
"""Fits kept by :func:`shared_nuisance_fits` (a few kilobytes each) before it starts afresh."""


@contextmanager
def shared_nuisance_fits() -> Iterator[None]:
    """Share nuisance fits across the Callaway-Sant'Anna fits run inside the block.

    Fits are keyed on a digest of their groups of firms (design rows,
    treatment, summed weights, counts) and the method, so a shared fit is the
    one that would have been computed. Each thread (and nested block) has its
    own store, dropped at the end of the block.
    """
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


MISSING_COLUMNS: tuple[str, ...] = (
    "cohort",
    "year",
    "base_year",
    "n_treated",
    "n_control",
    "reason",
)


class CellsWithoutControlsWarning(ParkImpactWarning):
    """Some group-time cells have no comparison firms and are not estimated."""


class SeparatedCellsWarning(OverlapWarning):
    """Some group-time cells are not identified by the covariates and are not estimated.

    The propensity score separates treated firms of the cell (no comparison
    firm has their covariate values) or the outcome regression is singular
    among its comparison firms. The cells are listed in
    ``result.cells_not_identified`` (and ``result.cells_without_controls``)
    with the reason, and left out of every aggregation.
    """


LACKING_FIRMS: tuple[str, str] = (
    "no firm of the cohort observed in both years",
    "no comparison firms",
)
"""Reasons of cells without the firms a 2x2 DiD needs (the other reasons: not identified)."""


@dataclass
class CellEstimates:
    """Estimates of one (sub)sample.

    Attributes
    ----------
    att : numpy.ndarray
        Estimates of the estimated cells.
    psi : numpy.ndarray
        Influence functions ``(n, k)`` on the (sub)sample's firms.
    cells : pandas.DataFrame
        Description of the estimated cells.
    missing : pandas.DataFrame
        Cells that could not be estimated (columns :data:`MISSING_COLUMNS`).
    overlap : list of str
        Cells whose largest propensity score reached :data:`OVERLAP_LEVEL`.
    separated : int
        Largest number of comparison firms perfectly separated in a cell.
    unidentified : list of str
        Cells not estimated because the nuisance models are not identified
        there, each with the reason (also listed in ``missing``).
    """

    att: np.ndarray
    psi: np.ndarray
    cells: pd.DataFrame
    missing: pd.DataFrame
    overlap: list[str] = field(default_factory=list)
    separated: int = 0
    unidentified: list[str] = field(default_factory=list)


def _time_varying(covariates: np.ndarray | None, observed: np.ndarray, balanced: bool) -> bool:
    if covariates is None:
        return False
    if balanced:
        return bool(np.any(covariates != covariates[:, :1, :]))
    with np.errstate(invalid="ignore"):
        spread = np.nanmax(covariates, axis=1) - np.nanmin(covariates, axis=1)
    return bool(np.any(spread[observed.any(axis=1)] > 0.0))


def _cache_key(cell: CellSpec, rows: np.ndarray, balanced: bool, varying: bool) -> tuple:
    members: object = cell.cutoff
    if not balanced:
        members = hashlib.blake2b(rows.tobytes(), digest_size=16).digest()
    return (cell.cohort, members, cell.early_index if varying else -1)


def _patterns(wide: WidePanel, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct design rows (intercept first) and each firm's row, for the year ``index``.

    ``index`` -1 means time-invariant covariates: each firm's values in its
    first observed year (equal to those of every year it is observed).
    """
    n = wide.n_units
    if wide.covariates is None:
        return np.ones((1, 1)), np.zeros(n, dtype=np.intp)
    if index < 0:
        first = np.argmax(wide.observed, axis=1)
        values = wide.covariates[np.arange(n), first, :]
    else:
        values = wide.covariates[:, index, :]
    table, codes = np.unique(values, axis=0, return_inverse=True)
    return np.column_stack([np.ones(table.shape[0]), table]), codes.reshape(-1)


def _describe(cell: CellSpec, n_treated: int, n_control: int) -> dict[str, object]:
    return {
        "cohort": cell.cohort,
        "year": cell.year,
        "base_year": cell.base,
        "event_time": cell.year - cell.cohort,
        "post": cell.post,
        "reference": cell.reference,
        "n_treated": n_treated,
        "n_control": n_control,
    }


@dataclass
class _Group:
    """Cells sharing firms, covariates and weights: one nuisance fit, one batch."""

    rows: np.ndarray
    treated: np.ndarray
    columns: list[int] = field(default_factory=list)


@dataclass
class _Run:
    """What the groups of one (sub)sample share: data, settings, fits and failures."""

    wide: WidePanel
    cells: list[CellSpec]
    method: str
    names: list[str]
    where: str
    varying: bool
    fits: dict[bytes, GroupNuisance]
    patterns: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)

    def groups_of(self, group: _Group) -> CellGroups:
        """The group's firms by covariate pattern and treatment."""
        index = self.cells[group.columns[0]].early_index if self.varying else -1
        if index not in self.patterns:
            self.patterns[index] = _patterns(self.wide, index)
        table, codes = self.patterns[index]
        rows = group.rows
        return group_firms(table, codes[rows], group.treated, self.wide.weights[rows])

    def fit(self, groups: CellGroups) -> GroupNuisance:
        """The nuisance fit of ``groups`` (computed once per distinct key)."""
        key = groups.key(self.method)
        fit = self.fits.get(key)
        if fit is None:
            if len(self.fits) >= _MAX_SHARED:
                self.fits.clear()
            fit = self.fits[key] = fit_groups(self.method, groups)
        return fit


def estimate_cells(
    wide: WidePanel,
    cells: list[CellSpec],
    *,
    method: str,
    covariate_names: list[str],
    where: str = "",
) -> CellEstimates:
    """Estimate every cell of ``cells`` on the firms of ``wide``.

    Cells without cohort or comparison firms, and cells whose nuisance
    models are not identified (see the module notes), are listed in
    ``missing`` with the reason and not estimated.

    Parameters
    ----------
    wide : WidePanel
        The (sub)sample.
    cells : list of CellSpec
        Cells to estimate (see :func:`~parkimpact.did._cs_cells.plan_cells`).
    method : str
        2x2 estimator (see :mod:`parkimpact.did.drdid`).
    covariate_names : list of str
        Names used in messages.
    where : str
        Suffix of cell descriptions in messages (e.g. the subgroup).
    """
    balanced = wide.balanced
    shared = _SHARED.get()
    run = _Run(
        wide,
        cells,
        method,
        covariate_names,
        where,
        _time_varying(wide.covariates, wide.observed, balanced),
        {} if shared is None else shared,
    )
    out = CellEstimates(
        att=np.zeros(len(cells)),
        psi=np.zeros((wide.n_units, len(cells)), order="F"),
        cells=pd.DataFrame(),
        missing=pd.DataFrame(),
    )
    kept, described, missing = [], [], []
    groups: dict[tuple, _Group] = {}
    members = CellMembers(wide)
    for j, cell in enumerate(cells):
        rows, treated = members(cell)
        n_treated = int(treated.sum())
        n_control = rows.shape[0] - n_treated
        reason = _skip_reason(cell, n_treated, n_control)
        if reason:
            missing.append((j, (cell.cohort, cell.year, cell.base, n_treated, n_control, reason)))
            continue
        kept.append(j)
        described.append(_describe(cell, n_treated, n_control))
        if cell.reference:
            continue
        if groups and next(iter(groups))[0] != cell.cohort:
            _run_groups(out, run, groups)
        key = _cache_key(cell, rows, balanced, run.varying)
        groups.setdefault(key, _Group(rows, treated)).columns.append(j)
    _run_groups(out, run, groups)
    _collect(out, run, kept, described, missing)
    return out


def _collect(
    out: CellEstimates, run: _Run, kept: list[int], described: list[dict], missing: list[tuple]
) -> None:
    """Keep the estimated cells; list the others in cell order."""
    cells = run.cells
    for j, reason in run.failed.items():
        row = described[kept.index(j)]
        cell = cells[j]
        missing.append(
            (j, (cell.cohort, cell.year, cell.base, row["n_treated"], row["n_control"], reason))
        )
    chosen = [(j, row) for j, row in zip(kept, described, strict=True) if j not in run.failed]
    index = np.asarray([j for j, _ in chosen], dtype=np.intp)
    if index.size < len(cells):
        out.psi = out.psi[:, index]
    out.att = out.att[index]
    columns = list(_describe(cells[0], 0, 0)) if cells else None
    out.cells = pd.DataFrame([row for _, row in chosen], columns=columns)
    out.missing = pd.DataFrame(
        [row for _, row in sorted(missing, key=lambda item: item[0])],
        columns=list(MISSING_COLUMNS),
    )


def _unidentified(fit: GroupNuisance, n_treated: int, names: list[str]) -> str:
    if fit.treated_at_one:
        return (
            f"propensity score separates {fit.treated_at_one} of {n_treated} treated firm(s) "
            f"on covariates {names}"
        )
    return f"outcome regression singular: covariates {names} constant among comparison firms"


def _run_groups(out: CellEstimates, run: _Run, groups: dict[tuple, _Group]) -> None:
    """Fit each group's nuisance models once and estimate its cells in one batch."""
    wide, cells = run.wide, run.cells
    for group in groups.values():
        first = cells[group.columns[0]]
        firms = run.groups_of(group)
        fit = run.fit(firms)
        if not fit.identified:
            reason = _unidentified(fit, int(group.treated.sum()), run.names)
            for j in group.columns:
                run.failed[j] = reason
                out.unidentified.append(
                    f"cell (cohort {cells[j].cohort}, year {cells[j].year}{run.where}): {reason}"
                )
            continue
        if fit.max_score >= OVERLAP_LEVEL:
            out.overlap.append(f"cell (cohort {first.cohort}, year {first.year}{run.where})")
        out.separated = max(out.separated, fit.n_separated)
        nu = expand(fit, firms)
        rows = group.rows[:, None]
        t_index = [cells[j].t_index for j in group.columns]
        base_index = [cells[j].base_index for j in group.columns]
        change = wide.outcome[rows, t_index] - wide.outcome[rows, base_index]
        att, psi = estimate_cells_batch(nu, change)
        out.att[group.columns] = att
        psi *= wide.n_units / group.rows.shape[0]
        if len(group.columns) == 1:
            out.psi[group.rows, group.columns[0]] = psi[:, 0]
        else:
            out.psi[np.ix_(group.rows, group.columns)] = psi
    groups.clear()


def _skip_reason(cell: CellSpec, n_treated: int, n_control: int) -> str:
    if n_treated == 0:
        return LACKING_FIRMS[0]
    if n_control == 0 and not cell.reference:
        return LACKING_FIRMS[1]
    return ""


def estimate_subgroups(
    wide: WidePanel, cells: list[CellSpec], *, method: str, covariate_names: list[str], by: str
) -> tuple[CellEstimates, np.ndarray]:
    """Estimate the cells within each subgroup of ``wide.groups``; stack them on all firms.

    A subgroup's influence functions are rescaled from its :math:`n_s` firms
    to all :math:`n` firms (:math:`\\psi \\cdot n / n_s`, zero outside it).

    Returns
    -------
    tuple
        The stacked estimates (cells with a ``subgroup`` column) and the
        subgroup labels in sorted order.
    """
    groups = wide.groups
    labels = pd.unique(pd.Series(groups).sort_values(kind="stable"))
    n = wide.n_units
    parts, frames, missing, atts = [], [], [], []
    merged = CellEstimates(np.zeros(0), np.zeros((n, 0)), pd.DataFrame(), pd.DataFrame())
    for label in labels:
        rows = np.flatnonzero(groups == label)
        warn_small_cohorts(
            pd.Series(wide.cohort[rows]).dropna(),
            len(covariate_names),
            f" in subgroup {by}={label}",
            stacklevel=6,
        )
        sub = estimate_cells(
            wide.subset(rows),
            cells,
            method=method,
            covariate_names=covariate_names,
            where=f", subgroup {by}={label}",
        )
        block = np.zeros((n, sub.psi.shape[1]))
        block[rows] = sub.psi * (n / rows.shape[0])
        parts.append(block)
        frames.append(sub.cells.assign(subgroup=label))
        missing.append(sub.missing.assign(subgroup=label))
        atts.append(sub.att)
        merged.overlap += sub.overlap
        merged.unidentified += sub.unidentified
        merged.separated = max(merged.separated, sub.separated)
    merged.att = np.concatenate(atts)
    merged.psi = np.column_stack(parts)
    merged.cells = pd.concat(frames, ignore_index=True)
    merged.missing = pd.concat(missing, ignore_index=True)
    return merged, labels


def warn_cells_not_estimated(est: CellEstimates, stacklevel: int) -> None:
    """Warn about cells without the firms they need and about cells not identified."""
    lacking = est.missing.loc[est.missing["reason"].isin(LACKING_FIRMS)]
    if len(lacking):
        listed = ", ".join(f"({r.cohort},{r.year})" for r in lacking.itertuples())
        warnings.warn(
            f"{len(lacking)} group-time cell(s) could not be estimated and are left out "
            f"of every aggregation: {listed}. See result.cells_without_controls.",
            CellsWithoutControlsWarning,
            stacklevel=stacklevel,
        )
    if est.unidentified:
        shown = "; ".join(est.unidentified[:5])
        more = f"; and {len(est.unidentified) - 5} more" if len(est.unidentified) > 5 else ""
        warnings.warn(
            f"group-time cells must have comparison firms resembling their treated firms; got "
            f"{len(est.unidentified)} cell(s) where they do not, left out of every "
            f"aggregation: {shown}{more}. Use fewer or coarser covariates. See "
            "result.cells_not_identified.",
            SeparatedCellsWarning,
            stacklevel=stacklevel,
        )
