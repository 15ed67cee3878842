"""Assembling the park economy: both potential worlds, firm-year cells and count outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parkimpact.datasets import _parks_config as cfg
from parkimpact.datasets._parks_config import ParkSettings
from parkimpact.datasets._parks_dgp import Prices, draw_shocks, simulate_world
from parkimpact.datasets._parks_firms import (
    Covariates,
    Firms,
    classify,
    closure_hazard,
    draw_deaths,
    draw_entries,
    draw_firms,
    last_observed,
)
from parkimpact.datasets._parks_patents import PatentDraw, PatentInputs, draw_patents, phd_counts
from parkimpact.datasets._parks_sources import draw_prices
from parkimpact.datasets._parks_tenancy import Spells, draw_spells, treatment_paths

__all__ = ["Economy", "STREAMS", "simulate_economy", "potential_outcomes", "real_values"]

#: Independent random streams, spawned from the seed in this order.
STREAMS = (
    "firms", "prices", "shocks", "deaths", "entries", "spells", "register", "counts",
    "patents_a", "patents_b", "mess_noise", "mess_missing", "mess_format", "mess_duplicates",
)


@dataclass(frozen=True)
class Economy:
    """Everything simulated, before the sources and the truth tables are written out.

    ``worlds[0]`` is the untreated world, ``worlds[1]`` the observed one; their
    matrices are (simulated years x firms). Observed firm-years ("cells") are
    ``(firm_index, row_index)`` pairs sorted by firm then year. ``last_obs`` is
    the last observed year in the observed world, ``last_obs_untreated`` the one
    without parks (they differ only when parks change the closure hazard).
    """

    settings: ParkSettings
    years: np.ndarray
    firms: Firms
    covariates: Covariates
    spells: Spells
    last_obs: np.ndarray
    last_obs_untreated: np.ndarray
    prices: Prices
    worlds: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]
    effect: np.ndarray
    firm_index: np.ndarray
    row_index: np.ndarray
    phd: np.ndarray
    patents: PatentDraw
    generators: dict[str, np.random.Generator]

    def cell(self, matrix: np.ndarray) -> np.ndarray:
        """Values of a (years x firms) matrix at the observed cells."""
        return matrix[self.row_index, self.firm_index]

    @property
    def cell_year(self) -> np.ndarray:
        """Calendar year of each observed cell."""
        return self.years[self.row_index]

    @property
    def cell_industry(self) -> np.ndarray:
        """Industry index of each observed cell."""
        return self.firms.industry[self.firm_index]


def _generators(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    pairs = zip(STREAMS, children, strict=True)
    return {name: np.random.default_rng(child) for name, child in pairs}


def _observed_closure(
    firms: Firms,
    cov: Covariates,
    settings: ParkSettings,
    uniforms: np.ndarray,
    entry: np.ndarray,
    last_untreated: np.ndarray,
) -> np.ndarray:
    """Last observed year with the park effect on closure (same draws as without parks)."""
    ratio = settings.closure_hazard_ratio
    if ratio == 1.0:
        return last_untreated
    years = np.arange(settings.first_year, settings.last_year + 1)
    hazard = closure_hazard(firms, cov, years, entry=entry, hazard_ratio=ratio)
    return last_observed(uniforms, hazard, firms, settings)


def simulate_economy(settings: ParkSettings) -> Economy:
    """Simulate firms, prices, both worlds, deaths, park spells and count outcomes."""
    gen = _generators(settings.seed)
    years = np.arange(settings.start_year, settings.last_year + 1)
    firms = draw_firms(gen["firms"], settings)
    prices = draw_prices(gen["prices"], years)
    shocks = draw_shocks(gen["shocks"], years.size, firms.n)
    none = np.zeros((years.size, firms.n))
    scale = settings.effect_scale
    untreated = simulate_world(firms, shocks, prices, years, none, none, scale)
    cov = classify(firms, untreated["employment"], untreated["rd"], untreated["output"],
                   settings.start_year)
    uniforms, last_untreated = draw_deaths(gen["deaths"], firms, cov, settings)
    entry, park = draw_entries(gen["entries"], firms, cov, last_untreated, settings)
    last_obs = _observed_closure(firms, cov, settings, uniforms, entry, last_untreated)
    spells = draw_spells(gen["spells"], firms, entry, park, last_obs, settings)
    in_park, effect = treatment_paths(
        spells, years, scale * cov.effect_multiplier(firms.industry)
    )
    observed = (years[:, None] >= firms.first_obs[None, :]) & (years[:, None] <= last_obs[None, :])
    firm_index, row_index = np.nonzero(observed.T)
    observed_world = simulate_world(firms, shocks, prices, years, in_park, effect, scale)
    worlds = (untreated, observed_world)
    count_draws = gen["counts"].random((3, years.size, firms.n))
    gamma = gen["counts"].gamma(cfg.PATENT_SHAPE, 1.0 / cfg.PATENT_SHAPE, (years.size, firms.n))

    def cell(matrix: np.ndarray) -> np.ndarray:
        return matrix[row_index, firm_index]

    ind = firms.industry[firm_index]
    phd = np.stack([
        phd_counts(cell(count_draws[0]), cell(w["employment"]), ind,
                   firms.rd_propensity[firm_index], firms.phd_effect[firm_index], cell(w["e_phd"]))
        for w in worlds
    ])
    cells = PatentInputs(
        year=years[row_index],
        industry=ind,
        rd_stock=np.stack([cell(w["rd_stock"]) for w in worlds]),
        e_pat=np.stack([cell(w["e_pat"]) for w in worlds]),
        effect=np.stack([np.zeros(firm_index.size), cell(effect)]),
        count_u=cell(count_draws[1]),
        count_gamma=cell(gamma),
    )
    patents = draw_patents(gen["patents_a"], gen["patents_b"], cells, settings.last_year)
    return Economy(
        settings=settings, years=years, firms=firms, covariates=cov, spells=spells,
        last_obs=last_obs, last_obs_untreated=last_untreated, prices=prices, worlds=worlds,
        effect=effect,
        firm_index=firm_index, row_index=row_index, phd=phd, patents=patents, generators=gen,
    )


def real_values(econ: Economy, world: int) -> dict[str, np.ndarray]:
    """Real money amounts and counts of one world at the observed cells.

    Value added is output less materials valued at the output-price deflator:
    :math:`VA = Q - M\\,P^M/P^Y` (nominal value added is nominal sales less
    nominal materials).
    """
    w = econ.worlds[world]
    ind, rows = econ.cell_industry, econ.row_index
    relative = np.exp(econ.prices.log_input[rows, ind] - econ.prices.log_output[rows, ind])
    output, materials = econ.cell(w["output"]), econ.cell(w["materials"])
    employment, phd = econ.cell(w["employment"]), econ.phd[world]
    return {
        "output": output,
        "value_added": output - materials * relative,
        "capital": econ.cell(w["capital"]),
        "materials": materials,
        "investment": econ.cell(w["investment"]),
        "rd": econ.cell(w["rd"]),
        "wage_bill": employment * econ.cell(w["wage"]) + phd * cfg.PHD_PREMIUM,
        "employment": employment,
        "phd": phd,
    }


def potential_outcomes(econ: Economy) -> dict[str, np.ndarray]:
    """Each truth outcome as a (2, cells) array: row 0 untreated, row 1 observed.

    ``tfp`` is :math:`\\omega`; ``log_rd`` is :math:`\\ln(1 + R)` with real R&D;
    ``wage`` is the average wage per employee, wage bill / employment (real).
    """
    values = [real_values(econ, world) for world in (0, 1)]
    both = {k: np.stack([values[0][k], values[1][k]]) for k in values[0]}
    out = {
        "tfp": np.stack([econ.cell(w["tfp"]) for w in econ.worlds]),
        "log_output": np.log(both["output"]),
        "log_value_added": np.log(both["value_added"]),
        "employment": both["employment"],
        "log_rd": np.log1p(both["rd"]),
        "phd": both["phd"],
    }
    out.update(econ.patents.outcomes)
    out["wage"] = both["wage_bill"] / both["employment"]
    return out
