"""The raw financials of the observed world and the clean firm-year panel built from them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from parkimpact.data.schema import DEFAULT_LOGS, FINANCIAL_MONEY, PATENT_OUTCOMES
from parkimpact.datasets import _parks_config as cfg
from parkimpact.datasets._parks_economy import Economy, real_values
from parkimpact.datasets._parks_sources import MAPPING, MONEY_SOURCES, nominal_values

__all__ = ["price_indices", "raw_financials", "clean_panel", "rd_capital_by_year"]


def price_indices(econ: Economy) -> dict[str, np.ndarray]:
    """Price index (base 100) of each deflator column at the observed cells."""
    p, rows, ind = econ.prices, econ.row_index, econ.cell_industry
    return {
        "output_price": 100.0 * np.exp(p.log_output[rows, ind]),
        "input_price": 100.0 * np.exp(p.log_input[rows, ind]),
        "capital_price": 100.0 * np.exp(p.log_capital)[rows],
        "consumer_price": 100.0 * np.exp(p.log_consumer)[rows],
    }


def raw_financials(econ: Economy) -> pd.DataFrame:
    """The ``financials`` source (clean): nominal NT$ million, source column names."""
    firms, fi = econ.firms, econ.firm_index
    real = real_values(econ, 1)
    nominal = nominal_values(real, price_indices(econ))
    frame = pd.DataFrame(
        {
            "company_id": firms.firm_id[fi],
            "fiscal_year": econ.cell_year.astype("int64"),
            "industry_code": np.asarray(cfg.INDUSTRIES)[firms.industry[fi]],
            "year_founded": firms.founded[fi],
            **nominal,
            "employees": real["employment"].astype("int64"),
            "phd_staff": real["phd"].astype("int64"),
            "founder_female": firms.founder_female[fi],
            "founder_birth_year": firms.founder_birth_year[fi],
        }
    )
    return frame.astype({"industry_code": "str"})


def rd_capital_by_year(
    rd: np.ndarray, observed: np.ndarray, *, depreciation: float, growth: float
) -> np.ndarray:
    r"""Perpetual-inventory knowledge stock, looping over years, vectorised over firms.

    ``rd`` and ``observed`` are (years x firms). In a firm's first observed year
    :math:`K = R / (g + \delta)`; after a gap of :math:`h` years,
    :math:`K_t = (1 - \delta)^h K_{prev} + R_t`. A missing flow makes the stock
    missing from then on. Unobserved years are NaN.
    """
    n_years, n_firms = rd.shape
    stock = np.full((n_years, n_firms), np.nan)
    previous = np.zeros(n_firms)
    last = np.full(n_firms, -1)
    keep = 1.0 - depreciation
    for row in range(n_years):
        seen = observed[row]
        first = last < 0
        gap = row - last
        value = np.where(first, rd[row] / (growth + depreciation), keep**gap * previous + rd[row])
        stock[row] = np.where(seen, value, np.nan)
        previous = np.where(seen, value, previous)
        last = np.where(seen, row, last)
    return stock


def _tenancy_columns(econ: Economy) -> dict[str, np.ndarray]:
    spells, fi = econ.spells, econ.firm_index
    tenant = spells.entry[fi] >= 0
    parks = np.asarray(cfg.PARKS, dtype=object)[np.maximum(spells.park1[fi], 0)]
    return {
        "park": np.where(tenant, parks, None),
        "entry_year": np.where(tenant, spells.entry[fi], np.nan).astype("float64"),
        "exit_year": spells.exit_year[fi],
    }


def clean_panel(
    econ: Economy, financials: pd.DataFrame, patent_outcomes: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """The firm-year panel as the adapter builds it from clean sources.

    Money is deflated as ``nominal / (index / 100)``; traits and counts are
    float64 as read from numeric columns; ``rd_capital`` is the perpetual
    inventory of real R&D; patent outcomes are zero-filled; logs are natural.
    """
    source = MAPPING["financials"]
    indices = price_indices(econ)
    frame = pd.DataFrame(
        {
            "firm_id": financials["company_id"].to_numpy(),
            "year": financials["fiscal_year"].to_numpy(),
            "industry": financials["industry_code"].to_numpy(),
            **_tenancy_columns(econ),
        }
    )
    for name in ("founded", "founder_female", "founder_birth_year"):
        frame[name] = financials[str(source[name])].to_numpy(dtype="float64")
    frame.insert(frame.columns.get_loc("founder_female"), "age", frame["year"] - frame["founded"])
    for name in FINANCIAL_MONEY:
        index = indices[str(MAPPING["deflate"][name])]
        frame[name] = financials[MONEY_SOURCES[name]].to_numpy(dtype="float64") / (index / 100.0)
    for name in ("employment", "phd"):
        frame[name] = financials[str(source[name])].to_numpy(dtype="float64")
    rd = np.full((econ.years.size, econ.firms.n), np.nan)
    rd[econ.row_index, econ.firm_index] = frame["rd"].to_numpy()
    observed = np.zeros(rd.shape, dtype=bool)
    observed[econ.row_index, econ.firm_index] = True
    stock = rd_capital_by_year(
        rd, observed, depreciation=cfg.RD_DEPRECIATION, growth=cfg.RD_GROWTH
    )
    frame["rd_capital"] = stock[econ.row_index, econ.firm_index]
    for name in PATENT_OUTCOMES:
        frame[name] = np.asarray(patent_outcomes[name], dtype="float64")
    for name in DEFAULT_LOGS:
        frame[f"log_{name}"] = np.log(frame[name].to_numpy())
    return frame.astype({"industry": "str", "park": "str"})
