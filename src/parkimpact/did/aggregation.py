r"""Aggregations of group-time ATTs (Callaway and Sant'Anna 2021, Sect. 3; R ``did::aggte``).

Let :math:`\hat\theta_{gt}` be the estimated ATT(g, t), :math:`\hat\psi_{gt}`
their influence functions on the :math:`n` firms and
:math:`\hat p_g = n^{-1}\sum_i w_i 1[G_i = g]` the (weighted) share of
cohort :math:`g`. Every aggregate is :math:`\sum_{(g,t) \in K} a_{gt}
\hat\theta_{gt}` over a set :math:`K` of post-entry cells (estimated cells
only: cells without comparison firms are left out):

- **simple**: :math:`K = \{t \ge g\}`, :math:`a_{gt} = \hat p_g / \sum_K \hat p_{g'}`.
- **dynamic** (event time :math:`e = t - g`):
  :math:`\theta(e) = \sum_{g} \hat p_g \hat\theta_{g,g+e} / \sum_g \hat p_g`
  over cohorts observed at :math:`e`; overall: the mean of :math:`\theta(e)`
  over :math:`e \ge 0` in the window.
- **group**: :math:`\theta(g) = \text{mean}_{t \ge g}\, \hat\theta_{gt}`;
  overall :math:`\sum_g \hat p_g \theta(g) / \sum_g \hat p_g`.
- **calendar**: :math:`\theta(t) = \sum_{g \le t} \hat p_g \hat\theta_{gt} /
  \sum_{g \le t} \hat p_g` for years from the first cohort on; overall: the
  mean of :math:`\theta(t)`.

Influence functions: :math:`\sum_K a_{gt}\hat\psi_{gt}` plus, where the
weights use :math:`\hat p_g`, the estimated-weights term of R ``did``

.. math::

    \sum_{(g,t) \in K} \hat\theta_{gt}\Big[\frac{\xi_{ig}}{S}
        - \frac{\hat p_g}{S^2}\sum_{(g',t') \in K}\xi_{ig'}\Big],
    \qquad \xi_{ig} = w_i 1[G_i = g] - \hat p_g,\ S = \sum_K \hat p_{g} .

For the overall group effect the term uses each cohort's own indicator
:math:`1[G_i = g]` (R ``did`` 2.x indexes the cell-level group vector there,
which pairs the first cohorts' indicators with other cohorts' shares; the
point estimates agree, the standard error of that one number differs).

With ``by`` every quantity is computed within each subgroup (shares among the
subgroup's firms) and the influence functions are embedded in the full firm
sample, zero outside the subgroup, so that subgroup effects can be compared
with a Wald test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from parkimpact.did.cs_results import AggregatedATT, key_column, thin_blas
from parkimpact.inference import InfluenceFunction, WaldTest

if TYPE_CHECKING:
    from parkimpact.did.cs_results import GroupTimeATT

__all__ = ["aggregate", "KINDS"]

KINDS: Final[tuple[str, ...]] = ("simple", "dynamic", "group", "calendar")


@dataclass
class _Targets:
    """Aggregated parameters of one subgroup under construction."""

    names: list[str]
    keys: list[object]
    estimates: list[float]
    influence: list[np.ndarray]
    weights: list[np.ndarray]


class _Subgroup:
    """Cells, influence functions and cohort shares of one subgroup."""

    def __init__(self, result: GroupTimeATT, label: object | None) -> None:
        cells = result.cells
        firms = result.firms
        in_cells = (
            np.ones(len(cells), dtype=bool)
            if label is None
            else (cells["subgroup"].to_numpy() == label)
        )
        in_firms = (
            np.ones(len(firms), dtype=bool)
            if label is None
            else (firms["subgroup"].to_numpy() == label)
        )
        self.columns = np.flatnonzero(in_cells)
        self.cohort = cells["cohort"].to_numpy()[self.columns]
        self.year = cells["year"].to_numpy()[self.columns]
        self.post = cells["post"].to_numpy()[self.columns].astype(bool)
        self.att = result.att.to_numpy()[self.columns]
        values = result.influence.values
        self.psi = values if label is None else values[:, self.columns]
        n, n_sub = len(firms), int(in_firms.sum())
        cohort = firms["cohort"].to_numpy()
        weight = firms["weight"].to_numpy()
        self.cohorts = np.unique(self.cohort)
        share = np.empty(self.cohorts.shape[0])
        xi = np.zeros((n, self.cohorts.shape[0]))
        for j, g in enumerate(self.cohorts):
            mark = weight * (cohort == g) * in_firms
            share[j] = mark.sum() / n_sub
            xi[:, j] = np.where(in_firms, (mark - share[j]) * (n / n_sub), 0.0)
        self.share = share
        self.xi = xi
        self.n_cells = len(cells)

    def cell_share(self, positions: np.ndarray) -> np.ndarray:
        return self.share[np.searchsorted(self.cohorts, self.cohort[positions])]

    def full_weights(self, positions: np.ndarray, a: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n_cells)
        out[self.columns[positions]] = a
        return out

    def share_weighted(self, positions: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Cohort-share weighted mean of the cells ``positions`` with the weights' IF term."""
        _require_cells(positions)
        p = self.cell_share(positions)
        total = p.sum()
        a = p / total
        att = self.att[positions]
        estimate = float(a @ att)
        which = np.searchsorted(self.cohorts, self.cohort[positions])
        by_cohort = np.bincount(which, weights=att, minlength=self.cohorts.shape[0])
        counts = np.bincount(which, minlength=self.cohorts.shape[0]).astype(float)
        wif = self.xi @ by_cohort / total - (self.xi @ counts) * float(p @ att) / total**2
        return estimate, self.psi[:, positions] @ a + wif, self.full_weights(positions, a)

    def equal_weighted(self, positions: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        a = np.full(positions.shape[0], 1.0 / positions.shape[0])
        estimate = float(a @ self.att[positions])
        return estimate, self.psi[:, positions] @ a, self.full_weights(positions, a)


def _require_cells(positions: np.ndarray) -> None:
    if positions.size == 0:
        raise ValueError(
            "the aggregation window must contain at least one post-entry cell; got none. "
            "Widen min_e/max_e or drop balance_e."
        )


def _post_window(sub: _Subgroup, max_e: float) -> np.ndarray:
    return sub.post & (sub.year - sub.cohort <= max_e)


def _simple(sub: _Subgroup, max_e: float, **_: object) -> _Targets:
    keep = np.flatnonzero(_post_window(sub, max_e))
    est, psi, a = sub.share_weighted(keep)
    return _Targets(["overall"], [np.nan], [est], [psi], [a])


def _dynamic(
    sub: _Subgroup, min_e: float, max_e: float, balance_e: int | None, first: int, last: int
) -> _Targets:
    event = sub.year - sub.cohort
    include = np.ones(event.shape[0], dtype=bool)
    if balance_e is not None:
        include = (last - sub.cohort) >= balance_e
    seq = np.unique(event[include])
    if balance_e is not None:
        seq = seq[(seq <= balance_e) & (seq >= balance_e - (last - first))]
    seq = seq[(seq >= min_e) & (seq <= max_e)]
    targets = _Targets([], [], [], [], [])
    for e in seq:
        est, psi, a = sub.share_weighted(np.flatnonzero((event == e) & include))
        _append(targets, f"event_time={int(e)}", int(e), est, psi, a)
    return _with_overall(targets, [k >= 0 for k in targets.keys], None)


def _group(sub: _Subgroup, max_e: float, **_: object) -> _Targets:
    window = _post_window(sub, max_e)
    targets = _Targets([], [], [], [], [])
    for g in sub.cohorts:
        keep = np.flatnonzero(window & (sub.cohort == g))
        if keep.size:
            est, psi, a = sub.equal_weighted(keep)
            _append(targets, f"cohort={int(g)}", int(g), est, psi, a)
    cohorts = np.asarray(targets.keys, dtype=float)
    j = np.searchsorted(sub.cohorts, cohorts)
    p = sub.share[j]
    total = p.sum()
    theta = np.asarray(targets.estimates)
    xi = sub.xi[:, j]
    wif = xi @ theta / total - xi.sum(axis=1) * float(p @ theta) / total**2
    return _with_overall(targets, list(p / total), wif)


def _calendar(sub: _Subgroup, max_e: float, **_: object) -> _Targets:
    window = _post_window(sub, max_e)
    targets = _Targets([], [], [], [], [])
    for t in np.unique(sub.year[window]):
        est, psi, a = sub.share_weighted(np.flatnonzero(window & (sub.year == t)))
        _append(targets, f"year={int(t)}", int(t), est, psi, a)
    return _with_overall(targets, [True] * len(targets.keys), None)


def _append(
    targets: _Targets, name: str, key: object, est: float, psi: np.ndarray, a: np.ndarray
) -> None:
    targets.names.append(name)
    targets.keys.append(key)
    targets.estimates.append(est)
    targets.influence.append(psi)
    targets.weights.append(a)


def _with_overall(
    targets: _Targets, mix: list[float] | list[bool], wif: np.ndarray | None
) -> _Targets:
    """Prepend the overall effect: a fixed mix of the per-key effects (+ a weights term)."""
    b = np.asarray(mix, dtype=float)
    if not b.any():
        raise ValueError(
            "the aggregation window must contain at least one post-entry cell; got none. "
            "Widen min_e/max_e or drop balance_e."
        )
    b = b / b.sum()
    estimate = float(b @ np.asarray(targets.estimates))
    psi = np.column_stack(targets.influence) @ b
    if wif is not None:
        psi = psi + wif
    weights = np.column_stack(targets.weights) @ b
    return _Targets(
        ["overall", *targets.names],
        [np.nan, *targets.keys],
        [estimate, *targets.estimates],
        [psi, *targets.influence],
        [weights, *targets.weights],
    )


_BUILDERS = {"simple": _simple, "dynamic": _dynamic, "group": _group, "calendar": _calendar}


def _check(kind: object, min_e: object, max_e: object, balance_e: object) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}. Pick one of those.")
    for name, value in (("min_e", min_e), ("max_e", max_e)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise TypeError(f"{name} must be a number; got {value!r}. Pass e.g. {name}=-3.")
    if balance_e is not None:
        if kind != "dynamic":
            raise ValueError(
                f"balance_e must be None unless kind='dynamic'; got balance_e={balance_e!r} with "
                f"kind={kind!r}. Drop balance_e or use kind='dynamic'."
            )
        if (
            isinstance(balance_e, bool)
            or not isinstance(balance_e, int | np.integer)
            or (balance_e < 0)
        ):
            raise ValueError(
                f"balance_e must be a non-negative integer or None; got {balance_e!r}. "
                "Pass e.g. balance_e=2."
            )


def _subgroup_labels(result: GroupTimeATT) -> list[object | None]:
    if result.by is None:
        return [None]
    return list(pd.unique(result.cells["subgroup"]))


def aggregate(
    result: GroupTimeATT,
    kind: str = "simple",
    *,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    balance_e: int | None = None,
) -> AggregatedATT:
    """Aggregate group-time ATTs; see the module notes for weights and influence functions.

    Parameters
    ----------
    result : GroupTimeATT
        Fitted group-time effects.
    kind : {"simple", "dynamic", "group", "calendar"}, default "simple"
        Aggregation.
    min_e, max_e : float
        Event-time window of ``dynamic``; ``max_e`` also limits the
        post-entry cells used by the other kinds (as R ``aggte``).
    balance_e : int or None
        ``dynamic`` only: keep cohorts observed at least ``balance_e``
        periods after entry, and event times within the balanced window.

    Returns
    -------
    AggregatedATT

    Raises
    ------
    ValueError
        For an unknown kind, a bad window or ``balance_e`` with another kind.
    """
    _check(kind, min_e, max_e, balance_e)
    years = result.cells["year"].to_numpy()
    first, last = int(result.spec["first_year"]), int(years.max())
    with thin_blas():
        parts = _build(result, kind, min_e, max_e, balance_e, first, last)
    return _assemble(result, kind, *parts)


def _build(
    result: GroupTimeATT,
    kind: str,
    min_e: float,
    max_e: float,
    balance_e: int | None,
    first: int,
    last: int,
) -> tuple[list, list, list, list, list, list]:
    names, keys, estimates, columns, weight_rows, labels = [], [], [], [], [], []
    for label in _subgroup_labels(result):
        sub = _Subgroup(result, label)
        targets = _BUILDERS[kind](
            sub, min_e=min_e, max_e=max_e, balance_e=balance_e, first=first, last=last
        )
        suffix = "" if label is None else f"[{label}]"
        names += [f"{name}{suffix}" for name in targets.names]
        keys += targets.keys
        labels += [label] * len(targets.names)
        estimates += targets.estimates
        columns += targets.influence
        weight_rows += targets.weights
    return names, keys, labels, estimates, columns, weight_rows


def _assemble(
    result: GroupTimeATT,
    kind: str,
    names: list[str],
    keys: list[object],
    labels: list[object],
    estimates: list[float],
    columns: list[np.ndarray],
    weight_rows: list[np.ndarray],
) -> AggregatedATT:
    key = key_column(kind)
    base = result.influence
    frame = pd.DataFrame({"subgroup": labels, "key": keys, "name": names})
    is_overall = frame["name"].str.startswith("overall").to_numpy()
    order = np.concatenate([np.flatnonzero(is_overall), np.flatnonzero(~is_overall)])
    frame = frame.iloc[order].reset_index(drop=True)
    inf = InfluenceFunction(
        np.column_stack(columns)[:, order],
        np.asarray(estimates)[order],
        list(frame["name"]),
        base.unit_ids,
        base.cluster_ids,
    )
    se, boot = result.inference.standard_errors(inf)
    n_over = int(is_overall.sum())
    overall = pd.DataFrame(
        {"estimate": inf.estimates[:n_over], "std_error": se[:n_over]},
        index=pd.Index(
            ["all"] if result.by is None else list(frame["subgroup"][:n_over]), name="subgroup"
        ),
    )
    effects = pd.DataFrame({"estimate": inf.estimates[n_over:], "std_error": se[n_over:]})
    if key is not None:
        effects.insert(0, key, frame["key"][n_over:].to_numpy().astype(np.int64))
    if result.by is not None:
        effects.insert(0, "subgroup", frame["subgroup"][n_over:].to_numpy())
    critical = None
    if boot is not None and len(effects):
        critical = _sup_t(boot.draws[:, n_over:], se[n_over:], result.inference.level)
        half = critical * se[n_over:]
        effects["uniform_low"] = effects["estimate"] - half
        effects["uniform_high"] = effects["estimate"] + half
    return AggregatedATT(
        kind=kind,
        key=key,
        overall=overall,
        effects=effects,
        influence=inf,
        weights=_weight_table(result, frame["name"], np.column_stack(weight_rows)[:, order]),
        equality_test=_equality(result, inf, n_over),
        bootstrap=boot,
        uniform_critical_value=critical,
        inference=result.inference,
        se_type=result.se_type,
        outcome=result.outcome,
        n_units=result.n_units,
        notes=result.notes,
    )


def _sup_t(draws: np.ndarray, se: np.ndarray, level: float) -> float:
    """Sup-t critical value over the per-key effects with a valid SE (as the ATT(g,t) band).

    The draws come from the same multipliers as the overall effect's, so one
    bootstrap serves both; the band covers the per-key effects only, as R ``aggte``.
    """
    valid = np.isfinite(se)
    if not valid.any():
        return float("nan")
    t_max = np.max(np.abs(draws[:, valid]) / se[valid], axis=1)
    return float(np.quantile(t_max, level, method="inverted_cdf"))


def _weight_table(result: GroupTimeATT, names: pd.Series, matrix: np.ndarray) -> pd.DataFrame:
    cells = result.cells
    rows, cols = np.nonzero(matrix)
    table = pd.DataFrame(
        {
            "term": names.to_numpy()[cols],
            "cohort": cells["cohort"].to_numpy()[rows],
            "year": cells["year"].to_numpy()[rows],
            "weight": matrix[rows, cols],
        }
    )
    if result.by is not None:
        table.insert(1, "subgroup", cells["subgroup"].to_numpy()[rows])
    return table.sort_values(["term", "cohort", "year"], kind="stable").reset_index(drop=True)


def _equality(result: GroupTimeATT, inf: InfluenceFunction, n_over: int) -> WaldTest | None:
    """Wald test that the overall effects of all subgroups are equal."""
    if result.by is None or n_over < 2 or result.inference.kind == "none":
        return None
    contrast = np.zeros((inf.k, n_over - 1))
    contrast[0, :] = -1.0
    contrast[np.arange(1, n_over), np.arange(n_over - 1)] = 1.0
    names = [f"difference {j}" for j in range(1, n_over)]
    differences = inf.linear_combination(contrast, names)
    return result.inference.wald(differences, np.arange(n_over - 1))
