r"""A Taiwan-like economy of science-park tenants and outsiders with known treatment effects.

The design follows the questions of two studies of Taiwan's science parks:
Fukugawa, N. and Chang, C.-C. (2025), RIETI Discussion Paper 25-E-005 (staggered
entry into the Hsinchu, Central and Southern parks; AIPW and staggered
difference-in-differences on R&D, PhD employment, TFP and patent quality;
heterogeneity by firm size and industry), and Yang, C.-H., Motohashi, K. and
Chen, J.-R. (2009), "Are new technology-based firms located on science parks
really more innovative? Evidence from Taiwan", *Research Policy* 38(1), 77-85
(a higher output elasticity of R&D capital inside Hsinchu). All parameter
values are illustrative choices, not estimates taken from those papers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.datasets import _parks_config as cfg
from parkimpact.datasets._parks_config import validate_settings
from parkimpact.datasets._parks_economy import Economy, potential_outcomes, simulate_economy
from parkimpact.datasets._parks_panel import clean_panel, raw_financials
from parkimpact.datasets._parks_patents import patent_table
from parkimpact.datasets._parks_sources import (
    MAPPING,
    apply_mess,
    deflator_table,
    mapping_toml,
    write_csv,
)
from parkimpact.datasets._parks_survival import park_costs, survival_truth
from parkimpact.datasets._parks_tenancy import tenancy_table
from parkimpact.datasets._parks_truth import (
    ParkTruth,
    aggregate,
    att_gt,
    elasticities,
    firm_effects,
)

__all__ = ["ParkSimulation", "ParkTruth", "simulate_parks", "MAPPING"]


@dataclass(frozen=True, eq=False)
class ParkSimulation:
    """A simulated park economy: raw sources, the clean panel and the truth.

    Attributes
    ----------
    financials, tenancy, patents, deflators : pandas.DataFrame
        Raw sources with source column names (see :attr:`mapping`); money in
        nominal NT$ million. Mess switches change only ``financials``.
    mapping : dict[str, dict[str, object]]
        Canonical name -> source name by section (``files``, ``financials``,
        ``tenancy``, ``patents``, ``deflators``, ``deflate``, ``options``), the
        content of ``mapping.toml``.
    panel : pandas.DataFrame
        The clean firm-year panel that ``parkimpact.data.build_panel`` builds
        from clean sources: real money (2016 NT$ million), ``rd_capital``,
        zero-filled patent outcomes and logs; sorted by ``firm_id``, ``year``.
    truth : ParkTruth
        Elasticities, individual effects, ATT(g, t), aggregations, cohort
        sizes and conditioning covariates.
    settings : Mapping[str, Any]
        The validated arguments (read-only).
    seed : int
        The seed that reproduces the simulation (fresh entropy if ``seed=None``).
    costs : pandas.DataFrame
        Public cost of the parks: ``park``, ``year``, ``amount`` (nominal NT$
        million), ``currency`` (``"TWD"``), ``price_year`` (the year: current
        prices); one row per open park and sample year.
    """

    financials: pd.DataFrame = field(repr=False)
    tenancy: pd.DataFrame = field(repr=False)
    patents: pd.DataFrame = field(repr=False)
    deflators: pd.DataFrame = field(repr=False)
    mapping: dict[str, dict[str, object]] = field(repr=False)
    panel: pd.DataFrame = field(repr=False)
    truth: ParkTruth = field(repr=False)
    settings: Mapping[str, Any]
    seed: int
    costs: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def write_sources(self, directory: str | Path) -> dict[str, Path]:
        """Write the sources, ``mapping.toml`` and the truth tables under ``directory``.

        Files: ``financials.csv``, ``tenancy.csv``, ``patents.csv``,
        ``deflators.csv``, ``mapping.toml``, ``costs.csv`` and
        ``truth/att_gt.csv``, ``truth/aggregates.csv``,
        ``truth/elasticities.csv``, ``truth/firm_effects.csv``,
        ``truth/cohorts.csv``, ``truth/covariates.csv``,
        ``truth/survival.csv``. Floats are written with ``%.17g`` (exact on
        reading back), LF line endings, no index; the bytes depend only on the
        simulation.

        Returns
        -------
        dict[str, pathlib.Path]
            File paths keyed by ``financials``, ``tenancy``, ``patents``,
            ``deflators``, ``mapping``, ``costs``, ``att_gt``, ``aggregates``,
            ``elasticities``, ``firm_effects``, ``cohorts``, ``covariates``,
            ``survival``.
        """
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        files = MAPPING["files"]
        paths = {name: write_csv(getattr(self, name), root / str(files[name])) for name in files}
        toml = root / "mapping.toml"
        toml.write_bytes(mapping_toml(self.mapping).encode("utf-8"))
        paths["mapping"] = toml
        paths["costs"] = write_csv(self.costs, root / "costs.csv")
        truth = self.truth
        elastic = pd.DataFrame(
            {"parameter": list(truth.elasticities), "value": list(truth.elasticities.values())}
        )
        tables = {
            "att_gt": truth.att_gt, "aggregates": truth.aggregates, "elasticities": elastic,
            "firm_effects": truth.firm_effects, "cohorts": truth.cohorts,
            "covariates": truth.covariates, "survival": truth.survival,
        }
        for name, table in tables.items():
            paths[name] = write_csv(table, root / "truth" / f"{name}.csv")
        return paths


def _covariates(econ: Economy) -> pd.DataFrame:
    cov, firms = econ.covariates, econ.firms
    return pd.DataFrame(
        {
            "firm_id": firms.firm_id,
            "industry": np.asarray(cfg.INDUSTRIES)[firms.industry],
            "size_class": np.asarray(cfg.SIZE_CLASSES)[cov.size_class],
            "rd_type": np.where(cov.rd_high, "high", "low"),
            "age_group": np.where(cov.young, "young", "old"),
        }
    ).astype({"industry": "str", "size_class": "str", "rd_type": "str", "age_group": "str"})


def _truth(econ: Economy, panel: pd.DataFrame) -> ParkTruth:
    potential = potential_outcomes(econ)
    keys = panel[["firm_id", "year", "entry_year"]]
    s = econ.settings
    att, cohorts = att_gt(keys, potential, s.first_year, s.last_year)
    effects = firm_effects(keys, potential)
    aggregates = aggregate(att, cohorts)
    return ParkTruth(
        elasticities=MappingProxyType(elasticities(s.effect_scale, s.closure_hazard_ratio)),
        firm_effects=effects,
        att_gt=att,
        aggregates=aggregates,
        cohorts=cohorts,
        covariates=_covariates(econ),
        description=_description(econ, panel, aggregates),
        survival=survival_truth(econ),
    )


def _description(econ: Economy, panel: pd.DataFrame, aggregates: pd.DataFrame) -> str:
    s = econ.settings
    ever = panel.groupby("firm_id", sort=False)["entry_year"].first().notna()
    simple = aggregates.loc[aggregates["kind"] == "simple"].set_index("outcome")["att"]
    lines = [
        f"Simulated Taiwan-like park economy, {s.first_year}-{s.last_year}, seed {s.seed}.",
        f"{panel['firm_id'].nunique()} firms, {len(panel)} firm-years, "
        f"{ever.mean():.1%} ever in a park (Hsinchu opened 1980, Southern 1997, Central 2003).",
        "Gross output q = 1.0 + 0.25 l + 0.10 k + 0.60 m + omega + eps; omega AR(1) with "
        "rho = 0.8 and a park shift of its law of motion (effect_scale "
        f"{s.effect_scale:g}); R&D capital elasticity 0.04 (+0.02 in a park).",
        "Entry and death depend only on industry, size class, R&D type and age group "
        "(first observed year) and calendar time: parallel trends hold conditionally on "
        "those covariates, not unconditionally.",
        "True simple ATT (Callaway-Sant'Anna weights): "
        + ", ".join(f"{k} {v:.4g}" for k, v in simple.items()) + ".",
    ]
    return "\n".join(lines)


def simulate_parks(
    n_firms: int = 3000,
    first_year: int = 1995,
    last_year: int = 2020,
    *,
    seed: int | None = 0,
    missing: float = 0.0,
    format_errors: float = 0.0,
    duplicates: float = 0.0,
    reporting_noise: float = 0.0,
    effect_scale: float = 1.0,
    entry_rate: float = 1.0,
    burn_in: int = 15,
    hazard_ratio: float = 1.0,
) -> ParkSimulation:
    r"""Simulate a Taiwan-like economy of science-park tenants with known treatment effects.

    Firms in six high-tech industries are followed from their founding (or
    ``first_year``) until they die or ``last_year``. About a quarter enter one
    of three science parks at staggered dates, selected on observable,
    time-invariant covariates; a few were tenants before the sample, a few leave
    their park, a few move to another park. The parks raise productivity, R&D,
    PhD employment, patenting and patent quality with effects that build up
    after entry and are larger for small firms. Every outcome is simulated twice
    with the same random draws, without parks and with the observed tenancy, so
    the individual effects are exact.

    Parameters
    ----------
    n_firms : int, default 3000
        Number of firms (at least 50): alive in ``first_year`` or founded later.
    first_year, last_year : int, default 1995, 2020
        Sample window (``1950 <= first_year``, ``last_year <= 2100``, at least
        five years).
    seed : int or None, default 0
        Seed of :class:`numpy.random.SeedSequence`; ``None`` draws fresh
        entropy, stored in the result's ``seed``. Each component (firms, prices,
        shocks, deaths, entries, spells, register dates, counts, patents and
        each mess switch) has its own spawned stream, so the mess switches
        never change the economy and ``effect_scale`` never changes the
        untreated world.
    missing : float, default 0.0
        Share in [0, 1) of money and count cells of ``financials`` left blank.
    format_errors : float, default 0.0
        Share in [0, 1) of the remaining money and count cells written as text
        that is not a number (``"n/a"``, ``"12,345.6"``, ``"1234.57x"``,
        ``"1234,5"``); such columns become object dtype.
    duplicates : float, default 0.0
        Share in [0, 1) of ``financials`` rows repeated (an exact copy follows
        the row).
    reporting_noise : float, default 0.0
        SD in [0, 1) of multiplicative log-normal noise :math:`e^{\sigma z}` on
        every reported money amount.
    effect_scale : float, default 1.0
        Multiplier :math:`s \in [-5, 5]` of every park effect (0 gives a
        placebo world where all true effects are exactly 0).
    entry_rate : float, default 1.0
        Multiplier in [0, 20] of the entry hazard (1 gives about 25-28% of
        firms ever in a park).
    burn_in : int, default 15
        Years in [0, 60] simulated before ``first_year`` for firms that exist
        then (pre-sample entries into Hsinchu happen in these years).
    hazard_ratio : float, default 1.0
        Park effect :math:`r \in (0, 10]` on the closure hazard: from the
        year after first entry a tenant's hazard is multiplied by
        :math:`r^{s}` (``effect_scale`` :math:`s`), also after it leaves. The
        default 1 leaves closure unaffected (and the simulation unchanged).

    Returns
    -------
    ParkSimulation
        Raw sources, ``mapping``, the clean ``panel``, ``truth``, ``settings``,
        ``seed`` and the parks' public ``costs``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range.

    Notes
    -----
    **Industries** (IC integrated circuits, PC computers and peripherals, OPTO
    optoelectronics, TEL telecommunications, PREC precision machinery, BIO
    biotechnology): shares 0.20, 0.22, 0.16, 0.14, 0.18, 0.10; log-employment
    shifts 0.6, 0.3, 0.3, 0, -0.2, -0.6; log TFP in 2007 0.10, 0, 0.05, 0.05,
    -0.05, 0 with yearly growth 0.035, 0, 0.030, 0.010, -0.010, 0.015; median
    R&D intensity 6%, 2.5%, 4.5%, 5%, 1.5%, 9% growing 1%, 0, 1%, 0.5%, 0, 1% a
    year; capital per worker 4, 1, 3, 1.5, 1.2, 2; wage per worker (2007) 0.9,
    0.7, 0.75, 0.8, 0.6, 0.8; PhD share 2%, 0.5%, 1.5%, 1.2%, 0.4%, 5%; patent
    rate 1.5, 0.5, 1.0, 0.8, 0.3, 0.4; citations per patent 4, 2.5, 3.5, 3, 1.5,
    5; park-effect multiplier 1.2, 0.8, 1.2, 1.0, 0.8, 1.0; death-hazard
    multiplier 1.0, 1.3, 1.0, 1.0, 1.1, 1.2. Money is in NT$ million, real
    values at 2016 prices.

    **Firms.** 72% exist before ``first_year`` with age ``1 + floor(E)``,
    :math:`E \sim` Exponential(mean 10), at most 50; the others are founded
    uniformly in ``[first_year, last_year - 3]``. Founder: female with
    probability 0.12, birth year = founding year - round(N(38, 7)) clipped to
    [22, 65]. Time-invariant covariates, measured in the first observed year:
    size class small/medium/large (employment < 50, 50-199, >= 200), R&D type
    high when real R&D / real output >= 0.04, age group young when age < 5.

    **Production** (gross output, logs):
    :math:`q_{it} = 1.0 + 0.25 l_{it} + 0.10 k_{it} + 0.60 m_{it} + \omega_{it}
    + \varepsilon_{it}`, :math:`\varepsilon \sim N(0, 0.1^2)` clipped at
    :math:`\pm 0.3`. Productivity
    :math:`\omega_{it} = \nu_{it} + 0.04\, r_{it} + 0.02\, s\, D_{it}(r_{it} -
    r_{i,g_i-1})` with :math:`r = \ln(1 + K^R)`: an R&D-capital elasticity of
    0.04 outside parks and 0.04 + 0.02 s inside for the knowledge accumulated
    since the year before first entry :math:`g_i - 1` (no jump at entry), and
    :math:`\nu_{it} = \rho\nu_{i,t-1} + (\bar\nu_{jt} - \rho\bar\nu_{j,t-1})
    + 0.007 M_{it} + \xi_{it}`, :math:`\rho = 0.8`,
    :math:`\xi \sim N(0, 0.1^2)`, :math:`\bar\nu_{jt}` the industry path above;
    firms start from its stationary distribution. :math:`D_{it}` is 1 in park
    years and :math:`M_{it} = s\, a_{c(i)}\, b_{j(i)}\, p_{it} D_{it}` the
    park-effect multiplier: :math:`a` = 1.5, 1.0, 0.6 for small, medium, large
    firms, :math:`b` the industry multiplier, :math:`p` = 1.0 (Hsinchu), 0.8
    (Southern, Central). The park shift accumulates through the AR(1): the TFP
    effect grows towards :math:`0.007 M / 0.2` after entry.
    Labour: target :math:`\lambda_i + 0.01\tau + (\omega - \bar\nu)`,
    :math:`\lambda_i \sim N(3.6 + \text{shift}_j, 1)`, partial adjustment 0.4 a
    year plus an optimisation error N(0, 0.08^2), employment rounded (at least
    1); new firms start one log point below target. Capital is predetermined
    (:math:`K_{t+1} = 0.92 K_t + I_t`), investment rises with productivity
    and the capital gap; materials are chosen flexibly from the first-order
    condition (monotone in :math:`\omega`, a valid proxy); value added is
    output less materials. R&D: :math:`R_{it} = s_{it} S_{i,t-1}` (last year's
    sales) with log intensity = industry median + :math:`\phi_i`
    (N(0, 0.6^2)) + trends + AR(1) noise (0.6, SD 0.2) + park build-up
    :math:`e^R_t = 0.7 e^R_{t-1} + 0.08 M_t`; zero when
    :math:`\phi_i + z_{it} + e^R_{it} < -1` (about 5% of firm-years). Knowledge
    stock :math:`K^R_{t_0} = R_{t_0}/(0.05 + 0.15)`,
    :math:`K^R_t = 0.85^h K^R_{prev} + R_t` after :math:`h` years. PhDs:
    Poisson, mean employment x industry share x
    :math:`\exp(\psi_i + 0.6\phi_i + e^P_t)`, :math:`e^P_t = 0.7 e^P_{t-1} + 0.10
    M_t`. Wage bill: employment x wage + 1.0 per PhD. Patents: negative
    binomial (gamma(1) mixing) with mean
    :math:`\min(60, a_j e^{0.5(r - 4) + e^N})`, :math:`e^N_t = 0.7 e^N_{t-1} +
    0.06 M_t`; each patent has a filing date uniform in its year, forward
    citations negative binomial (gamma(0.8) mixing) with mean
    :math:`c_j (1 - e^{-(T + 1 - t)/4}) e^{0.25 M_t}` and 1 + Poisson(10 x
    gamma(2)) claims.

    **Parks and selection.** Hsinchu opens in 1980, Southern in 1997, Central
    in 2003. From the year after a firm's first simulated year, a firm alive
    and outside any park enters with hazard
    :math:`1 - \exp(-0.0023\, r\, c_t\, e_c\, q\, y \sum_{p\ open} A_{jp})`:
    :math:`e` = 0.8, 1.2, 1.6 by size class, :math:`q` = 2.5 for high R&D type,
    :math:`y` = 2.0 for young firms, :math:`c_t` = 0.3 before ``first_year``, 0
    in ``first_year``, 1 after; attraction :math:`A` (Hsinchu, Southern,
    Central): IC 3, 1.5, 1; PC 2.5, 0.5, 1; OPTO 1.5, 2, 2; TEL 2.5, 1, 0.5;
    PREC 0.5, 1, 2.5; BIO 1, 2, 1 (the park is drawn in proportion among open
    parks). Tenants leave with probability 0.08 and move to another open park
    with probability 0.05, after 2-8 years; a quarter of leavers return to
    their park 2-5 years later. Firms die with hazard
    :math:`1 - \exp(-0.010\, g_c\, d_j\, a\, c_t)`, :math:`g` = 1.6, 1.0, 0.5 by
    size class, :math:`a` = 1.3 if young, :math:`c_t` = 2.0, 1.5, 1.8 in 2001,
    2008, 2009; with ``hazard_ratio`` :math:`r \ne 1` a tenant's hazard is
    multiplied by :math:`r^s` from the year after first entry (same uniform
    draws in both worlds, so only tenants' closure years change). Entry and
    death depend only on the covariates, calendar time and (for death) park
    entry, so parallel trends and the independence of closure from outcomes
    hold conditionally on (industry, size class, R&D type, age group), while
    untreated trends differ across those covariates (industry TFP and price
    trends, R&D-intensity trends rising with :math:`\phi`, growth of young
    firms): unconditional parallel trends fail.

    **Prices** (index 100 in 2016): output prices -3%, -4%, -3%, -1.5%,
    +0.5%, +1% a year, input prices +0.5%, 0, +0.5%, +1%, +1.5%, +1.5%, capital
    goods +0.3%, consumer prices +1.2%, each plus a random walk with steps
    N(0, 0.01^2). Deflation: output and value added by the output price,
    materials by the input price, capital and investment by the capital price,
    R&D and wages by consumer prices.

    **Panel** (as ``parkimpact.data.build_panel`` builds it from the clean
    sources): ``park`` and ``entry_year`` from the first spell, ``exit_year``
    the end of the first continuous tenancy (a move continues it; NaN while
    open); firms that die in a park keep an open spell. A tenant is in a park
    from its entry year to its exit year, both included.

    **Truth.** Outcomes ``tfp`` (:math:`\omega`), ``log_output``,
    ``log_value_added``, ``employment``, ``log_rd`` (:math:`\ln(1 + R)`, real),
    ``phd``, ``patents``, ``citations``, ``patents_cw``, ``claims``, ``wage``
    (wage bill / employment); the effect of a treated firm-year is the
    observed-world value minus the untreated-world value (after an exit the
    effect decays but is still reported; with :math:`r < 1` a tenant's years
    after its untreated-world closure compare with the untreated world's
    values had it survived). ATT(g, t) covers cohorts entering after
    ``first_year``. ``truth.survival`` gives each in-window tenant's survival
    1-10 years after entry in both worlds and ``elasticities`` the closure
    hazard ratio :math:`r^s`.

    **Costs.** Each open park costs 600 (Hsinchu) or 300 (Southern, Central)
    plus 3 per tenant firm a year (2016 NT$ million), reported at current
    prices (``costs``).

    Examples
    --------
    >>> from parkimpact.datasets.parks import simulate_parks
    >>> sim = simulate_parks(n_firms=500, seed=1)
    >>> sorted(sim.truth.aggregates["kind"].unique())
    ['calendar', 'dynamic', 'group', 'simple']
    """
    settings = validate_settings(
        n_firms=n_firms, first_year=first_year, last_year=last_year, seed=seed,
        missing=missing, format_errors=format_errors, duplicates=duplicates,
        reporting_noise=reporting_noise, effect_scale=effect_scale, entry_rate=entry_rate,
        burn_in=burn_in, hazard_ratio=hazard_ratio,
    )
    econ = simulate_economy(settings)
    gen = econ.generators
    financials = raw_financials(econ)
    panel = clean_panel(econ, financials, {k: v[1] for k, v in econ.patents.outcomes.items()})
    fi = econ.firm_index
    patents = patent_table(econ.patents, econ.firms.firm_id[fi], econ.cell_year)
    messy = apply_mess(
        financials,
        [gen["mess_noise"], gen["mess_missing"], gen["mess_format"], gen["mess_duplicates"]],
        missing=settings.missing, format_errors=settings.format_errors,
        duplicates=settings.duplicates, reporting_noise=settings.reporting_noise,
    )
    return ParkSimulation(
        financials=messy,
        tenancy=tenancy_table(gen["register"], econ.firms, econ.spells),
        patents=patents,
        deflators=deflator_table(econ.prices, econ.years, settings.first_year),
        mapping={section: dict(entries) for section, entries in MAPPING.items()},
        panel=panel,
        truth=_truth(econ, panel),
        settings=MappingProxyType(settings.as_dict()),
        seed=settings.seed,
        costs=park_costs(econ),
    )
