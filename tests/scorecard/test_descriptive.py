"""Descriptive KPIs on a hand-made panel equal hand computations; registry and validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkimpact.data import FirmPanel
from parkimpact.scorecard import KPIS, Scorecard, kpi_definitions

KPI_COLUMNS = [
    "kpi",
    "version",
    "park",
    "level",
    "year",
    "cohort",
    "tenants",
    "non_tenants",
    "n_tenants",
    "effect",
    "std_error",
    "conf_low",
    "conf_high",
    "method",
    "status",
    "note",
]
#: firm: (park, entry, founded, female, birth year, employees, average wage, first, last)
FIRMS = {
    1: ("P1", 2011, 2009, 1, 1985, 10, 2.0, 2010, 2013),
    2: ("P1", 2012, 1990, 0, 1960, 20, 1.0, 2010, 2013),
    3: ("P2", 2012, 2008, 1, 1970, 30, 3.0, 2010, 2013),
    4: (None, np.nan, 2000, 0, 1975, 40, 1.0, 2010, 2013),
    5: (None, np.nan, 2009, 1, 1990, 50, 1.0, 2010, 2012),
    6: (None, np.nan, 1995, 0, 1950, 60, 2.0, 2011, 2013),
}


def hand_panel(drop: tuple[str, ...] = ()) -> FirmPanel:
    """Six firms, 2010-2013: value added per employee = firm + 1, one patent a year with
    ``firm`` citations."""
    rows = []
    for firm, (park, entry, founded, female, birth, staff, wage, first, last) in FIRMS.items():
        for year in range(first, last + 1):
            rows.append(
                {
                    "firm": firm,
                    "year": year,
                    "park": park,
                    "entry": entry,
                    "founded": founded,
                    "founder_female": female,
                    "founder_birth_year": birth,
                    "employment": float(staff),
                    "wage_bill": staff * wage,
                    "value_added": staff * (firm + 1.0),
                    "patents": 1.0,
                    "citations": float(firm),
                }
            )
    frame = pd.DataFrame(rows).drop(columns=list(drop))
    return FirmPanel(frame, unit="firm", time="year", entry="entry", park="park")


def _fit(panel: FirmPanel, kpis: list[str], **settings: object) -> pd.DataFrame:
    return Scorecard(kpis=kpis, causal=False, **settings).fit(panel).kpis()  # type: ignore[arg-type]


def _value(
    table: pd.DataFrame,
    kpi: str,
    park: str,
    level: str = "park",
    year: float = np.nan,
    cohort: float = np.nan,
) -> pd.Series:
    rows = table.loc[(table["kpi"] == kpi) & (table["park"] == park) & (table["level"] == level)]
    if not np.isnan(year):
        rows = rows.loc[rows["year"] == year]
    if not np.isnan(cohort):
        rows = rows.loc[rows["cohort"] == cohort]
    assert len(rows) == 1, (kpi, park, level, year, cohort)
    return rows.iloc[0]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    kpis = [
        "labour_productivity",
        "high_wage_jobs",
        "quality_weighted_patents",
        "patent_quality",
        "women_led_share_entrants",
        "youth_led_share_entrants",
        "startup_share",
        "employment",
        "net_job_creation",
    ]
    return _fit(hand_panel(), kpis, citation_window=1)


def test_columns_and_statuses(table: pd.DataFrame) -> None:
    assert list(table.columns) == KPI_COLUMNS
    assert set(table["status"]) == {"descriptive only"}
    assert set(table["park"]) == {"P1", "P2", "all"}
    assert set(table["level"]) == {"park", "park_year", "park_cohort"}
    causal_off = table.loc[table["kpi"] == "employment", "note"]
    assert causal_off.str.contains("causal=False").all()


def test_labour_productivity_by_hand(table: pd.DataFrame) -> None:
    # P1 tenant years: firm 1 in 2011-13 (VA/L = 2), firm 2 in 2012-13 (3)
    row = _value(table, "labour_productivity", "P1")
    assert row["tenants"] == pytest.approx(12 / 5)
    # never-tenants in 2011-13: firm 4 (5) x3, firm 5 (6) x2, firm 6 (7) x3
    assert row["non_tenants"] == pytest.approx(48 / 8)
    assert row["n_tenants"] == 2
    year = _value(table, "labour_productivity", "P1", "park_year", year=2011)
    assert (year["tenants"], year["non_tenants"], year["n_tenants"]) == pytest.approx((2, 6, 1))
    cohort = _value(table, "labour_productivity", "P1", "park_cohort", cohort=2012)
    assert (cohort["tenants"], cohort["non_tenants"]) == pytest.approx((3, 30 / 5))
    pooled = _value(table, "labour_productivity", "all")
    assert pooled["tenants"] == pytest.approx(20 / 7) and pooled["n_tenants"] == 3


def test_high_wage_jobs_by_hand(table: pd.DataFrame) -> None:
    # employment-weighted median wage of untreated firm-years: 1 in 2010-2012, 2 in 2013,
    # so with multiple 1.5 firm 1 (wage 2) is high-wage in 2011-12 but not in 2013
    row = _value(table, "high_wage_jobs", "P1")
    assert row["tenants"] == pytest.approx((10 + 10 + 0 + 0 + 0) / 5)
    assert row["non_tenants"] == pytest.approx((60 + 60) / 8)
    year = _value(table, "high_wage_jobs", "P2", "park_year", year=2013)
    assert year["tenants"] == pytest.approx(30.0)  # wage 3 >= 1.5 x 2


def test_patent_quality_by_hand(table: pd.DataFrame) -> None:
    # complete windows (W = 1): 2010-2012; cell means 15/5 (2010), 21/6 (2011, 2012)
    row = _value(table, "quality_weighted_patents", "P1")
    assert row["tenants"] == pytest.approx((1 / 3.5 + 1 / 3.5 + 2 / 3.5) / 3)
    quality = _value(table, "patent_quality", "P1")
    assert quality["tenants"] == pytest.approx(row["tenants"])  # one patent per firm-year
    late = table.loc[(table["kpi"] == "quality_weighted_patents") & (table["year"] == 2013)]
    assert late.empty  # incomplete citation window: no value at all


def test_entrant_shares_by_hand(table: pd.DataFrame) -> None:
    women = _value(table, "women_led_share_entrants", "P1")
    # entrants: firm 1 (female) in 2011, firm 2 (male) in 2012; never-tenants in 2011-12
    assert (women["tenants"], women["non_tenants"]) == pytest.approx((0.5, 2 / 6))
    youth = _value(table, "youth_led_share_entrants", "P1")
    assert youth["tenants"] == pytest.approx(0.5)  # founder aged 26 and 52 at entry
    startup = _value(table, "startup_share", "P1")
    assert (startup["tenants"], startup["non_tenants"]) == pytest.approx((0.5, 2 / 6))
    cohort = _value(table, "startup_share", "P2", "park_cohort", cohort=2012)
    assert cohort["tenants"] == pytest.approx(1.0)  # founded 2008, 4 years before entry


def test_net_job_creation_needs_consecutive_years(table: pd.DataFrame) -> None:
    row = _value(table, "net_job_creation", "all")
    assert row["tenants"] == pytest.approx(0.0)  # constant employment
    assert "employment ATT" in row["note"]


def test_exit_role_ends_tenancy() -> None:
    panel = hand_panel()
    data = panel.data.assign(exit=np.where(panel.data["firm"] == 1, 2012.0, np.nan))
    with pytest.warns(UserWarning):
        exited = FirmPanel(
            data,
            unit="firm",
            time="year",
            entry="entry",
            exit="exit",
            park="park",
            exits="keep_treated",
        )
    table = _fit(exited, ["labour_productivity"])
    row = _value(table, "labour_productivity", "P1")
    assert row["tenants"] == pytest.approx((2 + 2 + 3 + 3) / 4)  # firm 1 in 2011-12 only


def test_missing_column_is_not_available_and_named() -> None:
    table = _fit(
        hand_panel(drop=("founder_birth_year",)),
        ["youth_led_share_tenants", "rd_staff_share", "employment"],
    )
    missing = table.loc[table["kpi"] == "youth_led_share_tenants"]
    assert set(missing["status"]) == {"not available"}
    assert missing["note"].str.contains("'founder_birth_year'").all()
    assert missing["tenants"].isna().all()
    staff = table.loc[table["kpi"] == "rd_staff_share"]
    assert (
        set(staff["status"]) == {"not available"} and staff["note"].str.contains("rd_staff").all()
    )
    assert (table.loc[table["kpi"] == "employment", "status"] == "descriptive only").all()


def test_column_map_renames_a_canonical_column() -> None:
    panel = hand_panel()
    renamed = FirmPanel(
        panel.data.rename(columns={"employment": "staff"}),
        unit="firm",
        time="year",
        entry="entry",
        park="park",
    )
    table = _fit(renamed, ["labour_productivity"], columns={"employment": "staff"})
    assert _value(table, "labour_productivity", "P1")["tenants"] == pytest.approx(12 / 5)
    assert _fit(renamed, ["labour_productivity"])["status"].eq("not available").all()


def test_registry_and_definitions() -> None:
    assert len(KPIS) >= 20 and all(k.version for k in KPIS.values())
    families = {k.family for k in KPIS.values()}
    assert families == {
        "productivity",
        "jobs",
        "innovation",
        "entrepreneurship",
        "inclusion",
        "cost",
    }
    result = Scorecard(
        kpis=["high_wage_jobs", "survival"], causal=False, high_wage_multiple=2.0
    ).fit(hand_panel())
    definitions = result.definitions()
    assert list(definitions.columns) == ["kpi", "version", "formula", "unit", "source"]
    assert "2 * median" in definitions.loc[0, "formula"]
    settings = Scorecard().formula_settings(
        hand_panel(), {"currency_text": "TWD", "price_year_text": "2016 prices"}
    )
    assert len(kpi_definitions(settings)) == len(KPIS)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kpis": ["nonsense"]}, ValueError, "kpis must be names"),
        ({"method": "ols"}, ValueError, "'method' parameter of Scorecard"),
        ({"min_tenants": 0}, ValueError, "min_tenants must be an integer of at least 1"),
        ({"level": 1.5}, ValueError, "level must be a number strictly between 0 and 1"),
        ({"covariates": "industry"}, TypeError, "covariates must be a sequence"),
        ({"columns": {"staff": "x"}}, ValueError, "columns must map canonical names"),
        ({"high_wage_multiple": -1}, ValueError, "high_wage_multiple must be a positive"),
    ],
)
def test_settings_validation(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Scorecard(**kwargs)


def test_fit_validation() -> None:
    with pytest.raises(TypeError, match="panel must be a FirmPanel"):
        Scorecard().fit(pd.DataFrame())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"covariates must be panel columns; got \['size'\]"):
        Scorecard(covariates=["size"]).fit(hand_panel())
    no_entry = FirmPanel(hand_panel().data, unit="firm", time="year")
    with pytest.raises(ValueError, match="panel role 'entry' must be declared"):
        Scorecard().fit(no_entry)
