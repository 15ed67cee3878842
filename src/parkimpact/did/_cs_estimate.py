r"""The loop over group-time cells: one 2x2 DiD per cell, influence functions on all firms.

For cell :math:`(g, t)` with :math:`n_{gt}` member firms out of the
:math:`n` firms of the (sub)sample, the 2x2 estimator gives a cell-level
influence function :math:`\psi^{gt}_i` with
:math:`\hat\theta_{gt} - \theta_{gt} \approx n_{gt}^{-1}\sum_{i \in gt}\psi^{gt}_i`;
on the full sample it is :math:`(n / n_{gt})\,\psi^{gt}_i` for members and 0
for everyone else, so that :math:`\hat V = n^{-2}\Psi'\Psi` reproduces R
``did``'s analytic variance. The loop runs over cells, never over firms;
nuisance models are fitted once per distinct set of firms, covariates and
weights and reused by the cells that share them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from parkimpact.did._cs_cells import CellSpec, WidePanel, cell_members
from parkimpact.did.drdid import OVERLAP_LEVEL, estimate_cells_batch, prepare_cell

__all__ = ["CellEstimates", "estimate_cells", "MISSING_COLUMNS"]

MISSING_COLUMNS: tuple[str, ...] = (
    "cohort",
    "year",
    "base_year",
    "n_treated",
    "n_control",
    "reason",
)


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
    """

    att: np.ndarray
    psi: np.ndarray
    cells: pd.DataFrame
    missing: pd.DataFrame
    overlap: list[str] = field(default_factory=list)
    separated: int = 0


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


def _design(wide: WidePanel, rows: np.ndarray, cell: CellSpec) -> np.ndarray:
    ones = np.ones((rows.shape[0], 1))
    if wide.covariates is None:
        return ones
    return np.column_stack([ones, wide.covariates[rows, cell.early_index, :]])


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


def estimate_cells(
    wide: WidePanel,
    cells: list[CellSpec],
    *,
    method: str,
    covariate_names: list[str],
    where: str = "",
) -> CellEstimates:
    """Estimate every cell of ``cells`` on the firms of ``wide``.

    Parameters
    ----------
    wide : WidePanel
        The (sub)sample.
    cells : list of CellSpec
        Cells to estimate (see :func:`~parkimpact.did._cs_cells.plan_cells`).
    method : str
        2x2 estimator (see :mod:`parkimpact.did.drdid`).
    covariate_names : list of str
        Names used in error messages.
    where : str
        Suffix of cell descriptions in messages (e.g. the subgroup).

    Raises
    ------
    IdentificationError
        From :func:`~parkimpact.did.drdid.prepare_cell` (perfect separation,
        no covariate variation among comparison firms).
    """
    balanced = wide.balanced
    varying = _time_varying(wide.covariates, wide.observed, balanced)
    out = CellEstimates(
        att=np.zeros(len(cells)),
        psi=np.zeros((wide.n_units, len(cells)), order="F"),
        cells=pd.DataFrame(),
        missing=pd.DataFrame(),
    )
    kept, described, missing = [], [], []
    groups: dict[tuple, _Group] = {}
    for j, cell in enumerate(cells):
        rows, treated = cell_members(wide, cell)
        n_treated = int(treated.sum())
        n_control = rows.shape[0] - n_treated
        reason = _skip_reason(cell, n_treated, n_control)
        if reason:
            missing.append((cell.cohort, cell.year, cell.base, n_treated, n_control, reason))
            continue
        kept.append(j)
        described.append(_describe(cell, n_treated, n_control))
        if cell.reference:
            continue
        if groups and next(iter(groups))[0] != cell.cohort:
            _run_groups(out, wide, cells, groups, method, covariate_names, where)
        key = _cache_key(cell, rows, balanced, varying)
        groups.setdefault(key, _Group(rows, treated)).columns.append(j)
    _run_groups(out, wide, cells, groups, method, covariate_names, where)
    index = np.asarray(kept, dtype=np.intp)
    if index.size < len(cells):
        out.psi = out.psi[:, index]
    out.att = out.att[index]
    out.cells = pd.DataFrame(described, columns=list(_describe(cells[0], 0, 0)) if cells else None)
    out.missing = pd.DataFrame(missing, columns=list(MISSING_COLUMNS))
    return out


def _run_groups(
    out: CellEstimates,
    wide: WidePanel,
    cells: list[CellSpec],
    groups: dict[tuple, _Group],
    method: str,
    names: list[str],
    where: str,
) -> None:
    """Fit each group's nuisance models once and estimate its cells in one batch."""
    for group in groups.values():
        first = cells[group.columns[0]]
        context = f"cell (cohort {first.cohort}, year {first.year}{where})"
        nu = prepare_cell(
            method,
            _design(wide, group.rows, first),
            group.treated,
            wide.weights[group.rows],
            context=context,
            names=names,
        )
        if nu.max_score >= OVERLAP_LEVEL:
            out.overlap.append(context)
        out.separated = max(out.separated, nu.n_separated)
        block = wide.outcome[group.rows]
        t_index = [cells[j].t_index for j in group.columns]
        base_index = [cells[j].base_index for j in group.columns]
        att, psi = estimate_cells_batch(nu, block[:, t_index] - block[:, base_index])
        out.att[group.columns] = att
        out.psi[np.ix_(group.rows, group.columns)] = (wide.n_units / group.rows.shape[0]) * psi
    groups.clear()


def _skip_reason(cell: CellSpec, n_treated: int, n_control: int) -> str:
    if n_treated == 0:
        return "no firm of the cohort observed in both years"
    if n_control == 0 and not cell.reference:
        return "no comparison firms"
    return ""
