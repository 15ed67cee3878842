"""Results of :class:`~parkimpact.did.callaway.CallawaySantAnna`: group-time and aggregated ATTs.

Both are immutable (frozen dataclasses) and follow
:class:`~parkimpact.report.ResultBase`: ``tidy()`` feeds tables and plots,
``summary()`` prints, ``conf_int(level)`` recomputes intervals. Every
variance, aggregation and test is linear algebra on the stored
:class:`~parkimpact.inference.InfluenceFunction`; nothing is re-estimated.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.did._cs_estimate import LACKING_FIRMS
from parkimpact.inference import (
    BootstrapResult,
    FewClustersWarning,
    InfluenceFunction,
    WaldTest,
    multiplier_bootstrap,
)
from parkimpact.report import render
from parkimpact.report.tidy import (
    ModelInfo,
    ResultBase,
    conf_int_from_tidy,
    make_tidy,
    tidy_keys,
    validate_tidy,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "InferenceSettings",
    "GroupTimeATT",
    "AggregatedATT",
    "AggregationKind",
    "PRETEST_FIRMS_PER_CELL",
    "thin_blas",
]

AggregationKind = Literal["simple", "dynamic", "group", "calendar"]

PRETEST_FIRMS_PER_CELL: Final[int] = 10
"""Treated firms a cohort needs for each pre-entry cell it contributes to the pre-test."""

_KEY_OF_KIND: dict[str, str | None] = {
    "simple": None,
    "dynamic": "event_time",
    "group": "cohort",
    "calendar": "year",
}


_BLAS = threading.local()


@functools.cache
def _blas_controller() -> Any:
    """The BLAS libraries of the process, found once (finding them reads the loaded libraries)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return None
    return ThreadpoolController()


@contextmanager
def thin_blas() -> Iterator[None]:
    """One BLAS thread: every product here has a handful of columns, where threads only spin.

    Nested blocks (a study around its estimators) cost nothing: only the
    outermost block of a thread sets and restores the limit.
    """
    controller = _blas_controller()
    if controller is None or getattr(_BLAS, "depth", 0):
        _BLAS.depth = getattr(_BLAS, "depth", 0) + 1
        try:
            yield
        finally:
            _BLAS.depth -= 1
        return
    _BLAS.depth = 1
    try:
        with controller.limit(limits=1, user_api="blas"):
            yield
    finally:
        _BLAS.depth = 0


