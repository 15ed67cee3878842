"""Monte Carlo panels of Ackerberg, Caves and Frazer (2015) with known truth.

The three data generating processes (DGPs) of the Monte Carlo study in
Ackerberg, D. A., Caves, K. and Frazer, G. (2015), "Identification Properties of
Recent Production Function Estimators", *Econometrica* 83(6), 2411-2451
(ACF below). They are the standard test bed for proxy-variable estimators of
production functions (Olley-Pakes, Levinsohn-Petrin, ACF, Wooldridge): the
true elasticities are known, productivity is observed by the simulator, and the
three designs switch on and off the two sources of variation in labour that
ACF use to discuss the functional dependence problem.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["AcfSimulation", "simulate_acf"]

# Structural parameters shared by the three designs (ACF, Monte Carlo section and
# the GAUSS programs that accompany the paper).
_BETA_0 = 0.0  # log of the Hicks-neutral constant (alpha_0 = 1)
_BETA_L = 0.6  # labour elasticity
_BETA_K = 0.4  # capital elasticity; beta_l + beta_k = 1 gives profits linear in K
_RHO = 0.7  # AR(1) coefficient of omega between t-1 and t
_SIGMA_OMEGA = 0.3  # stationary SD of omega
_SIGMA_EPS = 0.1  # SD of the i.i.d. output shock eps
_RHO_WAGE = 0.3  # AR(1) coefficient of the firm-specific log wage
_DISCOUNT = 0.95  # discount factor of the investment problem
_DELTA = 0.2  # depreciation rate
_SIGMA_ADJUST = 0.6  # SD of log(1 / phi_i), the firm's inverse adjustment cost
_HORIZON = 100  # terms of the discounted sum in the investment policy
_DEFAULT_BURN_IN = 90  # ACF simulate 100 periods and keep the last 10

#: Design switches: (SD of the stationary log wage, timing b of labour, SD of the
#: optimisation error in log labour), from ACF's description of DGP1-DGP3.
_DESIGNS: Mapping[int, tuple[float, float, float]] = MappingProxyType(
    {1: (0.1, 0.5, 0.0), 2: (0.0, 0.0, 0.37), 3: (0.1, 0.5, 0.37)}
)
# Independent random streams, so that changing one setting (the measurement
# error, the design) leaves every other draw unchanged for the same seed.
_STREAMS = ("initial", "omega", "wage", "adjustment", "optimisation", "eps", "measurement")


@dataclass(frozen=True)
class AcfSimulation:
    """A simulated ACF panel and the parameters that generated it.

    Attributes
    ----------
    data : pandas.DataFrame
        Balanced panel sorted by ``firm_id`` then ``year`` with columns
        ``firm_id`` (1..n_firms), ``year`` (1..n_years), ``y`` (log value added),
        ``l`` (log labour), ``k`` (log capital), ``m`` (log materials, the
        proxy, with measurement error if requested), ``i`` (log investment),
        ``omega`` (productivity) and ``eps`` (output shock).
    truth : Mapping[str, float]
        Read-only mapping of the true parameters (``beta_0``, ``beta_l``,
        ``beta_k``, ``rho``, ...) and of the design settings; see
        :func:`simulate_acf`.
    dgp : int
        The design, 1, 2 or 3.
    seed : int
        The seed that reproduces the panel (the fresh entropy drawn when the
        simulation was called with ``seed=None``).
    """

    data: pd.DataFrame = field(repr=False)
    truth: Mapping[str, float]
    dgp: int
    seed: int


def simulate_acf(
    dgp: Literal[1, 2, 3] = 1,
    n_firms: int = 1000,
    n_years: int = 10,
    *,
    seed: int | None = 0,
    measurement_error: float = 0.0,
    burn_in: int = _DEFAULT_BURN_IN,
) -> AcfSimulation:
    r"""Simulate a firm panel from one of the ACF (2015) Monte Carlo designs.

    Value added is Cobb-Douglas in labour and capital,

    .. math::

        y_{it} = \beta_0 + \beta_l l_{it} + \beta_k k_{it} + \omega_{it}
        + \varepsilon_{it}, \qquad \beta_0 = 0,\ \beta_l = 0.6,\ \beta_k = 0.4,

    with :math:`\varepsilon_{it} \sim N(0, 0.1^2)` i.i.d. Productivity is a
    stationary AR(1), :math:`\omega_{it} = 0.7\,\omega_{i,t-1} + \xi_{it}` with
    :math:`\operatorname{sd}(\omega) = 0.3`, split at the moment ``t - b`` when
    labour is chosen:

    .. math::

        \omega_{i,t-b} = \rho^{1-b}\omega_{i,t-1} + \xi^{1}_{it}, \qquad
        \omega_{it} = \rho^{b}\omega_{i,t-b} + \xi^{2}_{it},

    with :math:`\operatorname{var}(\xi^{1}) = (1-\rho^{2(1-b)})\sigma_\omega^2` and
    :math:`\operatorname{var}(\xi^{2}) = (1-\rho^{2b})\sigma_\omega^2`, so that
    every :math:`\omega` has variance :math:`\sigma_\omega^2`; labour chosen at
    ``t - b`` is correlated with, but not a function of, :math:`\omega_{it}`.
    The firm's log wage is a stationary AR(1),
    :math:`w_{it} = 0.3\,w_{i,t-1} + \nu_{it}` with stationary SD
    :math:`\sigma_w`. Labour is the expected-profit maximiser given
    :math:`\omega_{i,t-b}`, plus an optimisation error
    :math:`u_{it} \sim N(0, \sigma_u^2)`:

    .. math::

        l_{it} = \frac{\beta_0 + \ln\beta_l + \tfrac12\operatorname{var}(\xi^2)
        + \rho^{b}\omega_{i,t-b} - w_{it} + \beta_k k_{it}}{1-\beta_l} + u_{it}.

    Materials are Leontief in value added and chosen from planned labour
    :math:`l^*_{it} = l_{it} - u_{it}` (ACF's "planned or ordered" materials,
    which makes Levinsohn-Petrin consistent in DGP2), plus optional
    measurement error :math:`v_{it} \sim N(0, \sigma_m^2)`:

    .. math::

        m_{it} = \beta_0 + \beta_l l^*_{it} + \beta_k k_{it} + \omega_{it} + v_{it}.

    Capital accumulates as :math:`K_{it} = (1-\delta)K_{i,t-1} + I_{i,t-1}`.
    With quadratic adjustment costs :math:`\phi_i I^2/2` and
    :math:`\beta_l + \beta_k = 1`, expected profits are linear in :math:`K`
    and optimal investment has the closed form (ACF, appendix)

    .. math::

        I_{it} = \frac{\beta S}{\phi_i} e^{\operatorname{var}(\xi^2)/(2(1-\beta_l))}
        \sum_{h=1}^{H} [\beta(1-\delta)]^{h-1}
        \exp\Big(\frac{\rho^h\omega_{it} - \beta_l\rho_w^h w_{it}}{1-\beta_l}
        + \frac{V_h}{2}\Big),

    where :math:`S = \beta_l^{\beta_l/(1-\beta_l)}e^{\beta_l^2\sigma_u^2/2}
    - \beta_l^{1/(1-\beta_l)}e^{\sigma_u^2/2}`, :math:`V_h` is the conditional
    variance at ``t`` of the exponent ``h`` periods ahead and ``H = 100``.

    Parameters
    ----------
    dgp : {1, 2, 3}, default 1
        ACF's design. DGP1: serially correlated firm-specific wages
        (:math:`\sigma_w = 0.1`), labour chosen at ``t - 0.5``, no optimisation
        error. DGP2: no wage variation (:math:`\sigma_w = 0`), labour chosen at
        ``t`` (``b = 0``), optimisation error :math:`\sigma_u = 0.37`. DGP3:
        both sources, :math:`\sigma_w = 0.1`, ``b = 0.5``, :math:`\sigma_u = 0.37`.
    n_firms : int, default 1000
        Number of firms (ACF: 1,000).
    n_years : int, default 10
        Number of years kept (ACF: 10).
    seed : int or None, default 0
        Seed of :func:`numpy.random.default_rng`; ``None`` draws fresh entropy,
        stored in the result's ``seed``. Each random component has its own
        stream, so the same seed gives the same productivity, wages and shocks
        across ``measurement_error`` values (common random numbers).
    measurement_error : float, default 0.0
        SD :math:`\sigma_m` of the i.i.d. normal error added to ``m``. ACF set
        the error variance to 0.1, 0.2 and 0.5 times the within-firm variance of
        log materials; ``truth["m_within_sd"]`` gives that SD, so
        ``measurement_error = math.sqrt(0.1) * truth["m_within_sd"]``
        reproduces their first column.
    burn_in : int, default 90
        Periods simulated and discarded before the kept years. Firms start
        with (almost) no capital as in ACF, who simulate 100 periods and keep
        the last 10; with :math:`\delta = 0.2` the initial capital has weight
        :math:`0.8^{\text{burn\_in}}` in the first kept year.

    Returns
    -------
    AcfSimulation
        The panel (``data``), the true parameters (``truth``), ``dgp`` and
        ``seed``. ``truth`` holds ``beta_0``, ``beta_l``, ``beta_k``, ``rho``,
        ``sigma_omega``, ``sigma_eps``, ``rho_wage``, ``sigma_wage``,
        ``labour_timing`` (``b``), ``sigma_optimisation``, ``delta``,
        ``discount``, ``sigma_adjustment`` (log-SD of :math:`1/\phi_i`),
        ``measurement_error``, ``m_within_sd`` (pooled within-firm SD of log
        materials before measurement error) and ``burn_in``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range.

    Notes
    -----
    Parameter values and where they come from (ACF's Monte Carlo section;
    where the text is silent, the GAUSS programs distributed with the paper,
    whose settings are reproduced by the replication code of Kim, Luo and Su,
    2019, *J. Applied Econometrics*, and by the ``panelSim`` routine of the R
    package prodest): :math:`\beta_l = 0.6`, :math:`\beta_k = 0.4`,
    :math:`\beta_0 = 0`; :math:`\rho = 0.7`, :math:`\sigma_\omega = 0.3`
    with :math:`\omega_{i0} \sim N(0, 0.3^2)`; :math:`\sigma_\varepsilon = 0.1`;
    log wage AR(1) coefficient 0.3, stationary SD 0.1 in DGP1 and DGP3 and 0
    in DGP2, :math:`w_{i0} \sim N(0, \sigma_w^2)`; optimisation error SD 0.37
    in DGP2 and DGP3; ``b = 0.5`` in DGP1 and DGP3, 0 in DGP2;
    :math:`\delta = 0.2`; discount factor 0.95; :math:`1/\phi_i` log-normal
    with log-SD 0.6; output price 1; initial capital (almost) zero; 100
    periods of which the last 10 are kept. The conditional variances
    :math:`V_h` are computed exactly from the AR(1) processes; the programs
    distributed with ACF use a slightly different expression for them, which
    scales the horizon weights by at most 8% (investment by about 2-3%) and
    leaves the identification properties of the designs unchanged.

    Examples
    --------
    >>> sim = simulate_acf(1, n_firms=200, n_years=5, seed=1)
    >>> sim.data.shape
    (1000, 9)
    >>> sim.truth["beta_l"], sim.truth["beta_k"]
    (0.6, 0.4)
    """
    n_firms, n_years, burn_in, sigma_m = _check_arguments(
        dgp, n_firms, n_years, burn_in, measurement_error
    )
    used_seed = _check_seed(seed)
    sigma_w, timing, sigma_u = _DESIGNS[int(dgp)]
    streams = dict(
        zip(_STREAMS, np.random.SeedSequence(used_seed).spawn(len(_STREAMS)), strict=True)
    )
    rngs = {name: np.random.default_rng(seq) for name, seq in streams.items()}
    states = _simulate_states(rngs, n_firms, n_years, burn_in, sigma_w, timing, sigma_u)
    data, m_within_sd = _assemble(states, rngs, timing, sigma_u, sigma_m)
    truth = {
        "beta_0": _BETA_0,
        "beta_l": _BETA_L,
        "beta_k": _BETA_K,
        "rho": _RHO,
        "sigma_omega": _SIGMA_OMEGA,
        "sigma_eps": _SIGMA_EPS,
        "rho_wage": _RHO_WAGE,
        "sigma_wage": sigma_w,
        "labour_timing": timing,
        "sigma_optimisation": sigma_u,
        "delta": _DELTA,
        "discount": _DISCOUNT,
        "sigma_adjustment": _SIGMA_ADJUST,
        "measurement_error": sigma_m,
        "m_within_sd": m_within_sd,
        "burn_in": burn_in,
    }
    return AcfSimulation(data=data, truth=MappingProxyType(truth), dgp=int(dgp), seed=used_seed)


def _check_arguments(
    dgp: object, n_firms: object, n_years: object, burn_in: object, measurement_error: object
) -> tuple[int, int, int, float]:
    """Validate the size and design arguments of :func:`simulate_acf`."""
    if isinstance(dgp, bool) or not isinstance(dgp, Integral) or int(dgp) not in _DESIGNS:
        raise ValueError(f"dgp must be one of 1, 2 or 3; got {dgp!r}. Pass dgp=1, 2 or 3.")
    sizes = {"n_firms": (n_firms, 1), "n_years": (n_years, 1), "burn_in": (burn_in, 1)}
    checked = []
    for name, (value, minimum) in sizes.items():
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(
                f"{name} must be an integer; got {type(value).__name__} {value!r}. "
                f"Pass a whole number such as {name}={minimum * 10}."
            )
        if value < minimum:
            raise ValueError(
                f"{name} must be at least {minimum}; got {value}. Pass {name}>={minimum}."
            )
        checked.append(int(value))
    if isinstance(measurement_error, bool) or not isinstance(measurement_error, Real):
        raise TypeError(
            f"measurement_error must be a real number; got {type(measurement_error).__name__} "
            f"{measurement_error!r}. Pass a standard deviation such as 0.1."
        )
    sigma_m = float(measurement_error)
    if not math.isfinite(sigma_m) or sigma_m < 0:
        raise ValueError(
            f"measurement_error must be a finite number >= 0; got {sigma_m!r}. "
            "Pass 0 for no error or a positive standard deviation."
        )
    return checked[0], checked[1], checked[2], sigma_m


def _check_seed(seed: object) -> int:
    """Return the seed to use, drawing fresh entropy when ``seed`` is None."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(
            f"seed must be a non-negative integer or None; got {type(seed).__name__} {seed!r}. "
            "Pass an integer such as seed=0."
        )
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None; got {seed}. Pass seed>=0.")
    return int(seed)


