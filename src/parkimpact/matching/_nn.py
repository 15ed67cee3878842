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
  insertion point.

No treated x control matrix is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Matches", "SortedControls", "sorted_controls", "greedy_sorted", "kdtree_match"]


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
        """Build from pairs, computing the within-focal-unit weights."""
        order = np.lexsort((rank, focal))
        focal, control, rank = focal[order], control[order], rank[order]
        _, inverse, counts = np.unique(focal, return_inverse=True, return_counts=True)
        return cls(focal, control, rank, 1.0 / counts[inverse])


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
    left = np.searchsorted(values, d_focal, side="left")
    right = np.searchsorted(values, d_focal, side="right")
    tied = np.flatnonzero(right > left)
    for t in tied.tolist():  # rare: only focal units sharing a distance with some control
        left[t] += int(np.searchsorted(rows[left[t] : right[t]], focal_rows[t]))
    return left


def sorted_controls(
    distance: np.ndarray, focal: np.ndarray, strata: np.ndarray | None
) -> SortedControls:
    """Sort once and locate every focal unit among the controls (vectorised)."""
    focal_rows = np.flatnonzero(focal)
    if strata is None:
        controls = np.flatnonzero(~focal)
        order = np.argsort(distance[controls], kind="stable")
        rows = controls[order]
        values = distance[rows]
        insert = _tie_corrected_insert(values, rows, distance[focal_rows], focal_rows)
        low = np.zeros(focal_rows.size, dtype=np.intp)
        high = np.full(focal_rows.size, rows.size, dtype=np.intp)
        return SortedControls(rows, values, insert, low, high, focal_rows)
    order = np.argsort(distance, kind="stable")
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


def _with_replacement(
    sc: SortedControls, distance: np.ndarray, k: int, axis: np.ndarray, caliper: float
) -> Matches:
    """k rounds of a vectorised two-pointer merge around each insertion point."""
    d_focal = distance[sc.focal_rows]
    a_focal = axis[sc.focal_rows]
    a_controls = axis[sc.rows]
    left = sc.insert - 1
    right = sc.insert.copy()
    alive = np.ones(sc.focal_rows.size, dtype=bool)
    focal_out, control_out, rank_out = [], [], []
    last = max(sc.values.size - 1, 0)
    for r in range(k):
        ok_left = alive & (left >= sc.low)
        ok_right = alive & (right < sc.high)
        li, ri = np.clip(left, 0, last), np.clip(right, 0, last)
        ok_left &= np.abs(a_focal - a_controls[li]) <= caliper
        ok_right &= np.abs(a_focal - a_controls[ri]) <= caliper
        gap_left = np.abs(d_focal - sc.values[li])
        gap_right = np.abs(sc.values[ri] - d_focal)
        take_left = ok_left & (~ok_right | (gap_left <= gap_right))
        take_right = ok_right & ~take_left
        found = take_left | take_right
        chosen = np.where(take_left, li, ri)
        focal_out.append(sc.focal_rows[found])
        control_out.append(sc.rows[chosen[found]])
        rank_out.append(np.full(int(found.sum()), r, dtype=np.intp))
        left = left - take_left
        right = right + take_right
        alive = found
    return Matches.from_pairs(
        np.concatenate(focal_out), np.concatenate(control_out), np.concatenate(rank_out)
    )


def _without_replacement(
    sc: SortedControls,
    distance: np.ndarray,
    k: int,
    order: np.ndarray,
    axis: np.ndarray,
    caliper: float,
) -> Matches:
    """Greedy matching in ``order`` with union-find "next available control" lookups."""
    m = sc.values.size
    # left_up[j + 1] leads to the nearest available sorted control <= j (slot 0: none);
    # right_up[j] leads to the nearest available sorted control >= j (slot m: none).
    left_up = list(range(m + 1))
    right_up = list(range(m + 1))
    values = sc.values.tolist()
    same_axis = axis is distance
    a_controls = values if same_axis else axis[sc.rows].tolist()
    slot = np.empty(distance.size, dtype=np.intp)
    slot[sc.focal_rows] = np.arange(sc.focal_rows.size)
    sequence = slot[order]
    ins, low, high = sc.insert.tolist(), sc.low.tolist(), sc.high.tolist()
    d_focal = distance[sc.focal_rows].tolist()
    a_focal = d_focal if same_axis else axis[sc.focal_rows].tolist()
    use_caliper = bool(np.isfinite(caliper))
    n_focal = sc.focal_rows.size
    chosen_by_round: list[list[int]] = []
    remaining = m
    for _ in range(k):
        chosen_now = [-1] * n_focal
        for i in sequence.tolist():
            if remaining == 0:
                break
            j = ins[i]
            while left_up[j] != j:  # nearest available control <= ins - 1 (path halving)
                left_up[j] = left_up[left_up[j]]
                j = left_up[j]
            lj = j - 1
            j = ins[i]
            while right_up[j] != j:  # nearest available control >= ins
                right_up[j] = right_up[right_up[j]]
                j = right_up[j]
            rj = j
            di = d_focal[i]
            if lj < low[i] or (use_caliper and abs(a_focal[i] - a_controls[lj]) > caliper):
                lj = -1
            if rj >= high[i] or (use_caliper and abs(a_controls[rj] - a_focal[i]) > caliper):
                rj = -1
            if lj >= 0 and (rj < 0 or di - values[lj] <= values[rj] - di):
                chosen = lj
            elif rj >= 0:
                chosen = rj
            else:
                continue
            left_up[chosen + 1] = chosen
            right_up[chosen] = chosen + 1
            remaining -= 1
            chosen_now[i] = chosen
        chosen_by_round.append(chosen_now)
    chosen_all = np.asarray(chosen_by_round, dtype=np.intp).reshape(k, n_focal)
    rank, focal_slots = np.nonzero(chosen_all >= 0)
    control_slots = chosen_all[rank, focal_slots]
    return Matches.from_pairs(sc.focal_rows[focal_slots], sc.rows[control_slots], rank)


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