@dataclass(frozen=True)
class InferenceSettings:
    """How standard errors are computed, shared by a result and its aggregations.

    Attributes
    ----------
    kind : {"analytic", "bootstrap", "none"}
        Analytic influence-function variance, multiplier bootstrap, or none
        (NaN standard errors, no tests).
    n_bootstrap : int
        Bootstrap draws.
    bootstrap_weights : {"rademacher", "mammen", "webb"}
        Multiplier distribution.
    seed : int or numpy.random.SeedSequence or None
        The seed that reproduces the draws (recorded fresh entropy when the
        estimator had ``seed=None``).
    level : float
        Confidence level.
    cluster : str or None
        Cluster column (None: firm-level inference).
    """

    kind: str
    n_bootstrap: int
    bootstrap_weights: str
    seed: int | np.random.SeedSequence | None
    level: float
    cluster: str | None

    def standard_errors(self, inf: InfluenceFunction) -> tuple[np.ndarray, BootstrapResult | None]:
        """SEs of every parameter of ``inf`` (NaN for zero-variance ones) and the draws."""
        if self.kind == "none":
            return np.full(inf.k, np.nan), None
        if self.kind == "bootstrap":
            boot = self.bootstrap(inf)
            return boot.std_errors, boot
        with warnings.catch_warnings(), thin_blas():
            warnings.simplefilter("ignore", FewClustersWarning)
            se = inf.std_errors()
        return np.where(se > 1e-12 * max(1.0, float(np.max(se, initial=0.0))), se, np.nan), None

    def bootstrap(self, inf: InfluenceFunction) -> BootstrapResult:
        """Multiplier bootstrap of ``inf`` with the stored seed (the same draws every call)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewClustersWarning)
            return multiplier_bootstrap(
                inf,
                n_boot=self.n_bootstrap,
                weights=self.bootstrap_weights,  # type: ignore[arg-type]
                seed=self.seed,
                level=self.level,
            )

    def wald(self, inf: InfluenceFunction, selection: np.ndarray) -> WaldTest:
        """Wald test that the selected parameters are zero, with the analytic covariance."""
        with warnings.catch_warnings(), thin_blas():
            warnings.simplefilter("ignore", FewClustersWarning)
            return inf.wald(selection)


def _summary_cells(frame: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, str]:
    stat = "z"
    level = frame.attrs.get("level", 0.95)
    ci = f"{100.0 * float(level):g}% CI"
    cells: dict[str, list[str]] = {"term": [render.plain(t) for t in frame["term"]]}
    for key in keys:
        cells[key] = [render.plain(v) for v in frame[key]]
    for column, header, digits in (
        ("estimate", "estimate", 4),
        ("std_error", "std. error", 4),
        ("statistic", stat, 3),
        ("p_value", f"P>|{stat}|", 3),
        ("conf_low", f"{ci} low", 4),
        ("conf_high", f"{ci} high", 4),
    ):
        cells[header] = [render.format_number(v, digits) for v in frame[column]]
    return pd.DataFrame(cells, dtype=object), "l" * (1 + len(keys)) + "r" * 6


def _pretest_note(cells: pd.DataFrame) -> str:
    """Which pre-entry cells the pre-test leaves out, and why."""
    left = cells.loc[~cells["tested"].to_numpy(dtype=bool)]
    few = left.loc[left["reason"] != "zero variance"]
    parts = []
    if len(few):
        cohorts = len(few.groupby([c for c in ("subgroup", "cohort") if c in few]))
        parts.append(
            f"{len(few)} cell(s) of {cohorts} cohort(s) with too few treated "
            "firms (each cohort enters with its cells closest to entry, one per "
            f"{cells.attrs.get('min_treated', PRETEST_FIRMS_PER_CELL)} treated firms: the "
            "covariance of more cells, estimated from "
            "fewer firms, is near-singular and inflates W)"
        )
    if len(left) > len(few):
        parts.append(f"{len(left) - len(few)} cell(s) with zero variance")
    head = "Pre-test left out " if cells["tested"].any() else "Pre-test not computed, left out "
    return head + " and ".join(parts) + "; see pretest_cells"


def _footer(info: ModelInfo) -> list[str]:
    lines = [f"Dependent variable: {info.dependent}"] if info.dependent else []
    if info.n_obs is not None:
        lines.append(f"Observations: {render.format_count(info.n_obs)}")
    if info.n_units is not None:
        lines.append(f"Firms: {render.format_count(info.n_units)}")
    if info.n_clusters is not None:
        lines.append(f"Clusters: {render.format_count(info.n_clusters)} ({info.cluster})")
    if info.se_type:
        lines.append(f"SE: {info.se_type}")
    lines += [f"{key}: {value}" for key, value in info.extra.items()]
    return lines + list(info.notes)


class _SummaryMixin(ResultBase):
    """Summaries showing the family keys only (not the count columns)."""

    __slots__ = ()
    _summary_keys: tuple[str, ...] = ()

    def _summary_parts(self) -> tuple[str, pd.DataFrame, str, list[str]]:
        frame = self.tidy()
        validate_tidy(frame)
        keys = [k for k in tidy_keys(frame) if k in self._summary_keys]
        info = self.model_info()
        cells, align = _summary_cells(frame, keys)
        return info.name, cells, align, _footer(info)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Pointwise confidence intervals at ``level``, indexed by term and family keys.

        Parameters
        ----------
        level : float, default 0.95
            Confidence level (normal reference distribution).

        Returns
        -------
        pandas.DataFrame
            Columns ``conf_low`` and ``conf_high``.
        """
        frame = conf_int_from_tidy(self.tidy(), level)
        keys = [k for k in tidy_keys(frame) if k in self._summary_keys]
        return frame.set_index(["term", *keys])[["conf_low", "conf_high"]]


