"""Firm demography of the park economy: founding, traits, classes, death and park entry.

Entry into a park and firm death are drawn from hazards that depend only on the
firm's time-invariant pre-entry covariates (industry, size class, R&D-intensity
type, age group) and on calendar time. Given those covariates they are
independent of every outcome shock and of the founding year, which is what
makes parallel trends hold conditionally (see :func:`draw_entries`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parkimpact.datasets import _parks_config as cfg
from parkimpact.datasets._parks_config import ParkSettings

__all__ = [
    "Firms",
    "Covariates",
    "draw_firms",
    "classify",
    "closure_hazard",
    "last_observed",
    "draw_deaths",
    "draw_entries",
]


@dataclass(frozen=True)
class Firms:
    """Time-invariant firm primitives, one entry per firm (ordered by ``firm_id``)."""

    firm_id: np.ndarray
    industry: np.ndarray  # index into INDUSTRIES
    founded: np.ndarray
    start: np.ndarray  # first simulated year (founding or burn-in start)
    first_obs: np.ndarray  # first observed year max(founded, first_year)
    labour_scale: np.ndarray
    rd_propensity: np.ndarray
    phd_effect: np.ndarray
    wage_effect: np.ndarray
    founder_female: np.ndarray
    founder_birth_year: np.ndarray

    @property
    def n(self) -> int:
        """Number of firms."""
        return int(self.firm_id.size)


@dataclass(frozen=True)
class Covariates:
    """Time-invariant pre-entry covariates measured in the firm's first observed year."""

    size_class: np.ndarray  # 0 small, 1 medium, 2 large
    rd_high: np.ndarray  # bool: R&D intensity >= RD_TYPE_CUTOFF
    young: np.ndarray  # bool: age < YOUNG_AGE

    def effect_multiplier(self, industry: np.ndarray) -> np.ndarray:
        """Firm part of the park-effect multiplier: size class x industry."""
        return cfg.SIZE_EFFECT[self.size_class] * cfg.IND_EFFECT[industry]


def draw_firms(rng: np.random.Generator, settings: ParkSettings) -> Firms:
    r"""Draw industries, founding years, latent scales and founder traits.

    A share ``PRESAMPLE_SHARE`` (0.72) of firms exists before ``first_year``,
    aged ``1 + floor(E)`` years in ``first_year`` with ``E`` exponential with
    mean 10 (at most 50 years); the others are founded uniformly in
    ``[first_year, last_year - 3]``. Ids increase from 10,000,001 with random gaps.
    """
    n, first, last = settings.n_firms, settings.first_year, settings.last_year
    industry = rng.choice(len(cfg.INDUSTRIES), size=n, p=cfg.IND_SHARE)
    presample = rng.random(n) < cfg.PRESAMPLE_SHARE
    age_before = np.minimum(np.floor(rng.exponential(cfg.PRESAMPLE_AGE_MEAN, n)), cfg.MAX_AGE - 1)
    in_sample = rng.integers(first, last - 2, size=n)
    founded = np.where(presample, first - 1 - age_before, in_sample).astype("int64")
    normals = rng.standard_normal((4, n))
    mean_age, sd_age, low_age, high_age = cfg.FOUNDER_AGE
    founder_age = np.clip(np.round(mean_age + sd_age * rng.standard_normal(n)), low_age, high_age)
    gaps = rng.integers(1, 3000, size=n)
    return Firms(
        firm_id=(10_000_000 + np.cumsum(gaps)).astype("int64"),
        industry=industry.astype("int64"),
        founded=founded,
        start=np.maximum(founded, settings.start_year),
        first_obs=np.maximum(founded, first),
        labour_scale=cfg.LABOUR_BASE + cfg.IND_LABOUR[industry] + cfg.LABOUR_SD * normals[0],
        rd_propensity=cfg.RD_PROPENSITY_SD * normals[1],
        phd_effect=cfg.PHD_FIRM_SD * normals[2],
        wage_effect=cfg.WAGE_FIRM_SD * normals[3],
        founder_female=(rng.random(n) < cfg.FOUNDER_FEMALE).astype("int64"),
        founder_birth_year=(founded - founder_age).astype("int64"),
    )


