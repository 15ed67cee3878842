r"""Sensitivity of event-study conclusions to violations of parallel trends (Rambachan-Roth).

The event-study coefficients satisfy :math:`\hat\beta \sim N(\beta, \Sigma)` with
:math:`\beta = (\delta_{pre}, \tau + \delta_{post})`: the post-entry
coefficients mix the effects :math:`\tau` with the post-entry violation of
parallel trends :math:`\delta_{post}`, about which the pre-entry coefficients
:math:`\delta_{pre}` are informative. Restricting :math:`\delta \in \Delta`
partially identifies :math:`\theta = l'\tau`; :class:`HonestDiD` reports
confidence intervals that are valid uniformly over :math:`\Delta`, for a range
of its tuning parameter, and the breakdown value at which the conclusion
"the effect is non-zero" stops holding.

- ``restriction="smoothness"``: :math:`\Delta^{SD}(M) = \{\delta :
  |(\delta_{t+1} - \delta_t) - (\delta_t - \delta_{t-1})| \le M\}`, the trend
  may deviate from a linear extrapolation of the pre-trend by a slope change
  of at most :math:`M` per period. Inference: the optimal fixed-length
  confidence interval (FLCI; Armstrong and Kolesár 2018), HonestDiD's default
  for this set (method ``"FLCI"``).
- ``restriction="relative_magnitudes"``: :math:`\Delta^{RM}(\bar M) =
  \{\delta : |\delta_{t+1} - \delta_t| \le \bar M \max_{s<0}
  |\delta_{s+1} - \delta_s|,\ t \ge 0\}`, post-entry changes of the trend at
  most :math:`\bar M` times the largest pre-entry change. Inference: the
  conditional-least-favourable hybrid test of Andrews, Roth and Pakes (2023),
  applied to each polyhedron of the union and inverted over a grid of
  :math:`\theta` (the union of the acceptance regions), HonestDiD's default
  for this set (method ``"C-LF"``).

The ``"original"`` row is the conventional interval
:math:`l'\hat\beta_{post} \pm z_{1-\alpha/2}\sqrt{l'\Sigma_{post}l}`.

Conventions shared with the R package HonestDiD: the reference period is the
year before entry (event time -1), normal critical values, the hybrid's
first-stage size :math:`\kappa = \alpha/10`, only the moments that involve
post-entry coefficients enter the relative-magnitudes tests, and the interval
reported is [smallest, largest] accepted value. Differences (documented where
they arise): exact folded-normal quantiles instead of simulated ones, a
direct minimisation of the FLCI half-length instead of a grid over its
standard deviation, exact conditional truncation points from the vertices of
the dual polytope instead of bisection, endpoints refined between grid
points, the least-favourable critical value simulated with numpy's generator
(``n_draws`` draws, ``seed``), and the same moments for a single post period
as for several (HonestDiD adds the pre-period-only moments in that case).

References
----------
Rambachan, A. and Roth, J. (2023). A more credible approach to parallel
trends. *Review of Economic Studies*, 90(5), 2555-2591.

Andrews, I., Roth, J. and Pakes, A. (2023). Inference for linear conditional
moment inequalities. *Review of Economic Studies*, 90(6), 2763-2791.

Armstrong, T. B. and Kolesár, M. (2018). Optimal inference in a class of
regression models. *Econometrica*, 86(2), 655-683.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from parkimpact._version import __version__
from parkimpact.did._honest_arp import (
    arp_accepts,
    identified_set_rm,
    least_favorable_cv,
    moment_problem,
    rm_bound_scale,
    rm_constraints,
)
from parkimpact.did._honest_flci import flci
from parkimpact.did._honest_result import HonestDiDResult
from parkimpact.did.regression_results import EventStudyResult
from parkimpact.errors import ParkImpactWarning

__all__ = ["HonestDiD", "HonestDiDResult", "honest_ci"]

Restriction = Literal["relative_magnitudes", "smoothness"]
Target = Literal["average_post"] | int
_RESTRICTIONS = ("relative_magnitudes", "smoothness")


@dataclass(frozen=True, kw_only=True)
class HonestDiD:
    r"""Robust confidence intervals under restrictions on the violation of parallel trends.

    See the module docstring for the restrictions and methods.

    Parameters
    ----------
    restriction : {"relative_magnitudes", "smoothness"}
        :math:`\Delta^{RM}(\bar M)` (inference by the ARP conditional-least-
        favourable hybrid) or :math:`\Delta^{SD}(M)` (inference by the FLCI).
    m_values : sequence of float
        Values of :math:`\bar M` or :math:`M` (non-negative; reported sorted).
    level : float, default 0.95
        Confidence level.
    target : "average_post" or int, default 0
        :math:`\theta`: the effect of one post-entry period, by its 0-based
        index among the post-entry coefficients (0 = the entry year, event
        time 0), or the average of all post-entry effects.
    grid_points : int, default 1000
        Grid of :math:`\theta` values tested (relative magnitudes only).
    grid_bounds : tuple of float or None, default None
        Grid range; None uses the identified set at :math:`\hat\beta` widened
        on both sides by 20 times the standard error of
        :math:`l'\hat\beta_{post}` plus :math:`\bar M` times the largest
        standard error of a pre-entry change, scaled like the set's width
        (see :func:`~parkimpact.did._honest_arp.rm_bound_scale`). HonestDiD
        uses :math:`[-20, 20]` standard errors of :math:`l'\hat\beta_{post}`
        around zero, which can miss wide sets.
    refine : bool, default True
        Refine the interval's endpoints between grid points (to about 1e-5 of
        the grid step); False reports grid points, as HonestDiD does.
    hybrid : bool, default True
        Relative magnitudes only: the conditional-least-favourable hybrid
        (``"C-LF"``, HonestDiD's default); False runs the pure conditional test
        (``"Conditional"``, HonestDiD's ``hybrid_flag = "ARP"``).
    n_draws : int, default 10000
        Simulation draws of the least-favourable critical value.
    seed : int, default 0
        Seed of those draws (:func:`numpy.random.default_rng`).

    Examples
    --------
    >>> study = EventStudy("log_output", window=(-4, 3), bin_endpoints=False)  # doctest: +SKIP
    >>> es = study.fit(panel)  # doctest: +SKIP
    >>> HonestDiD(restriction="relative_magnitudes", m_values=[0.5, 1, 2]).fit(es)  # doctest: +SKIP
    """

    restriction: Restriction
    m_values: Sequence[float]
    level: float = 0.95
    target: Target = 0
    grid_points: int = 1000
    grid_bounds: tuple[float, float] | None = None
    refine: bool = True
    hybrid: bool = True
    n_draws: int = 10_000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.restriction not in _RESTRICTIONS:
            raise ValueError(
                f"The 'restriction' parameter of HonestDiD must be one of {_RESTRICTIONS}. "
                f"Got {self.restriction!r} instead."
            )
        _sorted_m_values(self.m_values)
        level = self.level
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
            raise ValueError(f"level must be strictly between 0 and 1; got {level!r}.")
        target = self.target
        ok_int = isinstance(target, int | np.integer) and not isinstance(target, bool)
        if not (ok_int and target >= 0) and target != "average_post":
            raise ValueError(
                f"target must be 'average_post' or a non-negative post-period index; got "
                f"{target!r}. Use 0 for the effect in the entry year."
            )
        _check_count("grid_points", self.grid_points, 10)
        _check_count("n_draws", self.n_draws, 100)
        if not isinstance(self.refine, bool) or not isinstance(self.hybrid, bool):
            raise TypeError(
                f"refine and hybrid must be True or False; got {self.refine!r}, {self.hybrid!r}."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise TypeError(f"seed must be an integer; got {self.seed!r}.")
        bounds = self.grid_bounds
        if bounds is not None and not (
            isinstance(bounds, tuple | list) and len(bounds) == 2 and bounds[0] < bounds[1]
        ):
            raise ValueError(
                f"grid_bounds must be None or a pair (low, high) with low < high; got {bounds!r}."
            )

    def fit(self, event_study: Any) -> HonestDiDResult:
        """Sensitivity analysis of a fitted event study.

        Parameters
        ----------
        event_study : EventStudyResult or SunAbrahamResult
            A result with reference period -1 and consecutive event times.
            Binned endpoint coefficients of an :class:`EventStudyResult` pool
            several event times and are left out (noted in the result).

        Returns
        -------
        HonestDiDResult

        Raises
        ------
        TypeError
            If ``event_study`` is not a supported result.
        ValueError
            If the reference period is not -1, the event times are not
            consecutive or there is no pre- or post-entry coefficient.
        """
        betahat, sigma, times, notes = _event_study_arrays(event_study)
        n_pre = int(np.sum(times < 0))
        return self._fit(betahat, sigma, n_pre, len(times) - n_pre, tuple(times.tolist()), notes)

    def fit_arrays(
        self, betahat: ArrayLike, sigma: ArrayLike, n_pre: int, n_post: int
    ) -> HonestDiDResult:
        """Sensitivity analysis from coefficients and their covariance.

        Parameters
        ----------
        betahat : array_like
            ``n_pre + n_post`` event-study coefficients: pre-entry periods
            (earliest first, the reference period excluded), then post-entry
            periods (event time 0 first).
        sigma : array_like
            Their covariance matrix.
        n_pre, n_post : int
            Numbers of pre- and post-entry coefficients (both at least 1).

        Returns
        -------
        HonestDiDResult
        """
        beta, cov = _check_arrays(betahat, sigma, n_pre, n_post)
        return self._fit(beta, cov, int(n_pre), int(n_post), None, ())

    # ------------------------------------------------------------------ core
    def _method(self) -> str:
        if self.restriction == "smoothness":
            return "FLCI"
        return "C-LF" if self.hybrid else "Conditional"

    def _l_vec(self, n_post: int) -> np.ndarray:
        if self.target == "average_post":
            return np.full(n_post, 1.0 / n_post)
        index = int(self.target)
        if index >= n_post:
            raise ValueError(
                f"target must index one of the {n_post} post-entry coefficients (0 to "
                f"{n_post - 1}); got {index}. Choose a smaller index or 'average_post'."
            )
        return np.eye(n_post)[index]

    def _fit(
        self,
        betahat: np.ndarray,
        sigma: np.ndarray,
        n_pre: int,
        n_post: int,
        event_times: tuple[int, ...] | None,
        notes: tuple[str, ...],
    ) -> HonestDiDResult:
        l_vec = self._l_vec(n_post)
        alpha = 1.0 - float(self.level)
        m_values = _sorted_m_values(self.m_values)
        estimate = float(l_vec @ betahat[n_pre:])
        std_error = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
        if self.restriction == "smoothness":
            intervals = [flci(betahat, sigma, n_pre, l_vec, m, alpha) for m in m_values]
            bounds = np.array([[r.conf_low, r.conf_high] for r in intervals])
            centers = np.array([r.center for r in intervals])
            open_ended = np.zeros(len(m_values), dtype=bool)
        else:
            rng = np.random.default_rng(int(self.seed))
            size = self.n_draws if self.hybrid else 0
            draws = rng.multivariate_normal(np.zeros(len(betahat)), sigma, size=size, method="eigh")
            pieces = [
                self._rm_interval(betahat, sigma, n_pre, l_vec, m, alpha, draws) for m in m_values
            ]
            bounds = np.array([p[:2] for p in pieces])
            centers = np.full(len(m_values), np.nan)
            open_ended = np.array([p[2] for p in pieces], dtype=bool)
        if open_ended.any():
            notes = (*notes, "the interval reaches the end of the theta grid for some M: widen it")
        return HonestDiDResult(
            restriction=self.restriction,
            method=self._method(),
            m_values=m_values,
            conf_low=bounds[:, 0],
            conf_high=bounds[:, 1],
            centers=centers,
            open_ended=open_ended,
            estimate=estimate,
            std_error=std_error,
            level=float(self.level),
            l_vec=l_vec,
            betahat=betahat,
            sigma=sigma,
            n_pre=n_pre,
            n_post=n_post,
            event_times=event_times,
            target=self.target,
            notes=tuple(notes),
            spec=_spec(self),
        )

    def _rm_interval(
        self,
        betahat: np.ndarray,
        sigma: np.ndarray,
        n_pre: int,
        l_vec: np.ndarray,
        mbar: float,
        alpha: float,
        draws: np.ndarray,
    ) -> tuple[float, float, bool]:
        """The C-LF (or conditional) interval for one Mbar: union over the polyhedra."""
        kappa = alpha / 10.0 if self.hybrid else 0.0
        problems = []
        for matrix in rm_constraints(n_pre, len(l_vec), mbar):
            problem = moment_problem(matrix, np.zeros(len(matrix)), betahat, sigma, n_pre, l_vec)
            cv = least_favorable_cv(problem, draws, kappa) if self.hybrid else None
            problems.append((problem, cv))

        def accepts(thetas: np.ndarray) -> np.ndarray:
            results = [arp_accepts(p, thetas, alpha, kappa, cv) for p, cv in problems]
            return np.any(results, axis=0)

        if self.grid_bounds is None:
            low, high = identified_set_rm(betahat, n_pre, l_vec, mbar)
            scale = rm_bound_scale(sigma, n_pre, l_vec, mbar)
            bounds = (low - 20.0 * scale, high + 20.0 * scale)
        else:
            bounds = (float(self.grid_bounds[0]), float(self.grid_bounds[1]))
        grid = np.linspace(bounds[0], bounds[1], int(self.grid_points))
        return _interval_from_grid(grid, accepts, self.refine, mbar)


# ---------------------------------------------------------------------------
# grid inversion
# ---------------------------------------------------------------------------
def _refine_edge(
    accepts: Callable[[np.ndarray], np.ndarray], outside: float, inside: float
) -> float:
    """Move from an accepted grid point towards a rejected neighbour (3 rounds x 64 points)."""
    for _ in range(3):
        points = np.linspace(outside, inside, 65)
        accepted = accepts(points)
        first = int(np.argmax(accepted))  # accepted at 'inside' (the last point) at least
        outside, inside = points[max(first - 1, 0)], points[first]
    return float(inside)


def _interval_from_grid(
    grid: np.ndarray, accepts: Callable[[np.ndarray], np.ndarray], refine: bool, m: float
) -> tuple[float, float, bool]:
    accepted = accepts(grid)
    if not accepted.any():
        warnings.warn(
            f"the grid of theta values must contain an accepted value; got none at M = {m:g} "
            "(the confidence set is empty or lies outside the grid). Reported as NaN; check "
            "grid_bounds.",
            ParkImpactWarning,
            stacklevel=4,
        )
        return float("nan"), float("nan"), False
    index = np.flatnonzero(accepted)
    lo, hi = int(index[0]), int(index[-1])
    open_ended = lo == 0 or hi == len(grid) - 1
    if open_ended:
        warnings.warn(
            f"the confidence set reaches the end of the theta grid at M = {m:g}; its length "
            "may be understated. Widen grid_bounds.",
            ParkImpactWarning,
            stacklevel=4,
        )
    low, high = float(grid[lo]), float(grid[hi])
    if refine and lo > 0:
        low = _refine_edge(accepts, float(grid[lo - 1]), low)
    if refine and hi < len(grid) - 1:
        high = _refine_edge(accepts, float(grid[hi + 1]), high)
    return low, high, open_ended


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------
def _check_count(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")


def _sorted_m_values(m_values: object) -> np.ndarray:
    try:
        values = np.asarray(m_values, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"m_values must be numbers; got {m_values!r}.") from exc
    if isinstance(m_values, str) or values.size == 0:
        raise ValueError(f"m_values must be a non-empty sequence of numbers; got {m_values!r}.")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ValueError(
            f"m_values must be finite and non-negative; got {float(values[bad][0]):g}. Use e.g. "
            "m_values=[0, 0.5, 1, 2]."
        )
    return np.unique(values)


def _check_arrays(
    betahat: ArrayLike, sigma: ArrayLike, n_pre: object, n_post: object
) -> tuple[np.ndarray, np.ndarray]:
    _check_count("n_pre", n_pre, 1)
    _check_count("n_post", n_post, 1)
    size = int(n_pre) + int(n_post)  # type: ignore[call-overload]
    beta = np.asarray(betahat, dtype=float).ravel()
    cov = np.asarray(sigma, dtype=float)
    if beta.shape != (size,) or not np.all(np.isfinite(beta)):
        raise ValueError(
            f"betahat must hold n_pre + n_post = {size} finite numbers; got shape {beta.shape}. "
            "Pass the pre-entry then the post-entry coefficients, reference period excluded."
        )
    if cov.shape != (size, size) or not np.all(np.isfinite(cov)):
        raise ValueError(
            f"sigma must be a finite {size} x {size} matrix; got shape {cov.shape}. Pass the "
            "covariance of betahat."
        )
    scale = max(float(np.max(np.abs(cov))), np.finfo(float).tiny)
    if np.max(np.abs(cov - cov.T)) > 1e-8 * scale:
        raise ValueError("sigma must be symmetric; got an asymmetric matrix. Use (S + S.T) / 2.")
    cov = (cov + cov.T) / 2.0
    smallest = float(np.linalg.eigvalsh(cov)[0])
    if smallest <= 1e-12 * scale:
        raise ValueError(
            f"sigma must be positive definite; got smallest eigenvalue {smallest:.3g}. Drop "
            "coefficients that are linear combinations of others."
        )
    return beta, cov


def _event_study_arrays(result: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Coefficients, covariance and event times (reference excluded) of a fitted event study."""
    notes: list[str] = []
    if hasattr(result, "event_study_inputs"):
        betahat, sigma, times = result.event_study_inputs()
        reference = int(getattr(result, "reference", -1))
    elif isinstance(result, EventStudyResult):
        terms = sorted(result.event_terms, key=result.event_terms.__getitem__)
        if result.bin_endpoints:
            binned = [t for t in terms if "<=" in t or ">=" in t]
            terms = [t for t in terms if t not in binned]
            notes.append(f"binned endpoint coefficient(s) {', '.join(binned)} left out")
        betahat = result.params[terms].to_numpy(dtype=float)
        sigma = result.vcov.loc[terms, terms].to_numpy(dtype=float)
        times = np.array([result.event_terms[t] for t in terms], dtype=np.int64)
        reference = int(result.reference)
    else:
        raise TypeError(
            f"event_study must be an EventStudyResult or SunAbrahamResult; got "
            f"{type(result).__name__}. For raw coefficients use HonestDiD.fit_arrays or honest_ci."
        )
    if reference != -1:
        raise ValueError(
            f"the event study's reference period must be -1 (the year before entry); got "
            f"{reference}. Refit with reference=-1."
        )
    order = np.argsort(times)
    betahat, sigma, times = betahat[order], sigma[np.ix_(order, order)], times[order]
    pre, post = times[times < 0], times[times >= 0]
    expected_pre = np.arange(-len(pre) - 1, -1)
    if not np.array_equal(pre, expected_pre) or not np.array_equal(post, np.arange(len(post))):
        raise ValueError(
            f"event times must be consecutive around the reference period -1; got "
            f"{times.tolist()}. Use a window without gaps (and without binned endpoints)."
        )
    beta, cov = _check_arrays(betahat, sigma, len(pre), len(post))
    return beta, cov, times, tuple(notes)


def _spec(estimator: HonestDiD) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "estimator": "HonestDiD",
        "settings": asdict(estimator),
        "parkimpact_version": __version__,
    }


def honest_ci(
    betahat: ArrayLike,
    sigma: ArrayLike,
    n_pre: int,
    n_post: int,
    *,
    restriction: Restriction,
    m_values: Sequence[float],
    **settings: Any,
) -> HonestDiDResult:
    """Sensitivity analysis from raw coefficients: ``HonestDiD(...).fit_arrays(...)``.

    Parameters
    ----------
    betahat, sigma, n_pre, n_post
        See :meth:`HonestDiD.fit_arrays`.
    restriction, m_values
        See :class:`HonestDiD`.
    **settings
        Further settings of :class:`HonestDiD` (``level``, ``target``, ...).

    Returns
    -------
    HonestDiDResult

    Examples
    --------
    >>> result = honest_ci(b, V, 4, 4, restriction="smoothness", m_values=[0.1])  # doctest: +SKIP
    >>> result.breakdown_value  # doctest: +SKIP
    """
    estimator = HonestDiD(restriction=restriction, m_values=m_values, **settings)
    return estimator.fit_arrays(betahat, sigma, n_pre, n_post)
