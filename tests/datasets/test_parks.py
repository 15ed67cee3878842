"""Tests of the simulated science-park economy (parkimpact.datasets.parks)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parkimpact.datasets.parks import ParkSimulation, simulate_parks

FIRST, LAST = 1995, 2020
PANEL_COLUMNS = [
    "firm_id", "year", "industry", "park", "entry_year", "exit_year", "founded", "age",
    "founder_female", "founder_birth_year", "output", "value_added", "capital", "materials",
    "investment", "rd", "wage_bill", "employment", "phd", "rd_capital", "patents", "citations",
    "patents_cw", "claims", "log_output", "log_value_added", "log_employment", "log_capital",
    "log_materials",
]
MONEY = {
    "output": ("sales", "output_price"),
    "value_added": ("value_added", "output_price"),
    "capital": ("fixed_assets", "capital_price"),
    "materials": ("materials_cost", "input_price"),
    "investment": ("capex", "capital_price"),
    "rd": ("rd_expense", "consumer_price"),
    "wage_bill": ("wage_bill", "consumer_price"),
}
OPENING = {"Hsinchu": 1980, "Southern": 1997, "Central": 2003}


@pytest.fixture(scope="module")
def sim() -> ParkSimulation:
    return simulate_parks()


@pytest.fixture(scope="module")
def sim_again() -> ParkSimulation:
    return simulate_parks()


@pytest.fixture(scope="module")
def messy() -> ParkSimulation:
    return simulate_parks(missing=0.05, format_errors=0.05, duplicates=0.05, reporting_noise=0.1)


@pytest.fixture(scope="module")
def placebo() -> ParkSimulation:
    return simulate_parks(effect_scale=0.0)


@pytest.fixture(scope="module")
def firms(sim: ParkSimulation) -> pd.DataFrame:
    """One row per firm: first-year values, entry, exit, covariates."""
    panel = sim.panel
    first = panel.groupby("firm_id", sort=True).first()
    table = first[["industry", "park", "entry_year", "exit_year", "employment", "age"]].copy()
    table["intensity"] = first["rd"] / first["output"]
    table["first_year"] = first["year"]
    table["last_year"] = panel.groupby("firm_id", sort=True)["year"].max()
    cov = sim.truth.covariates.set_index("firm_id").drop(columns="industry")
    return table.join(cov)


def _frames(sim: ParkSimulation) -> dict[str, pd.DataFrame]:
    t = sim.truth
    return {
        "financials": sim.financials, "tenancy": sim.tenancy, "patents": sim.patents,
        "deflators": sim.deflators, "panel": sim.panel, "firm_effects": t.firm_effects,
        "att_gt": t.att_gt, "aggregates": t.aggregates, "cohorts": t.cohorts,
        "covariates": t.covariates,
    }


# ------------------------------------------------------------------ determinism
def test_same_seed_gives_identical_frames(sim: ParkSimulation, sim_again: ParkSimulation) -> None:
    for name, frame in _frames(sim).items():
        pd.testing.assert_frame_equal(frame, _frames(sim_again)[name], check_exact=True, obj=name)
    assert dict(sim.truth.elasticities) == dict(sim_again.truth.elasticities)
    assert sim.seed == 0 and sim.settings["n_firms"] == 3000


def test_different_seeds_differ(sim: ParkSimulation) -> None:
    other = simulate_parks(n_firms=3000, seed=1)
    assert not sim.panel["output"].head(100).equals(other.panel["output"].head(100))
    assert not sim.tenancy.equals(other.tenancy)


def test_seed_none_records_entropy() -> None:
    first = simulate_parks(n_firms=60, first_year=2000, last_year=2006, seed=None)
    again = simulate_parks(n_firms=60, first_year=2000, last_year=2006, seed=first.seed)
    pd.testing.assert_frame_equal(first.panel, again.panel)


# ------------------------------------------------------------------------ shapes
def test_panel_shape_columns_and_order(sim: ParkSimulation) -> None:
    panel = sim.panel
    assert list(panel.columns) == PANEL_COLUMNS
    assert 45_000 <= len(panel) <= 65_000
    assert panel["firm_id"].nunique() == 3000
    assert isinstance(panel.index, pd.RangeIndex) and panel.index.start == 0
    assert panel[["firm_id", "year"]].equals(
        panel[["firm_id", "year"]].sort_values(["firm_id", "year"]).reset_index(drop=True)
    )
    assert not panel.duplicated(["firm_id", "year"]).any()
    assert panel["firm_id"].dtype == "int64" and panel["year"].dtype == "int64"
    for col in ["entry_year", "exit_year", "employment", "phd", "patents", "rd_capital"]:
        assert panel[col].dtype == "float64", col
    assert panel["year"].between(FIRST, LAST).all()


def test_panel_is_unbalanced_with_births_and_deaths(firms: pd.DataFrame) -> None:
    assert (firms["first_year"] > FIRST).mean() > 0.15  # founded in the sample
    assert (firms["last_year"] < LAST).mean() > 0.15  # died
    spans = firms["last_year"] - firms["first_year"] + 1
    assert spans.min() >= 1
    founded_before = firms["first_year"] == FIRST
    assert founded_before.mean() > 0.5


def test_years_are_consecutive_within_firms(sim: ParkSimulation) -> None:
    gaps = sim.panel.groupby("firm_id")["year"].diff().dropna()
    assert (gaps == 1).all()


def test_levels_positive_and_logs_match(sim: ParkSimulation) -> None:
    panel = sim.panel
    for name in ["output", "value_added", "employment", "capital", "materials"]:
        assert (panel[name] > 0).all(), name
        np.testing.assert_array_equal(panel[f"log_{name}"], np.log(panel[name]))
    assert (panel["rd"] >= 0).all()
    assert 0.0 < (panel["rd"] == 0).mean() < 0.15
    assert (panel["phd"] <= panel["employment"]).all()
    assert (panel["age"] == panel["year"] - panel["founded"]).all()


# -------------------------------------------------------------------- treatment
def test_about_a_quarter_ever_treated_in_staggered_cohorts(
    sim: ParkSimulation, firms: pd.DataFrame
) -> None:
    ever = firms["entry_year"].notna()
    assert 0.20 <= ever.mean() <= 0.32
    cohorts = sim.truth.cohorts
    assert (cohorts["cohort"] > FIRST).all() and (cohorts["cohort"] <= LAST).all()
    assert (cohorts["n_firms"] >= 10).sum() >= 15
    assert set(cohorts["cohort"]) >= {1997, 2003, 2010, 2015}


def test_entries_only_into_open_parks(sim: ParkSimulation) -> None:
    ten = sim.tenancy
    years = pd.to_datetime(ten["move_in"]).dt.year
    for park, opening in OPENING.items():
        assert (years[ten["park_name"] == park] >= opening).all(), park
    assert years[ten["park_name"] == "Central"].min() == 2003
    assert years[ten["park_name"] == "Southern"].min() == 1997
    out = pd.to_datetime(ten["move_out"])
    assert (out.dropna() >= pd.to_datetime(ten["move_in"])[out.notna()]).all()


def test_always_treated_exits_and_moves(sim: ParkSimulation, firms: pd.DataFrame) -> None:
    tenants = firms.loc[firms["entry_year"].notna()]
    assert 10 <= (tenants["entry_year"] < FIRST).sum() <= 0.1 * len(tenants)
    assert (tenants.loc[tenants["entry_year"] < FIRST, "park"] == "Hsinchu").all()
    exit_share = tenants["exit_year"].notna().mean()
    assert 0.02 <= exit_share <= 0.09
    spells = sim.tenancy.groupby("company_id")["park_name"].nunique()
    assert (spells > 1).sum() >= 10


def _chained_entry_exit(tenancy: pd.DataFrame) -> pd.DataFrame:
    """Reference implementation of the tenancy rules, one firm at a time."""
    rows = []
    ten = tenancy.assign(
        start=pd.to_datetime(tenancy["move_in"]).dt.year,
        end=pd.to_datetime(tenancy["move_out"]).dt.year,
    ).sort_values(["company_id", "start"])
    for firm, spells in ten.groupby("company_id"):
        exit_year = spells["end"].iloc[0]
        for _, spell in spells.iloc[1:].iterrows():
            if np.isnan(exit_year) or spell["start"] > exit_year + 1:
                break
            exit_year = spell["end"]
        rows.append((firm, spells["park_name"].iloc[0], float(spells["start"].iloc[0]), exit_year))
    return pd.DataFrame(rows, columns=["firm_id", "park", "entry_year", "exit_year"])


def test_tenancy_rules_give_entry_and_exit_years(sim: ParkSimulation, firms: pd.DataFrame) -> None:
    expected = _chained_entry_exit(sim.tenancy).set_index("firm_id")
    got = firms.loc[firms["entry_year"].notna(), ["park", "entry_year", "exit_year"]]
    assert set(got.index) == set(expected.index)
    expected = expected.loc[got.index]
    np.testing.assert_array_equal(got["park"].to_numpy(), expected["park"].to_numpy())
    np.testing.assert_array_equal(got["entry_year"], expected["entry_year"])
    np.testing.assert_array_equal(got["exit_year"], expected["exit_year"])
    never = firms.loc[firms["entry_year"].isna()]
    assert never["park"].isna().all() and never["exit_year"].isna().all()


# ------------------------------------------------------------------------- truth
def test_att_gt_is_the_cell_mean_of_firm_effects(sim: ParkSimulation) -> None:
    truth = sim.truth
    effects = truth.firm_effects
    assert (effects["event_time"] >= 0).all()
    assert (effects["event_time"] == effects["year"] - effects["cohort"]).all()
    post = truth.att_gt.loc[truth.att_gt["event_time"] >= 0]
    for outcome in ["tfp", "log_rd", "phd", "patents", "patents_cw", "log_output", "employment"]:
        cells = effects.loc[effects["cohort"] > FIRST].groupby(["cohort", "year"])[outcome]
        expected = cells.agg(["mean", "size"])
        got = post.loc[post["outcome"] == outcome].set_index(["cohort", "year"])
        assert got.index.equals(expected.index)
        np.testing.assert_allclose(got["att"], expected["mean"], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(got["n_firms"], expected["size"])


def test_pre_entry_cells_are_zero_and_counted(sim: ParkSimulation) -> None:
    att = sim.truth.att_gt
    pre = att.loc[att["event_time"] < 0]
    assert len(pre) > 0 and (pre["att"] == 0.0).all()
    panel = sim.panel
    inside = panel.loc[panel["entry_year"] > FIRST]
    counts = inside.groupby(["entry_year", "year"]).size()
    tfp = att.loc[att["outcome"] == "tfp"].set_index(["cohort", "year"])["n_firms"]
    np.testing.assert_array_equal(tfp.to_numpy(), counts.to_numpy())


def test_cohort_sizes(sim: ParkSimulation, firms: pd.DataFrame) -> None:
    entry = firms["entry_year"]
    expected = entry[(entry > FIRST) & (entry <= LAST)].value_counts().sort_index()
    cohorts = sim.truth.cohorts.set_index("cohort")["n_firms"]
    np.testing.assert_array_equal(cohorts.index.to_numpy(), expected.index.to_numpy())
    np.testing.assert_array_equal(cohorts.to_numpy(), expected.to_numpy())


def test_aggregates_recomputed_by_hand(sim: ParkSimulation) -> None:
    truth = sim.truth
    sizes = truth.cohorts.set_index("cohort")["n_firms"].to_dict()
    cells = truth.att_gt.loc[truth.att_gt["outcome"] == "log_rd"]
    att = {(int(g), int(t)): a for g, t, a in zip(cells["cohort"], cells["year"], cells["att"], strict=True)}
    post = [(g, t) for (g, t) in att if t >= g]
    simple = sum(sizes[g] * att[g, t] for g, t in post) / sum(sizes[g] for g, t in post)
    events = sorted({t - g for g, t in att})
    dynamic = {
        e: sum(sizes[g] * att[g, t] for g, t in att if t - g == e)
        / sum(sizes[g] for g, t in att if t - g == e)
        for e in events
    }
    group = {g: np.mean([att[g, t] for gg, t in post if gg == g]) for g in sizes}
    years = sorted({t for _, t in post})
    calendar = {
        t: sum(sizes[g] * att[g, tt] for g, tt in post if tt == t)
        / sum(sizes[g] for g, tt in post if tt == t)
        for t in years
    }
    expected = {
        ("simple", None): simple,
        ("dynamic", None): np.mean([v for e, v in dynamic.items() if e >= 0]),
        ("group", None): sum(sizes[g] * v for g, v in group.items()) / sum(sizes.values()),
        ("calendar", None): np.mean(list(calendar.values())),
        **{("dynamic", e): v for e, v in dynamic.items()},
        **{("group", g): v for g, v in group.items()},
        **{("calendar", t): v for t, v in calendar.items()},
    }
    agg = truth.aggregates.loc[truth.aggregates["outcome"] == "log_rd"]
    got = {
        (kind, None if np.isnan(key) else int(key)): value
        for kind, key, value in zip(agg["kind"], agg["key"], agg["att"], strict=True)
    }
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-14), key


def test_effects_build_up_and_are_larger_for_small_firms(sim: ParkSimulation) -> None:
    agg = sim.truth.aggregates
    dyn = agg.loc[(agg["outcome"] == "tfp") & (agg["kind"] == "dynamic")].set_index("key")["att"]
    assert np.all(np.diff(dyn.loc[0:6].to_numpy()) > 0)
    simple = agg.loc[agg["kind"] == "simple"].set_index("outcome")["att"]
    for outcome in ["tfp", "log_rd", "phd", "patents", "patents_cw", "log_output", "employment"]:
        assert simple[outcome] > 0, outcome
    eff = sim.truth.firm_effects.merge(sim.truth.covariates, on="firm_id")
    by_size = eff.loc[eff["event_time"].between(3, 8)].groupby("size_class")["tfp"].mean()
    assert by_size["small"] > by_size["medium"] > by_size["large"] > 0


def test_placebo_has_zero_effects_and_same_untreated_world(
    sim: ParkSimulation, placebo: ParkSimulation
) -> None:
    effects = placebo.truth.firm_effects.drop(columns=["firm_id", "year", "cohort", "event_time"])
    assert (effects.to_numpy() == 0.0).all()
    assert (placebo.truth.aggregates["att"] == 0.0).all()
    pd.testing.assert_frame_equal(placebo.tenancy, sim.tenancy)
    untreated = sim.panel["entry_year"].isna() | (sim.panel["year"] < sim.panel["entry_year"])
    pd.testing.assert_frame_equal(
        placebo.panel.loc[untreated], sim.panel.loc[untreated], check_exact=True
    )


# --------------------------------------------------------------------- selection
def test_selection_on_observables(sim: ParkSimulation, firms: pd.DataFrame) -> None:
    inside = firms.loc[firms["entry_year"].isna() | (firms["entry_year"] > FIRST)]
    treated = inside["entry_year"].notna()
    assert inside.loc[treated, "intensity"].mean() > 1.2 * inside.loc[~treated, "intensity"].mean()
    hot = inside["industry"].isin(["IC", "OPTO"])
    assert hot[treated].mean() > hot[~treated].mean() + 0.1
    # entry hazard per firm-year at risk rises with youth, size and R&D intensity
    panel = sim.panel.merge(sim.truth.covariates.drop(columns="industry"), on="firm_id")
    entry = panel["entry_year"]
    at_risk = panel.loc[(panel["year"] > FIRST) & (entry.isna() | (panel["year"] <= entry))]
    at_risk = at_risk.loc[~(at_risk["entry_year"] <= FIRST)]
    enters = at_risk["year"] == at_risk["entry_year"]
    for column, high, low in [
        ("age_group", "young", "old"), ("size_class", "large", "small"), ("rd_type", "high", "low")
    ]:
        hazard = enters.groupby(at_risk[column]).mean()
        assert hazard[high] > 1.2 * hazard[low], column


def test_covariates_are_recomputable_from_the_panel(firms: pd.DataFrame) -> None:
    # in the first observed year, except for firms already in a park before the sample
    firms = firms.loc[~(firms["entry_year"] <= FIRST)]
    size = np.select(
        [firms["employment"] < 50, firms["employment"] < 200], ["small", "medium"], "large"
    )
    np.testing.assert_array_equal(firms["size_class"].to_numpy(), size)
    rd_type = np.where(firms["intensity"] >= 0.04, "high", "low")
    np.testing.assert_array_equal(firms["rd_type"].to_numpy(), rd_type)
    age = np.where(firms["age"] < 5, "young", "old")
    np.testing.assert_array_equal(firms["age_group"].to_numpy(), age)


def _pre_trend(frame: pd.DataFrame, fe: str) -> tuple[float, float]:
    """Coefficient on 'later treated' in a first-difference regression with FE, firm-clustered."""
    y = frame["dy"] - frame.groupby(fe)["dy"].transform("mean")
    x = frame["later"] - frame.groupby(fe)["later"].transform("mean")
    beta = float((x * y).sum() / (x * x).sum())
    score = (x * (y - beta * x)).groupby(frame["firm_id"]).sum()
    return beta, float(np.sqrt((score**2).sum()) / (x * x).sum())


def test_parallel_trends_fail_unconditionally_but_hold_within_strata(
    sim: ParkSimulation,
) -> None:
    e = sim.truth.elasticities
    panel = sim.panel.merge(sim.truth.covariates.drop(columns="industry"), on="firm_id")
    tfp = (
        panel["log_output"] - e["constant"] - e["labour"] * panel["log_employment"]
        - e["capital"] * panel["log_capital"] - e["materials"] * panel["log_materials"]
    )
    panel = panel.assign(dy=tfp.groupby(panel["firm_id"]).diff())
    later = panel["entry_year"] > FIRST
    never = panel["entry_year"].isna()
    keep = (never | (later & (panel["year"] < panel["entry_year"]))) & panel["dy"].notna()
    frame = panel.loc[keep].assign(later=later[keep].astype(float))
    frame["year_fe"] = frame["year"].astype(str)
    frame["stratum_fe"] = (
        frame["industry"] + frame["size_class"] + frame["rd_type"] + frame["age_group"]
        + frame["year"].astype(str)
    )
    naive, naive_se = _pre_trend(frame, "year_fe")
    within, within_se = _pre_trend(frame, "stratum_fe")
    assert naive / naive_se > 3.0
    assert abs(within / within_se) < 2.5
    assert abs(within) < 0.5 * naive


# --------------------------------------------------------------- raw vs clean
def test_deflating_raw_financials_reproduces_the_panel(sim: ParkSimulation) -> None:
    defl = sim.deflators
    assert (defl.loc[defl["year"] == 2016, defl.columns[2:]] == 100.0).all().all()
    raw = sim.financials.merge(
        defl.rename(columns={"year": "fiscal_year"}), on=["fiscal_year", "industry_code"],
        how="left", validate="many_to_one",
    )
    for canonical, (source, index) in MONEY.items():
        real = raw[source] / (raw[index] / 100.0)
        np.testing.assert_array_equal(real.to_numpy(), sim.panel[canonical].to_numpy())
    np.testing.assert_allclose(
        sim.financials["value_added"],
        sim.financials["sales"] - sim.financials["materials_cost"], rtol=1e-12,
    )
    np.testing.assert_array_equal(sim.financials["employees"], sim.panel["employment"])


def test_patent_records_aggregate_to_panel_counts(sim: ParkSimulation) -> None:
    pat = sim.patents
    assert pat["patent_no"].is_unique
    pat = pat.assign(year=pd.to_datetime(pat["filing_date"]).dt.year)
    sums = pat.groupby(["company_id", "year"]).agg(
        patents=("patent_no", "size"), citations=("forward_cites", "sum"), claims=("claims", "sum")
    )
    keys = pd.MultiIndex.from_frame(sim.panel[["firm_id", "year"]])
    assert sums.index.isin(keys).all()
    expected = sums.reindex(keys, fill_value=0)
    panel = sim.panel
    np.testing.assert_array_equal(panel["patents"], expected["patents"].to_numpy(float))
    np.testing.assert_array_equal(panel["citations"], expected["citations"].to_numpy(float))
    np.testing.assert_array_equal(panel["claims"], expected["claims"].to_numpy(float))
    np.testing.assert_array_equal(panel["patents_cw"], panel["patents"] + panel["citations"])


def test_rd_capital_matches_a_groupby_recursion(sim: ParkSimulation) -> None:
    def stock(group: pd.DataFrame) -> pd.Series:
        values, previous, last = [], 0.0, None
        for year, rd in zip(group["year"], group["rd"], strict=True):
            previous = rd / 0.20 if last is None else 0.85 ** (year - last) * previous + rd
            values.append(previous)
            last = year
        return pd.Series(values, index=group.index)

    panel = sim.panel
    expected = panel.groupby("firm_id", group_keys=False)[["year", "rd"]].apply(stock)
    np.testing.assert_allclose(panel["rd_capital"], expected.sort_index(), rtol=1e-12)


# ------------------------------------------------------------------ mess, files
def test_mess_switches_change_only_raw_financials(
    sim: ParkSimulation, messy: ParkSimulation
) -> None:
    for name, frame in _frames(sim).items():
        if name != "financials":
            pd.testing.assert_frame_equal(frame, _frames(messy)[name], obj=name)
    raw = messy.financials
    assert 1.03 * len(sim.financials) < len(raw) < 1.07 * len(sim.financials)
    assert raw.duplicated().sum() > 0.03 * len(sim.financials)
    unique = raw.drop_duplicates().reset_index(drop=True)
    sales = unique["sales"]
    text = sales.map(lambda v: isinstance(v, str))
    assert sales.dtype == object and 0.02 < text.mean() < 0.08
    assert 0.02 < sales.isna().mean() < 0.08
    assert pd.to_numeric(sales[text], errors="coerce").isna().all()
    clean = pd.to_numeric(sales.where(~text), errors="coerce")
    ratio = np.log(clean / sim.financials["sales"].to_numpy()).dropna()
    assert 0.08 < ratio.std() < 0.12


def test_write_sources_is_byte_deterministic(
    sim: ParkSimulation, sim_again: ParkSimulation, tmp_path: Path
) -> None:
    first = sim.write_sources(tmp_path / "a")
    second = sim_again.write_sources(tmp_path / "b")
    assert set(first) == {
        "financials", "tenancy", "patents", "deflators", "mapping", "costs", "att_gt",
        "aggregates", "elasticities", "firm_effects", "cohorts", "covariates", "survival",
    }
    for name, path in first.items():
        data = path.read_bytes()
        assert data == second[name].read_bytes(), name
        assert b"\r\n" not in data
    assert first["att_gt"] == tmp_path / "a" / "truth" / "att_gt.csv"
    with first["mapping"].open("rb") as handle:
        assert tomllib.load(handle) == sim.mapping
    back = pd.read_csv(first["financials"], keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(back, sim.financials, check_dtype=False, check_exact=True)
    panel_back = pd.read_csv(first["deflators"])
    pd.testing.assert_frame_equal(panel_back, sim.deflators, check_dtype=False, check_exact=True)


def test_mapping_shape(sim: ParkSimulation) -> None:
    mapping = sim.mapping
    assert list(mapping) == [
        "files", "financials", "tenancy", "patents", "deflators", "deflate", "options"
    ]
    assert mapping["financials"]["output"] == "sales"
    assert set(mapping["financials"].values()) == set(sim.financials.columns)
    assert set(mapping["tenancy"].values()) == set(sim.tenancy.columns)
    assert set(mapping["patents"].values()) == set(sim.patents.columns)
    assert mapping["options"] == {"index_base": 100.0, "rd_depreciation": 0.15, "rd_growth": 0.05}


# -------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_firms": 10}, ValueError, "n_firms must be an integer in"),
        ({"n_firms": 100.0}, TypeError, "n_firms must be an integer"),
        ({"first_year": 2010, "last_year": 2012}, ValueError, "last_year must be at least"),
        ({"first_year": 1900}, ValueError, "first_year must be an integer in"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"seed": "a"}, TypeError, "seed must be a non-negative integer"),
        ({"missing": 1.0}, ValueError, r"missing must be in \[0, 1\)"),
        ({"format_errors": -0.1}, ValueError, "format_errors must be in"),
        ({"duplicates": float("nan")}, ValueError, "duplicates must be in"),
        ({"reporting_noise": 2.0}, ValueError, "reporting_noise must be in"),
        ({"effect_scale": 9.0}, ValueError, r"effect_scale must be in \[-5, 5\]"),
        ({"effect_scale": "big"}, TypeError, "effect_scale must be a real number"),
        ({"entry_rate": -1.0}, ValueError, "entry_rate must be in"),
        ({"burn_in": 100}, ValueError, "burn_in must be an integer in"),
        ({"missing": True}, TypeError, "missing must be a real number"),
    ],
)
def test_argument_validation(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        simulate_parks(**kwargs)


def test_small_window_and_no_entry_run() -> None:
    short = simulate_parks(n_firms=80, first_year=2000, last_year=2004, seed=3)
    assert short.panel["year"].between(2000, 2004).all()
    none = simulate_parks(n_firms=80, entry_rate=0.0, seed=3)
    assert none.panel["entry_year"].isna().all()
    assert none.truth.att_gt.empty and none.truth.aggregates.empty and none.tenancy.empty
