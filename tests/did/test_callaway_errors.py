"""Bad input to CallawaySantAnna: typed errors and warnings with tested messages."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from parkimpact.data.panel import FirmPanel
from parkimpact.did.callaway import (
    CallawaySantAnna,
    CellsWithoutControlsWarning,
    SeparatedCellsWarning,
)
from parkimpact.errors import (
    DataFormatError,
    DroppedRowsWarning,
    IdentificationError,
    SmallCohortWarning,
)
from parkimpact.inference import FewClustersWarning


def frame_with(entry: list[float], years: range = range(2010, 2016), seed: int = 0) -> pd.DataFrame:
    """One row per firm-year; ``entry`` gives each firm's entry year (NaN: never)."""
    rng = np.random.default_rng(seed)
    n = len(entry)
    year = np.tile(np.asarray(years), n)
    firm = np.repeat(np.arange(n), len(years))
    frame = pd.DataFrame({"firm": firm, "year": year, "entry": np.repeat(entry, len(years))})
    frame["y"] = rng.normal(size=len(frame)) + 0.1 * (year - 2010)
    frame["x"] = np.repeat(rng.normal(size=n), len(years))
    frame["region"] = np.repeat(np.arange(n) % 6, len(years))
    return frame


def standard_entries(n_never: int = 30) -> list[float]:
    return [np.nan] * n_never + [2012.0] * 12 + [2014.0] * 12


def panel_of(frame: pd.DataFrame, **kwargs: object) -> FirmPanel:
    return FirmPanel(frame, unit="firm", time="year", entry="entry", **kwargs)  # type: ignore[arg-type]


def test_no_never_treated_suggests_not_yet_treated() -> None:
    panel = panel_of(frame_with([2012.0] * 10 + [2014.0] * 10))
    with pytest.raises(IdentificationError, match=r"control_group='not_yet_treated'"):
        CallawaySantAnna("y").fit(panel)


def test_not_yet_treated_without_never_treated_lists_cells_without_controls() -> None:
    panel = panel_of(frame_with([2012.0] * 10 + [2014.0] * 10))
    with pytest.warns(CellsWithoutControlsWarning, match=r"could not be estimated.*\(2012,2014\)"):
        result = CallawaySantAnna("y", control_group="not_yet_treated").fit(panel)
    missing = result.cells_without_controls
    assert set(zip(missing["cohort"], missing["year"], strict=True)) >= {(2012, 2014), (2014, 2015)}
    assert (missing["reason"] == "no comparison firms").all()
    assert (2012, 2014) not in result.att.index
    assert "Cells not estimated" in result.summary()
    # aggregations use the estimated cells only
    agg = result.aggregate("simple")
    assert set(agg.weights["year"]) == {2012, 2013}


def test_cohort_treated_in_first_period_is_dropped_and_reported() -> None:
    frame = frame_with(standard_entries() + [2010.0] * 3 + [2008.0] * 2)
    panel = panel_of(frame)
    with pytest.warns(DroppedRowsWarning, match="cohort treated in the first period"):
        result = CallawaySantAnna("y").fit(panel)
    counts = result.drops.counts()
    row = counts.loc[counts["reason"] == "cohort treated in the first period"]
    assert row["step"].tolist() == ["callaway_santanna"] and row["rows"].tolist() == [5 * 6]
    accounting = result.drops.accounting()
    assert accounting["balanced"].all()
    assert 2010 not in result.cells["cohort"].to_numpy()


def test_anticipation_drops_cohorts_without_base_year() -> None:
    panel = panel_of(frame_with(standard_entries() + [2011.0] * 6))
    with pytest.warns(DroppedRowsWarning, match="cohort treated in the first period"):
        result = CallawaySantAnna("y", anticipation=1).fit(panel)
    assert set(result.cells["cohort"]) == {2012, 2014}
    post = result.cells.loc[result.cells["post"]]
    assert (post["base_year"] == post["cohort"] - 2).all()


def test_small_cohorts_warn_with_their_names() -> None:
    panel = panel_of(frame_with(standard_entries() + [2013.0] * 3))
    with pytest.warns(SmallCohortWarning, match=r"2013 \(3 firms\)"):
        CallawaySantAnna("y").fit(panel)


