"""Configuration sections of the flagship study and the estimators they describe.

A ``study`` analysis runs the flagship estimation when its configuration has a
``[study]`` section (without one it only builds and describes the panel).
Sections and keys (defaults in brackets; see ``analyses/hsinchu_style.toml``):

``[study]``
    ``outcomes`` (log_rd, phd, patents, patents_cw; TFP is added by the TFP
    stage), ``count_outcomes`` (phd, patents, patents_cw), ``by``
    (size_class, industry), ``event_window`` ([-5, 10]), ``pre_entry_years``
    (6), ``bootstrap`` (0), ``bootstrap_subgroups`` (false), ``n_jobs`` (1),
    ``backend`` ("loky").
``[tfp]``
    ``estimator`` ("ACF", any class of :mod:`parkimpact.tfp`) and its
    settings: ``output``, ``free``, ``state``, ``proxy``, ``kind``, ``by``,
    ``law_of_motion_controls``, ``functional_form``, ``first_stage_degree``,
    ``law_of_motion_degree``, ``n_grid``, ``n_polish``. ``estimator = "none"``
    skips the TFP stage.
``[did]``
    ``method`` ("dr"), ``control_group`` ("never_treated"), ``base_period``
    ("varying"), ``anticipation`` (0), ``covariates`` (firm traits, see
    :mod:`parkimpact.analysis.flagship_data`; ["industry"]),
    ``subgroup_method`` (the CS method within subgroups; "reg").
``[covariates]``
    ``size_cuts`` ([50, 200]), ``rd_intensity_cut`` (0.04), ``young_age`` (5).
``[contrasts]``
    ``psm_covariates`` (traits; log_employment0, rd_intensity0, age0),
    ``psm_window`` ([-4, 4]), ``psm_trend_years`` (2),
    ``sensitivity_covariates`` (traits of the covariate-sensitivity column).
``[rd_elasticity]``
    ``output`` ("log_output"), ``inputs`` (log_employment, log_capital,
    log_materials), ``rd_capital`` ("rd_capital"), ``rd_transform`` ("log1p").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parkimpact import tfp as tfp_module
from parkimpact.analysis.config import AnalysisConfig
from parkimpact.analysis.flagship_data import TraitSettings, trait_columns
from parkimpact.did import CallawaySantAnna
from parkimpact.study import ImpactStudy

__all__ = ["FLAGSHIP_SECTIONS", "FlagshipSettings", "has_flagship", "read_settings"]

FLAGSHIP_SECTIONS: Mapping[str, set[str]] = {
    "study": {
        "outcomes",
        "count_outcomes",
        "by",
        "event_window",
        "pre_entry_years",
        "bootstrap",
        "bootstrap_subgroups",
        "n_jobs",
        "backend",
    },
    "tfp": {
        "estimator",
        "output",
        "free",
        "state",
        "proxy",
        "kind",
        "by",
        "law_of_motion_controls",
        "functional_form",
        "first_stage_degree",
        "law_of_motion_degree",
        "n_grid",
        "n_polish",
    },
    "did": {
        "method",
        "control_group",
        "base_period",
        "anticipation",
        "covariates",
        "subgroup_method",
    },
    "covariates": {"size_cuts", "rd_intensity_cut", "young_age"},
    "contrasts": {"psm_covariates", "psm_window", "psm_trend_years", "sensitivity_covariates"},
    "rd_elasticity": {"output", "inputs", "rd_capital", "rd_transform"},
}
"""Sections (and their keys) the flagship adds to the ``study`` kind."""

_TFP_DEFAULTS: dict[str, Any] = {
    "output": "log_value_added",
    "free": ["log_employment"],
    "state": ["log_capital"],
    "proxy": "log_materials",
    "by": "industry",
    "law_of_motion_controls": ["in_park"],
}


def has_flagship(config: AnalysisConfig) -> bool:
    """Whether the configuration asks for the flagship estimation (a ``[study]`` section)."""
    return "study" in config.settings


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class FlagshipSettings:
    """The flagship's settings, read from the configuration with defaults filled in."""

    study: Mapping[str, Any]
    tfp: Mapping[str, Any] | None
    did: Mapping[str, Any]
    traits: TraitSettings
    contrasts: Mapping[str, Any]
    rd_elasticity: Mapping[str, Any]
    seed: int

    @property
    def value_added_tfp(self) -> bool:
        """Whether the TFP stage estimates a value-added production function."""
        return self.tfp is not None and self.tfp.get("kind", "value_added") == "value_added"

    def tfp_estimator(self) -> Any:
        """The production-function estimator of the TFP stage (None without one)."""
        if self.tfp is None:
            return None
        settings = dict(self.tfp)
        name = settings.pop("estimator", "ACF")
        cls = getattr(tfp_module, str(name), None)
        if cls is None or name not in tfp_module.__all__ or not hasattr(cls, "fit"):
            raise ValueError(
                f"[tfp] estimator must name an estimator of parkimpact.tfp (e.g. 'ACF'); got "
                f"{name!r}. Use 'ACF', 'OlleyPakes', 'LevinsohnPetrin', 'Wooldridge' or 'GNR'."
            )
        return cls(**{k: _tuple(v) for k, v in settings.items()})

    def did_template(self, covariates: Sequence[str] | None, method: str | None = None) -> Any:
        """A Callaway-Sant'Anna template with the ``[did]`` settings."""
        return CallawaySantAnna(
            "outcome",
            covariates=None if not covariates else list(covariates),
            method=method or self.did.get("method", "dr"),
            control_group=self.did.get("control_group", "never_treated"),
            base_period=self.did.get("base_period", "varying"),
            anticipation=int(self.did.get("anticipation", 0)),
        )

    def build_study(self, panel_columns: Sequence[str]) -> ImpactStudy:
        """The :class:`~parkimpact.ImpactStudy` of the flagship on a panel with these columns."""
        s = self.study
        covariates = trait_columns(self.did.get("covariates", ["industry"]), panel_columns)
        return ImpactStudy(
            outcomes=tuple(s.get("outcomes", ("log_rd", "phd", "patents", "patents_cw"))),
            tfp=self.tfp_estimator(),
            did=self.did_template(covariates),
            covariates=tuple(covariates),
            by=tuple(s.get("by", ("size_class", "industry"))),
            by_did=self.did_template(covariates, self.did.get("subgroup_method", "reg")),
            count_outcomes=tuple(s.get("count_outcomes", ("phd", "patents", "patents_cw"))),
            event_window=tuple(s.get("event_window", (-5, 10))),  # type: ignore[arg-type]
            pre_entry_years=s.get("pre_entry_years", 6),
            bootstrap=int(s.get("bootstrap", 0)),
            bootstrap_subgroups=bool(s.get("bootstrap_subgroups", False)),
            seed=self.seed,
            n_jobs=int(s.get("n_jobs", 1)),
            backend=s.get("backend", "loky"),
        )


def read_settings(config: AnalysisConfig) -> FlagshipSettings:
    """The flagship settings of ``config`` (defaults for absent sections and keys)."""
    tfp = dict(config.section("tfp"))
    use_tfp = str(tfp.get("estimator", "ACF")).lower() != "none"
    traits = config.section("covariates")
    cuts = traits.get("size_cuts", (50, 200))
    if len(cuts) != 2 or not float(cuts[0]) < float(cuts[1]):
        raise ValueError(
            f"[covariates] size_cuts must be two increasing employment cut-offs; got {cuts!r}. "
            "Use e.g. size_cuts = [50, 200]."
        )
    return FlagshipSettings(
        study=dict(config.section("study")),
        tfp={**_TFP_DEFAULTS, **tfp} if use_tfp else None,
        did=dict(config.section("did")),
        traits=TraitSettings(
            size_cuts=(float(cuts[0]), float(cuts[1])),
            rd_intensity_cut=float(traits.get("rd_intensity_cut", 0.04)),
            young_age=float(traits.get("young_age", 5)),
        ),
        contrasts=dict(config.section("contrasts")),
        rd_elasticity=dict(config.section("rd_elasticity")),
        seed=config.seed,
    )
