"""Production-function and whole-study cases (parkimpact only, absolute wall-time goals).

``acf``, ``acf_100k``
    ACF (2015) on the DGP1 design (:func:`parkimpact.datasets.simulate_acf`,
    materials proxy, 10 years per firm): the point estimate (multi-start search)
    plus ``boot`` firm-cluster bootstrap replications on ``jobs`` workers, on 1M
    rows (goal: under 2 minutes wall) and on 100k rows (goal: at most 17 CPU
    seconds, issue 4).
``flagship``
    The flagship Hsinchu-style :class:`~parkimpact.ImpactStudy`
    (``analyses/hsinchu_style.toml``): the panel is built from the raw example
    sources in ``data/example`` by the analysis's panel stage and given the
    study columns (not timed); the study -- TFP by industry, CS-DR on five
    outcomes, event studies, subgroups and the whole-pipeline bootstrap with
    ``bootstrap`` replications on ``n_jobs`` workers -- is timed.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

from harness import ROOT, Case, Goal, Params, Side, register

SEED = 20240611
FLAGSHIP_CONFIG = ROOT / "analyses" / "hsinchu_style.toml"


# ----------------------------------------------------------------------------- ACF
def acf_panel(params: Params) -> Any:
    """The ACF DGP1 panel with ``rows`` firm-years (10 years per firm), as a FirmPanel."""
    from parkimpact import FirmPanel
    from parkimpact.datasets import simulate_acf

    sim = simulate_acf(1, n_firms=int(params["rows"]) // 10, n_years=10, seed=SEED)
    return FirmPanel(sim.data, unit="firm_id", time="year")


def _acf(panel: Any, params: Params) -> Callable[[], Any]:
    from parkimpact.tfp import ACF

    boot = int(params.get("boot", 0))
    estimator = ACF(
        output="y",
        free="l",
        state="k",
        proxy="m",
        n_boot=boot,
        seed=SEED,
        n_jobs=int(params.get("jobs", 1)),
    )
    return lambda: estimator.fit(panel)


def _tidy_estimates(result: Any) -> dict[str, float]:
    frame = result.tidy()
    return {str(t): float(v) for t, v in zip(frame["term"], frame["estimate"], strict=True)}


def _acf_describe(params: Params, rows: int) -> str:
    boot, jobs = int(params.get("boot", 0)), int(params.get("jobs", 1))
    text = f"{rows:,} rows ({rows // 10:,} firms x 10)"
    if boot:
        text += f", {boot} bootstrap reps, {jobs} job{'s' if jobs > 1 else ''}"
    return text


register(
    Case(
        name="acf",
        title="ACF + firm bootstrap",
        simulate=acf_panel,
        sides=(Side("parkimpact", "parkimpact", _acf, _tidy_estimates),),
        sizes={
            "quick": {"rows": 20_000, "boot": 4, "jobs": 2},
            "full": {"rows": 1_000_000, "boot": 50, "jobs": 2},
        },
        describe=_acf_describe,
        rows=lambda panel: len(panel.data),
        goal=Goal("< 120 s wall", 120.0, metric="wall", strict=True),
        max_repeats=2,
        profile={"jobs": 1, "boot": 4},
        parallel=True,
        note="Point estimate (multi-start) and the bootstrap; no peer (absolute goal).",
    )
)


register(
    Case(
        name="acf_100k",
        title="ACF + firm bootstrap, 100k rows",
        simulate=acf_panel,
        sides=(Side("parkimpact", "parkimpact", _acf, _tidy_estimates),),
        sizes={
            "quick": {"rows": 20_000, "boot": 4, "jobs": 2},
            "full": {"rows": 100_000, "boot": 50, "jobs": 2},
        },
        describe=_acf_describe,
        rows=lambda panel: len(panel.data),
        goal=Goal("<= 17 CPU s", 17.0, metric="cpu"),
        max_repeats=2,
        profile={"jobs": 1, "boot": 4},
        parallel=True,
        note="Issue 4: at most 0.1x the 172 CPU s of R prodest on this design; no peer run "
        "here (absolute goal).",
    )
)


# ------------------------------------------------------------------------ flagship
def flagship_panel(params: Params) -> Any:
    """The flagship's panel with its study columns, and the flagship settings."""
    from parkimpact.analysis.config import load_config
    from parkimpact.analysis.flagship_config import read_settings
    from parkimpact.analysis.flagship_data import add_study_columns
    from parkimpact.analysis.panel_stage import panel_from_config

    config = load_config(FLAGSHIP_CONFIG)
    panel, _ = panel_from_config(config)
    settings = read_settings(config)
    panel, _ = add_study_columns(panel, settings.traits)
    return FlagshipData(panel, settings)


@dataclasses.dataclass(frozen=True)
class FlagshipData:
    panel: Any
    settings: Any

    @property
    def data(self) -> Any:
        return self.panel.data


def _flagship(data: FlagshipData, params: Params) -> Callable[[], Any]:
    from parkimpact.errors import ParkImpactWarning

    study_settings = {
        **data.settings.study,
        "bootstrap": int(params["bootstrap"]),
        "n_jobs": int(params["n_jobs"]),
    }
    settings = dataclasses.replace(data.settings, study=study_settings)
    study = settings.build_study(list(data.panel.data.columns))

    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ParkImpactWarning)
            return study.fit(data.panel)

    return run


def _flagship_estimates(result: Any) -> dict[str, float]:
    frame = result.headline()
    return {
        f"{o}:{e}": float(v)
        for o, e, v in zip(frame["outcome"], frame["estimand"], frame["estimate"], strict=True)
    }


def _flagship_describe(params: Params, rows: int) -> str:
    return f"{rows:,} firm-years (data/example), {int(params['bootstrap'])} reps, " + (
        f"{int(params['n_jobs'])} jobs"
    )


register(
    Case(
        name="flagship",
        title="Flagship ImpactStudy, whole-pipeline bootstrap",
        simulate=flagship_panel,
        sides=(Side("parkimpact", "parkimpact", _flagship, _flagship_estimates),),
        sizes={
            "quick": {"bootstrap": 2, "n_jobs": 2},
            "full": {"bootstrap": 199, "n_jobs": 2},
        },
        describe=_flagship_describe,
        rows=lambda data: len(data.panel.data),
        goal=Goal("< 120 s wall", 120.0, metric="wall", strict=True),
        max_repeats=1,
        profile={"bootstrap": 4, "n_jobs": 1},
        parallel=True,
        note="analyses/hsinchu_style.toml with bootstrap and n_jobs set; panel building "
        "not timed. No peer (absolute goal).",
    )
)