@dataclass(frozen=True, eq=False, repr=False)
class GroupTimeATT(_SummaryMixin):
    """Group-time average treatment effects ATT(g, t) with their influence function.

    Attributes
    ----------
    att, std_errors : pandas.Series
        Estimates and standard errors indexed by ``(cohort, year)``
        (``(subgroup, cohort, year)`` with ``by``). Standard errors are NaN
        for the reference cell of a universal base period.
    influence : InfluenceFunction
        Influence functions of all estimated cells on the full firm sample
        (one row per firm, zero for firms outside a cell).
    cells : pandas.DataFrame
        One row per estimated cell: ``cohort``, ``year``, ``base_year``,
        ``event_time``, ``post``, ``reference``, ``n_treated``,
        ``n_control`` (and ``subgroup``), in the order of ``att``.
    pretest : WaldTest or None
        Wald test that the pre-entry ATT(g, t) in ``pretest_cells`` marked
        ``tested`` are zero; ``df`` is the rank of their covariance (None
        when no pre-entry cell is testable).
    cells_without_controls : pandas.DataFrame
        Cells that could not be estimated (``cohort``, ``year``,
        ``base_year``, ``n_treated``, ``n_control``, ``reason``; with
        ``subgroup`` under ``by``): cells without cohort or comparison firms,
        and cells whose propensity score separates treated firms or whose
        outcome regression is singular (see :attr:`cells_not_identified`).
        They are excluded from every aggregation.
    drops : DropReport
        Rows removed before estimation (the panel's report plus the estimator's).
    spec : Mapping
        Estimator settings, package version, panel fingerprint and seed.
    firms : pandas.DataFrame
        One row per firm (index: firm id) with ``cohort`` (NaN: never
        treated), ``weight`` and ``subgroup``: what aggregations need.
    inference : InferenceSettings
        How standard errors are computed (shared with aggregations).
    bootstrap : BootstrapResult or None
        Multiplier-bootstrap draws of the ATT(g, t) when bootstrap was used.
    se_type : str
        What the standard errors are and what they are conditional on.
    outcome : str
        The outcome column.
    n_obs : int
        Firm-years used.
    by : str or None
        Heterogeneity column.
    notes : tuple of str
        Lines shown under the summary.
    pretest_cells : pandas.DataFrame or None
        One row per pre-entry cell (reference cells excluded): (``subgroup``),
        ``cohort``, ``year``, ``event_time``, ``n_treated``, ``estimate``,
        ``std_error``, ``tested`` and ``reason`` (why a cell is left out of
        the pre-test: ``"zero variance"``, or ``"too few treated firms for a
        joint test"`` when its cohort's firms cannot estimate the joint
        covariance of that many cells; see
        :class:`~parkimpact.did.callaway.CallawaySantAnna`).
    """

    att: pd.Series
    std_errors: pd.Series
    influence: InfluenceFunction = field(repr=False)
    cells: pd.DataFrame = field(repr=False)
    pretest: WaldTest | None
    cells_without_controls: pd.DataFrame = field(repr=False)
    drops: DropReport = field(repr=False)
    spec: Mapping[str, Any] = field(repr=False)
    firms: pd.DataFrame = field(repr=False)
    inference: InferenceSettings
    bootstrap: BootstrapResult | None = field(repr=False)
    se_type: str
    outcome: str
    n_obs: int
    by: str | None = None
    notes: tuple[str, ...] = ()
    pretest_cells: pd.DataFrame | None = field(default=None, repr=False)

    _summary_keys = ("subgroup", "cohort", "year", "event_time")

    def __repr__(self) -> str:
        return (
            f"GroupTimeATT({len(self.att)} cells, {len(self.firms)} firms, outcome="
            f"{self.outcome!r}, inference={self.inference.kind!r})"
        )

    @property
    def n_units(self) -> int:
        """Number of firms."""
        return int(len(self.firms))

    @property
    def cells_not_identified(self) -> pd.DataFrame:
        """Cells left out because the covariates do not identify them (a subset of
        :attr:`cells_without_controls`): the propensity score separates treated firms
        from every comparison firm, or the outcome regression is singular there."""
        missing = self.cells_without_controls
        return missing.loc[~missing["reason"].isin(LACKING_FIRMS)].reset_index(drop=True)

    def tidy(self) -> pd.DataFrame:
        """One row per cell: keys, estimate, SE, z, p-value, CI, counts and the post flag.

        Columns: ``term``, (``subgroup``), ``cohort``, ``year``, ``event_time``,
        the tidy columns, then ``n_treated``, ``n_control``, ``post`` and,
        with bootstrap inference, ``uniform_low``/``uniform_high`` (the sup-t
        band over all cells). Intervals in ``conf_low``/``conf_high`` are
        pointwise.
        """
        cells = self.cells
        keys: dict[str, list[object]] = {}
        if self.by is not None:
            keys["subgroup"] = cells["subgroup"].tolist()
        keys.update(
            cohort=cells["cohort"].tolist(),
            year=cells["year"].tolist(),
            event_time=cells["event_time"].tolist(),
        )
        frame = make_tidy(
            list(self.influence.names),
            self.att.to_numpy(),
            self.std_errors.to_numpy(),
            level=self.inference.level,
            keys=keys,
        )
        for column in ("n_treated", "n_control", "post"):
            frame[column] = cells[column].to_numpy()
        if self.bootstrap is not None:
            limits = self.bootstrap.conf_int(uniform=True)
            frame["uniform_low"], frame["uniform_high"] = limits[:, 0], limits[:, 1]
        return frame

    def model_info(self) -> ModelInfo:
        """Counts, inference and notes (incl. the pre-test and cells without controls)."""
        extra: dict[str, str] = {}
        cells = self.pretest_cells
        n_pre = None if cells is None else len(cells)
        n_tested = None if cells is None else int(cells["tested"].sum())
        if self.pretest is not None:
            label = "all pre-entry ATT(g,t)"
            if n_tested != n_pre:
                label = f"{n_tested} of {n_pre} pre-entry ATT(g,t)"
            extra[f"Pre-test ({label} = 0)"] = (
                f"W = {self.pretest.statistic:.3f}, df = {self.pretest.df}, "
                f"p = {self.pretest.p_value:.5f}"
            )
        if self.bootstrap is not None:
            extra["Uniform band critical value"] = f"{self.bootstrap.critical_value:.3f}"
        notes = list(self.notes)
        if cells is not None and n_tested != n_pre:
            notes.append(_pretest_note(cells))
        if len(self.cells_without_controls):
            listed = ", ".join(
                f"({r.cohort},{r.year})" for r in self.cells_without_controls.itertuples()
            )
            notes.append(f"Cells not estimated (excluded from aggregations): {listed}")
            unidentified = self.cells_not_identified
            if len(unidentified):
                notes.append(
                    f"Of these, {len(unidentified)} not identified by the covariates, e.g. "
                    f"({unidentified['cohort'].iloc[0]},{unidentified['year'].iloc[0]}): "
                    f"{unidentified['reason'].iloc[0]}"
                )
        return ModelInfo(
            name="Callaway-Sant'Anna group-time ATT(g,t)",
            n_obs=self.n_obs,
            n_units=self.n_units,
            n_clusters=self.influence.n_clusters,
            cluster=self.inference.cluster,
            se_type=self.se_type,
            dependent=self.outcome,
            notes=tuple(notes),
            extra=extra,
        )

    def aggregate(
        self,
        kind: AggregationKind = "simple",
        *,
        min_e: float = -np.inf,
        max_e: float = np.inf,
        balance_e: int | None = None,
    ) -> AggregatedATT:
        """Aggregate the ATT(g, t) into summary effects (R ``aggte`` weights).

        See :func:`parkimpact.did.aggregation.aggregate` for the formulas.

        Parameters
        ----------
        kind : {"simple", "dynamic", "group", "calendar"}, default "simple"
            Aggregation.
        min_e, max_e : float
            Event-time window of the dynamic aggregation; ``max_e`` also caps
            the post-entry cells of the other aggregations.
        balance_e : int or None
            Dynamic aggregation only: keep cohorts observed for at least
            ``balance_e`` periods after entry.
        """
        from parkimpact.did.aggregation import aggregate

        return aggregate(self, kind, min_e=min_e, max_e=max_e, balance_e=balance_e)

    def plot(self, ax: Axes | np.ndarray | None = None) -> np.ndarray:
        """Group-time plot: one panel per cohort, pre- and post-entry cells coloured apart."""
        from parkimpact.did.cs_plots import plot_group_time

        return plot_group_time(self, ax=ax)


