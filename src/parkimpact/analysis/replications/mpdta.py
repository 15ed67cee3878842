"""Callaway and Sant'Anna (2021) on ``mpdta``: county teen employment and minimum wages.

Data: ``mpdta.csv`` in the shared reference folder (500 counties x 2003-2007;
``lemp`` log teen employment, ``first.treat`` year of the first minimum-wage
increase, 0 for never treated), SHA-256 :data:`SHA256`.

Estimator: :class:`parkimpact.did.CallawaySantAnna` with its defaults, which
are those of the published run: doubly robust 2x2s, never-treated controls,
varying base period, no anticipation, no covariates, analytic
influence-function standard errors.
"""

from __future__ import annotations

import pandas as pd

from parkimpact import FirmPanel
from parkimpact.analysis.config import AnalysisConfig
from parkimpact.analysis.replications._common import (
    CaseResult,
    Published,
    Tolerance,
    compare,
    quietly,
    reference_file,
)
from parkimpact.did import CallawaySantAnna

__all__ = ["TITLE", "SHA256", "PUBLISHED", "replicate"]

TITLE = "Callaway and Sant'Anna (2021): minimum wages and teen employment (mpdta)"
SHA256 = "7d8620758d79fdc732a51e26700619f851394e4d1373cad9a3de3b52a2dbc5c7"

# Sources -------------------------------------------------------------------
DID_MANUAL = (
    "R package did 2.x reference manual, examples of att_gt and aggte: att_gt(yname = 'lemp', "
    "gname = 'first.treat', idname = 'countyreal', tname = 'year', xformla = ~1, data = mpdta, "
    "est_method = 'dr', control_group = 'nevertreated'); aggte(out, type = 'simple' | "
    "'dynamic' | 'group' | 'calendar')"
)
DID_PRETEST = (
    "R package did 2.x reference manual, summary of the att_gt example above: p-value of the "
    "Wald pre-test that every pre-treatment ATT(g,t) is zero"
)
ANALYTIC_SE = (
    "Analytic influence-function SEs of the same att_gt run, as recorded in "
    "shared/reference-data/README.md (equal across independent implementations, e.g. "
    "diff-diff 3.13.0 CallawaySantAnna(estimation_method='dr'))"
)

# Tolerances ----------------------------------------------------------------
POINT = Tolerance(5e-5, "printed to 4 decimals: half a unit of the last printed digit")
SE = Tolerance(5e-5, "SEs printed to 4 decimals: half a unit of the last printed digit")
P_VALUE = Tolerance(5e-6, "p-value printed to 5 decimals: half a unit of the last printed digit")

# Published numbers -----------------------------------------------------------
# ATT(g,t) point estimates from DID_MANUAL, their SEs from ANALYTIC_SE.
_ATT_GT = {
    (2004, 2004): (-0.0105, 0.0233), (2004, 2005): (-0.0704, 0.0310),
    (2004, 2006): (-0.1373, 0.0364), (2004, 2007): (-0.1008, 0.0344),
    (2006, 2004): (0.0065, 0.0233), (2006, 2005): (-0.0028, 0.0196),
    (2006, 2006): (-0.0046, 0.0178), (2006, 2007): (-0.0412, 0.0202),
    (2007, 2004): (0.0305, 0.0150), (2007, 2005): (-0.0027, 0.0164),
    (2007, 2006): (-0.0311, 0.0179), (2007, 2007): (-0.0261, 0.0167),
}  # fmt: skip
# Aggregations (aggte), from DID_MANUAL.
_DYNAMIC = {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510, 2: -0.1373, 3: -0.1008}
_GROUP = {2004: -0.0797, 2006: -0.0229, 2007: -0.0261}
_CALENDAR = {2004: -0.0105, 2005: -0.0704, 2006: -0.0488, 2007: -0.0371}


def _published() -> tuple[Published, ...]:
    rows: list[Published] = []
    for (g, t), (att, se) in _ATT_GT.items():
        rows.append(Published(f"ATT(g={g}, t={t})", att, 4, POINT, DID_MANUAL))
        rows.append(Published(f"SE of ATT(g={g}, t={t})", se, 4, SE, ANALYTIC_SE))
    rows += [
        Published("simple ATT", -0.0400, 4, POINT, DID_MANUAL),
        Published("SE of simple ATT", 0.0120, 4, SE, ANALYTIC_SE),
        Published("event study, average of e >= 0", -0.0772, 4, POINT, DID_MANUAL),
        Published("SE of event study average", 0.0200, 4, SE, ANALYTIC_SE),
    ]
    rows += [Published(f"event study, e={e}", v, 4, POINT, DID_MANUAL) for e, v in _DYNAMIC.items()]
    rows.append(Published("group average", -0.0310, 4, POINT, DID_MANUAL))
    rows += [Published(f"group {g}", v, 4, POINT, DID_MANUAL) for g, v in _GROUP.items()]
    rows.append(Published("calendar average", -0.0417, 4, POINT, DID_MANUAL))
    rows += [Published(f"calendar {t}", v, 4, POINT, DID_MANUAL) for t, v in _CALENDAR.items()]
    rows.append(Published("pre-test p-value", 0.16812, 5, P_VALUE, DID_PRETEST))
    return tuple(rows)


PUBLISHED = _published()


def replicate(config: AnalysisConfig) -> CaseResult:
    """Fit CS-DR on mpdta and compare every published number."""
    path = reference_file(config.root, "mpdta.csv", SHA256)
    data = pd.read_csv(path)
    notes: list[str] = [
        f"Data: mpdta.csv ({len(data)} rows, {data['countyreal'].nunique()} counties, "
        f"{data['year'].min()}-{data['year'].max()}), SHA-256 {SHA256}.",
        "Specification: CallawaySantAnna('lemp') with defaults (doubly robust, never-treated "
        "controls, varying base period, analytic SEs).",
    ]
    panel = FirmPanel(
        data, unit="countyreal", time="year", entry="first.treat", never_treated_value=0
    )
    result = quietly(lambda: CallawaySantAnna("lemp").fit(panel), notes)
    computed: dict[str, float] = {}
    for g, t in _ATT_GT:
        computed[f"ATT(g={g}, t={t})"] = float(result.att[(g, t)])
        computed[f"SE of ATT(g={g}, t={t})"] = float(result.std_errors[(g, t)])
    simple = result.aggregate("simple")
    computed["simple ATT"] = simple.estimate
    computed["SE of simple ATT"] = simple.std_error
    dynamic = result.aggregate("dynamic")
    computed["event study, average of e >= 0"] = dynamic.estimate
    computed["SE of event study average"] = dynamic.std_error
    for e, value in dynamic.effects.set_index("event_time")["estimate"].items():
        computed[f"event study, e={e}"] = float(value)
    for kind, label in (("group", "group"), ("calendar", "calendar")):
        agg = result.aggregate(kind)  # type: ignore[arg-type]
        computed[f"{label} average"] = agg.estimate
        for key, value in agg.effects.set_index(agg.key)["estimate"].items():
            computed[f"{label} {key}"] = float(value)
    if result.pretest is None:
        raise ValueError("the mpdta fit must report a pre-test; got none.")
    computed["pre-test p-value"] = result.pretest.p_value
    frame = compare(PUBLISHED, computed)
    return CaseResult(frame, PUBLISHED, {"mpdta.csv": path}, tuple(notes))
