"""The data contract: canonical names of the raw sources and of the firm-year panel.

Raw sources are mapped to *canonical* names by a column mapping (``canonical =
"source name"``, see :mod:`parkimpact.data.mapping`). :func:`parkimpact.data.build_panel`
turns the canonical sources into a firm-year panel whose columns are listed in
:data:`PANEL_COLUMNS`.

Raw sources (canonical names)
-----------------------------
financials (one row per firm-year)
    ``firm_id`` (integer id), ``year`` (integer), ``industry`` (text code),
    ``founded`` (founding year), nominal money amounts ``output`` (gross output,
    sales), ``value_added``, ``capital`` (fixed assets), ``materials``,
    ``investment``, ``rd`` (R&D spending), ``wage_bill``; counts ``employment``
    and ``phd`` (PhD employees); firm traits ``founder_female`` (0/1) and
    ``founder_birth_year``. Only ``firm_id`` and ``year`` are required; any other
    numeric column is carried through (deflated if the mapping says so).
tenancy (one row per firm-park spell)
    ``firm_id``, ``park`` (text), ``entry_date``, ``exit_date`` (empty while
    the spell is open). Dates are ISO strings (``YYYY-MM-DD``) or years.
patents (one row per patent)
    ``patent_id``, ``firm_id``, ``application_date``, ``forward_citations``,
    optional ``claims``.
deflators (one row per year, optionally per year x industry)
    ``year``, optional ``industry`` and one column per price index (base 100 in
    the base year by default). The mapping section ``[deflate]`` says which index
    deflates which money variable.

Panel (columns of :attr:`parkimpact.FirmPanel.data` built by ``build_panel``)
----------------------------------------------------------------------------
``firm_id``, ``year``, ``industry``, ``park`` (park of first entry, missing for
never-tenants), ``entry_year`` (year of first entry, NaN for never-tenants),
``exit_year`` (year the first continuous tenancy ended, NaN if it did not),
the financial columns in real terms, ``age = year - founded``, ``rd_capital``
(perpetual inventory), ``patents`` (applications in the year), ``citations``
(forward citations of those applications), ``patents_cw`` (citation-weighted
count, sum of ``1 + forward_citations``), ``claims`` (sum of claims, if given),
and ``log_<x>`` for every variable in the log list.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "FINANCIAL_MONEY",
    "FINANCIAL_COUNTS",
    "FINANCIAL_TRAITS",
    "FINANCIAL_COLUMNS",
    "TENANCY_COLUMNS",
    "PATENT_COLUMNS",
    "PATENT_OUTCOMES",
    "DEFAULT_LOGS",
    "UNIT",
    "TIME",
]

UNIT: Final = "firm_id"
TIME: Final = "year"

#: Money amounts in the financials; deflated to real terms when the mapping names an index.
FINANCIAL_MONEY: Final[tuple[str, ...]] = (
    "output",
    "value_added",
    "capital",
    "materials",
    "investment",
    "rd",
    "wage_bill",
)
#: Head counts in the financials.
FINANCIAL_COUNTS: Final[tuple[str, ...]] = ("employment", "phd")
#: Time-invariant firm traits carried in the financials.
FINANCIAL_TRAITS: Final[tuple[str, ...]] = ("founded", "founder_female", "founder_birth_year")
FINANCIAL_COLUMNS: Final[tuple[str, ...]] = (
    UNIT,
    TIME,
    "industry",
    *FINANCIAL_TRAITS,
    *FINANCIAL_MONEY,
    *FINANCIAL_COUNTS,
)
TENANCY_COLUMNS: Final[tuple[str, ...]] = (UNIT, "park", "entry_date", "exit_date")
PATENT_COLUMNS: Final[tuple[str, ...]] = (
    "patent_id",
    UNIT,
    "application_date",
    "forward_citations",
    "claims",
)
#: Firm-year patent outcomes produced from the patent records (zero-filled).
PATENT_OUTCOMES: Final[tuple[str, ...]] = ("patents", "citations", "patents_cw", "claims")
#: Variables whose logs ``build_panel`` adds by default, as ``log_<name>``.
DEFAULT_LOGS: Final[tuple[str, ...]] = (
    "output",
    "value_added",
    "employment",
    "capital",
    "materials",
)
