"""Parameters of the simulated Taiwan-like park economy and validation of the settings.

Every structural number used by :func:`parkimpact.datasets.simulate_parks` lives
here, so that the docstring of the simulator, the ``truth`` tables and the code
read from one place. Arrays indexed by industry follow the order of
:data:`INDUSTRIES`; arrays indexed by park follow :data:`PARKS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from types import MappingProxyType
from typing import Any, Final

import numpy as np

__all__ = [
    "INDUSTRIES",
    "INDUSTRY_NAMES",
    "PARKS",
    "PARK_OPENING",
    "SIZE_CLASSES",
    "OUTCOMES",
    "PATENT_TRUTH",
    "ParkSettings",
    "validate_settings",
]

# --------------------------------------------------------------------- industries
INDUSTRIES: Final[tuple[str, ...]] = ("IC", "PC", "OPTO", "TEL", "PREC", "BIO")
INDUSTRY_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "IC": "integrated circuits",
        "PC": "computers and peripherals",
        "OPTO": "optoelectronics",
        "TEL": "telecommunications",
        "PREC": "precision machinery",
        "BIO": "biotechnology",
    }
)


def _by_industry(*values: float) -> np.ndarray:
    array = np.array(values, dtype="float64")
    array.setflags(write=False)
    return array


#: Share of firms in each industry.
IND_SHARE = _by_industry(0.20, 0.22, 0.16, 0.14, 0.18, 0.10)
#: Shift of the mean log employment target (added to ``LABOUR_BASE``).
IND_LABOUR = _by_industry(0.6, 0.3, 0.3, 0.0, -0.2, -0.6)
#: Log TFP level of the industry path in 2007.
IND_TFP_LEVEL = _by_industry(0.10, 0.0, 0.05, 0.05, -0.05, 0.0)
#: Yearly growth of the industry's log TFP path.
IND_TFP_TREND = _by_industry(0.035, 0.000, 0.030, 0.010, -0.010, 0.015)
#: Median R&D intensity (R&D / lagged sales) in 2007.
IND_RD_INTENSITY = _by_industry(0.060, 0.025, 0.045, 0.050, 0.015, 0.090)
#: Yearly growth of log R&D intensity.
IND_RD_TREND = _by_industry(0.010, 0.0, 0.010, 0.005, 0.0, 0.010)
#: Target capital per worker (2016 NT$ million).
IND_CAPITAL_PER_WORKER = _by_industry(4.0, 1.0, 3.0, 1.5, 1.2, 2.0)
#: Wage per worker in 2007 (2016 NT$ million a year).
IND_WAGE = _by_industry(0.9, 0.7, 0.75, 0.8, 0.6, 0.8)
#: PhD share of employment at zero R&D propensity.
IND_PHD_SHARE = _by_industry(0.020, 0.005, 0.015, 0.012, 0.004, 0.050)
#: Patent applications a year at a knowledge stock of ``exp(RD_CENTRE) - 1``.
IND_PATENT_RATE = _by_industry(1.5, 0.5, 1.0, 0.8, 0.3, 0.4)
#: Mean forward citations of a patent with a complete citation window.
IND_CITATIONS = _by_industry(4.0, 2.5, 3.5, 3.0, 1.5, 5.0)
#: Multiplier of the park effects by industry.
IND_EFFECT = _by_industry(1.2, 0.8, 1.2, 1.0, 0.8, 1.0)
#: Multiplier of the death hazard by industry.
IND_DEATH = _by_industry(1.0, 1.3, 1.0, 1.0, 1.1, 1.2)
#: Yearly growth of log output prices and of log input prices.
IND_OUTPUT_PRICE_TREND = _by_industry(-0.030, -0.040, -0.030, -0.015, 0.005, 0.010)
IND_INPUT_PRICE_TREND = _by_industry(0.005, 0.0, 0.005, 0.010, 0.015, 0.015)

# --------------------------------------------------------------------------- parks
PARKS: Final[tuple[str, ...]] = ("Hsinchu", "Southern", "Central")
PARK_OPENING: Final[tuple[int, ...]] = (1980, 1997, 2003)
#: Multiplier of the park effects by park.
PARK_EFFECT = np.array([1.0, 0.8, 0.8])
#: Attraction of each park for each industry (rows: industries, columns: parks);
#: the entry hazard is proportional to the sum over open parks and the park is
#: drawn with probabilities proportional to the row among open parks.
PARK_ATTRACTION = np.array(
    [
        [3.0, 1.5, 1.0],  # IC
        [2.5, 0.5, 1.0],  # PC
        [1.5, 2.0, 2.0],  # OPTO
        [2.5, 1.0, 0.5],  # TEL
        [0.5, 1.0, 2.5],  # PREC
        [1.0, 2.0, 1.0],  # BIO
    ]
)
for _array in (PARK_EFFECT, PARK_ATTRACTION):
    _array.setflags(write=False)

# ------------------------------------------------------------- firm classification
SIZE_CLASSES: Final[tuple[str, ...]] = ("small", "medium", "large")
#: Employment cut-offs of the size classes in the first observed year.
SIZE_CUTOFFS: Final[tuple[float, float]] = (50.0, 200.0)
SIZE_EFFECT = np.array([1.5, 1.0, 0.6])
SIZE_ENTRY = np.array([0.8, 1.2, 1.6])
SIZE_DEATH = np.array([1.6, 1.0, 0.5])
#: A firm is R&D-intensive ("high") when real R&D / real output >= this in its first year.
RD_TYPE_CUTOFF: Final = 0.04
RD_TYPE_ENTRY: Final = 2.5
#: A firm is "young" when its age in its first observed year is below this.
YOUNG_AGE: Final = 5
YOUNG_ENTRY: Final = 2.0
YOUNG_DEATH: Final = 1.3

# ------------------------------------------------------------------- production
TIME_CENTRE: Final = 2007
B0: Final = 1.0
BETA_L: Final = 0.25
BETA_K: Final = 0.10
BETA_M: Final = 0.60
RHO: Final = 0.8
SIGMA_XI: Final = 0.10
SIGMA_EPS: Final = 0.10
EPS_BOUND: Final = 0.30
RD_ELASTICITY: Final = 0.04
RD_PARK_BONUS: Final = 0.02
#: Centre of log(1 + R&D capital) in the patent equation.
RD_CENTRE: Final = 4.0
# labour
LABOUR_BASE: Final = 3.6
LABOUR_SD: Final = 1.0
LABOUR_ADJUST: Final = 0.4
LABOUR_TFP: Final = 1.0
LABOUR_TREND: Final = 0.01
LABOUR_ERROR: Final = 0.08
LABOUR_START_SD: Final = 0.3
NEW_FIRM_GAP: Final = 1.0
# capital
DEPRECIATION: Final = 0.08
INVEST_BASE: Final = 0.10
INVEST_GAP: Final = 0.8
INVEST_TFP: Final = 0.8
INVEST_NOISE: Final = 0.25
INVEST_BOUNDS: Final = (0.01, 1.0)
CAPITAL_START_SD: Final = 0.3
NEW_FIRM_CAPITAL: Final = 0.5
PLANNED_SALES_PER_WORKER: Final = 5.0
# R&D
RD_PROPENSITY_SD: Final = 0.6
RD_PROPENSITY_TREND: Final = 0.02
RD_AR: Final = 0.6
RD_NOISE: Final = 0.2
RD_THRESHOLD: Final = -1.0
RD_DEPRECIATION: Final = 0.15
RD_GROWTH: Final = 0.05
# wages and PhDs
WAGE_TREND: Final = 0.015
WAGE_FIRM_SD: Final = 0.15
WAGE_TFP: Final = 0.3
WAGE_NOISE: Final = 0.05
PHD_PREMIUM: Final = 1.0
PHD_FIRM_SD: Final = 0.3
PHD_RD: Final = 0.6
# patents
PATENT_RD: Final = 0.5
PATENT_SHAPE: Final = 1.0
PATENT_CAP: Final = 60.0
CITE_SHAPE: Final = 0.8
CITE_LAG: Final = 4.0
CLAIMS_MEAN: Final = 11.0
CLAIMS_SHAPE: Final = 2.0

# ---------------------------------------------------------------- park effects
EFFECT_PERSISTENCE: Final = 0.7
TFP_SHIFT: Final = 0.007
RD_SHIFT: Final = 0.08
PHD_SHIFT: Final = 0.10
PATENT_SHIFT: Final = 0.06
CITATION_SHIFT: Final = 0.25

# ------------------------------------------------------------- firm demography
PRESAMPLE_SHARE: Final = 0.72
PRESAMPLE_AGE_MEAN: Final = 10.0
MAX_AGE: Final = 50
FOUNDER_FEMALE: Final = 0.12
FOUNDER_AGE: Final = (38.0, 7.0, 22, 65)
DEATH_BASE: Final = 0.010
DEATH_YEARS: Final[Mapping[int, float]] = MappingProxyType({2001: 2.0, 2008: 1.5, 2009: 1.8})
ENTRY_BASE: Final = 0.0023
ENTRY_PRESAMPLE: Final = 0.3
EXIT_SHARE: Final = 0.08
MOVE_SHARE: Final = 0.05
RETURN_SHARE: Final = 0.25
SPELL_YEARS: Final = (2, 9)
RETURN_GAP: Final = (2, 6)
#: Horizons (years after entry) of the survival truth table.
SURVIVAL_HORIZONS: Final[tuple[int, ...]] = tuple(range(1, 11))

# ------------------------------------------------------------------- park costs
#: Yearly running cost of each open park (2016 NT$ million) before tenant services.
PARK_BASE_COST = np.array([600.0, 300.0, 300.0])
#: Yearly cost of services per tenant firm (2016 NT$ million).
COST_PER_TENANT: Final = 3.0
COST_CURRENCY: Final = "TWD"
PARK_BASE_COST.setflags(write=False)

# ---------------------------------------------------------------------- prices
PRICE_BASE_YEAR: Final = 2016
CONSUMER_PRICE_TREND: Final = 0.012
CAPITAL_PRICE_TREND: Final = 0.003
PRICE_NOISE: Final = 0.01

#: Outcomes of the truth tables, in order.
OUTCOMES: Final[tuple[str, ...]] = (
    "tfp",
    "log_output",
    "log_value_added",
    "employment",
    "log_rd",
    "phd",
    "patents",
    "citations",
    "patents_cw",
    "claims",
    "wage",
)
#: Outcomes drawn by the patent module, in the order of :data:`OUTCOMES`.
PATENT_TRUTH: Final[tuple[str, ...]] = ("patents", "citations", "patents_cw", "claims")


@dataclass(frozen=True)
class ParkSettings:
    """Validated arguments of :func:`~parkimpact.datasets.simulate_parks`."""

    n_firms: int
    first_year: int
    last_year: int
    seed: int
    missing: float
    format_errors: float
    duplicates: float
    reporting_noise: float
    effect_scale: float
    entry_rate: float
    burn_in: int
    hazard_ratio: float = 1.0

    @property
    def closure_hazard_ratio(self) -> float:
        """Effective hazard ratio of closure after park entry: ``hazard_ratio ** effect_scale``."""
        return float(self.hazard_ratio**self.effect_scale)

    @property
    def start_year(self) -> int:
        """First simulated year (burn-in included)."""
        return self.first_year - self.burn_in

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict."""
        return asdict(self)


