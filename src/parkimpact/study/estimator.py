r"""`ImpactStudy`: TFP, then DiD per outcome, then heterogeneity, with whole-pipeline inference.

A study composes the estimators of parkimpact through one
:class:`~parkimpact.FirmPanel`:

1. **TFP** -- a production-function estimator (e.g. :class:`~parkimpact.tfp.ACF`
   by industry with park entry in the law of motion) is fitted;
2. **TFP as an outcome** -- its productivity is added to the panel
   (:meth:`~parkimpact.tfp.ProductionFunctionResult.augment`);
3. **DiD per outcome** -- :class:`~parkimpact.did.CallawaySantAnna` (doubly
   robust by default, never-treated comparison firms) or
   :class:`~parkimpact.matching.PSMDiD` on every outcome;
4. **heterogeneity** -- the same DiD within subgroups (``by``).

Two standard errors are reported for every number:

``conditional``
    the DiD estimator's analytic SE. It includes the estimation of the
    propensity score and outcome regression inside the DiD (for CS-DR), but
    takes the TFP column as data: it is *conditional on the first stage*.
``whole_pipeline``
    the firm-cluster (pairs) bootstrap of the whole study: each replication
    draws firms with replacement (a firm drawn twice counts as two firms),
    re-fits the production function (warm-started at the point estimate, see
    :mod:`parkimpact.study._tfp`), recomputes TFP, re-runs every DiD with its
    propensity scores (point estimates only: a replication's own analytic SEs
    would be discarded), and re-aggregates. Replication :math:`b` uses the
    :math:`b`-th child of the seed's :class:`~numpy.random.SeedSequence`, so
    the draws are identical for any ``n_jobs`` and backend.

Group-time cells that the covariates do not identify -- a propensity score
that separates a cell's treated firms from every comparison firm, typical of
small cohorts and of resamples that draw few of their firms -- are left out of
that fit's aggregations rather than failing it. The point fits list them
(``cells_not_identified`` of each fit, and the notes); the bootstrap records
how many cells each resample lost per outcome
(:attr:`StudyResult.bootstrap_not_identified`, summarised in the notes), and
a number that cannot be computed on a resample at all is counted in
``n_failed`` and named in the notes, never dropped silently.

Within one fit of the study the Callaway-Sant'Anna fits of the outcomes (and
subgroups) share every propensity-score and outcome-regression fit whose
firms, covariates and weights coincide, which leaves every number unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Literal

from parkimpact.data.panel import FirmPanel
from parkimpact.did import CallawaySantAnna
from parkimpact.did.cs_results import thin_blas
from parkimpact.inference import ResampleResult, cluster_bootstrap
from parkimpact.matching import PSMDiD
from parkimpact.study._effects import row_ids
from parkimpact.study._pipeline import (
    PipelineStatistic,
    Plan,
    estimates_only,
    run_effects,
    split_diagnostics,
    trim_pre_entry,
)
from parkimpact.study._tfp import check_tfp, warm_tfp
from parkimpact.study.result import StudyResult, assemble

__all__ = ["ImpactStudy"]

Backend = Literal["loky", "threading", "sequential", "dask"]
_BACKENDS = ("loky", "threading", "sequential", "dask")


def _names(value: object, name: str, *, allow_empty: bool) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not all(isinstance(v, str) and v for v in items):
        raise TypeError(
            f"{name} must be a sequence of column names; got {value!r}. "
            f"Pass e.g. {name}=('log_rd', 'phd')."
        )
    if not items and not allow_empty:
        raise ValueError(f"{name} must name at least one column; got none. Name the outcomes.")
    if len(set(items)) != len(items):
        raise ValueError(f"{name} must not repeat a column; got {list(items)}. List each once.")
    return tuple(items)


def _integer(value: object, name: str, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}; got {value!r}. {hint}.")
    return int(value)


@dataclass(frozen=True, kw_only=True)
class ImpactStudy:
    r"""A park-impact study: TFP, DiD per outcome and subgroups, whole-pipeline bootstrap.

    See :mod:`parkimpact.study.estimator` for the stages and the two kinds of
    standard error.

    Parameters
    ----------
    outcomes : sequence of str
        Outcome columns of the panel. With a TFP stage its column
        (``tfp_column``) is added in front when not listed.
    tfp : production-function estimator or None, default None
        Any estimator of :mod:`parkimpact.tfp`, e.g.
        ``ACF(output="log_value_added", free="log_employment",
        state="log_capital", proxy="log_materials", by="industry",
        law_of_motion_controls=("in_park",))``. None skips the TFP stage.
    tfp_column : str, default "tfp"
        Name of the productivity column added to the panel.
    did : CallawaySantAnna, PSMDiD or None, default None
        Template of the DiD stage; its ``outcome`` is replaced by each
        outcome. None means ``CallawaySantAnna(method="dr",
        control_group="never_treated")``.
    covariates : sequence of str or None, default None
        Firm covariates replacing the template's (pre-entry traits such as
        industry dummies); None keeps the template's.
    by : sequence of str, default ()
        Firm-level subgroup columns (size class, industry ...). Covariates
        constant within a subgroup are left out of its fits (noted).
    by_did : CallawaySantAnna, PSMDiD or None, default None
        Template of the subgroup fits (None: ``did``). Small subgroup
        cohorts can make a propensity score separate treated firms;
        ``method="reg"`` avoids the propensity score there.
    count_outcomes : sequence of str, default ()
        Count outcomes (patents, PhDs) that also get the proportional effect
        :math:`ATT / E[Y(0) \mid treated]` (CS only; see
        :mod:`parkimpact.study._effects`).
    event_window : (int, int), default (-5, 10)
        Event times of the dynamic (event-study) aggregation.
    pre_entry_years : int or None, default None
        Keep at most this many years before entry for tenants in the DiD
        stage (the rows dropped are reported). Pre-entry ATT(g, t) further
        back are then not estimated, which saves time and avoids cells with
        a handful of old tenants; post-entry cells are unchanged.
    bootstrap : int, default 0
        Whole-pipeline firm-cluster bootstrap replications (0: none, else
        at least 2).
    bootstrap_subgroups : bool, default False
        Re-run the subgroup fits in every replication too (otherwise
        subgroup effects carry conditional SEs only).
    seed : int or None, default None
        Seed of the bootstrap (fresh entropy, recorded, if None).
    n_jobs : int, default 1
        Bootstrap workers (-1: all cores); results do not depend on it.
    backend : {"loky", "threading", "sequential", "dask"}, default "loky"
        joblib backend of the bootstrap.
    level : float, default 0.95
        Confidence level of the intervals.

    Examples
    --------
    >>> from parkimpact import ImpactStudy
    >>> study = ImpactStudy(outcomes=["phd", "patents"], count_outcomes=["patents"])
    >>> study.bootstrap
    0
    """

    outcomes: Sequence[str]
    tfp: Any = None
    tfp_column: str = "tfp"
    did: CallawaySantAnna | PSMDiD | None = None
    covariates: Sequence[str] | None = None
    by: Sequence[str] = ()
    by_did: CallawaySantAnna | PSMDiD | None = None
    count_outcomes: Sequence[str] = ()
    event_window: tuple[int, int] = (-5, 10)
    pre_entry_years: int | None = None
    bootstrap: int = 0
    bootstrap_subgroups: bool = False
    seed: int | None = None
    n_jobs: int = 1
    backend: Backend = "loky"
    level: float = 0.95

    def __post_init__(self) -> None:
        outcomes = self.all_outcomes
        for name in ("did", "by_did"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, CallawaySantAnna | PSMDiD):
                raise TypeError(
                    f"{name} must be a CallawaySantAnna, a PSMDiD or None; got "
                    f"{type(value).__name__}. Pass e.g. {name}=CallawaySantAnna('y', method='dr')."
                )
        if self.covariates is not None:
            _names(self.covariates, "covariates", allow_empty=True)
        _names(self.by, "by", allow_empty=True)
        counts = _names(self.count_outcomes, "count_outcomes", allow_empty=True)
        unknown = sorted(set(counts) - set(outcomes))
        if unknown:
            raise ValueError(
                f"count_outcomes must be among the outcomes {list(outcomes)}; got {unknown}. "
                "Add them to outcomes."
            )
        self._check_numbers()

    def _check_numbers(self) -> None:
        window = self.event_window
        if not (
            isinstance(window, Sequence)
            and len(window) == 2
            and all(isinstance(v, Integral) and not isinstance(v, bool) for v in window)
            and window[0] < window[1]
        ):
            raise ValueError(
                f"event_window must be two integers (first, last) with first < last; got "
                f"{window!r}. Use e.g. event_window=(-5, 10)."
            )
        if self.pre_entry_years is not None:
            _integer(self.pre_entry_years, "pre_entry_years", 1, "Use e.g. 6, or None for all")
        boot = _integer(self.bootstrap, "bootstrap", 0, "Use 0 (none) or e.g. 199")
        if boot == 1:
            raise ValueError("bootstrap must be 0 or at least 2; got 1. Use e.g. bootstrap=199.")
        if (
            isinstance(self.n_jobs, bool)
            or not isinstance(self.n_jobs, Integral)
            or not self.n_jobs
        ):
            raise ValueError(
                f"n_jobs must be a non-zero integer; got {self.n_jobs!r}. Use 1 or -1."
            )
        if self.backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {_BACKENDS}; got {self.backend!r}.")
        if self.seed is not None:
            _integer(self.seed, "seed", 0, "Use a non-negative integer or None")
        if isinstance(self.level, bool) or not 0.0 < float(self.level) < 1.0:
            raise ValueError(f"level must be strictly between 0 and 1; got {self.level!r}.")

    @property
    def all_outcomes(self) -> tuple[str, ...]:
        """The outcomes of the DiD stage (the TFP column first when there is a TFP stage)."""
        outcomes = _names(self.outcomes, "outcomes", allow_empty=self.tfp is not None)
        if self.tfp is None:
            return outcomes
        check_tfp(self.tfp)
        return outcomes if self.tfp_column in outcomes else (self.tfp_column, *outcomes)

    # ------------------------------------------------------------------ fitting
    def plan(self) -> Plan:
        """The resolved DiD settings (templates, outcomes, covariates)."""
        did = self.did or CallawaySantAnna(
            self.all_outcomes[0], method="dr", control_group="never_treated", level=self.level
        )
        return Plan(
            outcomes=self.all_outcomes,
            did=did,
            by_did=self.by_did or did,
            covariates=None if self.covariates is None else tuple(self.covariates),
            by=tuple(self.by),
            count_outcomes=frozenset(self.count_outcomes),
            window=(int(self.event_window[0]), int(self.event_window[1])),
            pre_entry_years=self.pre_entry_years,
        )

    def fit(self, panel: FirmPanel) -> StudyResult:
        """Run the study on ``panel`` and return a new :class:`StudyResult`.

        Parameters
        ----------
        panel : FirmPanel
            Firm-year panel with an ``entry`` role.

        Returns
        -------
        StudyResult

        Raises
        ------
        TypeError
            If ``panel`` is not a :class:`~parkimpact.FirmPanel`.
        ValueError
            If the panel has no entry role or lacks a named column.
        IdentificationError
            If a stage is not identified on the original panel.
        """
        if not isinstance(panel, FirmPanel):
            raise TypeError(
                f"panel must be a FirmPanel; got {type(panel).__name__}. Build one with "
                "parkimpact.build_panel(...) or parkimpact.FirmPanel(...)."
            )
        if panel.roles.entry is None:
            raise ValueError(
                "panel must declare the entry role for a study; got none. Build it with "
                "FirmPanel(..., entry='<entry year column>')."
            )
        self._check_columns(panel)
        plan = self.plan()
        tfp_result, augmented = None, panel
        with thin_blas():
            if self.tfp is not None:
                tfp_result = self.tfp.fit(panel)
                augmented = tfp_result.augment(panel, column=self.tfp_column)
            estimation = trim_pre_entry(augmented, plan.pre_entry_years)
            point = run_effects(plan, estimation)
        boot, not_identified = None, None
        if self.bootstrap:
            draws = self._bootstrap(plan, panel, tfp_result, point.rows)
            boot, not_identified = split_diagnostics(draws, plan.outcomes)
        return assemble(self, plan, tfp_result, estimation, point, boot, not_identified)

    def _check_columns(self, panel: FirmPanel) -> None:
        wanted = [
            o for o in self.all_outcomes if not (self.tfp is not None and o == self.tfp_column)
        ]
        wanted += list(self.covariates or ()) + list(self.by)
        missing = sorted(set(wanted) - set(panel.data.columns))
        if missing:
            raise ValueError(
                f"columns {missing} must be in the panel; got columns "
                f"{sorted(map(str, panel.data.columns))[:12]}... Add them (panel.assign) first."
            )

    def _bootstrap(
        self, plan: Plan, panel: FirmPanel, tfp_result: Any, rows: Any
    ) -> ResampleResult:
        warm = (
            None if tfp_result is None else warm_tfp(self.tfp, tfp_result, panel, self.tfp_column)
        )
        ids = tuple(row_ids(rows))
        if not self.bootstrap_subgroups:
            ids = tuple(i for i, by in zip(ids, rows["by"], strict=True) if by is None)
        statistic = PipelineStatistic(
            plan=estimates_only(plan),
            tfp=warm,
            roles=panel.roles.declared(),
            exits=panel.exits,
            ids=ids,
            subgroups=self.bootstrap_subgroups,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return cluster_bootstrap(
                statistic,
                panel.data,
                cluster=panel.roles.unit,
                relabel=panel.roles.unit,
                n_boot=self.bootstrap,
                seed=self.seed,
                n_jobs=self.n_jobs,
                backend=self.backend,
            )
