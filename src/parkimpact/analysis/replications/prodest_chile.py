"""The Chilean plant panel of R ``prodest``: Olley-Pakes, Levinsohn-Petrin, ACF, Wooldridge.

Data: ``chilean_prodest.csv`` in the shared reference folder (2,544 rows, 497
plants, 1996-2006; ``Y`` log value added, ``fX1``/``fX2`` log skilled and
unskilled labour (free inputs), ``sX`` log capital (state), ``pX`` log
materials, ``inv`` log investment), SHA-256 :data:`SHA256`.

Estimators of :mod:`parkimpact.tfp` with the conventions of prodest 1.0.1
(their defaults): second-degree polynomial first stage, cubic law of motion,
lags only across consecutive years. The ACF criterion has two minima on this
panel; the multi-start search reports both, and the table compares the global
one and the one reached from the first-stage start. The Wooldridge one-step
IV uses ``convention="prodest"``, the stacked IV of ``prodestWRDG`` in 1.0.1
(see :mod:`parkimpact.tfp.wooldridge`).
"""

from __future__ import annotations

import math

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
from parkimpact.tfp import ACF, LevinsohnPetrin, OlleyPakes, Wooldridge

__all__ = ["TITLE", "SHA256", "PUBLISHED", "replicate"]

TITLE = "R prodest 1.0.1 on the Chilean plant panel: OP, LP, ACF and Wooldridge IV"
SHA256 = "d405334f65240334f8c7ab76a12f5411e62ece90da569d7c29c90fbe1211b23b"

# Sources -------------------------------------------------------------------
_CALL = "(Y, fX = cbind(fX1, fX2), sX, pX = {proxy}, idvar, timevar{extra})"
OP = (
    "R prodest 1.0.1 vignette (Rovigatti), as recorded in shared/reference-data/README.md: "
    f"prodestOP{_CALL.format(proxy='inv', extra='')}"
)
OP_EXIT = (
    "R prodest 1.0.1 (Rovigatti), as recorded in shared/reference-data/README.md: "
    f"prodestOP{_CALL.format(proxy='inv', extra=', exit = TRUE')}"
)
LP = (
    "R prodest 1.0.1 vignette (Rovigatti), as recorded in shared/reference-data/README.md: "
    f"prodestLP{_CALL.format(proxy='pX', extra='')}"
)
WRDG = (
    "R prodest 1.0.1 vignette (Rovigatti), as recorded in shared/reference-data/README.md: "
    f"prodestWRDG{_CALL.format(proxy='pX', extra='')}"
)
ACF_SOURCE = (
    "R prodest 1.0.1 (Rovigatti), as recorded in shared/reference-data/README.md: "
    f"prodestACF{_CALL.format(proxy='pX', extra='')}; the GMM criterion's global minimum "
    "(criterion about 0, just identified) and its local minimum (criterion about 6.5e-5)"
)

# Tolerances ----------------------------------------------------------------
ELASTICITY = Tolerance(
    1e-3,
    "GMM/NLS elasticities printed to 3 decimals: 1e-3 (rounding plus optimiser precision)",
)
IV = Tolerance(5e-4, "closed-form IV printed to 3 decimals: half a unit of the last digit")
ZERO_CRITERION = Tolerance(
    1e-10, "just identified: the criterion is zero at the solution up to optimiser precision"
)
LOCAL_CRITERION = Tolerance(
    5e-7, "printed as about 6.5e-5 (2 significant digits): half a unit of the last digit"
)

# Published numbers (skilled labour fX1, unskilled labour fX2, capital sX) ----
_OP = {"fX1": 0.314, "fX2": 0.256, "sX": 0.168}  # OP
_LP = {"fX1": 0.199, "fX2": 0.169, "sX": 0.117}  # LP
_ACF_GLOBAL = {"fX1": 0.646, "fX2": 0.644, "sX": 0.251}  # ACF_SOURCE
_ACF_LOCAL = {"fX1": 0.152, "fX2": 0.156, "sX": 0.143}  # ACF_SOURCE
_WRDG = {"fX1": 0.246, "fX2": 0.214, "sX": 0.145}  # WRDG
_TERMS = ("fX1", "fX2", "sX")