def _integer(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r}.")
    if not low <= int(value) <= high:
        raise ValueError(
            f"{name} must be an integer in [{low}, {high}]; got {value!r}. Choose a value in range."
        )
    return int(value)


def _real(name: str, value: object, low: float, high: float, *, open_high: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}.")
    number = float(value)
    inside = low <= number < high if open_high else low <= number <= high
    if not math.isfinite(number) or not inside:
        bracket = ")" if open_high else "]"
        raise ValueError(
            f"{name} must be in [{low:g}, {high:g}{bracket}; got {value!r}. "
            "Choose a value in range."
        )
    return number


def _seed(seed: object) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be a non-negative integer or None; got {seed!r}.")
    if int(seed) < 0:
        raise ValueError(
            f"seed must be a non-negative integer or None; got {seed!r}. Use abs(seed)."
        )
    return int(seed)


def _hazard_ratio(value: object) -> float:
    ratio = _real("hazard_ratio", value, 0.0, 10.0, open_high=False)
    if ratio <= 0.0:
        raise ValueError(
            f"hazard_ratio must be in (0, 10]; got {value!r}. Use 1.0 for no park effect on "
            "closure."
        )
    return ratio


def validate_settings(**kwargs: Any) -> ParkSettings:
    """Check every argument of the simulator and return them as :class:`ParkSettings`.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range.
    """
    first = _integer("first_year", kwargs["first_year"], 1950, 2095)
    last = _integer("last_year", kwargs["last_year"], 1955, 2100)
    if last - first < 4:
        raise ValueError(
            f"last_year must be at least first_year + 4 (pre- and post-entry years are needed); "
            f"got first_year={first}, last_year={last}. Widen the window."
        )
    rates = {
        name: _real(name, kwargs[name], 0.0, 1.0, open_high=True)
        for name in ("missing", "format_errors", "duplicates", "reporting_noise")
    }
    return ParkSettings(
        n_firms=_integer("n_firms", kwargs["n_firms"], 50, 5_000_000),
        first_year=first,
        last_year=last,
        seed=_seed(kwargs["seed"]),
        effect_scale=_real("effect_scale", kwargs["effect_scale"], -5.0, 5.0, open_high=False),
        entry_rate=_real("entry_rate", kwargs["entry_rate"], 0.0, 20.0, open_high=False),
        burn_in=_integer("burn_in", kwargs["burn_in"], 0, 60),
        hazard_ratio=_hazard_ratio(kwargs.get("hazard_ratio", 1.0)),
        **rates,
    )
