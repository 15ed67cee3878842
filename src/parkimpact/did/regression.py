r"""Static two-way fixed effects and first-difference regressions.

:class:`TwoWayFE` estimates

.. math:: y_{it} = \alpha_i + \lambda_t + \beta' D_{it} + \gamma' X_{it} + \varepsilon_{it}

by the within transformation (:mod:`parkimpact.did.within`) and least squares
(:mod:`parkimpact.did.ols`); :class:`FirstDifference` regresses
:math:`\Delta y_{it}` on an intercept, year dummies and :math:`\Delta x_{it}`
over consecutive years. Both are configuration only: ``fit(panel)`` returns a
new immutable result and never changes the estimator or the panel.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.data.panel import FirmPanel
from parkimpact.did.ols import VCOV_KINDS, Covariance, OLSFit, VcovKind, fit_ols
from parkimpact.did.regression_results import (
    FirstDifferenceResult,
    FitState,
    TwoWayFEResult,
    covariance_fields,
)
from parkimpact.did.sample import (
    Sample,
    build_sample,
    check_panel,
    make_spec,
    optional_column,
    resolve_column,
    sample_covariance,
)
from parkimpact.did.within import DEFAULT_MAX_ITER, DEFAULT_TOL
from parkimpact.errors import DroppedRowsWarning, IdentificationError

__all__ = ["TwoWayFE", "FirstDifference"]

IN_PARK = "in_park"


# --------------------------------------------------------------------------- checks
def check_settings(
    estimator: str,
    outcome: object,
    columns: dict[str, object],
    vcov: object,
    cluster: object,
) -> None:
    """Check the types and choices shared by the regression estimators."""
    if not isinstance(outcome, str) or not outcome:
        raise TypeError(f"outcome must be a column name (str); got {outcome!r}.")
    for name, value in columns.items():
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, Sequence) or not all(isinstance(v, str) for v in items):
            raise TypeError(
                f"{name} of {estimator} must be a column name or a sequence of column names; "
                f"got {value!r}."
            )
    if vcov not in VCOV_KINDS:
        raise ValueError(
            f"The 'vcov' parameter of {estimator} must be one of {VCOV_KINDS}. "
            f"Got {vcov!r} instead."
        )
    if cluster is not None and not isinstance(cluster, str):
        raise TypeError(f"cluster must be a column name or None; got {cluster!r}.")


def as_names(value: str | Sequence[str]) -> tuple[str, ...]:
    """A name or sequence of names as a tuple."""
    return (value,) if isinstance(value, str) else tuple(value)


def check_distinct(outcome: str, regressors: Sequence[str]) -> None:
    """Regressors must be distinct and must not include the outcome."""
    seen = [r for i, r in enumerate(regressors) if r in regressors[:i]]
    if outcome in regressors or seen:
        bad = sorted(set(seen) | ({outcome} & set(regressors)))
        raise ValueError(
            f"regressors must be distinct and exclude the outcome; got {bad} repeated or "
            "equal to the outcome. "
            "List each column once."
        )


def treatment_source(panel: FirmPanel, name: str) -> str | None:
    """The column of a treatment, or None when ``in_park`` is derived from the entry role."""
    if name == IN_PARK and name not in panel.data.columns:
        if panel.roles.entry is None:
            raise ValueError(
                f"treatment {IN_PARK!r} must be a column of the panel or derivable from its "
                "entry role; got neither. Declare FirmPanel(..., entry='<entry year column>') "
                "or name an existing treatment column."
            )
        return None
    return resolve_column(panel, name, "treatment")


def check_treatment(name: str, values: np.ndarray) -> None:
    """A treatment must be non-zero somewhere in the estimation sample."""
    if not np.any(values != 0):
        raise IdentificationError(
            f"treatment {name!r} must be non-zero for some rows of the estimation sample; got "
            f"0 in all {len(values)} rows. Check the treatment coding (and the entry years) "
            "or the sample restrictions."
        )


# ----------------------------------------------------------------------- estimation
def estimate_within(
    sample: Sample,
    outcome: str,
    regressors: dict[str, np.ndarray],
    *,
    vcov: str,
    cluster: str | None,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> tuple[OLSFit, Covariance]:
    """Demean outcome and regressors by the sample's fixed effects, solve and get the vcov."""
    n, k = sample.panel.n_obs, len(regressors)
    stacked = np.empty((n, k + 1), dtype=np.float64, order="F")
    for j, values in enumerate(regressors.values()):
        stacked[:, j] = values
    stacked[:, k] = sample.values(outcome, "outcome")
    weights = sample.weights
    raw_norms = _centred_norms(stacked[:, :k], weights)
    demeaned = sample.fixed_effects.demean(stacked, weights, tol=tol, max_iter=max_iter).values
    fit = fit_ols(
        demeaned[:, :k],
        demeaned[:, k],
        list(regressors),
        weights=weights,
        raw_norms=raw_norms if sample.fixed_effects.codes else None,
        absorbed_by=", ".join(sample.fixed_effects.names),
    )
    return fit, sample_covariance(sample, fit, vcov, cluster)


