r"""Public cost per additional job and per additional patent.

A cost table has one row per park and year: ``amount`` spent, its
``currency`` and the ``price_year`` its prices refer to (the year itself for
amounts at current prices). Amounts are restated at a single price year
:math:`P` with a deflator :math:`D` (any base),

.. math:: C^{real}_{pt} = C_{pt}\, \frac{D_P}{D_{\pi_{pt}}},

with :math:`\pi_{pt}` the row's price year, and summed over the table's
years to :math:`C_p`. Currencies are never converted: every row must be in
the report's currency. Then

.. math::

    \text{cost per job}_p = \frac{C_p}{\widehat{ATT}^{L}_p\, N_p}, \qquad
    \text{cost per patent}_p = \frac{C_p}{\widehat{ATT}^{P}_p\, N^{ty}_p},

with :math:`\widehat{ATT}^{L}` the employment ATT (additional jobs per tenant
over its post-entry years, a stock), :math:`N_p` the tenants behind it,
:math:`\widehat{ATT}^{P}` the patent ATT (additional applications per tenant
firm-year, a flow) and :math:`N^{ty}_p` the tenants' post-entry firm-years.
The standard error is the delta method's, :math:`C\,se(\widehat{ATT}) /
(N \widehat{ATT}^2)`; the interval inverts the ATT's interval (it is
unbounded, and left missing, when that interval includes zero). A
non-positive ATT gives no cost ratio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from parkimpact.data.validation import examples, numeric_column, require_columns
from parkimpact.errors import DataFormatError
from parkimpact.scorecard._causal import ParkEffect
from parkimpact.scorecard._measures import ALL_PARKS
from parkimpact.scorecard.kpis import KPIS

__all__ = ["CostTable", "cost_rows"]

_COLUMNS = ("park", "year", "amount", "currency", "price_year")


@dataclass(frozen=True, eq=False)
class CostTable:
    """Public cost of parks and how to restate it at one price year.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``park``, ``year``, ``amount``, ``currency``, ``price_year``
        (rename with ``columns``).
    deflators : pandas.DataFrame or None, default None
        A price index by year: column ``year`` and the ``index`` column (other
        columns, e.g. industry, are ignored; the index must be one value per
        year). Needed when rows have price years other than ``price_year``.
    index : str, default "index"
        Deflator column.
    currency : str or None, default None
        Currency of the report; None takes the table's only currency.
    price_year : int or None, default None
        Price year of the report; None takes the table's only price year (no
        deflation).
    columns : Mapping[str, str] or None, default None
        Canonical name -> column of ``data`` for any of the five columns.

    Raises
    ------
    DataFormatError
        Missing columns, text in numbers, negative amounts, several currencies
        or a currency other than ``currency``, several price years without
        ``price_year``, deflation without a deflator table or with years it
        lacks.
    """

    data: pd.DataFrame = field(repr=False)
    deflators: pd.DataFrame | None = field(default=None, repr=False)
    index: str = "index"
    currency: str | None = None
    price_year: int | None = None
    columns: Mapping[str, str] | None = None

    def _frame(self) -> pd.DataFrame:
        names = {c: (self.columns or {}).get(c, c) for c in _COLUMNS}
        require_columns(self.data, list(names.values()), "cost table")
        frame = pd.DataFrame({c: self.data[names[c]].to_numpy() for c in _COLUMNS})
        for name in ("year", "amount", "price_year"):
            values, bad = numeric_column(frame, name, name)
            if bad.any() or np.isnan(values).any():
                raise DataFormatError(
                    f"cost table column {names[name]!r} must be numeric and complete; got "
                    f"{int(bad.sum() + np.isnan(values).sum())} missing or text value(s). "
                    "Fill or drop those rows."
                )
            frame[name] = values
        if (frame["amount"] < 0).any():
            raise DataFormatError(
                f"cost table amounts must be non-negative; got {int((frame['amount'] < 0).sum())} "
                "negative row(s). Record refunds as lower spending of the year."
            )
        frame["park"] = frame["park"].astype(str)
        frame["currency"] = frame["currency"].astype(str)
        return frame

    def _currency(self, frame: pd.DataFrame) -> str:
        found = sorted(frame["currency"].unique())
        if self.currency is None and len(found) > 1:
            raise DataFormatError(
                f"cost table currency must be a single currency; got {found}. Convert the "
                "amounts to one currency first (currencies are never converted here)."
            )
        wanted = self.currency or found[0]
        wrong = frame["currency"] != wanted
        if wrong.any():
            raise DataFormatError(
                f"cost table currency must be {wanted!r} in every row; got "
                f"{examples(frame.loc[wrong, 'currency'])} in {int(wrong.sum())} row(s). Convert "
                f"those amounts to {wanted} first or set currency= to their currency."
            )
        return wanted

    def _target_year(self, frame: pd.DataFrame) -> int:
        years = sorted(int(y) for y in frame["price_year"].unique())
        if self.price_year is not None:
            return int(self.price_year)
        if len(years) > 1:
            raise DataFormatError(
                f"price_year must be set when the cost table has several price years; got "
                f"{len(years)} ({years[0]}-{years[-1]}). Pass price_year=... and a deflator "
                "table to restate the amounts."
            )
        return years[0]

    def _deflator(self, needed: Sequence[int]) -> pd.Series:
        if self.deflators is None:
            raise DataFormatError(
                f"deflators must be given to restate costs at one price year; got rows at "
                f"price years {needed[0]}-{needed[-1]} and no deflator table. Pass "
                "deflators=DataFrame(year, index)."
            )
        require_columns(self.deflators, ["year", self.index], "deflator table")
        table = self.deflators[["year", self.index]].drop_duplicates()
        if table["year"].duplicated().any():
            raise DataFormatError(
                f"deflator column {self.index!r} must have one value per year; got "
                f"{int(table['year'].duplicated().sum())} year(s) with several. Choose an index "
                "common to all rows (e.g. consumer prices)."
            )
        series = table.set_index("year")[self.index].astype("float64")
        lacking = [y for y in needed if y not in series.index or not series[y] > 0]
        if lacking:
            raise DataFormatError(
                f"deflator table must have a positive {self.index!r} for every price year; got "
                f"none for {len(lacking)} year(s) (e.g. {lacking[:5]}). Extend the deflator "
                "table or choose another price_year."
            )
        return series

    def real(self) -> tuple[pd.DataFrame, str, str, int]:
        """Amounts at the report's price year.

        Returns
        -------
        frame : pandas.DataFrame
            ``park``, ``year``, ``amount`` (restated).
        note : str
            How the amounts were restated.
        currency : str
        price_year : int
        """
        frame = self._frame()
        currency = self._currency(frame)
        target = self._target_year(frame)
        years = sorted({int(y) for y in frame["price_year"]} | {target})
        if years == [target]:
            note = f"amounts in {currency} at {target} prices as supplied (not deflated)"
            return frame[["park", "year", "amount"]], note, currency, target
        deflator = self._deflator(years)
        factor = deflator[target] / deflator.reindex(frame["price_year"]).to_numpy()
        frame = frame.assign(amount=frame["amount"].to_numpy() * factor)
        note = (
            f"amounts in {currency} restated from price years {years[0]}-{years[-1]} to {target} "
            f"prices with the deflator {self.index!r}"
        )
        return frame[["park", "year", "amount"]], note, currency, target


def _ratio_row(
    name: str, park: str, total: float, effect: ParkEffect | None, scale: int, what: str, note: str
) -> dict[str, object]:
    row: dict[str, object] = {
        "kpi": name,
        "version": KPIS[name].version,
        "park": park,
        "level": "park",
        "year": np.nan,
        "cohort": np.nan,
        "tenants": np.nan,
        "non_tenants": np.nan,
        "n_tenants": 0 if effect is None else effect.n_firms,
        "effect": np.nan,
        "std_error": np.nan,
        "conf_low": np.nan,
        "conf_high": np.nan,
        "method": f"public cost / ({what})",
        "status": "descriptive only",
    }
    if effect is None:
        return row | {"note": f"no causal estimate of {what.split(' x ')[0]} for this park"}
    added = effect.estimate * scale
    head = f"{note}; total cost {total:.6g}; {what} = {effect.estimate:.4g} x {scale}"
    if not effect.estimate > 0:
        return row | {"note": f"{head}: no additional output estimated (ATT <= 0)"}
    low, high = effect.conf_low, effect.conf_high
    bounded = low > 0
    return row | {
        "effect": total / added,
        "std_error": total * effect.std_error / (scale * effect.estimate**2),
        "conf_low": total / (high * scale) if bounded else np.nan,
        "conf_high": total / (low * scale) if bounded else np.nan,
        "status": "estimated",
        "note": head
        if bounded
        else f"{head}; the ATT's CI includes 0: the ratio's CI is unbounded",
    }


def _unavailable(name: str, park: str, note: str) -> dict[str, object]:
    return {
        "kpi": name, "version": KPIS[name].version, "park": park, "level": "park",
        "year": np.nan, "cohort": np.nan, "tenants": np.nan, "non_tenants": np.nan,
        "n_tenants": 0, "effect": np.nan, "std_error": np.nan, "conf_low": np.nan,
        "conf_high": np.nan, "method": "", "status": "not available", "note": note,
    }  # fmt: skip


def cost_rows(
    costs: CostTable | None, effects: Mapping[tuple[str, str], ParkEffect], parks: Sequence[str]
) -> tuple[list[dict[str, object]], Mapping[str, str]]:
    """Cost KPI rows for every park, and the currency/price-year texts of their unit."""
    names = ("cost_per_job", "cost_per_patent")
    if costs is None:
        note = (
            "missing cost table (park, year, amount, currency, price_year); pass "
            "costs=CostTable(...) to fit"
        )
        rows = [_unavailable(n, p, note) for n in names for p in parks]
        return rows, MappingProxyType({"currency_text": "currency", "price_year_text": "prices"})
    frame, note, currency, target = costs.real()
    rows = []
    for park in parks:
        mine = frame if park == ALL_PARKS else frame.loc[frame["park"] == park]
        if mine.empty:
            rows += [_unavailable(n, park, f"no cost rows for park {park!r}") for n in names]
            continue
        total = float(mine["amount"].sum())
        span = f"{note}; years {int(mine['year'].min())}-{int(mine['year'].max())}"
        jobs = effects.get(("employment", park))
        pats = effects.get(("patents", park))
        n_jobs = 0 if jobs is None else jobs.n_firms
        n_pats = 0 if pats is None else pats.n_firm_years
        rows.append(
            _ratio_row(
                "cost_per_job", park, total, jobs, n_jobs, "ATT_employment x N_tenants", span
            )
        )
        rows.append(
            _ratio_row(
                "cost_per_patent", park, total, pats, n_pats, "ATT_patents x N_tenant_years", span
            )
        )
    texts = {"currency_text": currency, "price_year_text": f"{currency} at {target} prices"}
    return rows, MappingProxyType(texts)
