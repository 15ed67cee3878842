"""Callaway-Sant'Anna computed two ways: by hand 2x2 DiDs of means, under relabelling, etc."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from parkimpact.data.panel import FirmPanel
from parkimpact.did.callaway import CallawaySantAnna
from parkimpact.did.cs_results import GroupTimeATT

YEARS = np.arange(2010, 2018)
COHORTS = [2012, 2014, 2015]


def make_panel_frame(seed: int, n_firms: int = 400) -> pd.DataFrame:
    """A balanced panel with three entry cohorts, never-treated firms and a covariate."""
    rng = np.random.default_rng(seed)
    firm = np.arange(n_firms) * 7 + 100
    entry = rng.choice([np.nan, *COHORTS], size=n_firms, p=[0.4, 0.2, 0.2, 0.2])
    x = rng.normal(size=n_firms)
    weight = rng.uniform(0.5, 2.0, size=n_firms)
    size = rng.choice(["small", "large"], size=n_firms)
    frame = pd.DataFrame(
        {
            "firm": np.repeat(firm, YEARS.size),
            "year": np.tile(YEARS, n_firms),
            "entry": np.repeat(entry, YEARS.size),
            "x": np.repeat(x, YEARS.size),
            "w": np.repeat(weight, YEARS.size),
            "size": np.repeat(size, YEARS.size),
        }
    )
    alpha = np.repeat(rng.normal(size=n_firms), YEARS.size)
    trend = 0.1 * (frame["year"] - 2010) * (1 + 0.5 * frame["x"])
    treated = frame["year"] >= frame["entry"].fillna(np.inf)
    effect = np.where(treated, 0.5 + 0.1 * (frame["year"] - frame["entry"].fillna(0)), 0.0)
    frame["y"] = alpha + trend + effect + rng.normal(scale=0.3, size=len(frame))
    return frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_panel_frame(11)


@pytest.fixture(scope="module")
def panel(frame: pd.DataFrame) -> FirmPanel:
    return FirmPanel(frame, unit="firm", time="year", entry="entry")


def _wide(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    wide = frame.pivot(index="firm", columns="year", values="y")
    entry = frame.groupby("firm")["entry"].first().reindex(wide.index)
    return wide, entry


def _hand_att(
    wide: pd.DataFrame,
    entry: pd.Series,
    g: int,
    t: int,
    base: int,
    control: np.ndarray,
    weights: pd.Series | None = None,
) -> float:
    dy = wide[t] - wide[base]
    treated = (entry == g).to_numpy()
    w = np.ones(len(dy)) if weights is None else weights.reindex(wide.index).to_numpy()
    keep_t = treated & dy.notna().to_numpy()
    keep_c = control & dy.notna().to_numpy()
    mean_t = np.sum(w[keep_t] * dy.to_numpy()[keep_t]) / np.sum(w[keep_t])
    mean_c = np.sum(w[keep_c] * dy.to_numpy()[keep_c]) / np.sum(w[keep_c])
    return float(mean_t - mean_c)


@pytest.mark.parametrize("control_group", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_att_gt_equals_hand_2x2_of_means(
    frame: pd.DataFrame, panel: FirmPanel, control_group: str, base_period: str
) -> None:
    result = CallawaySantAnna(
        "y",
        control_group=control_group,
        base_period=base_period,  # type: ignore[arg-type]
    ).fit(panel)
    wide, entry = _wide(frame)
    never = entry.isna().to_numpy()
    for row in result.cells.itertuples():
        g, t, base = int(row.cohort), int(row.year), int(row.base_year)
        expected_base = g - 1 if (t >= g or base_period == "universal") else t - 1
        assert base == expected_base
        if row.reference:
            assert result.att[(g, t)] == 0.0
            continue
        control = never.copy()
        if control_group == "not_yet_treated":
            control |= ((entry > max(t, base)) & (entry != g)).to_numpy()
        expected = _hand_att(wide, entry, g, t, base, control)
        assert result.att[(g, t)] == pytest.approx(expected, abs=1e-12)


def test_weighted_att_equals_weighted_2x2(frame: pd.DataFrame) -> None:
    panel = FirmPanel(frame, unit="firm", time="year", entry="entry", weights="w")
    result = CallawaySantAnna("y").fit(panel)
    explicit = CallawaySantAnna("y", weights="w").fit(
        FirmPanel(frame, unit="firm", time="year", entry="entry")
    )
    wide, entry = _wide(frame)
    weights = frame.groupby("firm")["w"].first()
    never = entry.isna().to_numpy()
    for (g, t), value in result.att.items():
        base = g - 1 if t >= g else t - 1
        assert value == pytest.approx(_hand_att(wide, entry, g, t, base, never, weights), abs=1e-12)
    np.testing.assert_array_equal(result.att.to_numpy(), explicit.att.to_numpy())
    np.testing.assert_array_equal(result.std_errors.to_numpy(), explicit.std_errors.to_numpy())


def test_methods_agree_without_covariates_with_weights(frame: pd.DataFrame) -> None:
    panel = FirmPanel(frame, unit="firm", time="year", entry="entry", weights="w")
    base = CallawaySantAnna("y").fit(panel)
    for method in ("ipw", "reg", "dr_improved"):
        other = CallawaySantAnna("y", method=method).fit(panel)  # type: ignore[arg-type]
        np.testing.assert_allclose(other.att.to_numpy(), base.att.to_numpy(), atol=1e-10)
        np.testing.assert_allclose(
            other.std_errors.to_numpy(), base.std_errors.to_numpy(), rtol=1e-8
        )


@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
@pytest.mark.parametrize("by", [None, "size"])
def test_aggregation_weights_sum_to_one(panel: FirmPanel, kind: str, by: str | None) -> None:
    result = CallawaySantAnna("y", covariates=["x"], by=by).fit(panel)
    agg = result.aggregate(kind)  # type: ignore[arg-type]
    keys = ["term", "subgroup"] if by else ["term"]
    sums = agg.weights.groupby(keys)["weight"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)
    assert (agg.weights["weight"] > 0).all()
    # the estimate is the weighted sum of the ATT(g,t)
    first = agg.weights.loc[agg.weights["term"] == agg.influence.names[0]]
    index = list(
        zip(*[first[c] for c in (["subgroup"] if by else []) + ["cohort", "year"]], strict=True)
    )
    att = result.att.loc[index].to_numpy()
    assert float(first["weight"].to_numpy() @ att) == pytest.approx(agg.influence.estimates[0])


def test_dynamic_balance_and_window(panel: FirmPanel) -> None:
    result = CallawaySantAnna("y").fit(panel)
    full = result.aggregate("dynamic")
    assert full.effects["event_time"].min() == 2011 - 2015
    window = result.aggregate("dynamic", min_e=-2, max_e=2)
    assert window.effects["event_time"].tolist() == [-2, -1, 0, 1, 2]
    balanced = result.aggregate("dynamic", balance_e=2)
    # only cohorts observed at least 2 years after entry: 2012, 2014, 2015 (2017 - 2015 = 2)
    cohorts = set(balanced.weights["cohort"])
    assert cohorts == {2012, 2014, 2015}
    assert balanced.effects["event_time"].max() == 2
    strict = result.aggregate("dynamic", balance_e=3)
    assert set(strict.weights["cohort"]) == {2012, 2014}


def _fit_all(panel: FirmPanel) -> tuple[GroupTimeATT, dict[str, pd.DataFrame]]:
    result = CallawaySantAnna("y", covariates=["x"]).fit(panel)
    aggs = {k: result.aggregate(k).tidy() for k in ("simple", "dynamic", "group", "calendar")}  # type: ignore[arg-type]
    return result, aggs


def test_permutation_and_relabelling_leave_numbers_unchanged(frame: pd.DataFrame) -> None:
    base, base_aggs = _fit_all(FirmPanel(frame, unit="firm", time="year", entry="entry"))
    rng = np.random.default_rng(5)
    shuffled = frame.iloc[rng.permutation(len(frame))].copy()
    ids = shuffled["firm"].unique()
    relabel = dict(zip(ids, [f"firm-{v:05d}" for v in rng.permutation(len(ids))], strict=True))
    shuffled["firm"] = shuffled["firm"].map(relabel)
    other, other_aggs = _fit_all(FirmPanel(shuffled, unit="firm", time="year", entry="entry"))
    np.testing.assert_allclose(other.att.to_numpy(), base.att.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(other.std_errors.to_numpy(), base.std_errors.to_numpy(), rtol=1e-10)
    assert other.pretest.p_value == pytest.approx(base.pretest.p_value, rel=1e-10)  # type: ignore[union-attr]
    for kind, tidy in base_aggs.items():
        pd.testing.assert_frame_equal(other_aggs[kind], tidy, rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def unbalanced(frame: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(99)
    keep = rng.uniform(size=len(frame)) > 0.15
    return frame.loc[keep].reset_index(drop=True)


def test_unbalanced_cells_use_firms_observed_in_both_years(unbalanced: pd.DataFrame) -> None:
    panel = FirmPanel(unbalanced, unit="firm", time="year", entry="entry")
    result = CallawaySantAnna("y").fit(panel)
    assert any("unbalanced" in note for note in result.notes)
    wide, entry = _wide(unbalanced)
    never = entry.isna().to_numpy()
    # hand check of one cell: only firms with rows in 2013 and 2016
    both = wide[[2013, 2016]].notna().all(axis=1)
    treated = (entry == 2014) & both
    control = entry.isna() & both
    dy = wide[2016] - wide[2013]
    expected = dy[treated].mean() - dy[control].mean()
    assert result.att[(2014, 2016)] == pytest.approx(expected, abs=1e-12)
    row = result.cells.set_index(["cohort", "year"]).loc[(2014, 2016)]
    assert row["n_treated"] == treated.sum() and row["n_control"] == control.sum()
    for (g, t), value in result.att.items():
        base = g - 1 if t >= g else t - 1
        assert value == pytest.approx(_hand_att(wide, entry, g, t, base, never), abs=1e-12)
    # the influence function lives on every firm of the sample, scaled by n / n_gt
    n = result.n_units
    column = result.influence.values[:, list(result.influence.names).index("ATT(2014,2016)")]
    members = int(row["n_treated"] + row["n_control"])
    assert np.count_nonzero(column) <= members
    assert abs(column.sum()) < 1e-8 * n


def test_unbalanced_balanced_subset_equals_balanced_panel(frame: pd.DataFrame) -> None:
    keep_firms = frame["firm"].unique()[:300]
    balanced = frame.loc[frame["firm"].isin(keep_firms)]
    extra = frame.loc[~frame["firm"].isin(keep_firms) & (frame["year"] == 2010)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = CallawaySantAnna("y").fit(FirmPanel(balanced, unit="firm", time="year", entry="entry"))
        b = CallawaySantAnna("y").fit(
            FirmPanel(pd.concat([balanced, extra]), unit="firm", time="year", entry="entry")
        )
    # firms seen in one year only never enter a cell: same estimates, SEs rescaled by n
    assert b.n_units > a.n_units
    np.testing.assert_allclose(b.att.to_numpy(), a.att.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(b.std_errors.to_numpy(), a.std_errors.to_numpy(), rtol=1e-10)
