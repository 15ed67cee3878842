"""1:1 nearest-neighbour matching on a supplied propensity score.

``matching_replace``
    with replacement; peers: the numpy sorted-search baseline below and
    scikit-learn's ``NearestNeighbors`` (a KD-tree).
``matching_caliper``
    without replacement, greedy in descending score order, caliper of 0.2
    standard deviations of the score; peer: the baseline (scikit-learn has no
    matching without replacement).

The parkimpact side is :meth:`parkimpact.matching.NearestNeighborMatch.fit`
end to end on a DataFrame (input checks, drop report, weights; the
matched-set table is built when first read, after the clock stopped). The
baseline is a plain numpy matcher: ``searchsorted`` and a comparison of the two
neighbours with replacement; without replacement a "next available control"
union-find over the sorted controls. Both sort with a stable sort, so ties are
broken in data order (MatchIt's rule).

psmpy and DoWhy are not peers: both fit their own propensity model, so they
cannot match on a supplied score, and psmpy matches in a Python loop per unit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from harness import Case, Goal, Params, Side, register

SEED = 0


def scores(params: Params) -> pd.DataFrame:
    """Treated units first (scores from Beta(3, 5)), then controls (Beta(2, 6))."""
    n1, n0 = int(params["treated"]), int(params["controls"])
    rng = np.random.default_rng(SEED)
    p = np.concatenate([rng.beta(3, 5, n1), rng.beta(2, 6, n0)])
    treated = np.zeros(n1 + n0, dtype=np.int8)
    treated[:n1] = 1
    return pd.DataFrame({"t": treated, "p": p})


# ------------------------------------------------------------------------ baseline
def baseline_with_replacement(p: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Matched control (row position) of every treated unit, in row order."""
    controls = np.flatnonzero(~treated)
    order = np.argsort(p[controls], kind="stable")
    values = p[controls][order]
    q = p[treated]
    right = np.clip(np.searchsorted(values, q), 0, values.size - 1)
    left = np.clip(right - 1, 0, values.size - 1)
    take_left = np.abs(q - values[left]) <= np.abs(values[right] - q)
    return controls[order][np.where(take_left, left, right)]