def test_separated_cells_are_left_out_with_a_warning_naming_cell_covariates_and_count() -> None:
    # ``flag`` is 1 exactly for the firms of cohort 2012: its propensity score is 1 there, no
    # comparison firm resembles them, so every cell of that cohort is not identified
    frame = frame_with(standard_entries())
    frame["flag"] = (frame["entry"] == 2012).astype(float)
    with pytest.warns(
        SeparatedCellsWarning,
        match=r"got 5 cell\(s\).*cell \(cohort 2012, year 2011\): propensity score separates "
        r"12 of 12 treated firm\(s\) on covariates \['x', 'flag'\]",
    ):
        result = CallawaySantAnna("y", covariates=["x", "flag"]).fit(panel_of(frame))
    unidentified = result.cells_not_identified
    assert set(unidentified["cohort"]) == {2012} and len(unidentified) == 5
    assert unidentified["reason"].str.contains("separates 12 of 12 treated").all()
    assert 2012 not in set(result.cells["cohort"])
    assert "not identified by the covariates" in result.summary()
    # the other cohort is estimated as if cohort 2012 were absent, in every aggregation
    without = frame.loc[frame["entry"] != 2012]
    reference = CallawaySantAnna("y", covariates=["x", "flag"]).fit(panel_of(without))
    np.testing.assert_allclose(result.att.to_numpy(), reference.att.to_numpy(), rtol=1e-12)
    for kind in ("simple", "dynamic", "group", "calendar"):
        got, expected = result.aggregate(kind), reference.aggregate(kind)
        assert got.estimate == pytest.approx(expected.estimate, rel=1e-12)
        np.testing.assert_allclose(
            got.effects["estimate"].to_numpy(), expected.effects["estimate"].to_numpy(), rtol=1e-12
        )


def test_separation_in_one_year_leaves_out_that_cell_only() -> None:
    # a time-varying covariate separates cohort 2014 from the comparison firms in 2013 only,
    # the base year (whose covariates are used) of its post-entry cells: those cells go, its
    # pre-entry cells (base years 2010-2012) stay
    frame = frame_with(standard_entries())
    frame["flag"] = ((frame["entry"] == 2014) & (frame["year"] == 2013)).astype(float)
    with pytest.warns(SeparatedCellsWarning, match=r"cell \(cohort 2014, year 2014\)"):
        result = CallawaySantAnna("y", covariates=["flag"]).fit(panel_of(frame))
    left_out = result.cells_not_identified
    assert set(zip(left_out["cohort"], left_out["year"], strict=True)) == {
        (2014, 2014),
        (2014, 2015),
    }
    kept = result.cells.loc[result.cells["cohort"] == 2014, "year"].tolist()
    assert kept == [2011, 2012, 2013]
    weights = result.aggregate("simple").weights
    assert set(weights.loc[weights["weight"] != 0, "cohort"]) == {2012}


def test_singular_outcome_regression_cells_are_left_out() -> None:
    frame = frame_with(standard_entries())
    frame["flag"] = (frame["entry"] == 2012).astype(float)
    with pytest.warns(SeparatedCellsWarning, match="outcome regression singular"):
        result = CallawaySantAnna("y", covariates=["flag"], method="reg").fit(panel_of(frame))
    assert set(result.cells_not_identified["cohort"]) == {2012}
    assert set(result.cells["cohort"]) == {2014}


def test_every_cell_separated_is_an_error() -> None:
    frame = frame_with([np.nan] * 30 + [2012.0] * 12)
    frame["flag"] = (frame["entry"] == 2012).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparatedCellsWarning)
        with pytest.raises(ValueError, match=r"must allow at least one group-time cell; got none"):
            CallawaySantAnna("y", covariates=["flag"]).fit(panel_of(frame))


def test_panel_without_entry_role() -> None:
    panel = FirmPanel(frame_with(standard_entries()), unit="firm", time="year")
    with pytest.raises(ValueError, match="panel role 'entry' must be declared"):
        CallawaySantAnna("y").fit(panel)