def classify(
    firms: Firms, employment: np.ndarray, rd: np.ndarray, output: np.ndarray, start_year: int
) -> Covariates:
    """Size class, R&D type and age group from the untreated world in the first observed year.

    ``employment``, ``rd`` and ``output`` are (simulated years x firms) matrices of
    the untreated world; before a firm's entry they equal the observed values.
    """
    row = firms.first_obs - start_year
    cols = np.arange(firms.n)
    emp = employment[row, cols]
    intensity = rd[row, cols] / output[row, cols]
    return Covariates(
        size_class=np.searchsorted(np.asarray(cfg.SIZE_CUTOFFS), emp, side="right"),
        rd_high=intensity >= cfg.RD_TYPE_CUTOFF,
        young=(firms.first_obs - firms.founded) < cfg.YOUNG_AGE,
    )


def closure_hazard(
    firms: Firms,
    cov: Covariates,
    years: np.ndarray,
    *,
    entry: np.ndarray | None = None,
    hazard_ratio: float = 1.0,
) -> np.ndarray:
    r"""Probability of closing in each of ``years`` (rows) for each firm (columns).

    :math:`1 - \exp(-h_{it})` with :math:`h_{it} = 0.010\, s_{c(i)}\, d_{j(i)}\, a_i\,
    c_t\, \theta^{1[t > g_i]}`: :math:`s` = (1.6, 1.0, 0.5) by size class,
    :math:`d` by industry (``IND_DEATH``), :math:`a_i = 1.3` for young firms,
    :math:`c_t` = 2.0, 1.5, 1.8 in 2001, 2008, 2009 (1 otherwise) and
    :math:`\theta` the hazard ratio of firms that entered a park in
    :math:`g_i` (``entry``, ``-1`` for never), from the year after entry on
    (closing in year :math:`t` depends on tenancy in :math:`t - 1`; the
    effect is absorbing: it stays after a firm leaves its park).
    """
    firm_rate = (
        cfg.DEATH_BASE
        * cfg.SIZE_DEATH[cov.size_class]
        * cfg.IND_DEATH[firms.industry]
        * np.where(cov.young, cfg.YOUNG_DEATH, 1.0)
    )
    calendar = np.array([cfg.DEATH_YEARS.get(int(t), 1.0) for t in years])
    rate = calendar[:, None] * firm_rate[None, :]
    if entry is not None and hazard_ratio != 1.0:
        after = (entry[None, :] >= 0) & (years[:, None] > entry[None, :])
        rate = rate * np.where(after, hazard_ratio, 1.0)
    return 1.0 - np.exp(-rate)


def last_observed(
    uniforms: np.ndarray, hazard: np.ndarray, firms: Firms, settings: ParkSettings
) -> np.ndarray:
    """Last observed year: a firm closing in ``t`` (``uniform < hazard``) is last seen in ``t - 1``.

    ``uniforms`` and ``hazard`` are (sample years x firms); closing is possible
    from the year after the firm's first observed year.
    """
    years = np.arange(settings.first_year, settings.last_year + 1)
    dies = (uniforms < hazard) & (years[:, None] > firms.first_obs[None, :])
    any_death = dies.any(axis=0)
    death_year = years[np.argmax(dies, axis=0)]
    return np.where(any_death, death_year - 1, settings.last_year).astype("int64")


def draw_deaths(
    rng: np.random.Generator, firms: Firms, cov: Covariates, settings: ParkSettings
) -> tuple[np.ndarray, np.ndarray]:
    r"""Closure draws and the last observed year of each firm without parks.

    From the year after its first observed year, a firm dies in year ``t`` with
    probability :func:`closure_hazard` (``hazard_ratio`` 1). A firm dying in
    ``t`` is last observed in ``t - 1``. The hazard depends neither on age nor
    on any outcome, and it has no firm frailty: survivors' remaining lifetimes
    do not depend on their founding year. The same uniform draws decide closure
    in the observed world, where tenants' hazard is multiplied by the park's
    hazard ratio (:func:`last_observed` with the tenants' hazards), so a park
    effect on closure changes only tenants' years after entry.

    Returns
    -------
    uniforms : numpy.ndarray
        (sample years x firms) uniform draws.
    last_obs : numpy.ndarray
        Last observed year in the world without parks.
    """
    years = np.arange(settings.first_year, settings.last_year + 1)
    uniforms = rng.random((years.size, firms.n))
    hazard = closure_hazard(firms, cov, years)
    return uniforms, last_observed(uniforms, hazard, firms, settings)


