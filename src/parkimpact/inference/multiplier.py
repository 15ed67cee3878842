"""The multiplier (wild) bootstrap on stored influence functions.

Given the scores :math:`S_g = \\sum_{i \\in g} \\psi_i` of :math:`G` clusters
(each unit its own cluster when not clustering, :math:`S_i = \\psi_i`) and
i.i.d. multipliers :math:`v_{bg}` with mean 0 and variance 1, draw ``b`` is

.. math::

    \\hat\\theta^*_b - \\hat\\theta = \\frac{1}{n} \\sum_{g=1}^{G} v_{bg} S_g ,

whose conditional variance is :math:`n^{-2} \\sum_g S_g S_g'`, the analytic
variance of :meth:`InfluenceFunction.vcov` without the :math:`G/(G-1)`
factor (as in R ``did``'s ``mboot``, which applies none). No estimator is
refitted, so thousands of draws cost a few matrix products.

Standard errors follow ``did``: the interquartile range of the centred draws
rescaled by that of the standard normal, robust to a few extreme draws; the
plain standard deviation is kept as well. Uniform (sup-t) bands use the
``level`` quantile of :math:`\\max_j |\\hat\\theta^*_{bj} - \\hat\\theta_j| /
\\mathrm{SE}_j`.

Reproducibility: draws come in blocks of ``block_size`` replications; block
``j`` uses ``numpy.random.default_rng(children[j])`` with ``children`` the
:func:`parkimpact.inference.spawn` of ``seed``, so a seed gives bit-identical
draws whatever ``n_jobs``. The numbers depend on ``block_size``, which the
result records with the seed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from parkimpact.inference._validation import (
    check_choice,
    check_int,
    check_level,
    check_n_jobs,
    normal_critical,
)
from parkimpact.inference.influence import FewClustersWarning, InfluenceFunction
from parkimpact.inference.seeds import SeedLike, as_seed_sequence, recorded_seed
from parkimpact.report.tidy import make_tidy

__all__ = [
    "WeightType",
    "BootstrapResult",
    "multiplier_bootstrap",
    "multiplier_weights",
    "FEW_WILD_CLUSTERS",
]

WeightType = Literal["rademacher", "mammen", "webb"]
"""Distributions of the multipliers."""

FEW_WILD_CLUSTERS: Final[int] = 12
"""Below this many clusters, two-point multipliers trigger :class:`FewClustersWarning`."""

_ROOT5: Final[float] = math.sqrt(5.0)
_MAMMEN_LOW: Final[float] = (1.0 - _ROOT5) / 2.0
_MAMMEN_HIGH: Final[float] = (1.0 + _ROOT5) / 2.0
_MAMMEN_P_LOW: Final[float] = (_ROOT5 + 1.0) / (2.0 * _ROOT5)
_WEBB: Final[np.ndarray] = np.array(
    [-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)]
)
_IQR_NORMAL: Final[float] = 2.0 * normal_critical(0.5)


def multiplier_weights(
    rng: np.random.Generator, size: int | tuple[int, ...], weights: WeightType = "rademacher"
) -> np.ndarray:
    """Draw i.i.d. bootstrap multipliers with mean 0 and variance 1.

    - ``"rademacher"``: :math:`\\pm 1` with probability 1/2 each.
    - ``"mammen"``: :math:`(1 - \\sqrt5)/2` with probability
      :math:`(\\sqrt5 + 1)/(2\\sqrt5)`, else :math:`(1 + \\sqrt5)/2`; third
      moment 1, so it also matches skewness.
    - ``"webb"``: :math:`\\pm\\sqrt{1/2}, \\pm 1, \\pm\\sqrt{3/2}`, probability
      1/6 each (Webb 2014); six points give :math:`6^G` distinct draws, which
      is what makes it usable with very few clusters.

    Every type is a transform of one ``rng.random(size)`` call.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    size : int or tuple of int
        Shape of the output.
    weights : {"rademacher", "mammen", "webb"}, default "rademacher"
        Distribution.

    Returns
    -------
    numpy.ndarray
        Float array of shape ``size``.

    Raises
    ------
    ValueError
        If ``weights`` is not one of the three names.
    """
    check_choice(weights, "weights", get_args(WeightType))
    uniform = rng.random(size)
    if weights == "rademacher":
        return np.where(uniform < 0.5, -1.0, 1.0)
    if weights == "mammen":
        return np.where(uniform < _MAMMEN_P_LOW, _MAMMEN_LOW, _MAMMEN_HIGH)
    position = np.minimum((uniform * 6.0).astype(np.intp), 5)
    return _WEBB[position]


def _draw_block(
    sums: np.ndarray, n_units: int, child: np.random.SeedSequence, size: int, weights: WeightType
) -> np.ndarray:
    """Return ``size`` centred draws ``V S / n`` of one block, shape ``(size, k)``."""
    multipliers = multiplier_weights(np.random.default_rng(child), (size, sums.shape[0]), weights)
    return (multipliers @ sums) / float(n_units)


def _iqr_std_errors(draws: np.ndarray) -> np.ndarray:
    """IQR-based SEs :math:`(q_{.75} - q_{.25}) / (z_{.75} - z_{.25})`; NaN when not positive."""
    upper, lower = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
    se = (upper - lower) / _IQR_NORMAL
    return np.where(np.isfinite(se) & (se > 0.0), se, np.nan)


def _sup_t_critical(draws: np.ndarray, std_errors: np.ndarray, level: float) -> float:
    """``level`` quantile of :math:`\\max_j |d_{bj}| / SE_j` over columns with a valid SE."""
    valid = np.isfinite(std_errors)
    if not valid.any():
        return float("nan")
    t_max = np.max(np.abs(draws[:, valid]) / std_errors[valid], axis=1)
    return float(np.quantile(t_max, level, method="inverted_cdf"))


@dataclass(frozen=True, eq=False, repr=False)
class BootstrapResult:
    """Draws and inference of a multiplier bootstrap (see :func:`multiplier_bootstrap`).

    Attributes
    ----------
    estimates : numpy.ndarray
        Point estimates :math:`\\hat\\theta`, shape ``(k,)``.
    names : tuple of str
        Parameter names.
    keys : pandas.DataFrame or None
        Family keys of the parameters (from the influence function).
    draws : numpy.ndarray
        Centred draws :math:`\\hat\\theta^*_b - \\hat\\theta`, shape ``(n_boot, k)``.
    std_errors : numpy.ndarray
        IQR-based SEs :math:`(q_{0.75} - q_{0.25}) / (z_{0.75} - z_{0.25})` of
        each column of ``draws`` (sample quantiles of type 1, the inverse of
        the empirical distribution function, as R ``did``); NaN for a
        parameter whose draws have zero spread (e.g. a normalised reference
        period), as ``did`` reports NA.
    std_errors_sd : numpy.ndarray
        Standard deviations (``ddof=1``) of the columns of ``draws``.
    critical_value : float
        Sup-t critical value at ``level`` (type-1 quantile of
        :math:`\\max_j |d_{bj}| / SE_j` over parameters with a valid SE).
    pointwise_critical : float
        :math:`z_{(1 + \\mathrm{level})/2}`.
    level : float
        Confidence level of the two critical values.
    n_boot : int
        Number of draws.
    weights : str
        Multiplier distribution.
    seed : int or numpy.random.SeedSequence
        Seed that reproduces the draws (with ``block_size``), fresh entropy
        when the call had ``seed=None``.
    block_size : int
        Draws per block of the random streams.
    n_clusters : int
        Number of multipliers per draw (clusters, or units when not clustering).
    clustered : bool
        Whether multipliers were drawn per cluster.
    """

    estimates: np.ndarray
    names: tuple[str, ...]
    keys: pd.DataFrame | None
    draws: np.ndarray
    std_errors: np.ndarray
    std_errors_sd: np.ndarray
    critical_value: float
    pointwise_critical: float
    level: float
    n_boot: int
    weights: str
    seed: int | np.random.SeedSequence
    block_size: int
    n_clusters: int
    clustered: bool

    def __repr__(self) -> str:
        return (
            f"BootstrapResult(k={len(self.names)}, n_boot={self.n_boot}, weights={self.weights!r}, "
            f"n_clusters={self.n_clusters}, seed={self.seed!r})"
        )

    def critical_values(self, level: float | None = None) -> tuple[float, float]:
        """Return ``(pointwise, uniform)`` critical values at ``level`` (default: stored)."""
        if level is None:
            return self.pointwise_critical, self.critical_value
        level = check_level(level)
        return normal_critical(level), _sup_t_critical(self.draws, self.std_errors, level)

    def conf_int(self, level: float | None = None, uniform: bool = False) -> np.ndarray:
        """Return confidence intervals :math:`\\hat\\theta_j \\mp c \\, \\mathrm{SE}_j`.

        Parameters
        ----------
        level : float or None, default None
            Confidence level; ``None`` uses :attr:`level`.
        uniform : bool, default False
            Use the sup-t critical value (a band covering all parameters
            jointly with probability ``level``) instead of the pointwise
            normal one.

        Returns
        -------
        numpy.ndarray
            Shape ``(k, 2)``: lower and upper limits (NaN where the SE is NaN).
        """
        pointwise, band = self.critical_values(level)
        half_width = (band if uniform else pointwise) * self.std_errors
        return np.column_stack((self.estimates - half_width, self.estimates + half_width))

    def vcov(self) -> np.ndarray:
        """Return the sample covariance (``ddof=1``) of the draws, shape ``(k, k)``."""
        return np.atleast_2d(np.cov(self.draws, rowvar=False))

    def tidy(self, level: float | None = None, uniform: bool = False) -> pd.DataFrame:
        """Return the tidy frame with bootstrap SEs.

        Statistics and p-values are normal with the IQR-based SEs; with
        ``uniform=True`` the interval columns hold the sup-t band.

        Parameters
        ----------
        level : float or None, default None
            Confidence level; ``None`` uses :attr:`level`.
        uniform : bool, default False
            Report the uniform band in ``conf_low`` / ``conf_high``.
        """
        keys = None if self.keys is None else {c: self.keys[c].tolist() for c in self.keys}
        chosen = self.level if level is None else check_level(level)
        frame = make_tidy(self.names, self.estimates, self.std_errors, level=chosen, keys=keys)
        if uniform:
            limits = self.conf_int(chosen, uniform=True)
            frame["conf_low"] = limits[:, 0]
            frame["conf_high"] = limits[:, 1]
        return frame


def _check_inputs(
    inf: InfluenceFunction, n_boot: int, weights: str, block_size: int, n_jobs: int
) -> tuple[int, int, int]:
    if not isinstance(inf, InfluenceFunction):
        raise TypeError(
            f"inf must be an InfluenceFunction; got {type(inf).__name__}. "
            "Pass the influence function stored on a fitted result."
        )
    check_choice(weights, "weights", get_args(WeightType))
    return (
        check_int(n_boot, "n_boot", 2, "Use e.g. n_boot=999"),
        check_int(block_size, "block_size", 1, "Use e.g. block_size=250"),
        check_n_jobs(n_jobs),
    )


def _warn_few_clusters(n_clusters: int, weights: str) -> None:
    if n_clusters < FEW_WILD_CLUSTERS and weights != "webb":
        warnings.warn(
            f"multiplier bootstrap with {n_clusters} clusters and {weights} weights has only "
            f"{2**n_clusters} distinct draws; use weights='webb' below {FEW_WILD_CLUSTERS} "
            "clusters",
            FewClustersWarning,
            stacklevel=3,
        )


def multiplier_bootstrap(
    inf: InfluenceFunction,
    *,
    n_boot: int = 999,
    weights: WeightType = "rademacher",
    cluster: bool | None = None,
    seed: SeedLike = None,
    level: float = 0.95,
    n_jobs: int = 1,
    block_size: int = 250,
) -> BootstrapResult:
    """Multiplier bootstrap of the parameters of an influence function.

    Draw ``b`` is :math:`n^{-1} \\sum_g v_{bg} S_g` (see the module notes),
    standard errors are IQR-based as in R ``did`` and the uniform band uses
    the sup-t critical value.

    Parameters
    ----------
    inf : InfluenceFunction
        Influence functions and estimates.
    n_boot : int, default 999
        Number of draws (at least 2).
    weights : {"rademacher", "mammen", "webb"}, default "rademacher"
        Multiplier distribution (see :func:`multiplier_weights`); prefer
        ``"webb"`` with few clusters.
    cluster : bool or None, default None
        Draw one multiplier per cluster (``None``: when ``inf`` has
        ``cluster_ids``) or per unit.
    seed : int, numpy.random.SeedSequence or None, default None
        Seed (see :mod:`parkimpact.inference.seeds`); ``None`` draws fresh
        entropy, recorded in the result.
    level : float, default 0.95
        Confidence level of the stored critical values.
    n_jobs : int, default 1
        Threads computing blocks in parallel (``-1``: all cores). The draws
        do not depend on it.
    block_size : int, default 250
        Draws per block; memory peaks at about ``n_jobs * block_size * G``
        floats. Part of the seed: changing it changes the draws.

    Returns
    -------
    BootstrapResult

    Raises
    ------
    TypeError
        If ``inf`` is not an :class:`InfluenceFunction` or ``seed`` has a bad type.
    ValueError
        For bad ``n_boot``, ``weights``, ``level``, ``n_jobs``, ``block_size``
        or ``seed``, or clustering without 2 clusters.

    Warns
    -----
    FewClustersWarning
        When clustering on fewer than :data:`FEW_WILD_CLUSTERS` clusters with
        two-point (Rademacher or Mammen) weights.

    Examples
    --------
    >>> import numpy as np
    >>> from parkimpact.inference import InfluenceFunction
    >>> x = np.random.default_rng(0).normal(size=500)
    >>> inf = InfluenceFunction((x - x.mean())[:, None], [x.mean()], ["mean"])
    >>> result = multiplier_bootstrap(inf, n_boot=499, seed=1)
    >>> bool(abs(result.std_errors[0] / inf.std_errors()[0] - 1) < 0.15)
    True
    """
    n_boot, block_size, n_jobs = _check_inputs(inf, n_boot, weights, block_size, n_jobs)
    level = check_level(level)
    sequence = as_seed_sequence(seed)
    record = recorded_seed(sequence)
    clustered = inf.uses_clusters(cluster)
    sums = inf.cluster_sums(cluster)
    if clustered:
        _warn_few_clusters(sums.shape[0], weights)
    sizes = [min(block_size, n_boot - start) for start in range(0, n_boot, block_size)]
    tasks = zip(sequence.spawn(len(sizes)), sizes, strict=True)
    if n_jobs == 1 or len(sizes) == 1:
        blocks = [_draw_block(sums, inf.n_units, child, size, weights) for child, size in tasks]
    else:
        blocks = Parallel(n_jobs=n_jobs, backend="threading")(
            delayed(_draw_block)(sums, inf.n_units, child, size, weights) for child, size in tasks
        )
    draws = np.concatenate(blocks, axis=0)
    draws.setflags(write=False)
    std_errors = _iqr_std_errors(draws)
    return BootstrapResult(
        estimates=inf.estimates,
        names=inf.names,
        keys=inf.keys,
        draws=draws,
        std_errors=std_errors,
        std_errors_sd=np.std(draws, axis=0, ddof=1),
        critical_value=_sup_t_critical(draws, std_errors, level),
        pointwise_critical=normal_critical(level),
        level=level,
        n_boot=n_boot,
        weights=weights,
        seed=record,
        block_size=block_size,
        n_clusters=int(sums.shape[0]),
        clustered=clustered,
    )