def _investment_weights(
    timing: float, sigma_w: float, sigma_u: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Coefficients of the closed-form investment policy, one per horizon ``h``.

    Returns ``(a, g, c)`` with :math:`I_{it} = (1/\phi_i) \sum_h c_h
    \exp(a_h \omega_{it} + g_h w_{it})`: :math:`a_h = \rho^h/(1-\beta_l)`,
    :math:`g_h = -\beta_l \rho_w^h/(1-\beta_l)` and :math:`c_h` collects the
    discounting, the profit constant :math:`S` and the lognormal corrections
    :math:`e^{V_h/2}`.
    """
    h = np.arange(1, _HORIZON + 1)
    inv = 1.0 / (1.0 - _BETA_L)
    var_omega = _SIGMA_OMEGA**2
    var_first = (1.0 - _RHO ** (2.0 * (1.0 - timing))) * var_omega
    var_second = (1.0 - _RHO ** (2.0 * timing)) * var_omega
    var_xi = (1.0 - _RHO**2) * var_omega
    var_wage_innov = (1.0 - _RHO_WAGE**2) * sigma_w**2
    # Var(rho^b omega_{t+h-b} | omega_t) = rho^{2b} var_first + var_xi * sum_{j=1}^{h-1} rho^{2j}
    rho_sq_sums = np.concatenate(([0.0], np.cumsum(_RHO ** (2.0 * h[:-1]))))
    var_omega_h = _RHO ** (2.0 * timing) * var_first + var_xi * rho_sq_sums
    # Var(w_{t+h} | w_t) = var_wage_innov * sum_{j=0}^{h-1} rho_w^{2j}
    var_wage_h = var_wage_innov * np.cumsum(_RHO_WAGE ** (2.0 * (h - 1)))
    v_h = inv**2 * var_omega_h + (_BETA_L * inv) ** 2 * var_wage_h
    profit_constant = _BETA_L ** (_BETA_L * inv) * math.exp(
        0.5 * _BETA_L**2 * sigma_u**2
    ) - _BETA_L**inv * math.exp(0.5 * sigma_u**2)
    scale = (
        _DISCOUNT
        * _BETA_K
        * inv
        * math.exp(_BETA_0 * inv)
        * profit_constant
        * math.exp(0.5 * inv * var_second)
    )
    c = scale * (_DISCOUNT * (1.0 - _DELTA)) ** (h - 1) * np.exp(0.5 * v_h)
    a = _RHO**h * inv
    g = -_BETA_L * _RHO_WAGE**h * inv
    return a, g, c


def _simulate_states(
    rngs: Mapping[str, np.random.Generator],
    n_firms: int,
    n_years: int,
    burn_in: int,
    sigma_w: float,
    timing: float,
    sigma_u: float,
) -> dict[str, np.ndarray]:
    """Run productivity, wages, investment and capital forward in time.

    Returns arrays of shape ``(n_firms, n_years)`` for the kept years:
    ``omega``, ``omega_b`` (productivity at ``t - b``), ``wage``, ``k`` and
    ``invest`` (investment in levels).
    """
    rho_first, rho_second = _RHO ** (1.0 - timing), _RHO**timing
    sd_first = math.sqrt((1.0 - rho_first**2) * _SIGMA_OMEGA**2)
    sd_second = math.sqrt((1.0 - rho_second**2) * _SIGMA_OMEGA**2)
    sd_wage = math.sqrt((1.0 - _RHO_WAGE**2) * sigma_w**2)
    a, g, c = _investment_weights(timing, sigma_w, sigma_u)
    inverse_cost = np.exp(_SIGMA_ADJUST * rngs["adjustment"].standard_normal(n_firms))

    initial = rngs["initial"].standard_normal((2, n_firms))
    omega = _SIGMA_OMEGA * initial[0]
    wage = sigma_w * initial[1]
    capital = np.zeros(n_firms)  # firms start with (almost) no capital, as in ACF
    kept = {name: np.empty((n_firms, n_years)) for name in ("omega", "omega_b", "wage", "k")}
    kept["invest"] = np.empty((n_firms, n_years))
    for period in range(burn_in + n_years):
        shocks = rngs["omega"].standard_normal((2, n_firms))
        omega_b = rho_first * omega + sd_first * shocks[0]
        omega = rho_second * omega_b + sd_second * shocks[1]
        wage = _RHO_WAGE * wage + sd_wage * rngs["wage"].standard_normal(n_firms)
        invest = inverse_cost * (np.exp(np.outer(omega, a) + np.outer(wage, g)) @ c)
        year = period - burn_in
        if year >= 0:
            kept["omega"][:, year] = omega
            kept["omega_b"][:, year] = omega_b
            kept["wage"][:, year] = wage
            kept["k"][:, year] = np.log(capital)
            kept["invest"][:, year] = invest
        capital = (1.0 - _DELTA) * capital + invest
    return kept


def _assemble(
    states: Mapping[str, np.ndarray],
    rngs: Mapping[str, np.random.Generator],
    timing: float,
    sigma_u: float,
    sigma_m: float,
) -> tuple[pd.DataFrame, float]:
    """Build labour, output and materials and return the long panel.

    Also returns the pooled within-firm SD of log materials before measurement
    error (ACF scale their measurement error by it).
    """
    omega, k = states["omega"], states["k"]
    n_firms, n_years = omega.shape
    var_second = (1.0 - _RHO ** (2.0 * timing)) * _SIGMA_OMEGA**2
    planned_l = (
        _BETA_0
        + math.log(_BETA_L)
        + 0.5 * var_second
        + _RHO**timing * states["omega_b"]
        - states["wage"]
        + _BETA_K * k
    ) / (1.0 - _BETA_L)
    labour = planned_l + sigma_u * rngs["optimisation"].standard_normal((n_firms, n_years))
    eps = _SIGMA_EPS * rngs["eps"].standard_normal((n_firms, n_years))
    output = _BETA_0 + _BETA_L * labour + _BETA_K * k + omega + eps
    materials = _BETA_0 + _BETA_L * planned_l + _BETA_K * k + omega
    within = materials - materials.mean(axis=1, keepdims=True)
    m_within_sd = float(np.sqrt(np.mean(within**2)))
    noise = rngs["measurement"].standard_normal((n_firms, n_years))
    materials = materials + sigma_m * noise
    data = pd.DataFrame(
        {
            "firm_id": np.repeat(np.arange(1, n_firms + 1), n_years),
            "year": np.tile(np.arange(1, n_years + 1), n_firms),
            "y": output.ravel(),
            "l": labour.ravel(),
            "k": k.ravel(),
            "m": materials.ravel(),
            "i": np.log(states["invest"]).ravel(),
            "omega": omega.ravel(),
            "eps": eps.ravel(),
        }
    )
    return data, m_within_sd
