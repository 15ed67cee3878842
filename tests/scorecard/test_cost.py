"""Cost table: currency and price-year checks, deflation, cost per additional job or patent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkimpact.errors import DataFormatError
from parkimpact.scorecard import CostTable
from parkimpact.scorecard._causal import ParkEffect
from parkimpact.scorecard.cost import cost_rows

DEFLATOR = pd.DataFrame({"year": [2010, 2011, 2012], "cpi": [80.0, 90.0, 100.0]})


def _costs(
    currency: tuple[str, ...] = ("TWD",) * 3, price_year: tuple[int, ...] = (2010, 2011, 2012)
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "park": ["A", "A", "B"],
            "year": [2010, 2011, 2012],
            "amount": [80.0, 90.0, 50.0],
            "currency": list(currency),
            "price_year": list(price_year),
        }
    )


def test_deflation_to_a_price_year_is_stated() -> None:
    frame, note, currency, year = CostTable(
        _costs(), deflators=DEFLATOR, index="cpi", price_year=2012
    ).real()
    np.testing.assert_allclose(frame["amount"], [100.0, 100.0, 50.0])
    assert (currency, year) == ("TWD", 2012)
    assert "restated from price years 2010-2012 to 2012 prices with the deflator 'cpi'" in note


def test_a_single_price_year_needs_no_deflator() -> None:
    frame, note, _, year = CostTable(_costs(price_year=(2012,) * 3)).real()
    np.testing.assert_allclose(frame["amount"], [80.0, 90.0, 50.0])
    assert year == 2012 and "as supplied (not deflated)" in note


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (
            CostTable(_costs(currency=("TWD", "USD", "TWD")), currency="TWD"),
            r"currency must be 'TWD' in every row; got 'USD' in 1 row\(s\)",
        ),
        (
            CostTable(_costs(currency=("TWD", "USD", "TWD"))),
            r"must be a single currency; got \['TWD', 'USD'\]",
        ),
        (CostTable(_costs()), "price_year must be set when the cost table has several price"),
        (CostTable(_costs(), price_year=2012), "deflators must be given to restate costs"),
        (
            CostTable(_costs(), deflators=DEFLATOR.iloc[1:], index="cpi", price_year=2012),
            r"positive 'cpi' for every price year; got none for 1 year\(s\) \(e\.g\. \[2010\]\)",
        ),
        (
            CostTable(
                _costs(),
                deflators=pd.concat([DEFLATOR, DEFLATOR.assign(cpi=1.0)]),
                index="cpi",
                price_year=2012,
            ),
            "must have one value per year",
        ),
        (CostTable(_costs().drop(columns="currency")), "cost table must have column"),
        (CostTable(_costs().assign(amount=[1.0, -2.0, 3.0])), "amounts must be non-negative"),
    ],
)
def test_cost_table_errors(table: CostTable, match: str) -> None:
    with pytest.raises(DataFormatError, match=match):
        table.real()


def test_cost_per_job_and_patent() -> None:
    costs = CostTable(_costs(price_year=(2012,) * 3))
    effects = {
        ("employment", "A"): ParkEffect(2.0, 0.5, 1.0, 3.0, n_firms=10, n_firm_years=40),
        ("patents", "A"): ParkEffect(0.5, 0.4, -0.3, 1.3, n_firms=10, n_firm_years=40),
        ("employment", "all"): ParkEffect(-1.0, 0.5, -2.0, 0.0, n_firms=12, n_firm_years=50),
    }
    rows, texts = cost_rows(costs, effects, ["A", "B", "all"])
    table = pd.DataFrame(rows).set_index(["kpi", "park"])
    job = table.loc[("cost_per_job", "A")]
    assert job["effect"] == pytest.approx(170.0 / 20.0)
    assert job["std_error"] == pytest.approx(170.0 * 0.5 / (10 * 4.0))
    assert (job["conf_low"], job["conf_high"]) == pytest.approx((170.0 / 30.0, 170.0 / 10.0))
    assert job["status"] == "estimated"
    patent = table.loc[("cost_per_patent", "A")]
    assert patent["effect"] == pytest.approx(170.0 / 20.0)
    assert np.isnan(patent["conf_low"]) and "CI includes 0" in patent["note"]
    assert table.loc[("cost_per_job", "all"), "status"] == "descriptive only"
    assert "ATT <= 0" in table.loc[("cost_per_job", "all"), "note"]
    assert "no causal estimate" in table.loc[("cost_per_job", "B"), "note"]
    assert texts["price_year_text"] == "TWD at 2012 prices"


def test_no_cost_table_is_not_available() -> None:
    rows, _ = cost_rows(None, {}, ["A", "all"])
    assert {r["status"] for r in rows} == {"not available"}
    assert all("missing cost table" in r["note"] for r in rows)
