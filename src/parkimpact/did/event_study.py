r"""Event-study (dynamic two-way fixed effects) regression around park entry.

.. math:: y_{it} = \alpha_i + \lambda_t
          + \sum_{e \in [a, b],\, e \ne r} \beta_e\, 1[t - E_i = e]
          + \gamma' X_{it} + \varepsilon_{it}

with :math:`E_i` the year firm :math:`i` entered a park. Estimation shares the
within transformation, least squares and covariance conventions of
:class:`~parkimpact.did.TwoWayFE`; a uniform (sup-t) band is simulated from the
estimated covariance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from types import MappingProxyType

import numpy as np

from parkimpact.data.panel import FirmPanel
from parkimpact.did.ols import VcovKind
from parkimpact.did.regression import (
    check_distinct,
    check_iteration,
    check_settings,
    estimate_within,
    result_fields,
)
from parkimpact.did.regression_results import EventStudyResult, uniform_fields
from parkimpact.did.sample import (
    build_sample,
    check_panel,
    make_spec,
    optional_column,
    resolve_column,
)
from parkimpact.did.within import DEFAULT_MAX_ITER, DEFAULT_TOL
from parkimpact.errors import IdentificationError

__all__ = ["EventStudy"]


@dataclass(frozen=True)
class EventStudy:
    r"""Leads and lags of park entry in a two-way fixed effects regression.

    .. math:: y_{it} = \alpha_i + \lambda_t
              + \sum_{e = a,\, e \ne r}^{b} \beta_e D^e_{it} + \gamma' X_{it}
              + \varepsilon_{it},
              \qquad D^e_{it} = 1[t - E_i = e]

    where :math:`[a, b]` is ``window`` and :math:`r` the ``reference`` period
    (its effect is normalised to zero). With ``bin_endpoints=True`` the
    endpoint dummies absorb all event times beyond the window,
    :math:`D^a_{it} = 1[t - E_i \le a]` and :math:`D^b_{it} = 1[t - E_i \ge b]`;
    without binning the treated firm-years outside the window are dropped
    (and reported). Never-treated firms have all dummies 0 and, with the
    not-yet-treated years, identify the year effects. Firms that entered
    before their first observed year still enter: they contribute the event
    times they are observed at (binned into the upper endpoint when beyond it).

    Parameters
    ----------
    outcome : str
        Outcome column.
    window : tuple of int, default (-5, 5)
        First and last event time :math:`(a, b)`, :math:`a < b`.
    reference : int, default -1
        Omitted event time, inside the window.
    bin_endpoints : bool, default True
        Bin the endpoints (see above).
    covariates : sequence of str, default ()
        Time-varying controls.
    weights : str or None, default None
        Weight column or role; None for unweighted.
    fixed_effects : sequence of str, default ("unit", "time")
        Absorbed fixed effects (role names or columns).
    vcov : {"cluster", "hetero", "iid"}, default "cluster"
        Covariance estimator, as in :class:`~parkimpact.did.TwoWayFE`.
    cluster : str or None, default None
        Cluster column or role; None means the panel's unit.
    seed : int, default 0
        Seed of the sup-t simulation (:func:`numpy.random.default_rng`).
    n_draws : int, default 10000
        Draws of the sup-t simulation.
    uniform_level : float, default 0.95
        Joint coverage of the uniform band.
    drop_singletons : bool, default True
        Drop observations alone in a fixed-effect group (reported).
    tol, max_iter
        Settings of the within transformation.

    Notes
    -----
    The uniform band is :math:`\hat\beta_e \pm c\,\widehat{se}_e` with
    :math:`c` the ``uniform_level`` quantile of
    :math:`\max_e |Z_e| / \widehat{se}_e`, :math:`Z \sim N(0, \hat V)`
    (Montiel Olea and Plagborg-Moller 2019). Under staggered adoption with
    heterogeneous effects the lead and lag coefficients mix cohorts with
    weights that can be negative (Sun and Abraham 2021); with a single entry
    cohort, or effects homogeneous across cohorts, they are the dynamic ATTs.
    """

    outcome: str
    _: KW_ONLY
    window: tuple[int, int] = (-5, 5)
    reference: int = -1
    bin_endpoints: bool = True
    covariates: Sequence[str] = ()
    weights: str | None = None
    fixed_effects: Sequence[str] = ("unit", "time")
    vcov: VcovKind = "cluster"
    cluster: str | None = None
    seed: int = 0
    n_draws: int = 10_000
    uniform_level: float = 0.95
    drop_singletons: bool = True
    tol: float = DEFAULT_TOL
    max_iter: int = DEFAULT_MAX_ITER

    def __post_init__(self) -> None:
        check_settings(
            "EventStudy",
            self.outcome,
            {"covariates": self.covariates, "fixed_effects": self.fixed_effects},
            self.vcov,
            self.cluster,
        )
        check_iteration(self.tol, self.max_iter)
        _check_window(self.window, self.reference)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise TypeError(f"seed must be an integer; got {self.seed!r}.")
        draws = self.n_draws
        if isinstance(draws, bool) or not isinstance(draws, int) or draws < 100:
            raise ValueError(f"n_draws must be an integer >= 100; got {self.n_draws!r}.")
        level = self.uniform_level
        if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
            raise ValueError(f"uniform_level must be strictly between 0 and 1; got {level!r}.")

    def fit(self, panel: FirmPanel) -> EventStudyResult:
        """Estimate on ``panel`` (which must declare an entry role).

        Parameters
        ----------
        panel : FirmPanel

        Returns
        -------
        EventStudyResult

        Raises
        ------
        ValueError
            If the panel has no entry role.
        DataFormatError
            If a column is missing or holds text.
        IdentificationError
            If an event time of the window is never observed, the dummies are
            collinear with the fixed effects (e.g. no never-treated firms and
            binned endpoints), or there are fewer than 2 clusters.
        """
        panel = check_panel(panel, "EventStudy")
        panel.require_role("entry", "an event study")
        outcome = resolve_column(panel, self.outcome, "outcome")
        covariates = [resolve_column(panel, c, "covariate") for c in self.covariates]
        check_distinct(outcome, covariates)
        cluster = resolve_column(panel, self.cluster or "unit", "cluster")
        sample = build_sample(
            panel,
            step="EventStudy",
            numeric={outcome: "outcome"} | {c: "covariate" for c in covariates},
            fixed_effects=[resolve_column(panel, f, "fixed effect") for f in self.fixed_effects],
            weights=optional_column(panel, self.weights, "weights"),
            cluster=cluster if self.vcov == "cluster" else None,
            restrict=None if self.bin_endpoints else self._drop_outside_window,
            drop_singletons=self.drop_singletons,
        )
        event = sample.panel.event_time().to_numpy()
        regressors, event_terms = self._dummies(event)
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
        fields = result_fields(
            "Event study", sample, fit, cov, outcome=outcome, spec=spec, notes=self._notes()
        )
        draws, critical = uniform_fields(
            fields["vcov"],
            list(event_terms),
            seed=int(self.seed),
            n_draws=self.n_draws,
            level=float(self.uniform_level),
        )
        return EventStudyResult(
            **fields,
            event_terms=MappingProxyType(event_terms),
            reference=self.reference,
            window=(int(self.window[0]), int(self.window[1])),
            bin_endpoints=self.bin_endpoints,
            uniform_level=float(self.uniform_level),
            uniform_critical_value=critical,
            max_t_draws=draws,
            seed=int(self.seed),
        )

    # ------------------------------------------------------------------ helpers
    def _term(self, e: int) -> str:
        first, last = self.window
        if self.bin_endpoints and e == first:
            return f"event_time[<={e}]"
        if self.bin_endpoints and e == last:
            return f"event_time[>={e}]"
        return f"event_time[{e}]"

    def _dummies(self, event: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        """Event-time dummies (NaN event time, i.e. never treated, gives 0)."""
        first, last = self.window
        regressors: dict[str, np.ndarray] = {}
        terms: dict[str, int] = {}
        empty = []
        with np.errstate(invalid="ignore"):
            for e in range(first, last + 1):
                if e == self.reference:
                    continue
                if self.bin_endpoints and e == first:
                    flag = event <= e
                elif self.bin_endpoints and e == last:
                    flag = event >= e
                else:
                    flag = event == e
                if not flag.any():
                    empty.append(e)
                regressors[self._term(e)] = flag.astype(np.float64)
                terms[self._term(e)] = e
        if empty:
            observed = event[~np.isnan(event)]
            span = f"{observed.min():g} to {observed.max():g}" if observed.size else "none"
            raise IdentificationError(
                f"window must contain only observed event times; got no observation at event "
                f"time(s) {empty} (observed: {span}). Narrow the window."
            )
        return regressors, terms

    def _drop_outside_window(self, panel: FirmPanel) -> FirmPanel:
        first, last = self.window
        event = panel.event_time().to_numpy()
        with np.errstate(invalid="ignore"):
            outside = ~np.isnan(event) & ((event < first) | (event > last))
        return panel.drop_rows(
            outside,
            step="EventStudy",
            reason=f"event time outside window [{first}, {last}] (bin_endpoints=False)",
        )

    def _notes(self) -> tuple[str, ...]:
        first, last = self.window
        notes = [f"event_time = {self.reference} is the reference period (effect set to 0)"]
        if self.bin_endpoints:
            notes.append(
                f"endpoints binned: event_time[<={first}] and event_time[>={last}] pool all "
                "years beyond the window"
            )
        return tuple(notes)


def _check_window(window: object, reference: object) -> None:
    ok = (
        isinstance(window, tuple | list)
        and len(window) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in window)
    )
    if not ok:
        raise TypeError(f"window must be a pair of integers (first, last); got {window!r}.")
    first, last = window  # type: ignore[misc]
    if first >= last:
        raise ValueError(f"window must have first < last; got {window!r}. Use e.g. window=(-5, 5).")
    if isinstance(reference, bool) or not isinstance(reference, int | np.integer):
        raise TypeError(f"reference must be an integer event time; got {reference!r}.")
    if not first <= reference <= last:
        raise ValueError(
            f"window must contain the reference period {reference}; got {tuple(window)}. "  # type: ignore[arg-type]
            "Widen the window or choose a reference inside it (usually -1)."
        )
