r"""Sun and Abraham (2021) interaction-weighted event study.

Step 1 estimates cohort-specific effects :math:`CATT_{g,e}` from the saturated
regression

.. math:: y_{it} = \alpha_i + \lambda_t
          + \sum_{g \notin C} \sum_{e \ne r} \beta_{g,e}\, 1[E_i = g]\, 1[t - g = e]
          + \gamma' X_{it} + \varepsilon_{it},

where :math:`E_i` is the year firm :math:`i` entered a park, :math:`r` the
reference period and :math:`C` the control cohort (never-treated firms, or
the last-entering cohort with the years from its entry on removed). Step 2
averages the cohort effects of each event time with the cohort shares of that
event time,

.. math:: \hat\nu_e = \sum_g \hat w_{g,e} \hat\beta_{g,e}, \qquad
          \hat w_{g,e} = \frac{n_{g,e}}{\sum_{g'} n_{g',e}},

:math:`n_{g,e}` being the firm-years of cohort :math:`g` at event time
:math:`e` in the estimation sample (the number of firms on a balanced panel).
Unlike the dynamic TWFE coefficients, :math:`\hat\nu_e` never puts weight on
the effects of other event times and its weights are non-negative.

References
----------
Sun, L. and Abraham, S. (2021). Estimating dynamic treatment effects in event
studies with heterogeneous treatment effects. *Journal of Econometrics*,
225(2), 175-199.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.data.panel import FirmPanel
from parkimpact.did.ols import Covariance, OLSFit, VcovKind
from parkimpact.did.regression import check_distinct, check_settings, estimate_within
from parkimpact.did.sample import Sample, build_sample, check_panel, make_spec, resolve_column
from parkimpact.errors import IdentificationError
from parkimpact.report.tidy import ModelInfo, ResultBase, make_tidy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SunAbraham", "SunAbrahamResult"]

ControlGroup = Literal["never_treated", "last_treated"]
WeightsVariance = Literal["estimated", "fixed"]
_CONTROLS = ("never_treated", "last_treated")
_WEIGHTS_VARIANCE = ("estimated", "fixed")
_STEP = "SunAbraham"


@dataclass(frozen=True)
class SunAbraham:
    r"""Interaction-weighted event study of Sun and Abraham (2021).

    Parameters
    ----------
    outcome : str
        Outcome column.
    window : tuple of int or None, default None
        Event times :math:`[a, b]` to estimate; treated firm-years outside it
        are dropped (and reported). None keeps every event time observed.
    reference : int, default -1
        Omitted event time of every cohort (its effect is normalised to 0);
        must be negative.
    control : {"never_treated", "last_treated"}, default "never_treated"
        Control cohort: firms untreated throughout the sample (never treated
        or entering after its last year), or the last cohort to enter a park
        within the sample, with the years from its entry on removed and the
        untreated firms dropped (Sun and Abraham 2021, Section 4).
    covariates : sequence of str, default ()
        Time-varying controls (common slopes).
    vcov : {"cluster", "hetero", "iid"}, default "cluster"
        Covariance of the cohort effects, with fixest small-sample conventions
        (see :func:`parkimpact.did.ols.covariance`).
    cluster : str or None, default None
        Cluster column or role; None means the panel's unit.
    weights_variance : {"estimated", "fixed"}, default "estimated"
        Variance of the event-time effects. ``"estimated"`` adds the
        sampling variance of the estimated cohort shares, which Sun and
        Abraham (2021) include in the variance of the IW estimator, here by
        the delta method at the cluster level:

        .. math:: \widehat{V}(\hat\nu) = W \widehat V_\beta W'
                  + \frac{G}{G-1} \sum_c \phi_c \phi_c',\qquad
                  \phi_{e,c} = \sum_g \hat\beta_{g,e}
                  \frac{n_{g,e,c} - \hat w_{g,e} n_{e,c}}{n_e},

        with :math:`c` the clusters (firms unless ``vcov="cluster"``) and
        :math:`n_{g,e,c}` their firm-years in cell :math:`(g, e)`. The cross
        term between shares and coefficients is omitted: the shares depend on
        the regressors only, so it has mean zero under the regression's
        exogeneity condition. ``"fixed"`` treats the shares as known
        (:math:`W \widehat V_\beta W'`), as fixest's ``aggregate()`` does for
        ``sunab`` fits (its documentation: "contrary to the SA article, here
        the cohort share in the sample is considered to be a perfect measure
        for the cohort share in the population") and as pyfixest's saturated
        event study does. The default follows the article: with few firms per
        cohort the shares are noisy and ignoring that understates the SE.

    Notes
    -----
    Firms whose cohort has no year at the reference period inside the sample
    (e.g. firms that entered in or before the first sample year) cannot be
    normalised and are dropped and reported. Without covariates, on a
    balanced panel with never-treated controls, :math:`\hat\beta_{g,e}` is the
    2x2 difference in differences of cohort :math:`g` and the never-treated
    between years :math:`g + r` and :math:`g + e`.

    Examples
    --------
    >>> result = SunAbraham("log_output", window=(-4, 4)).fit(panel)  # doctest: +SKIP
    >>> result.tidy()  # doctest: +SKIP
    """

    outcome: str
    _: KW_ONLY
    window: tuple[int, int] | None = None
    reference: int = -1
    control: ControlGroup = "never_treated"
    covariates: Sequence[str] = ()
    vcov: VcovKind = "cluster"
    cluster: str | None = None
    weights_variance: WeightsVariance = "estimated"

    def __post_init__(self) -> None:
        check_settings(
            "SunAbraham", self.outcome, {"covariates": self.covariates}, self.vcov, self.cluster
        )
        if self.control not in _CONTROLS:
            raise ValueError(
                f"The 'control' parameter of SunAbraham must be one of {_CONTROLS}. "
                f"Got {self.control!r} instead."
            )
        if self.weights_variance not in _WEIGHTS_VARIANCE:
            raise ValueError(
                f"The 'weights_variance' parameter of SunAbraham must be one of "
                f"{_WEIGHTS_VARIANCE}. Got {self.weights_variance!r} instead."
            )
        ref = self.reference
        if isinstance(ref, bool) or not isinstance(ref, int | np.integer) or ref >= 0:
            raise ValueError(
                f"reference must be a negative integer event time; got {ref!r}. Use -1, the "
                "year before entry."
            )
        if self.window is not None:
            _check_window(self.window, int(ref))

    def fit(self, panel: FirmPanel) -> SunAbrahamResult:
        """Estimate the cohort effects and aggregate them by event time.

        Parameters
        ----------
        panel : FirmPanel
            A panel with an entry role.

        Returns
        -------
        SunAbrahamResult

        Raises
        ------
        ValueError
            If the panel has no entry role.
        DataFormatError
            If a column is missing or holds text.
        IdentificationError
            If there is no control cohort, no treated cohort, the interactions
            are collinear or there are fewer than 2 clusters.
        """
        panel = check_panel(panel, "SunAbraham")
        panel.require_role("entry", "SunAbraham")
        outcome = resolve_column(panel, self.outcome, "outcome")
        covariates = [resolve_column(panel, c, "covariate") for c in self.covariates]
        check_distinct(outcome, covariates)
        cluster = resolve_column(panel, self.cluster or "unit", "cluster")
        control: list[tuple[str, float | None]] = []  # filled by the restriction
        sample = build_sample(
            panel,
            step=_STEP,
            numeric={outcome: "outcome"} | {c: "covariate" for c in covariates},
            fixed_effects=[panel.roles.unit, panel.roles.time],
            weights=None,
            cluster=cluster if self.vcov == "cluster" else None,
            restrict=lambda p: self._restrict(p, control),
            drop_singletons=True,
        )
        label, control_cohort = control[0]
        cells = _cells(sample, self.reference, control_cohort)
        regressors = _interactions(cells)
        for column in covariates:
            regressors[column] = sample.values(column, "covariate")
        fit, cov = estimate_within(sample, outcome, regressors, vcov=self.vcov, cluster=cluster)
        return self._result(panel, sample, cells, fit, cov, outcome, label)

    # ---------------------------------------------------------------- sample
    def _restrict(self, panel: FirmPanel, control: list[tuple[str, float | None]]) -> FirmPanel:
        """Drop unusable cohorts, apply the control choice and the window (all reported)."""
        first, last = int(panel.years.min()), int(panel.years.max())
        entry = panel.data[panel.roles.entry].to_numpy(dtype=np.float64)
        untreated = np.isnan(entry) | (entry > last)
        no_reference = ~untreated & (entry + self.reference < first)
        panel = panel.drop_rows(
            no_reference,
            step=_STEP,
            reason=f"cohort has no year at the reference event time {self.reference} in the sample",
        )
        entry = panel.data[panel.roles.entry].to_numpy(dtype=np.float64)
        untreated = np.isnan(entry) | (entry > last)
        if self.control == "never_treated":
            if not untreated.any():
                raise IdentificationError(
                    "control='never_treated' needs firms untreated throughout the sample; got "
                    "none. Use control='last_treated' to take the last-entering cohort."
                )
            control.append(("never treated", None))
        else:
            panel = self._last_treated(panel, entry, untreated, control)
        if self.window is not None:
            panel = self._drop_outside_window(panel, last, control[0][1])
        return panel

    def _last_treated(
        self,
        panel: FirmPanel,
        entry: np.ndarray,
        untreated: np.ndarray,
        control: list[tuple[str, float | None]],
    ) -> FirmPanel:
        cohorts = np.unique(entry[~untreated])
        if len(cohorts) < 2:
            raise IdentificationError(
                "control='last_treated' needs at least two entry cohorts within the sample; got "
                f"{len(cohorts)}. Use control='never_treated'."
            )
        last_cohort = float(cohorts[-1])
        panel = panel.drop_rows(
            untreated,
            step=_STEP,
            reason="untreated firm (control='last_treated' compares with the last cohort)",
        )
        years = panel.data[panel.roles.time].to_numpy()
        panel = panel.drop_rows(
            years >= last_cohort,
            step=_STEP,
            reason=f"year on or after the control cohort's entry ({int(last_cohort)})",
        )
        control.append((f"cohort {int(last_cohort)}", last_cohort))
        return panel

    def _drop_outside_window(
        self, panel: FirmPanel, last: int, control_cohort: float | None
    ) -> FirmPanel:
        a, b = self.window  # type: ignore[misc]
        entry = panel.data[panel.roles.entry].to_numpy(dtype=np.float64)
        event = panel.data[panel.roles.time].to_numpy() - entry
        with np.errstate(invalid="ignore"):
            outside = (entry <= last) & (entry != control_cohort) & ((event < a) | (event > b))
        return panel.drop_rows(outside, step=_STEP, reason=f"event time outside window [{a}, {b}]")

    # ---------------------------------------------------------------- result
    def _result(
        self,
        panel: FirmPanel,
        sample: Sample,
        cells: _Cells,
        fit: OLSFit,
        cov: Covariance,
        outcome: str,
        control_label: str,
    ) -> SunAbrahamResult:
        k = len(cells.terms)
        beta, vcov_beta = fit.coef[:k], cov.matrix[:k, :k]
        aggregation = _aggregation(cells)
        att = aggregation @ beta
        variance = aggregation @ vcov_beta @ aggregation.T
        if self.weights_variance == "estimated":
            variance = variance + _share_variance(sample, cells, beta, self.vcov)
        event_index = pd.Index(cells.event_times, name="event_time")
        catt = cells.table.assign(
            estimate=beta, std_error=np.sqrt(np.diag(vcov_beta)), weight=cells.weights
        )
        covariate_terms = list(fit.terms[k:])
        return SunAbrahamResult(
            att=pd.Series(att, index=event_index, name="att"),
            vcov=pd.DataFrame(variance, index=event_index, columns=event_index),
            catt=catt,
            catt_vcov=pd.DataFrame(vcov_beta, index=cells.terms, columns=cells.terms),
            covariate_params=pd.Series(fit.coef[k:], index=covariate_terms, dtype=float),
            covariate_std_errors=pd.Series(
                np.sqrt(np.diag(cov.matrix)[k:]), index=covariate_terms, dtype=float
            ),
            df_resid=cov.df,
            nobs=fit.n_obs,
            n_units=sample.panel.n_units,
            n_clusters=cov.n_clusters,
            cluster=cov.cluster,
            se_type=f"{cov.description}; cohort shares {self.weights_variance}",
            dependent=outcome,
            reference=int(self.reference),
            control=control_label,
            r_squared=fit.r_squared,
            drops=sample.panel.drops,
            spec=make_spec(self, panel),
        )


def _check_window(window: object, reference: int) -> None:
    ok = (
        isinstance(window, tuple | list)
        and len(window) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in window)
    )
    if not ok:
        raise TypeError(f"window must be a pair of integers (first, last) or None; got {window!r}.")
    first, last = window  # type: ignore[misc]
    if not first <= reference <= last or first >= last:
        raise ValueError(
            f"window must satisfy first < last and contain the reference period {reference}; "
            f"got {tuple(window)}. Use e.g. window=(-5, 5)."  # type: ignore[arg-type]
        )


# ---------------------------------------------------------------------------
# cohort x event-time cells
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Cells:
    """Cohort x event-time interaction cells of the estimation sample."""

    terms: list[str]
    row_cell: np.ndarray  # cell code of each sample row, -1 for rows without interaction
    table: pd.DataFrame  # cohort, event_time, n_obs per cell (in term order)
    event_times: list[int]
    event_of_cell: np.ndarray
    weights: np.ndarray  # cohort share of each cell within its event time


def _cells(sample: Sample, reference: int, control_cohort: float | None) -> _Cells:
    data = sample.panel.data
    roles = sample.panel.roles
    last = int(sample.panel.years.max())
    entry = data[roles.entry].to_numpy(dtype=np.float64)
    event = data[roles.time].to_numpy() - entry
    treated = ~np.isnan(entry) & (entry <= last) & (entry != control_cohort)
    active = treated & (event != reference)
    if not active.any():
        raise IdentificationError(
            "the estimation sample must contain treated cohorts outside the reference period; "
            "got none. Check the entry years, the window and the drop report."
        )
    pairs = pd.DataFrame({"cohort": entry[active], "event_time": event[active]})
    pairs = pairs.astype({"cohort": "int64", "event_time": "int64"})
    table = pairs.groupby(["cohort", "event_time"], sort=True).size().rename("n_obs").reset_index()
    lookup = pd.MultiIndex.from_frame(table[["cohort", "event_time"]])
    row_cell = np.full(len(data), -1, dtype=np.intp)
    row_cell[active] = lookup.get_indexer(pd.MultiIndex.from_frame(pairs))
    event_times = sorted(table["event_time"].unique().tolist())
    event_of_cell = np.searchsorted(event_times, table["event_time"].to_numpy())
    totals = np.bincount(event_of_cell, weights=table["n_obs"].to_numpy(dtype=float))
    weights = table["n_obs"].to_numpy(dtype=float) / totals[event_of_cell]
    terms = [
        f"cohort[{g}]:event_time[{e}]" for g, e in zip(table.cohort, table.event_time, strict=True)
    ]
    return _Cells(terms, row_cell, table, event_times, event_of_cell, weights)


def _interactions(cells: _Cells) -> dict[str, np.ndarray]:
    """One dummy per cell (a dense column each; the sample rows are not looped over)."""
    matrix = np.zeros((len(cells.row_cell), len(cells.terms)))
    rows = np.flatnonzero(cells.row_cell >= 0)
    matrix[rows, cells.row_cell[rows]] = 1.0
    return {term: matrix[:, j] for j, term in enumerate(cells.terms)}


def _aggregation(cells: _Cells) -> np.ndarray:
    """Matrix W (event times x cells) of cohort shares."""
    matrix = np.zeros((len(cells.event_times), len(cells.terms)))
    matrix[cells.event_of_cell, np.arange(len(cells.terms))] = cells.weights
    return matrix


def _share_variance(sample: Sample, cells: _Cells, beta: np.ndarray, vcov: str) -> np.ndarray:
    """Clustered variance of sum_g beta_{g,e} w_{g,e} from the estimated shares."""
    if vcov == "cluster" and sample.clusters is not None:
        clusters = sample.clusters
    else:
        clusters = pd.factorize(sample.panel.data[sample.panel.roles.unit])[0].astype(np.intp)
    n_clusters = int(clusters.max()) + 1
    rows = np.flatnonzero(cells.row_cell >= 0)
    n_cells = len(cells.terms)
    flat = cells.row_cell[rows] * n_clusters + clusters[rows]
    counts = np.bincount(flat, minlength=n_cells * n_clusters).reshape(n_cells, n_clusters)
    n_events = len(cells.event_times)
    event_counts = np.zeros((n_events, n_clusters))
    np.add.at(event_counts, cells.event_of_cell, counts)
    totals = event_counts.sum(axis=1)
    psi = (counts - cells.weights[:, None] * event_counts[cells.event_of_cell]) / totals[
        cells.event_of_cell, None
    ]
    phi = np.zeros((n_events, n_clusters))
    np.add.at(phi, cells.event_of_cell, psi * beta[:, None])
    factor = n_clusters / (n_clusters - 1)
    return factor * (phi @ phi.T)


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class SunAbrahamResult(ResultBase):
    """Result of :class:`SunAbraham`.

    Parameters
    ----------
    att : pandas.Series
        Interaction-weighted effects :math:`\\hat\\nu_e`, indexed by event time
        (the reference period excluded).
    vcov : pandas.DataFrame
        Their covariance (see ``weights_variance`` of :class:`SunAbraham`).
    catt : pandas.DataFrame
        Cohort effects: ``cohort, event_time, n_obs, estimate, std_error,
        weight`` (the cohort's share within its event time).
    catt_vcov : pandas.DataFrame
        Covariance of the cohort effects (regression covariance).
    covariate_params, covariate_std_errors : pandas.Series
        Coefficients and standard errors of the covariates.
    df_resid : float
        Degrees of freedom of the t reference (``G - 1`` when clustered).
    nobs, n_units : int
        Firm-years and firms used.
    n_clusters : int or None
        Number of clusters.
    cluster : str or None
        Cluster column.
    se_type : str
        Description of the standard errors.
    dependent : str
        Outcome column.
    reference : int
        The omitted event time.
    control : str
        The control cohort (``"never treated"`` or ``"cohort <year>"``).
    r_squared : float
        Within R-squared of the saturated regression.
    drops : DropReport
        Every row dropped on the way, with reasons.
    spec : Mapping
        Settings, package version and the input panel's fingerprint.
    """

    att: pd.Series
    vcov: pd.DataFrame
    catt: pd.DataFrame
    catt_vcov: pd.DataFrame
    covariate_params: pd.Series
    covariate_std_errors: pd.Series
    df_resid: float
    nobs: int
    n_units: int
    n_clusters: int | None
    cluster: str | None
    se_type: str
    dependent: str
    reference: int
    control: str
    r_squared: float
    drops: DropReport
    spec: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors of the event-time effects."""
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.att.index)

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """Event-time effects (with the reference period) and covariates.

        Parameters
        ----------
        level : float, default 0.95
            Confidence level (Student t with ``df_resid`` degrees of freedom).

        Returns
        -------
        pandas.DataFrame
            Columns ``term, event_time, reference`` and the tidy schema; the
            reference period has estimate 0 and a missing standard error.
        """
        times = sorted([*self.att.index.tolist(), self.reference])
        estimates = [0.0 if e == self.reference else float(self.att[e]) for e in times]
        errors = [np.nan if e == self.reference else float(self.std_errors[e]) for e in times]
        covariates = list(self.covariate_params.index)
        keys = {
            "event_time": [float(e) for e in times] + [np.nan] * len(covariates),
            "reference": [e == self.reference for e in times] + [False] * len(covariates),
        }
        return make_tidy(
            [f"event_time[{e}]" for e in times] + covariates,
            estimates + self.covariate_params.tolist(),
            errors + self.covariate_std_errors.tolist(),
            level=level,
            df=self.df_resid,
            keys=keys,
        )

    def cohort_tidy(self, level: float = 0.95) -> pd.DataFrame:
        """The cohort effects :math:`CATT_{g,e}` as a tidy frame.

        Returns
        -------
        pandas.DataFrame
            Columns ``term, cohort, event_time, weight`` and the tidy schema.
        """
        table = self.catt
        keys = {name: table[name].tolist() for name in ("cohort", "event_time", "weight")}
        return make_tidy(
            list(self.catt_vcov.index),
            table["estimate"].to_numpy(),
            table["std_error"].to_numpy(),
            level=level,
            df=self.df_resid,
            keys=keys,
        )

    def event_study_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Event-time effects, their covariance and event times (for :class:`HonestDiD`)."""
        return (
            self.att.to_numpy(dtype=float),
            self.vcov.to_numpy(dtype=float),
            np.asarray(self.att.index, dtype=np.int64),
        )

    def model_info(self) -> ModelInfo:
        """Counts, fixed effects, inference and the control cohort."""
        return ModelInfo(
            name="Sun-Abraham event study",
            n_obs=self.nobs,
            n_units=self.n_units,
            n_clusters=self.n_clusters,
            fixed_effects=("firm", "year"),
            cluster=self.cluster,
            se_type=self.se_type,
            dependent=self.dependent,
            notes=(
                f"event_time = {self.reference} is the reference period (effect set to 0)",
                f"control cohort: {self.control}; weights: cohort shares by event time",
            ),
            extra={
                "Within R2": f"{self.r_squared:.3f}",
                "Cohorts": str(self.catt.cohort.nunique()),
            },
        )

    def plot(self, ax: Axes | None = None, level: float = 0.95) -> Axes:
        """Event-study plot of the interaction-weighted effects."""
        from parkimpact.did.diagnostic_plots import plot_event_time_effects

        return plot_event_time_effects(
            self.tidy(level),
            reference=self.reference,
            ylabel=f"effect on {self.dependent}",
            title=f"Sun-Abraham event study ({100 * level:g}% intervals)",
            ax=ax,
        )

    def __repr__(self) -> str:
        return (
            f"SunAbrahamResult({self.dependent}; {len(self.att)} event times, "
            f"{self.catt.cohort.nunique()} cohorts, control: {self.control}; n={self.nobs})"
        )