@dataclass(frozen=True, eq=False, repr=False)
class AggregatedATT(_SummaryMixin):
    """An aggregation of ATT(g, t): an overall effect and per-key effects.

    Attributes
    ----------
    kind : {"simple", "dynamic", "group", "calendar"}
        Aggregation.
    key : str or None
        Key of the per-key effects: ``event_time``, ``cohort``, ``year``
        (None for ``simple``).
    overall : pandas.DataFrame
        One row per subgroup (a single row ``"all"`` without ``by``) with
        ``estimate`` and ``std_error``.
    effects : pandas.DataFrame
        Per-key effects: (``subgroup``), the key, ``estimate``,
        ``std_error``, and ``uniform_low``/``uniform_high`` with bootstrap.
    influence : InfluenceFunction
        Influence functions of the overall effects then the per-key effects,
        including the estimated-weights term.
    weights : pandas.DataFrame
        Weight of each ATT(g, t) in each reported effect: ``term``,
        (``subgroup``), ``cohort``, ``year``, ``weight``.
    equality_test : WaldTest or None
        With ``by``: Wald test that the overall effect is equal across subgroups.
    bootstrap : BootstrapResult or None
        Draws of the overall and per-key effects (bootstrap inference).
    uniform_critical_value : float or None
        Sup-t critical value of the band over the per-key effects (bootstrap).
    inference : InferenceSettings
        How standard errors are computed.
    se_type : str
        What the standard errors are.
    outcome : str
        The outcome column.
    n_units : int
        Firms.
    notes : tuple of str
        Lines shown under the summary.
    """

    kind: str
    key: str | None
    overall: pd.DataFrame
    effects: pd.DataFrame
    influence: InfluenceFunction = field(repr=False)
    weights: pd.DataFrame = field(repr=False)
    equality_test: WaldTest | None
    bootstrap: BootstrapResult | None = field(repr=False)
    uniform_critical_value: float | None
    inference: InferenceSettings
    se_type: str
    outcome: str
    n_units: int
    notes: tuple[str, ...] = ()

    _summary_keys = ("subgroup", "event_time", "cohort", "year")

    def __repr__(self) -> str:
        return f"AggregatedATT(kind={self.kind!r}, overall={self.overall.to_dict('index')})"

    @property
    def estimate(self) -> float:
        """The overall effect (only without ``by``)."""
        return float(self._single()["estimate"])

    @property
    def std_error(self) -> float:
        """Standard error of the overall effect (only without ``by``)."""
        return float(self._single()["std_error"])

    def _single(self) -> pd.Series:
        if len(self.overall) != 1:
            raise ValueError(
                f"estimate and std_error must refer to one overall effect; got "
                f"{len(self.overall)} subgroups. Read them from .overall instead."
            )
        return self.overall.iloc[0]

    def tidy(self) -> pd.DataFrame:
        """First the overall row(s) (term ``overall``), then one row per key."""
        by = "subgroup" in self.effects.columns
        n_over = len(self.overall)
        terms = ["overall"] * n_over
        estimates = list(self.overall["estimate"]) + list(self.effects["estimate"])
        ses = list(self.overall["std_error"]) + list(self.effects["std_error"])
        keys: dict[str, list[object]] = {}
        if by:
            keys["subgroup"] = list(self.overall.index) + list(self.effects["subgroup"])
        if self.key is not None:
            terms += [f"{self.key}={v}" for v in self.effects[self.key]]
            keys[self.key] = [np.nan] * n_over + list(self.effects[self.key])
        frame = make_tidy(terms, estimates, ses, level=self.inference.level, keys=keys)
        if "uniform_low" in self.effects.columns:
            frame["uniform_low"] = [np.nan] * n_over + list(self.effects["uniform_low"])
            frame["uniform_high"] = [np.nan] * n_over + list(self.effects["uniform_high"])
        return frame

    def model_info(self) -> ModelInfo:
        """Counts, inference and notes (incl. the subgroup equality test)."""
        extra: dict[str, str] = {}
        if self.equality_test is not None:
            test = self.equality_test
            extra["Equality across subgroups"] = (
                f"W = {test.statistic:.3f}, df = {test.df}, p = {test.p_value:.5f}"
            )
        if self.uniform_critical_value is not None:
            extra["Uniform band critical value"] = f"{self.uniform_critical_value:.3f}"
        return ModelInfo(
            name=f"Callaway-Sant'Anna aggregated ATT ({self.kind})",
            n_units=self.n_units,
            n_clusters=self.influence.n_clusters,
            cluster=self.inference.cluster,
            se_type=self.se_type,
            dependent=self.outcome,
            notes=self.notes,
            extra=extra,
        )

    def plot(self, ax: Axes | None = None, uniform: bool = True) -> Axes:
        """Plot the per-key effects (an event-study plot for ``dynamic``).

        Pointwise intervals are error bars; with bootstrap inference and
        ``uniform=True`` the sup-t band is shaded as well.
        """
        from parkimpact.did.cs_plots import plot_aggregate

        return plot_aggregate(self, ax=ax, uniform=uniform)


def key_column(kind: str) -> str | None:
    """The key of the per-key effects of an aggregation kind."""
    return _KEY_OF_KIND[kind]
