"""Greedy nearest-neighbour matching by sorted search, in O(n log n) time and O(n) memory.

Conventions (those of MatchIt 4.x, ``method = "nearest"``):

* All units of a stratum are sorted by distance, ties in distance kept in data
  order (a stable sort). For a focal unit the *left* candidate is the nearest
  eligible control before it in that order and the *right* candidate the
  nearest eligible control after it; the left one wins when
  ``|d_left - d_i| <= |d_right - d_i|`` (ties go to the lower distance, and
  among equal distances to the control nearest in sorted position).
* A candidate outside the caliper makes its side empty (every control further
  out on that side is outside too).
* ``k`` matches are made in ``k`` rounds: every focal unit, in matching order,
  receives its first match before any receives its second.
* Without replacement a matched control is no longer available. The "next
  available control" to the left and right is found with two union-find
  structures over the sorted controls (path halving), so the whole greedy pass
  costs :math:`O((n_1 k + n_0)\\,\\alpha(n_0))` after the sort.
* With replacement there is no interaction between focal units and the search
  is fully vectorised: ``k`` steps of a two-pointer merge around each unit's
  insertion point. The matching order is irrelevant (MatchIt ignores
  ``m.order`` with replacement too).

No treated x control matrix is ever formed. Sorting dominates the cost; it uses
:func:`stable_argsort`, the order of a stable sort computed by the faster
unstable sort plus a repair of tied runs.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Matches",
    "SortedControls",
    "stable_argsort",
    "sorted_controls",
    "greedy_sorted",
    "kdtree_match",
]

_TIE_SAMPLE = 2048
"""Values inspected by :func:`stable_argsort` to decide whether ties are common."""


@dataclass(frozen=True, eq=False)
class Matches:
    """Matched sets in long form: one row per (focal unit, control) pair.

    Attributes
    ----------
    focal, control : numpy.ndarray
        Row positions (in the estimation sample) of the focal unit and of its
        match.
    rank : numpy.ndarray
        Round in which the match was made (0 for the first match); tied
        matches of :func:`kdtree_match` share a rank.
    weight : numpy.ndarray
        ``1 / (number of matches of the focal unit)``: each focal unit's
        controls sum to one.
    """

    focal: np.ndarray
    control: np.ndarray
    rank: np.ndarray
    weight: np.ndarray

    @classmethod
    def from_pairs(cls, focal: np.ndarray, control: np.ndarray, rank: np.ndarray) -> Matches:
        """Build from pairs, computing the within-focal-unit weights.

        The pairs are put in (focal, rank) order; pairs that already are (the
        matchers below emit them so) are not sorted again.
        """
        if focal.size > 1:
            step = np.diff(focal)
            in_order = (step > 0) | ((step == 0) & (np.diff(rank) >= 0))
            if not in_order.all():
                order = np.lexsort((rank, focal))
                focal, control, rank = focal[order], control[order], rank[order]
        if focal.size == 0:
            return cls(focal, control, rank, np.empty(0))
        starts = np.flatnonzero(np.concatenate(([True], focal[1:] != focal[:-1])))
        counts = np.diff(np.append(starts, focal.size))
        return cls(focal, control, rank, np.repeat(1.0 / counts, counts))


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """The permutation of a stable sort of ``values`` (ties in index order).

    NumPy's default (unstable) sort of floats is markedly faster than its
    stable sort. When a strided sample of ``values`` shows no repeated value,
    the unstable order is computed and the runs of equal values are put back in
    index order (a small sort of the tied positions only); otherwise, or when
    ties turn out to be common, the stable sort is used directly. Either way
    the result equals ``np.argsort(values, kind="stable")`` for values without
    NaN (distances are checked to be finite before matching).
    """
    return _stable_sort(values)[0]


def _stable_sort(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stable_argsort` and the sorted values."""
    n = values.size
    sample = values[:: max(1, n // _TIE_SAMPLE)]
    if n < 2 or np.unique(sample).size < sample.size:
        order = np.argsort(values, kind="stable")
        return order, values[order]
    order = np.argsort(values)
    ordered = values[order]
    equal = ordered[1:] == ordered[:-1]
    n_tied = int(np.count_nonzero(equal))
    if n_tied == 0:
        return order, ordered
    if n_tied > n // 64:
        order = np.argsort(values, kind="stable")
        return order, values[order]
    in_run = np.zeros(n, dtype=bool)
    in_run[1:] = equal
    in_run[:-1] |= equal
    where = np.flatnonzero(in_run)
    run = np.cumsum(~np.concatenate(([False], equal)))[where]
    members = order[where]
    order[where] = members[np.lexsort((members, run))]
    return order, ordered  # tied runs hold equal values: the sorted values are unchanged


@dataclass(frozen=True, eq=False)
class SortedControls:
    """Controls sorted by (stratum, distance, row) and each focal unit's place among them.

    Attributes
    ----------
    rows : numpy.ndarray
        Row positions of the controls in sorted order.
    values : numpy.ndarray
        Their distances.
    insert : numpy.ndarray
        For each focal unit (in row order of ``focal_rows``), the number of
        sorted controls before it (its insertion point).
    low, high : numpy.ndarray
        Bounds ``[low, high)`` of the focal unit's stratum in the sorted
        controls.
    focal_rows : numpy.ndarray
        Row positions of the focal units.
    """

    rows: np.ndarray
    values: np.ndarray
    insert: np.ndarray
    low: np.ndarray
    high: np.ndarray
    focal_rows: np.ndarray


def _tie_corrected_insert(
    values: np.ndarray, rows: np.ndarray, d_focal: np.ndarray, focal_rows: np.ndarray
) -> np.ndarray:
    """Insertion points in (distance, row) order; only exact ties need the row comparison."""
    insert = np.searchsorted(values, d_focal, side="left")
    if values.size == 0:
        return insert
    at = np.minimum(insert, values.size - 1)
    tied = np.flatnonzero(values[at] == d_focal)
    if tied.size == 0:
        return insert
    right = np.searchsorted(values, d_focal[tied], side="right")
    if tied.size > 64:  # many ties: count the controls before each unit in (distance, row) order
        return _merge_insert(values, rows, d_focal, focal_rows)
    for t, stop in zip(tied.tolist(), right.tolist(), strict=True):
        start = int(insert[t])
        insert[t] = start + int(np.searchsorted(rows[start:stop], focal_rows[t]))
    return insert


def _merge_insert(
    values: np.ndarray, rows: np.ndarray, d_focal: np.ndarray, focal_rows: np.ndarray
) -> np.ndarray:
    """Insertion points by one stable sort of controls and focal units together."""
    key = np.concatenate([values, d_focal])
    label = np.concatenate([rows, focal_rows])
    merged = np.lexsort((label, key))
    is_control = merged < values.size
    before = np.cumsum(is_control) - is_control
    insert = np.empty(d_focal.size, dtype=np.intp)
    insert[merged[~is_control] - values.size] = before[~is_control]
    return insert


def sorted_controls(
    distance: np.ndarray, focal: np.ndarray, strata: np.ndarray | None
) -> SortedControls:
    """Sort once and locate every focal unit among the controls (vectorised)."""
    focal_rows = np.flatnonzero(focal)
    if strata is None:
        controls = np.flatnonzero(~focal)
        order, values = _stable_sort(distance[controls])
        rows = controls[order]
        insert = _tie_corrected_insert(values, rows, distance[focal_rows], focal_rows)
        low = np.zeros(focal_rows.size, dtype=np.intp)
        high = np.full(focal_rows.size, rows.size, dtype=np.intp)
        return SortedControls(rows, values, insert, low, high, focal_rows)
    order = stable_argsort(distance)
    order = order[np.argsort(strata[order], kind="stable")]
    is_control = ~focal[order]
    before = np.cumsum(is_control) - is_control  # controls strictly before each position
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    rows = order[is_control]
    insert = before[position[focal_rows]]
    control_strata = strata[rows]
    low = np.searchsorted(control_strata, strata[focal_rows], side="left")
    high = np.searchsorted(control_strata, strata[focal_rows], side="right")
    return SortedControls(rows, distance[rows], insert, low, high, focal_rows)


def _pairs(sc: SortedControls, chosen: np.ndarray) -> Matches:
    """Matches from a (k, n_focal) array of chosen sorted-control slots (-1: none)."""
    focal_slots, rank = np.nonzero(chosen.T >= 0)  # focal-major, rank-minor: already in order
    control = sc.rows[chosen[rank, focal_slots]]
    return Matches.from_pairs(sc.focal_rows[focal_slots], control, rank)


def _with_replacement(
    sc: SortedControls, distance: np.ndarray, k: int, axis: np.ndarray, caliper: float
) -> Matches:
    """k rounds of a vectorised two-pointer merge around each insertion point."""
    d_focal = distance[sc.focal_rows]
    use_caliper = bool(np.isfinite(caliper))
    a_focal = axis[sc.focal_rows] if use_caliper else d_focal
    a_controls = axis[sc.rows] if use_caliper else sc.values
    left = sc.insert - 1
    right = sc.insert.copy()
    alive = np.ones(sc.focal_rows.size, dtype=bool)
    chosen = np.full((k, sc.focal_rows.size), -1, dtype=np.intp)
    last = max(sc.values.size - 1, 0)
    for r in range(k):
        ok_left = alive & (left >= sc.low)
        ok_right = alive & (right < sc.high)
        li, ri = np.clip(left, 0, last), np.clip(right, 0, last)
        if use_caliper:  # a left candidate is never above the unit, a right one never below
            ok_left &= a_focal - a_controls[li] <= caliper
            ok_right &= a_controls[ri] - a_focal <= caliper
        gap_left = d_focal - sc.values[li]
        gap_right = sc.values[ri] - d_focal
        take_left = ok_left & (~ok_right | (gap_left <= gap_right))
        take_right = ok_right & ~take_left
        found = take_left | take_right
        chosen[r] = np.where(take_left, li, np.where(take_right, ri, -1))
        left = left - take_left
        right = right + take_right
        alive = found
    return _pairs(sc, chosen)


def _without_replacement(
    sc: SortedControls,
    distance: np.ndarray,
    k: int,
    order: np.ndarray,
    axis: np.ndarray,
    caliper: float,
) -> Matches:
    """Greedy matching in ``order`` with union-find "next available control" lookups.

    Slot ``j`` of ``to_left`` points towards the nearest available control at
    sorted position ``<= j - 1``, slot ``j`` of ``to_right`` towards the nearest
    at position ``>= j``; only slots of used controls are stored (a slot that is
    absent points to itself), so no structure of the size of the control group
    is built. Lookups halve the paths they walk. The per-unit inputs are laid
    out in matching order so that the loop reads them sequentially.
    """
    values = array("d", np.ascontiguousarray(sc.values, dtype=np.float64).tobytes())
    same_axis = axis is distance or not np.isfinite(caliper)
    a_values = values if same_axis else array("d", axis[sc.rows].astype(np.float64).tobytes())
    slot = np.empty(distance.size, dtype=np.intp)
    slot[sc.focal_rows] = np.arange(sc.focal_rows.size)
    sequence = slot[order]  # focal slots in matching order
    d_focal = distance[sc.focal_rows[sequence]]
    columns = [sc.insert[sequence], d_focal, d_focal if same_axis else axis[order]]
    columns += [sc.low[sequence], sc.high[sequence]]
    to_left: dict[int, int] = {}
    to_right: dict[int, int] = {}
    chosen = np.full((k, sc.focal_rows.size), -1, dtype=np.intp)
    for r in range(k):
        chosen_now = [-1] * sequence.size
        rows = zip(*(c.tolist() for c in columns), strict=True)
        for t, (start, di, ai, low, high) in enumerate(rows):
            j = start
            while j in to_left:
                step = to_left[j]
                if step in to_left:
                    step = to_left[j] = to_left[step]
                j = step
            lj = j - 1
            j = start
            while j in to_right:
                step = to_right[j]
                if step in to_right:
                    step = to_right[j] = to_right[step]
                j = step
            if lj < low or ai - a_values[lj] > caliper:
                lj = -1
            if j >= high or a_values[j] - ai > caliper:
                j = -1
            if lj >= 0 and (j < 0 or di - values[lj] <= values[j] - di):
                j = lj
            elif j < 0:
                continue
            to_left[j + 1] = j
            to_right[j] = j + 1
            chosen_now[t] = j
        found = np.asarray(chosen_now, dtype=np.intp)
        chosen[r, sequence] = found
        keep = found >= 0  # units left without a match cannot get one in later rounds
        sequence = sequence[keep]
        columns = [c[keep] for c in columns]
    return _pairs(sc, chosen)


def greedy_sorted(
    distance: np.ndarray,
    focal: np.ndarray,
    *,
    k: int,
    replace: bool,
    order: np.ndarray,
    strata: np.ndarray | None = None,
    caliper_axis: np.ndarray | None = None,
    caliper: float = np.inf,
) -> Matches:
    """Greedy k-nearest-neighbour matching on a scalar distance.

    Parameters
    ----------
    distance : numpy.ndarray
        Scalar distance (e.g. the propensity score) of every row.
    focal : numpy.ndarray
        Boolean: rows that receive matches (treated for the ATT).
    k : int
        Matches per focal unit.
    replace : bool
        Whether a control can be matched to several focal units.
    order : numpy.ndarray
        Row positions of the focal units in matching order (ignored with
        replacement, where order does not matter).
    strata : numpy.ndarray or None
        Integer codes of exact-matching strata; matches stay within a stratum.
    caliper_axis : numpy.ndarray or None
        Values on which the caliper is measured (default ``distance``); must be
        a non-decreasing function of ``distance``.
    caliper : float
        Maximum ``|caliper_axis_i - caliper_axis_j|`` of a match (inclusive).

    Returns
    -------
    Matches
    """
    sc = sorted_controls(distance, focal, strata)
    axis = distance if caliper_axis is None else caliper_axis
    if sc.values.size == 0:
        empty = np.empty(0, dtype=np.intp)
        return Matches(empty, empty, empty, np.empty(0))
    if replace:
        return _with_replacement(sc, distance, k, axis, caliper)
    return _without_replacement(sc, distance, k, order, axis, caliper)


def kdtree_match(
    z: np.ndarray,
    focal: np.ndarray,
    *,
    k: int,
    replace: bool,
    order: np.ndarray,
    strata: np.ndarray | None = None,
    caliper_axis: np.ndarray | None = None,
    caliper: float = np.inf,
    ties: bool = False,
) -> Matches:
    """Nearest-neighbour matching on Euclidean distance of ``z`` (whitened covariates).

    Uses a k-d tree per stratum (:class:`scipy.spatial.cKDTree`): memory is
    linear in n. Ties in distance go to the control first in data order; with
    ``ties=True`` (and replacement) every control as close as the k-th
    nearest is kept and the focal unit's weight is split among them, as
    ``nnmatch`` does. Without replacement each focal unit, in ``order``,
    takes its nearest still-available controls (one per round).
    """
    from scipy.spatial import cKDTree

    codes = np.zeros(focal.size, dtype=np.intp) if strata is None else strata
    axis = np.zeros(focal.size) if caliper_axis is None else caliper_axis
    out_f, out_c, out_r = [], [], []
    rank_of = np.empty(focal.size, dtype=np.intp)
    rank_of[order] = np.arange(order.size)
    for code in np.unique(codes[focal]):
        controls = np.flatnonzero(~focal & (codes == code))
        units = np.flatnonzero(focal & (codes == code))
        if controls.size == 0:
            continue
        tree = cKDTree(z[controls])
        if replace:
            f, c, r = _tree_with_replacement(tree, z, axis, units, controls, k, caliper, ties)
        else:
            units = units[np.argsort(rank_of[units], kind="stable")]
            f, c, r = _tree_without_replacement(tree, z, axis, units, controls, k, caliper)
        out_f.append(f)
        out_c.append(c)
        out_r.append(r)
    if not out_f:
        empty = np.empty(0, dtype=np.intp)
        return Matches(empty, empty, empty, np.empty(0))
    return Matches.from_pairs(np.concatenate(out_f), np.concatenate(out_c), np.concatenate(out_r))


def _candidates(
    tree: object, point: np.ndarray, n_controls: int, want: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``want`` nearest controls, sorted by (distance, data order)."""
    want = min(want, n_controls)
    dist, idx = tree.query(point, k=want)  # type: ignore[attr-defined]
    dist, idx = np.atleast_1d(dist), np.atleast_1d(idx)
    keep = np.isfinite(dist)
    dist, idx = dist[keep], idx[keep]
    order = np.lexsort((idx, dist))
    return dist[order], idx[order]


def _tree_with_replacement(
    tree: object,
    z: np.ndarray,
    axis: np.ndarray,
    units: np.ndarray,
    controls: np.ndarray,
    k: int,
    caliper: float,
    ties: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f_out, c_out, r_out = [], [], []
    for unit in units.tolist():
        want = k + 8
        while True:
            dist, idx = _candidates(tree, z[unit], controls.size, want)
            inside = np.abs(axis[controls[idx]] - axis[unit]) <= caliper
            dist, idx = dist[inside], idx[inside]
            if want >= controls.size:
                break
            if dist.size > k and not (ties and dist[-1] <= dist[k - 1] * (1 + 1e-10) + 1e-12):
                break
            want *= 4
        if dist.size == 0:
            continue
        if ties and dist.size >= k:
            cutoff = dist[k - 1] * (1.0 + 1e-10) + 1e-12
            take = dist <= cutoff
            ranks = np.minimum(np.arange(dist.size), k - 1)
        else:
            take = np.arange(dist.size) < k
            ranks = np.arange(dist.size)
        chosen = controls[idx[take]]
        f_out.append(np.full(chosen.size, unit, dtype=np.intp))
        c_out.append(chosen)
        r_out.append(ranks[take].astype(np.intp))
    if not f_out:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, empty
    return np.concatenate(f_out), np.concatenate(c_out), np.concatenate(r_out)


def _tree_without_replacement(
    tree: object,
    z: np.ndarray,
    axis: np.ndarray,
    units: np.ndarray,
    controls: np.ndarray,
    k: int,
    caliper: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    used = np.zeros(controls.size, dtype=bool)
    f_out: list[int] = []
    c_out: list[int] = []
    r_out: list[int] = []
    for r in range(k):
        for unit in units.tolist():
            if used.all():
                break
            want = 8
            while True:
                dist, idx = _candidates(tree, z[unit], controls.size, want)
                ok = ~used[idx] & (np.abs(axis[controls[idx]] - axis[unit]) <= caliper)
                if ok.any() or want >= controls.size:
                    break
                want *= 4
            if not ok.any():
                continue
            j = int(idx[np.argmax(ok)])
            used[j] = True
            f_out.append(unit)
            c_out.append(int(controls[j]))
            r_out.append(r)
    as_array = np.asarray
    return (
        as_array(f_out, dtype=np.intp),
        as_array(c_out, dtype=np.intp),
        as_array(r_out, dtype=np.intp),
    )
