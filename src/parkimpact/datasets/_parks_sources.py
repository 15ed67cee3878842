"""Raw sources of the park economy (nominal, source column names), mess switches and files.

The raw tables use the column names of the source files; :data:`MAPPING` maps
canonical names to them (``canonical = "source name"``) exactly as
``mapping.toml`` does. Nominal amounts are ``real * index / 100`` without
rounding, so that deflating them again (``nominal / (index / 100)``) returns the
real values to floating-point precision.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from parkimpact.datasets import _parks_config as cfg
from parkimpact.datasets._parks_dgp import Prices

__all__ = [
    "MAPPING",
    "MONEY_SOURCES",
    "COUNT_SOURCES",
    "draw_prices",
    "deflator_table",
    "nominal_values",
    "apply_mess",
    "mapping_toml",
    "write_csv",
]


def _frozen(section: dict[str, object]) -> Mapping[str, object]:
    return MappingProxyType(section)


#: Canonical name -> source name, by section; the same content as ``mapping.toml``.
MAPPING: Mapping[str, Mapping[str, object]] = MappingProxyType(
    {
        "files": _frozen(
            {
                "financials": "financials.csv",
                "tenancy": "tenancy.csv",
                "patents": "patents.csv",
                "deflators": "deflators.csv",
            }
        ),
        "financials": _frozen(
            {
                "firm_id": "company_id",
                "year": "fiscal_year",
                "industry": "industry_code",
                "founded": "year_founded",
                "output": "sales",
                "value_added": "value_added",
                "capital": "fixed_assets",
                "materials": "materials_cost",
                "investment": "capex",
                "rd": "rd_expense",
                "wage_bill": "wage_bill",
                "employment": "employees",
                "phd": "phd_staff",
                "founder_female": "founder_female",
                "founder_birth_year": "founder_birth_year",
            }
        ),
        "tenancy": _frozen(
            {
                "firm_id": "company_id",
                "park": "park_name",
                "entry_date": "move_in",
                "exit_date": "move_out",
            }
        ),
        "patents": _frozen(
            {
                "patent_id": "patent_no",
                "firm_id": "company_id",
                "application_date": "filing_date",
                "forward_citations": "forward_cites",
                "claims": "claims",
            }
        ),
        "deflators": _frozen({"year": "year", "industry": "industry_code"}),
        "deflate": _frozen(
            {
                "output": "output_price",
                "value_added": "output_price",
                "materials": "input_price",
                "capital": "capital_price",
                "investment": "capital_price",
                "rd": "consumer_price",
                "wage_bill": "consumer_price",
            }
        ),
        "options": _frozen(
            {
                "index_base": 100.0,
                "rd_depreciation": cfg.RD_DEPRECIATION,
                "rd_growth": cfg.RD_GROWTH,
            }
        ),
    }
)

#: Canonical money variables and their source columns, in file order.
MONEY_SOURCES: Mapping[str, str] = MappingProxyType(
    {k: str(MAPPING["financials"][k]) for k in (
        "output", "value_added", "capital", "materials", "investment", "rd", "wage_bill"
    )}
)
COUNT_SOURCES: Mapping[str, str] = MappingProxyType({"employment": "employees", "phd": "phd_staff"})


def draw_prices(rng: np.random.Generator, years: np.ndarray) -> Prices:
    r"""Log price indices over ``years``, normalised to 100 in 2016.

    :math:`\ln(P_{jt}/100) = \pi_j (t - 2016) + w_{jt} - w_{j,2016}` with
    :math:`w` a Gaussian random walk (step SD 0.01). Output-price trends by
    industry: IC -3%, PC -4%, OPTO -3%, TEL -1.5%, PREC +0.5%, BIO +1% a year;
    input prices +0.5%, 0, +0.5%, +1%, +1.5%, +1.5%; capital goods +0.3% and
    consumer prices +1.2% a year, common to all industries. The walk runs over
    the years from ``min(years[0], 2016)`` to ``max(years[-1], 2016)``.
    """
    first = min(int(years[0]), cfg.PRICE_BASE_YEAR)
    span = np.arange(first, max(int(years[-1]), cfg.PRICE_BASE_YEAR) + 1)
    base = cfg.PRICE_BASE_YEAR - first
    steps = cfg.PRICE_NOISE * rng.standard_normal((4, span.size, len(cfg.INDUSTRIES)))
    walk = np.cumsum(steps, axis=1)
    walk = walk - walk[:, base : base + 1, :]
    offset = (span - cfg.PRICE_BASE_YEAR).astype("float64")[:, None]
    rows = years - first
    output = cfg.IND_OUTPUT_PRICE_TREND[None, :] * offset + walk[0]
    inputs = cfg.IND_INPUT_PRICE_TREND[None, :] * offset + walk[1]
    capital = cfg.CAPITAL_PRICE_TREND * offset[:, 0] + walk[2, :, 0]
    consumer = cfg.CONSUMER_PRICE_TREND * offset[:, 0] + walk[3, :, 0]
    return Prices(
        log_output=output[rows], log_input=inputs[rows],
        log_capital=capital[rows], log_consumer=consumer[rows],
    )


def deflator_table(prices: Prices, years: np.ndarray, first_year: int) -> pd.DataFrame:
    """The ``deflators`` source: one row per sample year x industry, index 100 in 2016."""
    keep = years >= first_year
    n_ind = len(cfg.INDUSTRIES)
    sample = years[keep]
    rows = np.flatnonzero(keep)
    index = {
        "output_price": 100.0 * np.exp(prices.log_output[rows]),
        "input_price": 100.0 * np.exp(prices.log_input[rows]),
        "capital_price": np.repeat(100.0 * np.exp(prices.log_capital[rows])[:, None], n_ind, 1),
        "consumer_price": np.repeat(100.0 * np.exp(prices.log_consumer[rows])[:, None], n_ind, 1),
    }
    frame = pd.DataFrame(
        {
            "year": np.repeat(sample, n_ind).astype("int64"),
            "industry_code": np.tile(np.asarray(cfg.INDUSTRIES), sample.size),
            **{k: v.ravel() for k, v in index.items()},
        }
    )
    return frame.astype({"industry_code": "str"})


def nominal_values(real: Mapping[str, np.ndarray], index: Mapping[str, np.ndarray]) -> dict:
    """Nominal amounts ``real * index / 100`` for every money variable (no rounding)."""
    deflate = MAPPING["deflate"]
    return {MONEY_SOURCES[k]: real[k] * index[str(deflate[k])] / 100.0 for k in MONEY_SOURCES}


def _garbled(values: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Text that is not a number: ``n/a``, ``12,345.6``, ``1234.5x`` or ``1234,5``."""
    magnitude = np.abs(values)
    whole = np.floor(magnitude).astype("int64")
    tenth = np.floor((magnitude - whole) * 10.0).astype("int64").astype(str)
    thousands = np.char.add(
        np.char.add((whole // 1000).astype(str), ","),
        np.char.add(np.char.add(np.char.zfill((whole % 1000).astype(str), 3), "."), tenth),
    )
    suffixed = np.char.add(np.char.mod("%.6g", magnitude), "x")
    comma = np.char.replace(np.char.mod("%.1f", magnitude), ".", ",")
    style = np.where((style == 1) & (whole < 1000), 3, style)
    text = np.where(style == 1, thousands, np.where(style == 2, suffixed, comma))
    return np.where(style == 0, "n/a", text).astype(object)


def apply_mess(
    financials: pd.DataFrame, rngs: list[np.random.Generator], *, missing: float,
    format_errors: float, duplicates: float, reporting_noise: float,
) -> pd.DataFrame:
    r"""Reporting noise, blanks, unreadable text and duplicated rows, in that order.

    ``reporting_noise`` multiplies each money amount by :math:`e^{\sigma z}`,
    :math:`z \sim N(0, 1)`; ``missing`` blanks each money or count cell with
    that probability; ``format_errors`` replaces each remaining money or count
    cell with that probability by text that is not a number; ``duplicates``
    repeats each row with that probability (an exact copy right after it).
    """
    frame = financials.copy()
    money = list(MONEY_SOURCES.values())
    cells = money + list(COUNT_SOURCES.values())
    noise = rngs[0].standard_normal((len(frame), len(money)))
    if reporting_noise > 0:
        frame[money] = frame[money].to_numpy() * np.exp(reporting_noise * noise)
    blank = rngs[1].random((len(frame), len(cells))) < missing
    garble = (rngs[2].random((len(frame), len(cells))) < format_errors) & ~blank
    style = rngs[2].integers(0, 4, size=(len(frame), len(cells)))
    for j, col in enumerate(cells):
        if blank[:, j].any():
            frame[col] = frame[col].astype("float64").where(~blank[:, j])
        if garble[:, j].any():
            column = frame[col].astype(object)
            rows = garble[:, j]
            values = column.to_numpy()[rows].astype("float64")
            column.iloc[np.flatnonzero(rows)] = _garbled(values, style[rows, j])
            frame[col] = column
    repeat = 1 + (rngs[3].random(len(frame)) < duplicates)
    return frame.iloc[np.repeat(np.arange(len(frame)), repeat)].reset_index(drop=True)


def mapping_toml(mapping: Mapping[str, Mapping[str, object]] = MAPPING) -> str:
    """The mapping as TOML text (sections in order; strings quoted, numbers as floats)."""
    lines: list[str] = []
    for section, entries in mapping.items():
        if lines:
            lines.append("")
        lines.append(f"[{section}]")
        for key, value in entries.items():
            text = f'"{value}"' if isinstance(value, str) else repr(float(value))  # type: ignore[arg-type]
            lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """CSV with exact floats (``%.17g``), LF line endings and no index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.17g", lineterminator="\n", encoding="utf-8")
    return path
