r"""The KPI registry: every scorecard indicator defined once, with its version and formula.

A :class:`KPI` names the firm-year measure it averages (``numerator`` over
``denominator``), the canonical columns it needs (:data:`COLUMNS`), the rows
it is computed on (``population``) and how its counterfactual is estimated
(``causal``):

- ``"cs"``: the Callaway-Sant'Anna doubly robust ATT of park entry on the
  firm-year measure, never-treated firms as controls;
- ``"km"``: Kaplan-Meier survival of tenants against inverse-probability
  weighted not-yet-treated firms;
- ``"cost"``: a public cost divided by an effect estimated with ``"cs"``;
- ``None``: descriptive only (composition measures have no counterfactual).

Group values are ratios of sums over the group's rows,

.. math:: \bar m_G = \frac{\sum_{(i,t) \in G} a_{it}}{\sum_{(i,t) \in G} b_{it}},

with :math:`a` the numerator and :math:`b` the denominator (1 when absent,
giving the mean over firm-years); rows where either is missing are left
out. A KPI whose version changes changes meaning: compare values only
between equal versions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

import pandas as pd

__all__ = [
    "KPI",
    "KPIS",
    "COLUMNS",
    "Population",
    "kpi_definitions",
    "get_kpi",
]

Population = Literal["tenant_years", "entrants", "survival", "cost"]
CausalKind = Literal["cs", "km", "cost"]

COLUMNS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "value_added": "value added (real money)",
        "employment": "employees",
        "wage_bill": "wage bill (real money)",
        "tfp": "log total factor productivity",
        "rd": "R&D expenditure (real money)",
        "output": "output or sales (real money)",
        "phd": "employees with a PhD",
        "rd_staff": "R&D staff",
        "patents": "patent applications in the year",
        "citations": "forward citations of the year's applications",
        "founded": "founding year",
        "founder_female": "founder is a woman (0/1)",
        "founder_birth_year": "founder's birth year",
        "incubator": "incubator graduate (0/1)",
    }
)
"""Canonical column names the KPIs use and their meaning; map them with ``columns=``."""


@dataclass(frozen=True)
class KPI:
    """One scorecard indicator.

    Attributes
    ----------
    name : str
        Identifier (snake_case).
    version : str
        Version of the definition; bumped whenever the formula changes.
    family : str
        ``productivity``, ``jobs``, ``innovation``, ``entrepreneurship``,
        ``inclusion`` or ``cost``.
    formula : str
        Formula as text; ``{placeholders}`` are filled from the scorecard's
        settings (:meth:`formula_text`).
    unit : str
        Unit of the values and effects.
    requires : tuple of str
        Canonical columns (:data:`COLUMNS`) the KPI needs.
    source : str
        Where the data come from.
    population : {"tenant_years", "entrants", "survival", "cost"}
        Rows the KPI is computed on: tenant firm-years in a park, entrants in
        their entry year, survival spells after entry, or park cost totals.
    numerator, denominator : str or None
        Firm-year measure columns (see :mod:`parkimpact.scorecard._measures`);
        None for survival and cost KPIs (and for a mean, the denominator).
    causal : {"cs", "km", "cost"} or None
        How the counterfactual is estimated; None for descriptive-only KPIs.
    caveat : str
        What to keep in mind when reading the KPI.
    """

    name: str
    version: str
    family: str
    formula: str
    unit: str
    requires: tuple[str, ...]
    source: str
    population: Population
    numerator: str | None = None
    denominator: str | None = None
    causal: CausalKind | None = None
    caveat: str = ""

    def formula_text(self, settings: Mapping[str, object]) -> str:
        """The formula with the settings filled in."""
        return self.formula.format(**settings)

    def unit_text(self, settings: Mapping[str, object]) -> str:
        """The unit with the settings filled in."""
        return self.unit.format(**settings)


_FIN = "financial statements"
_REG = "firm register"
_PAT = "patent register"
_PARK = "tenancy register"


def _tenant(
    name: str,
    family: str,
    formula: str,
    unit: str,
    requires: Sequence[str],
    source: str,
    *,
    causal: CausalKind | None = "cs",
    numerator: str | None = None,
    denominator: str | None = None,
    caveat: str = "",
) -> KPI:
    return KPI(
        name,
        "1",
        family,
        formula,
        unit,
        tuple(requires),
        source,
        "tenant_years",
        numerator=numerator or name,
        denominator=denominator,
        causal=causal,
        caveat=caveat,
    )


def _share(
    name: str,
    family: str,
    formula: str,
    requires: Sequence[str],
    source: str,
    population: Population,
    caveat: str = "",
) -> KPI:
    measure = name.removesuffix("_entrants").removesuffix("_tenants").removesuffix("_share")
    return KPI(
        name,
        "1",
        family,
        formula,
        "share of firms",
        tuple(requires),
        source,
        population,
        numerator=measure,
        caveat=caveat,
    )


_LIST: tuple[KPI, ...] = (
    _tenant(
        "labour_productivity",
        "productivity",
        "mean of VA_it / L_it over firm-years",
        "real money units per employee",
        ("value_added", "employment"),
        _FIN,
    ),
    _tenant(
        "tfp_level",
        "productivity",
        "mean of tfp_it (log TFP) over firm-years",
        "log points",
        ("tfp",),
        "estimated production function",
        caveat="TFP levels are comparable only within one estimated production function",
    ),
    _tenant(
        "tfp_growth",
        "productivity",
        "mean of tfp_it - tfp_i,t-1 over firm-years observed in consecutive years",
        "log points per year",
        ("tfp",),
        "estimated production function",
    ),
    _tenant(
        "employment",
        "jobs",
        "mean of L_it over firm-years",
        "employees per firm",
        ("employment",),
        _FIN,
        caveat="the ATT is the number of additional jobs per tenant firm (net job creation "
        "caused by entry)",
    ),
    _tenant(
        "net_job_creation",
        "jobs",
        "mean of L_it - L_i,t-1 over firm-years observed in consecutive years",
        "jobs per firm and year",
        ("employment",),
        _FIN,
        causal=None,
        caveat="continuing firms only (births and closures excluded); the causal net job "
        "creation of entry is the employment ATT",
    ),
    _tenant(
        "high_wage_jobs",
        "jobs",
        "mean of L_it * 1[w_it >= {high_wage_multiple:g} * median_ct(w)], w = wage bill / L; "
        "median: employment-weighted over non-tenant firm-years of the same {wage_cell} "
        "cell and year",
        "jobs per firm",
        ("employment", "wage_bill"),
        _FIN,
        caveat="firm-level proxy: jobs in firms whose average wage is high, not employees "
        "whose own wage is high (no employee-level wages)",
    ),
    _tenant(
        "wage_premium",
        "jobs",
        "mean of ln(wage bill_it / L_it) over firm-years",
        "log points",
        ("wage_bill", "employment"),
        _FIN,
        caveat="values are mean log average wages; the premium is tenants minus non-tenants "
        "(raw) or the effect (causal)",
    ),
    _tenant(
        "rd_intensity",
        "innovation",
        "mean of R&D_it / output_it over firm-years",
        "share of output",
        ("rd", "output"),
        _FIN,
    ),
    _tenant(
        "phd_share",
        "innovation",
        "mean of PhD_it / L_it over firm-years",
        "share of employees",
        ("phd", "employment"),
        _FIN,
    ),
    _tenant(
        "rd_staff_share",
        "innovation",
        "mean of R&D staff_it / L_it over firm-years",
        "share of employees",
        ("rd_staff", "employment"),
        _FIN,
    ),
    _tenant(
        "patents",
        "innovation",
        "mean patent applications per firm-year",
        "patents per firm",
        ("patents",),
        _PAT,
    ),
    _tenant(
        "quality_weighted_patents",
        "innovation",
        "mean of sum_p c_p / cbar_ka over firm-years: citations normalised by the mean "
        "citations per patent of the same {technology_cell} (k) x application-year (a) cell; "
        "application years up to the last year minus {citation_window} only",
        "normalised citations per firm",
        ("patents", "citations"),
        _PAT,
        caveat="firm-year citation totals: every patent of a firm-year shares the firm's "
        "technology cell",
    ),
    _tenant(
        "patent_quality",
        "innovation",
        "sum of normalised citations / sum of patents (mean quality of the group's patents; "
        "1 = average of its technology x application-year cell)",
        "relative citations per patent",
        ("patents", "citations"),
        _PAT,
        causal=None,
        numerator="quality_weighted_patents",
        denominator="patents_complete",
        caveat="defined only where patents exist (no counterfactual: selection on patenting)",
    ),
    KPI(
        "startup_share",
        "1",
        "entrepreneurship",
        "share of entrants founded at most {startup_years} years before park entry "
        "(non-tenants: founded at most {startup_years} years before the year)",
        "share of firms",
        ("founded",),
        _REG,
        "entrants",
        numerator="startup",
    ),
    KPI(
        "incubator_share",
        "1",
        "entrepreneurship",
        "share of entrants flagged as incubator graduates",
        "share of firms",
        ("incubator",),
        _PARK,
        "entrants",
        numerator="incubator",
    ),
    KPI(
        "survival",
        "1",
        "entrepreneurship",
        "Kaplan-Meier S(H) at H = {survival_horizon} years after entry; comparison: firms "
        "not yet in a park in the entry year, followed from it, censored at their own entry "
        "and weighted by propensity odds",
        "probability",
        (),
        _REG,
        "survival",
        causal="km",
        caveat="closure = last observed year before the panel's last year unless a closure "
        "column is given; left-truncated spells enter at their first observed duration",
    ),
    _share(
        "sme_share_entrants",
        "inclusion",
        "share of entrants with fewer than {sme_employees} employees in the entry year",
        ("employment",),
        _FIN,
        "entrants",
    ),
    _share(
        "sme_share_tenants",
        "inclusion",
        "share of tenant firm-years with fewer than {sme_employees} employees",
        ("employment",),
        _FIN,
        "tenant_years",
    ),
    _share(
        "women_led_share_entrants",
        "inclusion",
        "share of entrants with a female founder",
        ("founder_female",),
        _REG,
        "entrants",
    ),
    _share(
        "women_led_share_tenants",
        "inclusion",
        "share of tenant firm-years with a female founder",
        ("founder_female",),
        _REG,
        "tenant_years",
    ),
    _share(
        "youth_led_share_entrants",
        "inclusion",
        "share of entrants whose founder is under {youth_age} in the entry year",
        ("founder_birth_year",),
        _REG,
        "entrants",
    ),
    _share(
        "youth_led_share_tenants",
        "inclusion",
        "share of tenant firm-years whose founder is under {youth_age} in the year",
        ("founder_birth_year",),
        _REG,
        "tenant_years",
    ),
    KPI(
        "cost_per_job",
        "1",
        "cost",
        "C / (ATT_employment x N_tenants): public cost over the cost table's years, in "
        "{price_year_text}, per additional job held by the park's tenants",
        "{currency_text} per additional job",
        ("employment",),
        "cost table, CS-DR ATT",
        "cost",
        causal="cost",
        caveat="jobs are a stock: the ATT is the average additional employment per tenant "
        "over its post-entry years; CI inverts the ATT's CI",
    ),
    KPI(
        "cost_per_patent",
        "1",
        "cost",
        "C / (ATT_patents x N_tenant_years): public cost per additional patent application "
        "over the tenants' post-entry years, in {price_year_text}",
        "{currency_text} per additional patent",
        ("patents",),
        "cost table, CS-DR ATT",
        "cost",
        causal="cost",
        caveat="patents are a flow: additional applications summed over tenant firm-years",
    ),
)

KPIS: Final[Mapping[str, KPI]] = MappingProxyType({k.name: k for k in _LIST})
"""Every KPI by name, in reporting order."""


def get_kpi(name: str) -> KPI:
    """The KPI called ``name``; ValueError listing the known names otherwise."""
    if name not in KPIS:
        raise ValueError(
            f"kpi must be one of {list(KPIS)}; got {name!r}. See parkimpact.scorecard.KPIS."
        )
    return KPIS[name]


def kpi_definitions(
    settings: Mapping[str, object], names: Sequence[str] | None = None
) -> pd.DataFrame:
    """The definitions table: ``kpi``, ``version``, ``formula``, ``unit``, ``source``.

    Parameters
    ----------
    settings : Mapping
        Values of the formula placeholders (see :meth:`Scorecard.formula_settings`).
    names : sequence of str or None
        KPIs to list (all by default), in registry order.
    """
    chosen = [k for k in KPIS.values() if names is None or k.name in names]
    return pd.DataFrame(
        {
            "kpi": [k.name for k in chosen],
            "version": [k.version for k in chosen],
            "formula": [k.formula_text(settings) for k in chosen],
            "unit": [k.unit_text(settings) for k in chosen],
            "source": [k.source for k in chosen],
        }
    )
