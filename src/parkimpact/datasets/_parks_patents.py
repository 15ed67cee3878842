r"""Count outcomes of the park economy: PhD employment and patents with citations and claims.

Counts are drawn by inverting the Poisson distribution function at a uniform
draw shared by the two potential worlds (common random numbers), so a larger
mean never gives a smaller count. Overdispersion comes from mean-one gamma
multipliers (negative binomial counts), also shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from parkimpact.datasets import _parks_config as cfg
from parkimpact.datasets._parks_tenancy import days_in_year, iso_dates

__all__ = ["poisson_quantile", "phd_counts", "PatentInputs", "PatentDraw", "draw_patents"]


def poisson_quantile(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Smallest ``k`` with ``P(Poisson(mean) <= k) >= u``, elementwise.

    Iterates over ``k`` (not over elements), carrying the probability mass
    function forward on the entries whose cumulative probability is still
    below ``u``.
    """
    u_all, mean_all = np.broadcast_arrays(np.asarray(u, "float64"), np.asarray(mean, "float64"))
    u, mean = u_all.ravel(), mean_all.ravel()
    count = np.zeros(mean.shape, dtype="int64")
    pmf = np.exp(-mean)
    cdf = pmf.copy()
    active = np.flatnonzero(cdf < u)
    limit = int(np.max(mean, initial=0.0) + 40.0 * np.sqrt(np.max(mean, initial=0.0)) + 60)
    k = 0
    while active.size and k < limit:
        k += 1
        pmf[active] *= mean[active] / k
        cdf[active] += pmf[active]
        count[active] = k
        active = active[cdf[active] < u[active]]
    return count.reshape(mean_all.shape)


def phd_counts(
    u: np.ndarray,
    employment: np.ndarray,
    industry: np.ndarray,
    rd_propensity: np.ndarray,
    phd_effect: np.ndarray,
    e_phd: np.ndarray,
) -> np.ndarray:
    r"""PhD employees: Poisson with mean :math:`n_{it}\,\pi_j \exp(\psi_i + 0.6\phi_i + e^P_{it})`.

    :math:`\pi_j` is the industry PhD share, :math:`\psi_i \sim N(0, 0.3^2)`,
    :math:`e^P_{it} = 0.7 e^P_{i,t-1} + 0.10 M_{it}` the park build-up; the mean
    is capped at half of employment and the count at employment.
    """
    share = cfg.IND_PHD_SHARE[industry] * np.exp(phd_effect + cfg.PHD_RD * rd_propensity + e_phd)
    mean = np.minimum(employment * share, 0.5 * employment)
    return np.minimum(poisson_quantile(u, mean), employment).astype("float64")


@dataclass(frozen=True)
class PatentInputs:
    """Firm-year cells of both worlds: row 0 untreated, row 1 observed."""

    year: np.ndarray
    industry: np.ndarray
    rd_stock: np.ndarray  # (2, cells)
    e_pat: np.ndarray  # (2, cells)
    effect: np.ndarray  # (2, cells)
    count_u: np.ndarray
    count_gamma: np.ndarray


@dataclass(frozen=True)
class PatentDraw:
    """Per-world firm-year outcomes (2, cells) and the observed patents (one row each)."""

    outcomes: dict[str, np.ndarray]
    cell: np.ndarray
    day: np.ndarray
    citations: np.ndarray
    claims: np.ndarray


def _slot_draws(
    rng_a: np.random.Generator, rng_b: np.random.Generator, is_a: np.ndarray
) -> np.ndarray:
    """Five uniform/gamma draws per patent slot; untreated-world slots use stream A.

    Slots of patents that exist only because of a park effect draw from stream
    B, so the untreated world is the same whatever the effect size.
    """
    out = np.empty((5, is_a.size))
    for rng, mask in ((rng_a, is_a), (rng_b, ~is_a)):
        m = int(mask.sum())
        out[0, mask] = rng.random(m)
        out[1, mask] = rng.gamma(cfg.CITE_SHAPE, 1.0 / cfg.CITE_SHAPE, m)
        out[2, mask] = rng.random(m)
        out[3, mask] = rng.gamma(cfg.CLAIMS_SHAPE, 1.0 / cfg.CLAIMS_SHAPE, m)
        out[4, mask] = rng.random(m)
    return out