def _published() -> tuple[Published, ...]:
    rows = [Published(f"OP (investment): {t}", v, 3, ELASTICITY, OP) for t, v in _OP.items()]
    rows.append(Published("OP with exit correction: sX", 0.202, 3, ELASTICITY, OP_EXIT))
    rows += [Published(f"LP (materials): {t}", v, 3, ELASTICITY, LP) for t, v in _LP.items()]
    rows += [
        Published(f"ACF global minimum: {t}", v, 3, ELASTICITY, ACF_SOURCE)
        for t, v in _ACF_GLOBAL.items()
    ]
    rows.append(Published("ACF global minimum: criterion", 0.0, 0, ZERO_CRITERION, ACF_SOURCE))
    rows += [
        Published(f"ACF local minimum: {t}", v, 3, ELASTICITY, ACF_SOURCE)
        for t, v in _ACF_LOCAL.items()
    ]
    rows.append(Published("ACF local minimum: criterion", 6.5e-5, 6, LOCAL_CRITERION, ACF_SOURCE))
    rows += [Published(f"Wooldridge IV: {t}", v, 3, IV, WRDG) for t, v in _WRDG.items()]
    return tuple(rows)


PUBLISHED = _published()


def replicate(config: AnalysisConfig) -> CaseResult:
    """Estimate OP, OP with exit, LP, ACF and Wooldridge; compare every published number."""
    path = reference_file(config.root, "chilean_prodest.csv", SHA256)
    data = pd.read_csv(path)
    notes: list[str] = [
        f"Data: chilean_prodest.csv ({len(data)} rows, {data['idvar'].nunique()} plants, "
        f"{data['timevar'].min()}-{data['timevar'].max()}), SHA-256 {SHA256}.",
        "Specification: output Y, free inputs fX1 and fX2, state sX; proxy inv (OP) or pX "
        "(LP, ACF, Wooldridge); Wooldridge(convention='prodest'); defaults of parkimpact.tfp "
        "otherwise.",
        "ACF local minimum: the solution of the multi-start search reached from the "
        "first-stage start.",
    ]
    panel = FirmPanel(data, unit="idvar", time="timevar")
    inputs = {"output": "Y", "free": ("fX1", "fX2"), "state": "sX"}
    op = quietly(lambda: OlleyPakes(**inputs, proxy="inv").fit(panel), notes)
    op_exit = quietly(
        lambda: OlleyPakes(**inputs, proxy="inv", exit_correction=True).fit(panel), notes
    )
    lp = quietly(lambda: LevinsohnPetrin(**inputs, proxy="pX").fit(panel), notes)
    acf = quietly(lambda: ACF(**inputs, proxy="pX").fit(panel), notes)
    wrdg = quietly(lambda: Wooldridge(**inputs, proxy="pX", convention="prodest").fit(panel), notes)
    computed: dict[str, float] = {"OP with exit correction: sX": float(op_exit.params["sX"])}
    for term in _TERMS:
        computed[f"OP (investment): {term}"] = float(op.params[term])
        computed[f"LP (materials): {term}"] = float(lp.params[term])
        computed[f"ACF global minimum: {term}"] = float(acf.params[term])
        computed[f"Wooldridge IV: {term}"] = float(wrdg.params[term])
    computed["ACF global minimum: criterion"] = float(acf.criterion)
    local = [s for s in acf.optimizer.solutions if "first stage" in s.labels]
    point = local[0].params if local else (math.nan,) * len(acf.params)
    for term, value in zip(acf.params.index, point, strict=True):
        computed[f"ACF local minimum: {term}"] = float(value)
    computed["ACF local minimum: criterion"] = float(local[0].criterion) if local else math.nan
    if not local:
        notes.append("ACF: no solution was reached from the first-stage start.")
    frame = compare(PUBLISHED, computed)
    return CaseResult(frame, PUBLISHED, {"chilean_prodest.csv": path}, tuple(notes))
