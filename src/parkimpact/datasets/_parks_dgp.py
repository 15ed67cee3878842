r"""Production, inputs, R&D and workforce of one potential world, year by year.

One call of :func:`simulate_world` runs the economy for every firm under a
given path of park tenancy. The untreated world (no firm ever in a park) and
the observed world share every random draw (:class:`Shocks`), so that the
difference between them is the exact individual effect of the parks.

Law of motion (firm :math:`i`, industry :math:`j`, year :math:`t`,
:math:`\tau = t - 2007`):

.. math::

    \nu_{it} &= \bar\nu_{jt} + u_{it} + e_{it}, \quad
    \bar\nu_{jt} = \mu_j + \tau_j \tau, \quad
    u_{it} = \rho u_{i,t-1} + \xi_{it}, \quad
    e_{it} = \rho e_{i,t-1} + 0.007\, M_{it}, \\
    \omega_{it} &= \nu_{it} + 0.04\, r_{it} + 0.02\, s\, D_{it} (r_{it} - r_{i,g_i-1}),
    \quad r_{it} = \ln(1 + K^R_{it}),

so that :math:`\nu_{it} = \rho\nu_{i,t-1} + (\bar\nu_{jt} - \rho\bar\nu_{j,t-1})
+ 0.007 M_{it} + \xi_{it}`: the park shifts the law of motion of
productivity and the shift accumulates through the AR(1). Inside a park the
elasticity of TFP with respect to R&D capital is 0.06 instead of 0.04 for the
knowledge accumulated since the year before first entry :math:`g_i - 1` (no
jump in TFP at entry, a higher marginal return to R&D while in a park).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parkimpact.datasets import _parks_config as cfg
from parkimpact.datasets._parks_firms import Firms

__all__ = ["Shocks", "Prices", "draw_shocks", "simulate_world"]


@dataclass(frozen=True)
class Shocks:
    """Random draws shared by both potential worlds; matrices are (years x firms)."""

    u0: np.ndarray
    z0: np.ndarray
    l0: np.ndarray
    k0: np.ndarray
    xi: np.ndarray
    eta: np.ndarray
    zeta: np.ndarray
    invest: np.ndarray
    eps: np.ndarray
    wage: np.ndarray


@dataclass(frozen=True)
class Prices:
    """Log price indices (base 100 in 2016) by simulated year; industry ones are (years x 6)."""

    log_output: np.ndarray
    log_input: np.ndarray
    log_capital: np.ndarray  # (years,)
    log_consumer: np.ndarray  # (years,)


def draw_shocks(rng: np.random.Generator, n_years: int, n_firms: int) -> Shocks:
    """Standard normal draws; the output shock is normal with SD 0.1 clipped at +-0.3."""
    initial = rng.standard_normal((4, n_firms))
    normals = rng.standard_normal((6, n_years, n_firms))
    eps = np.clip(cfg.SIGMA_EPS * normals[4], -cfg.EPS_BOUND, cfg.EPS_BOUND)
    return Shocks(
        u0=initial[0],
        z0=initial[1],
        l0=initial[2],
        k0=initial[3],
        xi=cfg.SIGMA_XI * normals[0],
        eta=cfg.LABOUR_ERROR * normals[1],
        zeta=cfg.RD_NOISE * normals[2],
        invest=cfg.INVEST_NOISE * normals[3],
        eps=eps,
        wage=cfg.WAGE_NOISE * normals[5],
    )


@dataclass
class _State:
    """Carried state of the yearly recursion (vectors over firms)."""

    u: np.ndarray
    e_tfp: np.ndarray
    e_rd: np.ndarray
    e_phd: np.ndarray
    e_pat: np.ndarray
    z: np.ndarray
    l_latent: np.ndarray
    capital_next: np.ndarray
    rd_stock: np.ndarray
    sales: np.ndarray
    r_previous: np.ndarray
    r_reference: np.ndarray
    entered: np.ndarray


def _initial_state(n: int) -> _State:
    zero, one = np.zeros(n), np.ones(n)
    return _State(
        u=zero, e_tfp=zero, e_rd=zero, e_phd=zero, e_pat=zero, z=zero, l_latent=zero,
        capital_next=one, rd_stock=zero, sales=one, r_previous=zero, r_reference=zero,
        entered=np.zeros(n, dtype=bool),
    )


def _rd_spending(
    firms: Firms, shocks: Shocks, state: _State, row: int, tau: float, new: np.ndarray,
    effect: np.ndarray,
) -> np.ndarray:
    r"""Real R&D: :math:`R_{it} = 1[\phi_i + z_{it} + e^R_{it} > -1]\, s_{it}\, S_{i,t-1}`.

    Intensity :math:`\ln s_{it} = \ln\bar s_j + \phi_i + (g_j + 0.02\phi_i)\tau
    + z_{it} + e^R_{it}`, :math:`z` an AR(1) (0.6, innovation SD 0.2),
    :math:`e^R_{it} = 0.7 e^R_{i,t-1} + 0.08 M_{it}`, :math:`S_{i,t-1}` last
    year's real sales (planned sales of 5 per worker at the target scale in the
    first simulated year, a third of it for newly founded firms).
    """
    phi = firms.rd_propensity
    state.e_rd = cfg.EFFECT_PERSISTENCE * state.e_rd + cfg.RD_SHIFT * effect
    stationary = cfg.RD_NOISE / np.sqrt(1.0 - cfg.RD_AR**2)
    state.z = np.where(new, stationary * shocks.z0, cfg.RD_AR * state.z + shocks.zeta[row])
    ind = firms.industry
    log_s = (
        np.log(cfg.IND_RD_INTENSITY[ind])
        + phi
        + (cfg.IND_RD_TREND[ind] + cfg.RD_PROPENSITY_TREND * phi) * tau
        + state.z
        + state.e_rd
    )
    performs = phi + state.z + state.e_rd > cfg.RD_THRESHOLD
    founded_now = firms.founded == firms.start
    planned = cfg.PLANNED_SALES_PER_WORKER * np.exp(
        firms.labour_scale - cfg.NEW_FIRM_GAP * founded_now
    )
    sales = np.where(new, planned, state.sales)
    return np.where(performs, np.exp(log_s) * sales, 0.0)


def _labour(
    firms: Firms, shocks: Shocks, state: _State, row: int, tau: float, new: np.ndarray,
    deviation: np.ndarray,
) -> np.ndarray:
    r"""Employment with partial adjustment and optimisation error.

    Target :math:`l^*_{it} = \lambda_i + 0.01\tau + (\omega_{it} - \bar\nu_{jt})`;
    latent :math:`\tilde l_{it} = \tilde l_{i,t-1} + 0.4 (l^*_{it} - \tilde
    l_{i,t-1}) + \eta_{it}` (:math:`\eta \sim N(0, 0.08^2)`); employment
    :math:`\max(1, \mathrm{round}(e^{\tilde l}))`. Firms start at
    :math:`l^* - 1` when founded, at :math:`l^* + 0.3 z` at the burn-in start.
    """
    target = firms.labour_scale + cfg.LABOUR_TREND * tau + cfg.LABOUR_TFP * deviation
    founded_now = firms.founded == firms.start
    start = target + np.where(founded_now, -cfg.NEW_FIRM_GAP, cfg.LABOUR_START_SD * shocks.l0)
    moved = state.l_latent + cfg.LABOUR_ADJUST * (target - state.l_latent) + shocks.eta[row]
    state.l_latent = np.where(new, start, moved)
    return np.maximum(1.0, np.rint(np.exp(state.l_latent)))


def _productivity(
    firms: Firms, shocks: Shocks, state: _State, row: int, year: int, new: np.ndarray,
    in_park: np.ndarray, effect: np.ndarray, effect_scale: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Advance productivity and R&D one year; return ``(omega, nu_bar, rd)``."""
    ind = firms.industry
    tau = float(year - cfg.TIME_CENTRE)
    nu_bar = cfg.IND_TFP_LEVEL[ind] + cfg.IND_TFP_TREND[ind] * tau
    sd_u = cfg.SIGMA_XI / np.sqrt(1.0 - cfg.RHO**2)
    state.u = np.where(new, sd_u * shocks.u0, cfg.RHO * state.u + shocks.xi[row])
    state.e_tfp = cfg.RHO * state.e_tfp + cfg.TFP_SHIFT * effect
    rd = _rd_spending(firms, shocks, state, row, tau, new, effect)
    restart = new | (firms.first_obs == year)
    keep = 1.0 - cfg.RD_DEPRECIATION
    state.rd_stock = np.where(
        restart, rd / (cfg.RD_GROWTH + cfg.RD_DEPRECIATION), keep * state.rd_stock + rd
    )
    r = np.log1p(state.rd_stock)
    first_entry = (in_park > 0) & ~state.entered
    state.r_reference = np.where(first_entry, state.r_previous, state.r_reference)
    state.entered = state.entered | first_entry
    state.r_previous = r
    bonus = cfg.RD_PARK_BONUS * effect_scale * in_park * (r - state.r_reference)
    omega = nu_bar + state.u + state.e_tfp + cfg.RD_ELASTICITY * r + bonus
    return omega, nu_bar, rd


