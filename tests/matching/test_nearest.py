"""NearestNeighborMatch: MatchIt semantics (against a literal re-statement), inference, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from parkimpact.errors import DroppedRowsWarning, IdentificationError, OverlapWarning
from parkimpact.matching import NearestNeighborMatch
from parkimpact.matching._nn import greedy_sorted
from parkimpact.report import TIDY_COLUMNS


def literal_matchit(d, focal, k, replace, order, strata=None, caliper=np.inf, axis=None):
    """MatchIt 4.x nearest-neighbour rules restated literally (quadratic, for small n).

    ``axis`` is where the caliper is measured (default the distance itself)."""
    n = d.size
    strata = np.zeros(n, dtype=int) if strata is None else strata
    axis = d if axis is None else axis
    pos = np.argsort(d, kind="stable")
    pos = pos[np.argsort(strata[pos], kind="stable")]
    available = ~focal.copy()
    out = {}
    where = {row: p for p, row in enumerate(pos)}
    for r in range(k):
        for i in order:
            mine = out.setdefault(i, [])
            if r > len(mine):
                continue
            p = where[i]

            def walk(step, p=p, i=i, mine=mine):
                q = p + step
                while 0 <= q < n:
                    j = pos[q]
                    if strata[j] != strata[i]:
                        return None
                    if not focal[j] and available[j] and j not in mine:
                        return j if abs(axis[j] - axis[i]) <= caliper else None
                    q += step
                return None

            left, right = walk(-1), walk(1)
            if left is not None and (right is None or d[i] - d[left] <= d[right] - d[i]):
                chosen = left
            elif right is not None:
                chosen = right
            else:
                continue
            mine.append(chosen)
            if not replace:
                available[chosen] = False
    return {i: m for i, m in out.items() if m}


def as_sets(matches):
    out: dict[int, list[int]] = {}
    for f, c in zip(
        matches.focal[np.argsort(matches.rank, kind="stable")],
        matches.control[np.argsort(matches.rank, kind="stable")],
        strict=True,
    ):
        out.setdefault(int(f), []).append(int(c))
    return out


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("caliper", [np.inf, 0.04])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sorted_search_equals_literal_rules(replace, k, caliper, seed):
    rng = np.random.default_rng(seed)
    n = 160
    d = np.round(rng.random(n), 2)  # many exact ties in the distance
    focal = rng.random(n) < 0.3
    strata = rng.integers(0, 2, n) if seed == 2 else None
    order = np.flatnonzero(focal)[np.argsort(-d[focal], kind="stable")]
    got = greedy_sorted(d, focal, k=k, replace=replace, order=order, strata=strata, caliper=caliper)
    want = literal_matchit(d, focal, k, replace, order, strata, caliper)
    assert as_sets(got) == {i: m for i, m in want.items()}


def test_fit_returns_immutable_result_and_leaves_data(sim):
    before = sim.copy()
    est = NearestNeighborMatch("d", outcome="y", covariates=["x1", "x2"])
    result = est.fit(sim)
    pd.testing.assert_frame_equal(sim, before)
    with pytest.raises(AttributeError):
        result.estimate = 0.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        est.k = 2  # type: ignore[misc]
    frame = result.tidy()
    assert list(frame.columns) == list(TIDY_COLUMNS)
    assert frame.loc[0, "term"] == "ATT"
    assert result.att == result.estimate
    assert set(result.balance().tidy()["sample"]) == {"before", "after"}


def test_without_replacement_uses_each_control_once(sim):
    result = NearestNeighborMatch("d", outcome="y", covariates=["x1", "x2"], k=1).fit(sim)
    assert result.matches["control"].is_unique
    n_treated = int(sim["d"].sum())
    assert len(result.matches) == n_treated
    assert result.weights[sim["d"] == 1].eq(1).all()
    assert result.subclass is not None and result.subclass.nunique() == n_treated


@pytest.mark.parametrize(
    "settings",
    [
        {"replace": True},
        {"replace": True, "k": 3},
        {"replace": True, "bias_adjust": ["x1", "x2"]},
        {"replace": False, "caliper": 0.2, "bias_adjust": ["x1", "x2"]},
        {"replace": True, "mahalanobis": ["x1", "x2"], "covariates": []},
    ],
)
def test_simulation_within_three_standard_errors(sim, settings):
    kwargs = {"covariates": ["x1", "x2"]} | settings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        result = NearestNeighborMatch("d", outcome="y", **kwargs).fit(sim)
    assert abs(result.estimate - 1.5) <= 3 * result.std_error


def test_ai2016_and_cluster_standard_errors_are_available(sim):
    result = NearestNeighborMatch(
        "d", outcome="y", covariates=["x1", "x2"], replace=True, se="ai2016"
    ).fit(sim)
    assert {"ai", "ai_sample", "cluster", "ai2016"} <= set(result.std_errors)
    assert result.se_type == "ai2016"
    assert result.with_se("cluster").std_error == result.std_errors["cluster"]
    assert 0.3 < result.std_errors["ai2016"] / result.std_errors["ai"] < 3


def test_atc_matches_controls_to_treated(sim):
    result = NearestNeighborMatch(
        "d", outcome="y", covariates=["x1", "x2"], estimand="ATC", replace=True
    ).fit(sim)
    assert result.matches["focal"].isin(sim.index[sim["d"] == 0]).all()
    assert abs(result.estimate - 1.5) <= 3 * result.std_error
    with pytest.raises(ValueError, match="att must be read from a result with estimand 'ATT'"):
        _ = result.att


def test_random_order_is_seeded(sim):
    est = NearestNeighborMatch("d", outcome="y", covariates=["x1", "x2"], order="random", seed=4)
    a, b = est.fit(sim), est.fit(sim)
    pd.testing.assert_frame_equal(a.matches, b.matches)


def test_exact_matching_stays_within_strata(sim):
    data = sim.assign(g=(sim["x2"] > 0).astype(int))
    result = NearestNeighborMatch("d", covariates=["x1", "x2"], exact=["g"], replace=True).fit(data)
    m = result.matches
    assert (data.loc[m["focal"], "g"].to_numpy() == data.loc[m["control"], "g"].to_numpy()).all()


def test_permuting_rows_keeps_the_estimate_with_replacement(sim):
    est = NearestNeighborMatch("d", outcome="y", covariates=["x1", "x2"], replace=True)
    shuffled = sim.sample(frac=1.0, random_state=3)
    assert est.fit(shuffled).estimate == pytest.approx(est.fit(sim).estimate, rel=1e-12)


# ---------------------------------------------------------------- bad input
def test_non_binary_treatment(sim):
    with pytest.raises(ValueError, match="treatment 'd' must be binary"):
        NearestNeighborMatch("d", covariates=["x1"]).fit(sim.assign(d=sim["d"] * 2 - 1 + 1))


def test_k_larger_than_controls_without_replacement(sim):
    small = pd.concat([sim[sim.d == 1].head(5), sim[sim.d == 0].head(3)])
    with pytest.raises(ValueError, match="k must not exceed the 3 available controls"):
        NearestNeighborMatch("d", covariates=["x1"], k=4).fit(small)
    with pytest.warns(OverlapWarning, match="not all focal units will get k matches"):
        NearestNeighborMatch("d", covariates=["x1"], k=1).fit(small)


def test_caliper_without_matches_reports_caliper_and_quantiles(sim):
    data = sim.assign(score=np.where(sim["d"] == 1, 0.9, 0.1))
    with pytest.raises(
        IdentificationError,
        match=r"caliper must leave at least one match.*"
        r"distance quantiles",
    ):
        NearestNeighborMatch("d", distance="score", caliper=0.01, caliper_scale="absolute").fit(
            data
        )


def test_missing_covariates_are_dropped_and_reported(sim):
    data = sim.copy()
    data.loc[data.index[:7], "x1"] = np.nan
    with pytest.warns(DroppedRowsWarning, match="7 row"):
        result = NearestNeighborMatch("d", outcome="y", covariates=["x1", "x2"]).fit(data)
    counts = result.drops.counts()
    assert counts.loc[counts["reason"] == "missing x1", "rows"].item() == 7
    assert len(result.frame) == len(data) - 7


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="The 'order' parameter"):
        NearestNeighborMatch("d", covariates=["x"], order="closest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="caliper must be a positive number"):
        NearestNeighborMatch("d", covariates=["x"], caliper=-1.0)
    with pytest.raises(ValueError, match="ties must be False"):
        NearestNeighborMatch("d", covariates=["x"], ties=True)
    with pytest.raises(ValueError, match="se='ai2016' must be used"):
        NearestNeighborMatch("d", covariates=["x"], se="ai2016")