def entry_rate(
    firms: Firms, cov: Covariates, settings: ParkSettings, years: np.ndarray
) -> np.ndarray:
    r"""Entry intensity :math:`\lambda_{it}` (simulated years x firms).

    :math:`\lambda_{it} = \lambda_0\, r\, c_t\, e_{c(i)}\, q_i\, y_i
    \sum_{p\ \text{open in}\ t} A_{j(i)p}` with :math:`\lambda_0 = 0.0023`,
    :math:`r` the ``entry_rate`` setting, :math:`c_t` = 0.3 before
    ``first_year``, 0 in ``first_year`` (so every in-sample cohort has a
    pre-entry year) and 1 after, :math:`e` = (0.8, 1.2, 1.6) by size class,
    :math:`q_i = 2.5` for R&D-intensive firms, :math:`y_i = 2.0` for young firms
    and :math:`A` the park attraction matrix (``PARK_ATTRACTION``).
    """
    opening = np.asarray(cfg.PARK_OPENING)
    open_ = years[:, None] >= opening[None, :]  # years x parks
    attraction = open_.astype("float64") @ cfg.PARK_ATTRACTION.T  # years x industries
    calendar = np.where(
        years < settings.first_year, cfg.ENTRY_PRESAMPLE, (years > settings.first_year) * 1.0
    )
    firm_rate = (
        cfg.ENTRY_BASE
        * settings.entry_rate
        * cfg.SIZE_ENTRY[cov.size_class]
        * np.where(cov.rd_high, cfg.RD_TYPE_ENTRY, 1.0)
        * np.where(cov.young, cfg.YOUNG_ENTRY, 1.0)
    )
    return calendar[:, None] * attraction[:, firms.industry] * firm_rate[None, :]


def draw_entries(
    rng: np.random.Generator,
    firms: Firms,
    cov: Covariates,
    last_obs: np.ndarray,
    settings: ParkSettings,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Year of first park entry (``-1`` for never) and the park entered (index, ``-1``).

    A firm can enter in year ``t`` when ``t`` is after its first simulated year
    and its founding year, it is alive (``t <= last_obs``), ``t <= last_year``
    and a park is open. It enters with probability :math:`1 - \exp(-\lambda_{it})`
    (:func:`entry_rate`) and picks an open park :math:`p` with probability
    :math:`A_{jp} / \sum_{p'\ open} A_{jp'}`.

    Because the hazard depends only on the covariates and calendar time (no
    unobserved frailty), the odds of entering in ``g`` rather than never,
    among firms observed in ``g - 1``, depend only on the covariates and the
    death year, which is itself independent of outcomes and founding year given
    the covariates. Conditional parallel trends given (industry, size class,
    R&D type, age group) therefore hold for every outcome, although untreated
    trends differ across those covariates.
    """
    years = np.arange(settings.start_year, settings.last_year + 1)
    draws = rng.random((years.size, firms.n))
    park_draw = rng.random(firms.n)
    rate = entry_rate(firms, cov, settings, years)
    t = years[:, None]
    eligible = (t > firms.start[None, :]) & (t > firms.founded[None, :]) & (t <= last_obs[None, :])
    enters = eligible & (draws < 1.0 - np.exp(-rate))
    ever = enters.any(axis=0)
    entry = np.where(ever, years[np.argmax(enters, axis=0)], -1)
    park = np.where(ever, choose_park(firms.industry, entry, park_draw), -1)
    return entry.astype("int64"), park.astype("int64")


def choose_park(
    industry: np.ndarray, year: np.ndarray, draw: np.ndarray, exclude: np.ndarray | None = None
) -> np.ndarray:
    """Park index drawn among parks open in ``year`` (``-1`` if none), by attraction weights.

    ``exclude`` (park index per firm, ``-1`` for none) removes the firm's current park.
    """
    opening = np.asarray(cfg.PARK_OPENING)
    weights = cfg.PARK_ATTRACTION[industry] * (year[:, None] >= opening[None, :])
    if exclude is not None:
        weights = np.where(np.arange(len(cfg.PARKS))[None, :] == exclude[:, None], 0.0, weights)
    total = weights.sum(axis=1)
    cumulative = np.cumsum(weights, axis=1) / np.where(total > 0, total, 1.0)[:, None]
    choice = (draw[:, None] >= cumulative).sum(axis=1)
    return np.where(total > 0, np.minimum(choice, len(cfg.PARKS) - 1), -1)