def draw_patents(
    rng_a: np.random.Generator, rng_b: np.random.Generator, cells: PatentInputs, last_year: int
) -> PatentDraw:
    r"""Patent applications, forward citations and claims in both worlds.

    Applications of firm :math:`i` in year :math:`t`: Poisson with mean
    :math:`\min(60, a_j \exp(0.5(r_{it} - 4) + e^N_{it}))\,G_{it}`,
    :math:`r = \ln(1 + K^R)`, :math:`e^N_{it} = 0.7 e^N_{i,t-1} + 0.06 M_{it}`,
    :math:`G \sim \Gamma(1, 1)`. Forward citations of a patent: Poisson with
    mean :math:`c_j (1 - e^{-(T + 1 - t)/4}) e^{0.25 M_{it}} H`,
    :math:`H \sim \Gamma(0.8, 1/0.8)` (the park raises quality; recent patents
    have had less time to be cited). Claims: :math:`1 +` Poisson with mean
    :math:`10 H'`, :math:`H' \sim \Gamma(2, 1/2)`. The ``k``-th patent of a
    cell has the same draws in both worlds.
    """
    rate = cfg.IND_PATENT_RATE[cells.industry]
    mean = np.minimum(
        cfg.PATENT_CAP,
        rate * np.exp(cfg.PATENT_RD * (np.log1p(cells.rd_stock) - cfg.RD_CENTRE) + cells.e_pat),
    )
    counts = poisson_quantile(cells.count_u, mean * cells.count_gamma)
    most = counts.max(axis=0)
    cell = np.repeat(np.arange(most.size), most)
    rank = np.arange(cell.size) - np.repeat(np.cumsum(most) - most, most)
    draws = _slot_draws(rng_a, rng_b, rank < counts[0, cell])
    window = 1.0 - np.exp(-(last_year + 1 - cells.year) / cfg.CITE_LAG)
    quality = cfg.IND_CITATIONS[cells.industry] * window * np.exp(cfg.CITATION_SHIFT * cells.effect)
    cites = poisson_quantile(draws[0], quality[:, cell] * draws[1])
    claims = 1 + poisson_quantile(draws[2], (cfg.CLAIMS_MEAN - 1.0) * draws[3])
    outcomes: dict[str, np.ndarray] = {
        k: np.zeros((2, most.size)) for k in cfg.PATENT_TRUTH
    }
    for world in (0, 1):
        inside = rank < counts[world, cell]
        where = cell[inside]
        outcomes["patents"][world] = counts[world]
        outcomes["citations"][world] = np.bincount(
            where, weights=cites[world, inside], minlength=most.size
        )
        outcomes["claims"][world] = np.bincount(where, weights=claims[inside], minlength=most.size)
    outcomes["patents_cw"] = outcomes["patents"] + outcomes["citations"]
    observed = rank < counts[1, cell]
    days = np.floor(draws[4, observed] * days_in_year(cells.year[cell[observed]])).astype("int64")
    return PatentDraw(
        outcomes=outcomes,
        cell=cell[observed],
        day=days,
        citations=cites[1, observed],
        claims=claims[observed],
    )


def patent_table(draw: PatentDraw, firm_id: np.ndarray, year: np.ndarray) -> pd.DataFrame:
    """The patent register: ``patent_no`` (year x 10^6 + rank within the year),
    ``company_id``, ``filing_date``, ``forward_cites``, ``claims``; sorted by date."""
    filing_year = year[draw.cell]
    frame = pd.DataFrame(
        {
            "company_id": firm_id[draw.cell],
            "filing_date": iso_dates(filing_year, draw.day),
            "forward_cites": draw.citations.astype("int64"),
            "claims": draw.claims.astype("int64"),
        }
    )
    order = np.lexsort((frame["company_id"].to_numpy(), draw.day, filing_year))
    frame = frame.iloc[order].reset_index(drop=True)
    sorted_year = filing_year[order]
    first = np.searchsorted(sorted_year, sorted_year, side="left")
    number = sorted_year * 1_000_000 + (np.arange(sorted_year.size) - first) + 1
    frame.insert(0, "patent_no", number.astype("int64"))
    return frame.astype({"filing_date": "str"})