def _production(
    firms: Firms, shocks: Shocks, prices: Prices, state: _State, row: int, new: np.ndarray,
    omega: np.ndarray, deviation: np.ndarray, employment: np.ndarray,
) -> dict[str, np.ndarray]:
    """Capital in place, flexible materials, output and this year's investment."""
    ind = firms.industry
    log_l = np.log(employment)
    k_star = log_l + np.log(cfg.IND_CAPITAL_PER_WORKER[ind]) + cfg.INVEST_TFP * deviation
    k_start = k_star + np.where(
        firms.founded == firms.start, np.log(cfg.NEW_FIRM_CAPITAL), cfg.CAPITAL_START_SD * shocks.k0
    )
    capital = np.where(new, np.exp(k_start), state.capital_next)
    k = np.log(capital)
    relative = prices.log_output[row, ind] - prices.log_input[row, ind]
    m = (np.log(cfg.BETA_M) + cfg.B0 + cfg.BETA_L * log_l + cfg.BETA_K * k + omega + relative) / (
        1.0 - cfg.BETA_M
    )
    q = cfg.B0 + cfg.BETA_L * log_l + cfg.BETA_K * k + cfg.BETA_M * m + omega + shocks.eps[row]
    rate = np.clip(
        cfg.INVEST_BASE * np.exp(cfg.INVEST_GAP * (k_star - k) + shocks.invest[row]),
        *cfg.INVEST_BOUNDS,
    )
    investment = rate * capital
    state.capital_next = (1.0 - cfg.DEPRECIATION) * capital + investment
    state.sales = np.exp(q)
    return {
        "capital": capital, "investment": investment, "materials": np.exp(m),
        "output": state.sales,
    }