def baseline_without_replacement(
    p: np.ndarray, treated: np.ndarray, caliper: float
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching in descending score order; (treated rows, matched control rows or -1)."""
    controls = np.flatnonzero(~treated)
    order = np.argsort(p[controls], kind="stable")
    values = p[controls][order]
    units = np.flatnonzero(treated)
    units = units[np.argsort(-p[units], kind="stable")]
    ins = np.searchsorted(values, p[units]).tolist()
    vals, qs, m = values.tolist(), p[units].tolist(), values.size
    left, right = list(range(m + 1)), list(range(m + 1))
    out = [-1] * len(units)
    for t in range(len(units)):
        j = ins[t]
        while left[j] != j:
            left[j] = left[left[j]]
            j = left[j]
        lj = j - 1
        j = ins[t]
        while right[j] != j:
            right[j] = right[right[j]]
            j = right[j]
        rj = j if j < m else -1
        q = qs[t]
        if lj >= 0 and q - vals[lj] > caliper:
            lj = -1
        if rj >= 0 and vals[rj] - q > caliper:
            rj = -1
        if lj >= 0 and (rj < 0 or q - vals[lj] <= vals[rj] - q):
            c = lj
        elif rj >= 0:
            c = rj
        else:
            continue
        left[c + 1] = c
        right[c] = c + 1
        out[t] = c
    picked = np.asarray(out)
    sorted_rows = controls[order]
    return units, np.where(picked >= 0, sorted_rows[np.maximum(picked, 0)], -1)


# --------------------------------------------------------------------------- sides
def _pair_summary(p: np.ndarray, focal: np.ndarray, control: np.ndarray) -> dict[str, float]:
    """Numbers that agree when the matched pairs agree."""
    keep = control >= 0
    focal, control = focal[keep], control[keep]
    return {
        "pairs": float(focal.size),
        "mean_gap": float(np.mean(np.abs(p[focal] - p[control]))),
        "mean_control_row": float(np.mean(control)),
        "mean_focal_row": float(np.mean(focal)),
    }


def _arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return frame["p"].to_numpy(), frame["t"].to_numpy().astype(bool)


def _parkimpact(frame: pd.DataFrame, params: Params) -> Callable[[], Any]:
    from parkimpact.matching import NearestNeighborMatch

    if params.get("replace", True):
        estimator = NearestNeighborMatch("t", distance="p", replace=True)
    else:
        estimator = NearestNeighborMatch("t", distance="p", caliper=float(params["caliper"]))
    return lambda: (frame, estimator.fit(frame))


def _parkimpact_estimates(value: Any) -> dict[str, float]:
    frame, result = value
    pairs = result.pairs
    return _pair_summary(frame["p"].to_numpy(), pairs.focal, pairs.control)


def _baseline(frame: pd.DataFrame, params: Params) -> Callable[[], Any]:
    def run() -> Any:
        p, treated = _arrays(frame)
        if params.get("replace", True):
            return p, np.flatnonzero(treated), baseline_with_replacement(p, treated)
        caliper = float(params["caliper"]) * float(np.std(p, ddof=1))
        return p, *baseline_without_replacement(p, treated, caliper)

    return run


def _sklearn(frame: pd.DataFrame, params: Params) -> Callable[[], Any]:
    from sklearn.neighbors import NearestNeighbors

    def run() -> Any:
        p, treated = _arrays(frame)
        controls = np.flatnonzero(~treated)
        nn = NearestNeighbors(n_neighbors=1).fit(p[controls][:, None])
        found = nn.kneighbors(p[treated][:, None], return_distance=False)[:, 0]
        return p, np.flatnonzero(treated), controls[found]

    return run


def _summary_of(value: Any) -> dict[str, float]:
    return _pair_summary(*value)


def _describe(params: Params, rows: int) -> str:
    text = f"{int(params['treated']):,} treated, {int(params['controls']):,} controls"
    return text + ("" if params.get("replace", True) else f", caliper {params['caliper']} SD")


PARKIMPACT = Side("parkimpact", "parkimpact", _parkimpact, _parkimpact_estimates)
BASELINE = Side("numpy sorted search", "numpy", _baseline, _summary_of)
SKLEARN = Side("scikit-learn", "scikit-learn", _sklearn, _summary_of)
QUICK = {"treated": 10_000, "controls": 100_000}
FULL = {"treated": 100_000, "controls": 1_000_000}

register(
    Case(
        name="matching_replace",
        title="1:1 NN matching, with replacement",
        simulate=scores,
        sides=(PARKIMPACT, BASELINE, SKLEARN),
        sizes={"quick": {**QUICK, "replace": True}, "full": {**FULL, "replace": True}},
        describe=_describe,
        rows=len,
        goal=Goal("<= 1.2x sorted search (CPU)", 1.2, peer="numpy sorted search"),
        warmup={"treated": 100, "controls": 1_000, "replace": True},
        inner=5,
        note="Median of 5 calls per process. scikit-learn's KD-tree shown for reference.",
    )
)

register(
    Case(
        name="matching_caliper",
        title="1:1 NN matching, no replacement, caliper",
        simulate=scores,
        sides=(PARKIMPACT, BASELINE),
        sizes={
            "quick": {**QUICK, "replace": False, "caliper": 0.2},
            "full": {**FULL, "replace": False, "caliper": 0.2},
        },
        describe=_describe,
        rows=len,
        goal=Goal("<= 1.2x sorted search (CPU)", 1.2, peer="numpy sorted search"),
        warmup={"treated": 100, "controls": 1_000, "replace": False, "caliper": 0.2},
        inner=5,
        note="Median of 5 calls per process; greedy in descending score order.",
    )
)