def _centred_norms(matrix: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    w = np.ones(matrix.shape[0]) if weights is None else weights
    mean = (w @ matrix) / np.sum(w)
    centred = matrix - mean
    return np.sqrt(np.einsum("i,ij,ij->j", w, centred, centred))


def result_fields(
    name: str,
    sample: Sample,
    fit: OLSFit,
    cov: Covariance,
    *,
    outcome: str,
    spec: Any,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """Fields shared by the regression results."""
    terms = pd.Index(fit.terms, name="term")
    return {
        "name": name,
        "params": pd.Series(fit.coef, index=terms, name="estimate"),
        **covariance_fields(cov, terms),
        "nobs": fit.n_obs,
        "n_units": sample.panel.n_units,
        "fixed_effects": sample.fixed_effects.names,
        "dependent": outcome,
        "r_squared": fit.r_squared,
        "drops": sample.panel.drops,
        "spec": spec,
        "notes": tuple(notes),
        "state": FitState(sample, fit),
    }


# ------------------------------------------------------------------------ TwoWayFE
@dataclass(frozen=True)
class TwoWayFE:
    r"""Static two-way fixed effects (TWFE) regression.

    .. math:: y_{it} = \alpha_i + \lambda_t + \beta' D_{it} + \gamma' X_{it}
              + \varepsilon_{it}

    estimated by the within transformation (alternating projections) and
    least squares; identical to OLS on firm and year dummies (LSDV).

    Parameters
    ----------
    outcome : str
        Outcome column.
    treatment : str or sequence of str, default "in_park"
        Treatment column(s) :math:`D`. ``"in_park"`` is derived from the
        panel's entry role as :math:`1[t \ge \text{entry}_i]` when the panel
        has no such column.
    covariates : sequence of str, default ()
        Time-varying controls :math:`X`.
    weights : str or None, default None
        Weight column or role (analytic weights); None for unweighted.
    fixed_effects : sequence of str, default ("unit", "time")
        Absorbed fixed effects: role names or columns.
    vcov : {"cluster", "hetero", "iid"}, default "cluster"
        Covariance estimator (fixest conventions; see
        :func:`parkimpact.did.ols.covariance`): CRV1 with
        :math:`\frac{G}{G-1}\frac{n-1}{n-K}`, :math:`K` counting the slopes
        and the fixed-effect parameters not nested in the cluster; HC1 with
        :math:`n/(n-K)` and all fixed-effect parameters in :math:`K`; iid with
        :math:`\hat\sigma^2 = RSS/(n-K)`.
    cluster : str or None, default None
        Cluster column or role; None means the panel's unit.
    drop_singletons : bool, default True
        Drop observations alone in a fixed-effect group (fixest's default),
        reported in the drop report.
    tol : float, default 1e-10
        Convergence tolerance of the within transformation.
    max_iter : int, default 10000
        Maximum sweeps of the within transformation.

    Notes
    -----
    Under staggered adoption with effects that vary over time or across
    cohorts, :math:`\beta` is a weighted average of comparisons some of which
    use already-treated firms as controls (Goodman-Bacon 2021) and can be far
    from any average effect. Use :class:`~parkimpact.did.EventStudy` or a
    heterogeneity-robust estimator for such designs.

    Examples
    --------
    >>> result = TwoWayFE("log_output", covariates=["log_employment"]).fit(panel)  # doctest: +SKIP
    >>> result.tidy()  # doctest: +SKIP
    """

    outcome: str
    _: KW_ONLY
    treatment: str | Sequence[str] = IN_PARK
    covariates: Sequence[str] = ()
    weights: str | None = None
    fixed_effects: Sequence[str] = ("unit", "time")
    vcov: VcovKind = "cluster"
    cluster: str | None = None
    drop_singletons: bool = True
    tol: float = DEFAULT_TOL
    max_iter: int = DEFAULT_MAX_ITER

    def __post_init__(self) -> None:
        check_settings(
            "TwoWayFE",
            self.outcome,
            {
                "treatment": self.treatment,
                "covariates": self.covariates,
                "fixed_effects": self.fixed_effects,
            },
            self.vcov,
            self.cluster,
        )
        check_iteration(self.tol, self.max_iter)

    def fit(self, panel: FirmPanel) -> TwoWayFEResult:
        """Estimate on ``panel``.

        Parameters
        ----------
        panel : FirmPanel

        Returns
        -------
        TwoWayFEResult

        Raises
        ------
        DataFormatError
            If a column is missing or the outcome or a regressor holds text.
        IdentificationError
            If a treatment is zero throughout, a regressor is absorbed by the
            fixed effects or collinear, or there are fewer than 2 clusters.
        """
        panel = check_panel(panel, "TwoWayFE")
        outcome = resolve_column(panel, self.outcome, "outcome")
        treatments = {name: treatment_source(panel, name) for name in as_names(self.treatment)}
        covariates = [resolve_column(panel, c, "covariate") for c in self.covariates]
        check_distinct(outcome, [*(c or IN_PARK for c in treatments.values()), *covariates])
        numeric = {outcome: "outcome"}
        numeric |= {c: "treatment" for c in treatments.values() if c is not None}
        numeric |= {c: "covariate" for c in covariates}
        fe_columns = [resolve_column(panel, f, "fixed effect") for f in self.fixed_effects]
        cluster = resolve_column(panel, self.cluster or "unit", "cluster")
        sample = build_sample(
            panel,
            step="TwoWayFE",
            numeric=numeric,
            fixed_effects=fe_columns,
            weights=optional_column(panel, self.weights, "weights"),
            cluster=cluster if self.vcov == "cluster" else None,
            drop_singletons=self.drop_singletons,
        )
        regressors: dict[str, np.ndarray] = {}
        for name, column in treatments.items():
            values = (
                sample.panel.in_park().to_numpy(dtype=np.float64)
                if column is None
                else sample.values(column, "treatment")
            )
            check_treatment(name, values)
            regressors[name if column is None else column] = values
        for column in covariates:
            regressors[column] = sample.values(column, "covariate")
        fit, cov = estimate_within(
            sample,
            outcome,
            regressors,
            vcov=self.vcov,
            cluster=cluster,
            tol=self.tol,
            max_iter=self.max_iter,
        )
        spec = make_spec(self, panel)
        fields = result_fields("Two-way FE", sample, fit, cov, outcome=outcome, spec=spec)
        return TwoWayFEResult(**fields)


def check_iteration(tol: object, max_iter: object) -> None:
    """Check the settings of the within transformation."""
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 < tol < 1e-2:
        raise ValueError(f"tol must be a number in (0, 0.01); got {tol!r}. The default is 1e-10.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer; got {max_iter!r}.")


# ----------------------------------------------------------------- FirstDifference
@dataclass(frozen=True)
class FirstDifference:
    r"""First-difference regression over consecutive years.

    .. math:: \Delta y_{it} = \delta_0 + \sum_{s > s_0} \delta_s 1[t = s]
              + \beta' \Delta x_{it} + \Delta\varepsilon_{it}

    with :math:`\Delta y_{it} = y_{it} - y_{i,t-1}`, an intercept, and (with
    ``time_effects``) dummies for every differenced year except the first,
    :math:`s_0` (Wooldridge, *Introductory Econometrics*, ch. 13). Only
    consecutive years are differenced: a firm's first year and any year whose
    previous year is not in the sample (a gap, or a row dropped for missing
    values) give no difference; gaps are reported in the drop report, first
    years are recorded there without a warning.

    Parameters
    ----------
    outcome : str
        Outcome column (in levels).
    regressors : sequence of str
        Regressor columns (in levels); ``"in_park"`` may be derived from the
        entry role. Coefficients are named after them.
    time_effects : bool, default True
        Include year dummies of the differenced equation.
    vcov : {"iid", "hetero", "cluster"}, default "iid"
        Covariance: iid :math:`RSS/(n-K) (X'X)^{-1}`; HC1 :math:`n/(n-K)`; CRV1
        :math:`\frac{G}{G-1}\frac{n-1}{n-K}` (Stata's and statsmodels'
        defaults), :math:`K` counting the intercept and year dummies.
    cluster : str or None, default None
        Cluster column or role for ``vcov="cluster"``; None means the unit.
    weights : str or None, default None
        Weight column or role (weight of the later year of each difference).
    """

    outcome: str
    _: KW_ONLY
    regressors: Sequence[str]
    time_effects: bool = True
    vcov: VcovKind = "iid"
    cluster: str | None = None
    weights: str | None = None

    def __post_init__(self) -> None:
        regressors = {"regressors": self.regressors}
        check_settings("FirstDifference", self.outcome, regressors, self.vcov, self.cluster)
        if not as_names(self.regressors):
            raise ValueError("regressors must name at least one column; got none.")

    def fit(self, panel: FirmPanel) -> FirstDifferenceResult:
        """Estimate on ``panel``; see the class docstring.

        Raises
        ------
        DataFormatError
            If a column is missing or holds text.
        IdentificationError
            If a differenced regressor has no variation or is collinear.
        """
        panel = check_panel(panel, "FirstDifference")
        outcome = resolve_column(panel, self.outcome, "outcome")
        sources = {name: treatment_source(panel, name) for name in as_names(self.regressors)}
        check_distinct(outcome, [c or IN_PARK for c in sources.values()])
        numeric = {outcome: "outcome"} | {c: "regressor" for c in sources.values() if c}
        cluster = resolve_column(panel, self.cluster or "unit", "cluster")
        base = build_sample(
            panel,
            step="FirstDifference",
            numeric=numeric,
            fixed_effects=(),
            weights=optional_column(panel, self.weights, "weights"),
            cluster=cluster if self.vcov == "cluster" else None,
            drop_singletons=False,
        )
        levels = {outcome: base.values(outcome, "outcome")}
        for name, column in sources.items():
            levels[name if column is None else column] = (
                base.panel.in_park().to_numpy(dtype=np.float64)
                if column is None
                else base.values(column, "regressor")
            )
        previous = previous_year_rows(base.panel)
        sample = _difference_sample(base, previous)
        keep = previous >= 0
        diffs = {k: v[keep] - v[previous[keep]] for k, v in levels.items()}
        design, terms = _difference_design(sample.panel, diffs, outcome, self.time_effects)
        fit = fit_ols(design, diffs[outcome], terms, weights=sample.weights, tss_centered=True)
        cov = sample_covariance(sample, fit, self.vcov, cluster)
        spec = make_spec(self, panel)
        fields = result_fields("First differences", sample, fit, cov, outcome=outcome, spec=spec)
        return FirstDifferenceResult(**fields)


def previous_year_rows(panel: FirmPanel) -> np.ndarray:
    """Position of each row's previous-year row of the same firm, or -1 if absent."""
    data = panel.data
    unit = pd.factorize(data[panel.roles.unit])[0]
    time = data[panel.roles.time].to_numpy(dtype=np.int64)
    order = np.lexsort((time, unit))
    u, t = unit[order], time[order]
    consecutive = (u[1:] == u[:-1]) & (t[1:] == t[:-1] + 1)
    previous = np.full(len(unit), -1, dtype=np.intp)
    previous[order[1:][consecutive]] = order[:-1][consecutive]
    return previous


def _difference_sample(base: Sample, previous: np.ndarray) -> Sample:
    """Drop rows without a previous year: gaps with a warning, first years without."""
    panel = base.panel
    unit = pd.factorize(panel.data[panel.roles.unit])[0]
    time = panel.data[panel.roles.time].to_numpy()
    first_year = time == pd.Series(time).groupby(unit).transform("min").to_numpy()
    gap = (previous < 0) & ~first_year
    work = panel.drop_rows(
        gap, step="FirstDifference", reason="previous year not in the sample (gap): no difference"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        work = work.drop_rows(
            first_year[~gap],
            step="FirstDifference",
            reason="first year of the firm in the sample (base of the first difference)",
        )
    keep = previous >= 0
    if not keep.any():
        raise IdentificationError(
            "the panel must contain consecutive years of a firm to difference; got none. "
            "Check the time column and the drop report."
        )
    return Sample(
        work,
        None if base.weights is None else base.weights[keep],
        base.fixed_effects,
        None if base.clusters is None else base.clusters[keep],
        base.cluster,
    )


def _difference_design(
    panel: FirmPanel, diffs: dict[str, np.ndarray], outcome: str, time_effects: bool
) -> tuple[np.ndarray, list[str]]:
    """Intercept, year dummies (all differenced years but the first) and differences."""
    columns = [np.ones(panel.n_obs)]
    terms = ["intercept"]
    if time_effects:
        time_col = panel.roles.time
        years = panel.data[time_col].to_numpy()
        for year in np.unique(years)[1:]:
            columns.append((years == year).astype(np.float64))
            terms.append(f"{time_col}_{int(year)}")
    for name, values in diffs.items():
        if name != outcome:
            columns.append(values)
            terms.append(name)
    return np.column_stack(columns), terms