def simulate_world(
    firms: Firms,
    shocks: Shocks,
    prices: Prices,
    years: np.ndarray,
    in_park: np.ndarray,
    effect: np.ndarray,
    effect_scale: float,
) -> dict[str, np.ndarray]:
    r"""Run the economy over ``years`` under one tenancy path.

    Parameters
    ----------
    firms, shocks, prices
        Primitives and draws shared by every world.
    years
        Simulated years (burn-in included).
    in_park, effect
        (years x firms) in-park indicator :math:`D_{it}` and park-effect
        multiplier :math:`M_{it}` (zero for the untreated world).
    effect_scale
        :math:`s`, scales the in-park R&D elasticity bonus.

    Returns
    -------
    dict
        (years x firms) matrices: ``tfp`` (:math:`\omega`), ``employment``,
        ``capital``, ``investment``, ``materials``, ``output``, ``rd``,
        ``rd_stock``, ``wage`` (per worker), ``e_phd``, ``e_pat`` (park
        build-ups of the PhD share and patenting), all real.

    Notes
    -----
    Capital is predetermined, :math:`K_{i,t+1} = 0.92 K_{it} + I_{it}`, with
    investment :math:`I_{it} = K_{it}\,\min(1, \max(0.01, 0.1\exp(0.8(k^*_{it} -
    k_{it}) + 0.25 v_{it})))`, :math:`k^* = l + \ln\kappa_j + 0.8(\omega -
    \bar\nu)` (increasing in productivity). Materials are flexible: the first
    order condition of expected profit gives
    :math:`m = [\ln 0.6 + b_0 + 0.25 l + 0.10 k + \omega + \ln(P^Y_{jt}/P^M_{jt})]
    / 0.4`, monotone in :math:`\omega`. Output
    :math:`q = b_0 + 0.25 l + 0.10 k + 0.60 m + \omega + \varepsilon`.
    The knowledge stock follows the perpetual inventory from the first
    simulated year, restarted in the first observed year:
    :math:`K^R_{i t_0} = R_{i t_0}/0.2`, :math:`K^R_{it} = 0.85 K^R_{i,t-1} + R_{it}`.
    Wages per worker: :math:`w_j \exp(0.015\tau + \varpi_i + 0.3(\omega - \bar\nu)
    + \upsilon_{it})`, :math:`\varpi \sim N(0, 0.15^2)`, :math:`\upsilon \sim
    N(0, 0.05^2)`.
    """
    state = _initial_state(firms.n)
    out: dict[str, np.ndarray] = {}
    for row, year in enumerate(years):
        new = firms.start == year
        omega, nu_bar, rd = _productivity(
            firms, shocks, state, row, int(year), new, in_park[row], effect[row], effect_scale
        )
        deviation = omega - nu_bar
        tau = float(year - cfg.TIME_CENTRE)
        employment = _labour(firms, shocks, state, row, tau, new, deviation)
        values = _production(firms, shocks, prices, state, row, new, omega, deviation, employment)
        state.e_phd = cfg.EFFECT_PERSISTENCE * state.e_phd + cfg.PHD_SHIFT * effect[row]
        state.e_pat = cfg.EFFECT_PERSISTENCE * state.e_pat + cfg.PATENT_SHIFT * effect[row]
        values["wage"] = cfg.IND_WAGE[firms.industry] * np.exp(
            cfg.WAGE_TREND * tau + firms.wage_effect + cfg.WAGE_TFP * deviation + shocks.wage[row]
        )
        values.update(
            tfp=omega, employment=employment, rd=rd, rd_stock=state.rd_stock,
            e_phd=state.e_phd, e_pat=state.e_pat,
        )
        for key, value in values.items():
            out.setdefault(key, np.empty((years.size, firms.n)))[row] = value
    return out