def test_missing_outcome_rows_are_dropped_and_reported() -> None:
    frame = frame_with(standard_entries())
    frame.loc[[3, 50, 51], "y"] = np.nan
    with pytest.warns(DroppedRowsWarning, match="missing y"):
        result = CallawaySantAnna("y").fit(panel_of(frame))
    counts = result.drops.counts()
    assert counts.loc[counts["reason"] == "missing y", "rows"].tolist() == [3]
    assert result.n_obs == len(frame) - 3


def test_non_numeric_covariate_names_the_column() -> None:
    frame = frame_with(standard_entries())
    frame["sector"] = np.where(frame["firm"] % 2 == 0, "IC", "BIO")
    with pytest.raises(DataFormatError, match=r"column 'sector' must be numeric"):
        CallawaySantAnna("y", covariates=["x", "sector"]).fit(panel_of(frame))


def test_missing_columns_and_wrong_types() -> None:
    panel = panel_of(frame_with(standard_entries()))
    with pytest.raises(ValueError, match=r"columns \['nope'\] must be in the panel"):
        CallawaySantAnna("y", covariates=["nope"]).fit(panel)
    with pytest.raises(TypeError, match="panel must be a FirmPanel"):
        CallawaySantAnna("y").fit(panel.data)  # type: ignore[arg-type]


def test_firm_level_columns_must_be_constant_within_firms() -> None:
    frame = frame_with(standard_entries())
    frame["varying"] = frame["year"] % 2
    panel = panel_of(frame)
    with pytest.raises(ValueError, match="cluster column 'varying' must be constant within"):
        CallawaySantAnna("y", cluster="varying").fit(panel)
    with pytest.raises(ValueError, match="by column 'varying' must be constant within"):
        CallawaySantAnna("y", by="varying").fit(panel)
    frame["bad_w"] = -1.0
    with pytest.raises(ValueError, match="weights column 'bad_w' must hold non-negative"):
        CallawaySantAnna("y", weights="bad_w").fit(panel_of(frame))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"method": "ols"}, ValueError, r"The 'method' parameter of CallawaySantAnna"),
        ({"control_group": "all"}, ValueError, r"'control_group' parameter"),
        ({"base_period": "fixed"}, ValueError, r"'base_period' parameter"),
        ({"inference": "jackknife"}, ValueError, r"'inference' parameter"),
        ({"bootstrap_weights": "normal"}, ValueError, r"'bootstrap_weights' parameter"),
        ({"anticipation": -1}, ValueError, "anticipation must be a non-negative integer"),
        ({"n_bootstrap": 1}, ValueError, "n_bootstrap must be an integer of at least 2"),
        ({"level": 1.5}, ValueError, "level must be a number strictly between 0 and 1"),
        ({"seed": -3}, ValueError, "seed must be a non-negative integer"),
        ({"covariates": "x"}, TypeError, "covariates must be a sequence of column names"),
        ({"cluster": 3}, TypeError, "cluster must be a column name or None"),
    ],
)
def test_constructor_validates_settings(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        CallawaySantAnna("y", **kwargs)


def test_few_clusters_recommend_wild_bootstrap() -> None:
    panel = panel_of(frame_with(standard_entries()))
    with pytest.warns(FewClustersWarning, match=r"inference='bootstrap', bootstrap_weights='webb'"):
        result = CallawaySantAnna("y", cluster="region").fit(panel)
    assert result.influence.n_clusters == 6
    assert "clustered by region (6 clusters" in result.se_type
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        boot = CallawaySantAnna(
            "y", cluster="region", inference="bootstrap", bootstrap_weights="webb", seed=1
        ).fit(panel)
    assert boot.bootstrap is not None and boot.bootstrap.n_clusters == 6
    assert boot.bootstrap.weights == "webb"


def test_aggregate_rejects_bad_arguments() -> None:
    result = CallawaySantAnna("y").fit(panel_of(frame_with(standard_entries())))
    with pytest.raises(ValueError, match="kind must be one of"):
        result.aggregate("cohort")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="balance_e must be None unless kind='dynamic'"):
        result.aggregate("simple", balance_e=1)
    with pytest.raises(ValueError, match="balance_e must be a non-negative integer"):
        result.aggregate("dynamic", balance_e=-1)
    with pytest.raises(ValueError, match="aggregation window must contain at least one"):
        result.aggregate("simple", max_e=-1)
