"""Contrast columns of the flagship: what simpler designs would have concluded.

For every outcome of the study:

- **naive** -- the difference in mean outcome between park firm-years and
  other firm-years (least squares on ``in_park`` and an intercept, SEs
  clustered by firm): selection into parks is not addressed at all;
- **TWFE** -- static two-way fixed effects (firm and year), the usual
  regression; biased under staggered entry with effects that grow over time;
- **PSM-DiD** -- propensity-score matching within entry cohort (exact on
  industry, on pre-entry traits, the base-year outcome and its pre-trend),
  then a stacked event study; its estimand is the average effect over event
  times 0 to the end of its window;
- **CS-DR, more covariates** -- the headline estimator with a richer set of
  pre-entry traits (a covariate-sensitivity check; conditional SEs). Cells
  whose propensity score separates treated firms on that set are left out of
  its aggregate (as in the headline); when no cell is left, the column is
  empty and the reason noted. Its fits share propensity scores across
  outcomes wherever the cells' firms coincide.

and the Yang, Motohashi and Chen (2009) test of whether tenants turn R&D
capital into output more efficiently (:class:`~parkimpact.tfp.RDParkElasticity`).
Every SE here is the estimator's own (conditional on TFP for the TFP outcome).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from parkimpact.analysis.flagship_config import FlagshipSettings
from parkimpact.analysis.flagship_data import trait_columns
from parkimpact.data import FirmPanel
from parkimpact.did import TwoWayFE
from parkimpact.did._cs_estimate import shared_nuisance_fits
from parkimpact.did.cs_results import thin_blas
from parkimpact.errors import ParkImpactError, ParkImpactWarning
from parkimpact.matching import PSMDiD
from parkimpact.tfp import RDParkElasticity, RDParkResult

__all__ = ["Contrasts", "fit_contrasts", "fit_rd_elasticity"]

_FAILURES = (ParkImpactError, ValueError, np.linalg.LinAlgError)
_PSM_TRAITS = ("log_employment0", "rd_intensity0", "age0")
_SENSITIVITY_TRAITS = ("industry", "size_class", "rd_intensive")


@dataclass(frozen=True, eq=False)
class Contrasts:
    """Estimates of the contrast designs, one row per outcome and design.

    Attributes
    ----------
    table : pandas.DataFrame
        ``outcome``, ``design``, ``estimate``, ``std_error``.
    psm_window : tuple of int
        Event window of PSM-DiD.
    sensitivity_covariates : tuple of str
        Traits of the covariate-sensitivity column.
    notes : tuple of str
        Designs that could not be estimated, and why.
    """

    table: pd.DataFrame
    psm_window: tuple[int, int]
    sensitivity_covariates: tuple[str, ...]
    notes: tuple[str, ...]


def _regression(
    panel: FirmPanel, outcome: str, fixed_effects: Sequence[str]
) -> tuple[float, float]:
    fit = TwoWayFE(outcome, fixed_effects=tuple(fixed_effects)).fit(panel)
    return float(fit.params["in_park"]), float(fit.std_errors["in_park"])


def _psm(
    panel: FirmPanel, outcome: str, covariates: list[str], settings: FlagshipSettings
) -> tuple[float, float]:
    window = tuple(int(v) for v in settings.contrasts.get("psm_window", (-4, 4)))
    estimator = PSMDiD(
        outcome,
        covariates=covariates,
        trend_years=int(settings.contrasts.get("psm_trend_years", 2)),
        window=window,  # type: ignore[arg-type]
    )
    fit = estimator.fit(panel.dropna([outcome, *covariates], step="psm_did"))
    return fit.att, fit.std_error


def _sensitivity(
    panel: FirmPanel, outcome: str, covariates: list[str], settings: FlagshipSettings
) -> tuple[float, float]:
    estimator = replace(settings.did_template(covariates), outcome=outcome)
    simple = estimator.fit(panel).aggregate("simple")
    return simple.estimate, simple.std_error


def fit_contrasts(
    panel: FirmPanel, outcomes: Sequence[str], settings: FlagshipSettings, *, trimmed: FirmPanel
) -> Contrasts:
    """Naive, TWFE, PSM-DiD and covariate-sensitivity estimates of every outcome.

    ``panel`` is the full panel (with TFP); ``trimmed`` the DiD estimation
    panel of the study (the sensitivity column uses it, like the headline).
    """
    columns = list(panel.data.columns)
    psm_covariates = trait_columns(settings.contrasts.get("psm_covariates", _PSM_TRAITS), columns)
    traits = tuple(settings.contrasts.get("sensitivity_covariates", _SENSITIVITY_TRAITS))
    rich = trait_columns(traits, columns)
    designs = {
        "naive": lambda o: _regression(panel.assign(_all=1.0), o, ("_all",)),
        "twfe": lambda o: _regression(panel, o, ("unit", "time")),
        "psm_did": lambda o: _psm(panel, o, psm_covariates, settings),
        "cs_dr_more_covariates": lambda o: _sensitivity(trimmed, o, rich, settings),
    }
    rows, notes = [], []
    with warnings.catch_warnings(), shared_nuisance_fits(), thin_blas():
        warnings.simplefilter("ignore", ParkImpactWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for outcome in outcomes:
            for design, fit in designs.items():
                try:
                    estimate, se = fit(outcome)
                except _FAILURES as error:
                    estimate, se = np.nan, np.nan
                    notes.append(f"{design} on {outcome} not estimated: {str(error)[:160]}")
                rows.append((outcome, design, estimate, se))
    window = tuple(int(v) for v in settings.contrasts.get("psm_window", (-4, 4)))
    return Contrasts(
        table=pd.DataFrame(rows, columns=["outcome", "design", "estimate", "std_error"]),
        psm_window=window,  # type: ignore[arg-type]
        sensitivity_covariates=traits,
        notes=tuple(notes),
    )


def fit_rd_elasticity(panel: FirmPanel, settings: FlagshipSettings) -> RDParkResult:
    """The Yang-Motohashi-Chen regression with firm and year effects."""
    s = settings.rd_elasticity
    estimator = RDParkElasticity(
        output=s.get("output", "log_output"),
        inputs=tuple(s.get("inputs", ("log_employment", "log_capital", "log_materials"))),
        rd_capital=s.get("rd_capital", "rd_capital"),
        rd_transform=s.get("rd_transform", "log1p"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParkImpactWarning)
        return estimator.fit(panel)
