"""Results of the regression estimators of :mod:`parkimpact.did`.

Results are frozen dataclasses following :class:`~parkimpact.report.ResultBase`:
``tidy()`` feeds tables and plots, ``summary()`` prints, ``conf_int(level)``
recomputes intervals, and :meth:`RegressionResult.with_vcov` returns a new
result with another covariance estimator (nothing is re-estimated).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.did.ols import Covariance, OLSFit, VcovKind
from parkimpact.did.sample import Sample, sample_covariance
from parkimpact.report.tidy import ModelInfo, ResultBase, make_tidy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "RegressionResult",
    "TwoWayFEResult",
    "FirstDifferenceResult",
    "EventStudyResult",
    "FitState",
    "sup_t_draws",
]


@dataclass(frozen=True, eq=False)
class FitState:
    """What a result keeps to recompute its covariance: the sample and the solved fit."""

    sample: Sample
    fit: OLSFit


@dataclass(frozen=True, eq=False, repr=False)
class RegressionResult(ResultBase):
    """A fitted linear regression with its inference, counts and provenance.

    Parameters
    ----------
    name : str
        Title of the model.
    params, std_errors : pandas.Series
        Coefficients and standard errors, indexed by term.
    vcov : pandas.DataFrame
        Covariance of the coefficients.
    df_resid : float
        Degrees of freedom of the Student t reference (``G - 1`` when
        clustered, ``n - K`` otherwise).
    nobs, n_units : int
        Observations (firm-years, or differences) and firms used.
    n_clusters : int or None
        Number of clusters of a clustered covariance.
    cluster : str or None
        The cluster column.
    vcov_type : {"cluster", "hetero", "iid"}
        The covariance estimator.
    se_type : str
        Readable description of the standard errors.
    fixed_effects : tuple of str
        Absorbed fixed effects (columns).
    dependent : str
        Outcome column.
    r_squared : float
        Within R-squared (fixed-effect models) or R-squared.
    drops : DropReport
        The panel's drop report extended by the rows the estimator dropped.
    spec : Mapping
        Estimator, settings, parkimpact version and the input panel's fingerprint.
    notes : tuple of str
        Lines shown under the summary.
    state : FitState
        The estimation sample and solved least-squares problem (for
        :meth:`with_vcov`).
    """

    name: str
    params: pd.Series
    std_errors: pd.Series
    vcov: pd.DataFrame
    df_resid: float
    nobs: int
    n_units: int
    n_clusters: int | None
    cluster: str | None
    vcov_type: str
    se_type: str
    fixed_effects: tuple[str, ...]
    dependent: str
    r_squared: float
    drops: DropReport
    spec: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    state: FitState | None = field(default=None, repr=False)

    # ----------------------------------------------------------------- inference
    @property
    def tstats(self) -> pd.Series:
        """``params / std_errors``."""
        return (self.params / self.std_errors).rename("statistic")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values from Student t with ``df_resid`` degrees of freedom."""
        frame = self._coefficient_tidy()
        return pd.Series(frame["p_value"].to_numpy(), index=self.params.index, name="p_value")

    def _coefficient_tidy(self, level: float = 0.95) -> pd.DataFrame:
        return make_tidy(
            list(self.params.index),
            self.params.to_numpy(),
            self.std_errors.to_numpy(),
            level=level,
            df=self.df_resid,
        )

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row per coefficient with the columns of the tidy schema.

        Parameters
        ----------
        level : float, default 0.95
            Confidence level of ``conf_low`` / ``conf_high`` (Student t with
            ``df_resid`` degrees of freedom, as fixest).

        Returns
        -------
        pandas.DataFrame
        """
        return self._coefficient_tidy(level)

    def model_info(self) -> ModelInfo:
        """Counts, fixed effects and inference for summaries and tables."""
        label = "Within R2" if self.fixed_effects else "R2"
        return ModelInfo(
            name=self.name,
            n_obs=self.nobs,
            n_units=self.n_units,
            n_clusters=self.n_clusters,
            fixed_effects=self.fixed_effects,
            cluster=self.cluster,
            se_type=self.se_type,
            dependent=self.dependent,
            notes=self.notes,
            extra={label: f"{self.r_squared:.3f}"},
        )

    # ------------------------------------------------------------ new covariance
    def with_vcov(self, vcov: VcovKind, cluster: str | None = None) -> RegressionResult:
        """A new result with another covariance estimator (estimates unchanged).

        Parameters
        ----------
        vcov : {"cluster", "hetero", "iid"}
            Covariance estimator; see :func:`parkimpact.did.ols.covariance`.
        cluster : str or None
            Cluster column or role for ``vcov="cluster"`` (default the panel's
            unit). It must have no missing value in the estimation sample.

        Returns
        -------
        RegressionResult
            Same class as ``self``; ``spec["vcov_override"]`` records the change.
        """
        if self.state is None:
            raise ValueError(
                "with_vcov needs the estimation state; got a result without it. Refit the "
                "model with the wanted vcov instead."
            )
        cov = sample_covariance(self.state.sample, self.state.fit, vcov, cluster)
        spec = MappingProxyType(
            {**self.spec, "vcov_override": {"vcov": vcov, "cluster": cov.cluster}}
        )
        return dataclasses.replace(self, spec=spec, **covariance_fields(cov, self.params.index))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.dependent} on {', '.join(self.params.index[:4])}"
            f"{', ...' if len(self.params) > 4 else ''}; n={self.nobs}, {self.se_type})"
        )


def covariance_fields(cov: Covariance, terms: pd.Index) -> dict[str, Any]:
    """The result fields that depend on the covariance estimator."""
    matrix = pd.DataFrame(cov.matrix, index=terms, columns=terms)
    return {
        "vcov": matrix,
        "std_errors": pd.Series(np.sqrt(np.diag(cov.matrix)), index=terms, name="std_error"),
        "df_resid": cov.df,
        "n_clusters": cov.n_clusters,
        "cluster": cov.cluster,
        "vcov_type": cov.kind,
        "se_type": cov.description,
    }


@dataclass(frozen=True, eq=False, repr=False)
class TwoWayFEResult(RegressionResult):
    """Result of :class:`~parkimpact.did.TwoWayFE`."""


@dataclass(frozen=True, eq=False, repr=False)
class FirstDifferenceResult(RegressionResult):
    """Result of :class:`~parkimpact.did.FirstDifference` (terms: the regressors in levels)."""


def sup_t_draws(matrix: np.ndarray, *, seed: int, n_draws: int) -> np.ndarray:
    r"""Draws of :math:`\max_j |Z_j| / \sigma_j` for :math:`Z \sim N(0, V)`.

    The quantile of these draws at ``level`` is the critical value of a
    uniform (simultaneous, sup-t) confidence band (Montiel Olea and
    Plagborg-Moller 2019). ``V`` may be singular.
    """
    sd = np.sqrt(np.diag(matrix))
    correlation = matrix / np.outer(sd, sd)
    eigenvalues, vectors = np.linalg.eigh((correlation + correlation.T) / 2.0)
    root = vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((n_draws, len(sd))) @ root.T
    return np.max(np.abs(draws), axis=1)


@dataclass(frozen=True, eq=False, repr=False)
class EventStudyResult(RegressionResult):
    """Result of :class:`~parkimpact.did.EventStudy`.

    Parameters
    ----------
    event_terms : Mapping[str, int]
        Event-time coefficient names mapped to their event time (binned
        endpoints map to the window's endpoints).
    reference : int
        The omitted event time (its effect is normalised to 0).
    window : tuple of int
        The event window.
    bin_endpoints : bool
        Whether the endpoints absorb all event times beyond the window.
    uniform_level : float
        Level of ``uniform_critical_value``.
    uniform_critical_value : float
        Sup-t critical value: ``estimate -/+ c * std_error`` covers all
        event-time effects jointly with probability ``uniform_level``.
    max_t_draws : numpy.ndarray
        Simulated maxima of the absolute t statistics (for other levels).
    seed : int
        Seed of the simulation.
    """

    event_terms: Mapping[str, int] = field(default_factory=dict)
    reference: int = -1
    window: tuple[int, int] = (-5, 5)
    bin_endpoints: bool = True
    uniform_level: float = 0.95
    uniform_critical_value: float = float("nan")
    max_t_draws: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    seed: int = 0

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficients with an ``event_time`` key and the reference period.

        The reference period appears as a row with estimate 0 and missing
        standard error, flagged by ``reference == True``; covariates have a
        missing ``event_time``.

        Parameters
        ----------
        level : float, default 0.95
            Pointwise confidence level.

        Returns
        -------
        pandas.DataFrame
            Columns ``term, event_time, reference`` and the tidy schema,
            event-time rows ordered by event time, then covariates.
        """
        terms = list(self.params.index)
        event = [t for t in terms if t in self.event_terms]
        ref_term = f"event_time[{self.reference}]"
        times = [self.event_terms[t] for t in event]
        order = np.argsort(np.array([*times, self.reference]), kind="stable")
        rows = [*event, ref_term]
        rows = [rows[i] for i in order] + [t for t in terms if t not in self.event_terms]
        estimates = [0.0 if t == ref_term else float(self.params[t]) for t in rows]
        errors = [np.nan if t == ref_term else float(self.std_errors[t]) for t in rows]
        keys = {
            "event_time": [
                float(self.reference) if t == ref_term else float(self.event_terms.get(t, np.nan))
                for t in rows
            ],
            "reference": [t == ref_term for t in rows],
        }
        return make_tidy(rows, estimates, errors, level=level, df=self.df_resid, keys=keys)

    def uniform_band(self, level: float | None = None) -> pd.DataFrame:
        """Simultaneous (sup-t) band of the event-time effects.

        Parameters
        ----------
        level : float or None
            Joint coverage; default ``uniform_level``. Other levels reuse the
            stored simulation draws.

        Returns
        -------
        pandas.DataFrame
            Columns ``event_time, estimate, conf_low, conf_high`` and
            ``critical_value`` (reference period excluded).
        """
        level = self.uniform_level if level is None else float(level)
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be strictly between 0 and 1; got {level!r}.")
        if level == self.uniform_level:
            critical = self.uniform_critical_value
        else:
            critical = float(np.quantile(self.max_t_draws, level))
        terms = sorted(self.event_terms, key=self.event_terms.__getitem__)
        estimate = self.params[terms].to_numpy()
        half = critical * self.std_errors[terms].to_numpy()
        return pd.DataFrame(
            {
                "event_time": [self.event_terms[t] for t in terms],
                "estimate": estimate,
                "conf_low": estimate - half,
                "conf_high": estimate + half,
                "critical_value": critical,
            }
        )

    def with_vcov(self, vcov: VcovKind, cluster: str | None = None) -> EventStudyResult:
        """A new result with another covariance and a re-simulated uniform band."""
        result = cast(EventStudyResult, super().with_vcov(vcov, cluster))
        draws, critical = uniform_fields(
            result.vcov,
            list(self.event_terms),
            seed=self.seed,
            n_draws=len(self.max_t_draws),
            level=self.uniform_level,
        )
        return dataclasses.replace(result, max_t_draws=draws, uniform_critical_value=critical)

    def plot(self, ax: Axes | None = None, uniform: bool = True, level: float = 0.95) -> Axes:
        """Event-study plot: estimates with pointwise and uniform bands.

        Pre-periods and post-periods are drawn with different markers and
        colours; the reference period is an open marker at zero; a dashed line
        marks zero and a dotted vertical line separates event times -1 and 0.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Axes to draw on; a new figure is made if None.
        uniform : bool, default True
            Also draw the uniform (sup-t) band at ``uniform_level``.
        level : float, default 0.95
            Level of the pointwise intervals.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        frame = self.tidy(level)
        frame = frame[frame["event_time"].notna()]
        band = self.uniform_band().set_index("event_time")
        for is_post, colour, marker, label in (
            (False, "tab:blue", "o", "pre-entry"),
            (True, "tab:red", "s", "post-entry"),
        ):
            post = (frame["event_time"] >= 0).to_numpy()
            part = frame[(post == is_post) & ~frame["reference"].to_numpy(dtype=bool)]
            x = part["event_time"].to_numpy()
            y = part["estimate"].to_numpy()
            if uniform and len(part):
                lows = band.loc[x, "conf_low"].to_numpy()
                highs = band.loc[x, "conf_high"].to_numpy()
                ax.vlines(x, lows, highs, colors=colour, alpha=0.35, linewidth=6)
            ax.errorbar(
                x,
                y,
                yerr=[y - part["conf_low"].to_numpy(), part["conf_high"].to_numpy() - y],
                fmt=marker,
                color=colour,
                capsize=3,
                label=label,
            )
        ax.plot([self.reference], [0.0], marker="o", mfc="white", color="black", linestyle="")
        ax.axhline(0.0, color="grey", linestyle="--", linewidth=1)
        ax.axvline(-0.5, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("years since park entry")
        ax.set_ylabel(f"effect on {self.dependent}")
        note = f"; shaded: {100 * self.uniform_level:g}% uniform band" if uniform else ""
        ax.set_title(f"Event study ({100 * level:g}% pointwise intervals{note})", fontsize=10)
        ax.legend(frameon=False)
        return ax


def uniform_fields(
    vcov: pd.DataFrame, terms: list[str], *, seed: int, n_draws: int, level: float
) -> tuple[np.ndarray, float]:
    """Sup-t draws and critical value for ``terms`` of ``vcov``."""
    if not terms:
        return np.empty(0), float("nan")
    draws = sup_t_draws(vcov.loc[terms, terms].to_numpy(), seed=seed, n_draws=n_draws)
    return draws, float(np.quantile(draws, level))
