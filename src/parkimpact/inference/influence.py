"""Influence functions: the common currency of parkimpact's inference.

An estimator that reports parameters :math:`\\hat\\theta \\in \\mathbb{R}^k`
from :math:`n` units (firms) also reports their influence functions
:math:`\\psi_i \\in \\mathbb{R}^k`, scaled so that

.. math::

    \\hat\\theta - \\theta \\approx \\frac{1}{n} \\sum_{i=1}^{n} \\psi_i ,

the convention of the R package ``did``. Everything else is linear algebra on
the :math:`n \\times k` matrix :math:`\\Psi`: analytic and clustered
covariances (:meth:`InfluenceFunction.vcov`), aggregations
(:meth:`InfluenceFunction.linear_combination`), Wald tests
(:meth:`InfluenceFunction.wald`) and the multiplier bootstrap
(:func:`parkimpact.inference.multiplier_bootstrap`), with no re-estimation.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from parkimpact.errors import ParkImpactWarning
from parkimpact.inference._arrays import (
    as_ids,
    as_keys,
    as_matrix,
    as_names,
    as_null,
    as_vector,
    group_sums,
    has_str,
)
from parkimpact.inference._validation import check_level
from parkimpact.report.tidy import make_tidy

__all__ = ["FewClustersWarning", "InfluenceFunction", "WaldTest", "FEW_CLUSTERS"]

FEW_CLUSTERS: Final[int] = 30
"""Below this many clusters, analytic clustered inference triggers :class:`FewClustersWarning`."""

Selection = int | str | slice | Sequence[int] | Sequence[str] | Sequence[bool] | np.ndarray | None
"""Ways to pick parameters: positions, names, a boolean mask, a slice or ``None`` (all)."""


class FewClustersWarning(ParkImpactWarning):
    """Clustered inference rests on too few clusters to be reliable."""


class WaldTest(NamedTuple):
    """Result of a Wald test: statistic, degrees of freedom and chi-squared p-value."""

    statistic: float
    df: int
    p_value: float


@dataclass(frozen=True, eq=False, repr=False)
class InfluenceFunction:
    """Influence functions of ``k`` estimated parameters over ``n`` units.

    Row ``i`` of ``values`` is :math:`\\psi_i`, scaled so that
    :math:`\\hat\\theta - \\theta \\approx n^{-1} \\sum_i \\psi_i`; unit-level
    (heteroskedasticity-robust) and cluster-robust covariances are

    .. math::

        \\hat V = \\frac{1}{n^2} \\sum_{i=1}^{n} \\psi_i \\psi_i' ,
        \\qquad
        \\hat V_{\\mathrm{cl}} = \\frac{G}{G - 1} \\, \\frac{1}{n^2}
            \\sum_{g=1}^{G} S_g S_g' , \\quad S_g = \\sum_{i \\in g} \\psi_i .

    The object is immutable: methods return new instances.

    Parameters
    ----------
    values : array_like
        Shape ``(n_units, k)`` (or ``(n_units,)`` for ``k = 1``), one row per
        unit; must be finite.
    estimates : array_like
        Point estimates :math:`\\hat\\theta`, shape ``(k,)``; must be finite.
    names : sequence of str
        Unique parameter names, one per column.
    unit_ids : array_like or None, default None
        Unique id of each row; ``None`` numbers the rows ``0, ..., n - 1``.
    cluster_ids : array_like or None, default None
        Cluster of each unit (a cluster variable is constant within a unit
        since each unit has one row). When given, clustered variance is the
        default of :meth:`vcov` and the bootstrap.
    keys : pandas.DataFrame or None, default None
        One row per parameter describing it, e.g. columns ``cohort`` and
        ``year``; they become family keys of :meth:`tidy`.

    Raises
    ------
    ValueError
        If shapes disagree, a value or estimate is not finite (the message
        names the parameters concerned), names repeat, unit ids repeat or an
        id is missing.
    """

    values: np.ndarray
    estimates: np.ndarray
    names: tuple[str, ...]
    unit_ids: np.ndarray | None = None
    cluster_ids: np.ndarray | None = None
    keys: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        values = as_matrix(self.values)
        n, k = values.shape
        estimates = as_vector(self.estimates, "estimates", k)
        names = as_names(self.names, k)
        bad = ~np.isfinite(values).all(axis=0) | ~np.isfinite(estimates)
        if bad.any():
            listed = [names[j] for j in np.flatnonzero(bad)]
            raise ValueError(
                f"values and estimates must be finite; got NaN or infinite entries for "
                f"{len(listed)} parameter(s): {listed[:10]}. Drop those parameters or fix "
                "the estimation that produced them."
            )
        unit_ids = np.arange(n) if self.unit_ids is None else self.unit_ids
        unit_ids = as_ids(unit_ids, "unit_ids", n)
        repeated = pd.Index(unit_ids)[pd.Index(unit_ids).duplicated()]
        if len(repeated):
            raise ValueError(
                f"unit_ids must be unique; got {len(repeated)} repeated id(s), e.g. "
                f"{repeated[0]!r}. Sum the influence-function rows of each unit first."
            )
        clusters = None
        if self.cluster_ids is not None:
            clusters = as_ids(self.cluster_ids, "cluster_ids", n)
        for array in (values, estimates):
            array.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "estimates", estimates)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "unit_ids", unit_ids)
        object.__setattr__(self, "cluster_ids", clusters)
        object.__setattr__(self, "keys", as_keys(self.keys, k))

    def __repr__(self) -> str:
        shown = ", ".join(self.names[:5]) + (", ..." if self.k > 5 else "")
        clusters = "" if self.cluster_ids is None else f", n_clusters={self.n_clusters}"
        return f"InfluenceFunction(k={self.k}, n_units={self.n_units}{clusters}, names=({shown}))"

    # ------------------------------------------------------------------ sizes
    @property
    def n_units(self) -> int:
        """Number of units ``n`` (rows of ``values``)."""
        return int(self.values.shape[0])

    @property
    def k(self) -> int:
        """Number of parameters (columns of ``values``)."""
        return int(self.values.shape[1])

    @property
    def n_clusters(self) -> int | None:
        """Number of distinct clusters, or ``None`` without ``cluster_ids``."""
        if self.cluster_ids is None:
            return None
        return int(pd.unique(self.cluster_ids).size)

    # --------------------------------------------------------------- variance
    @cached_property
    def _unit_sums(self) -> np.ndarray:
        sums = group_sums(self.values, self.unit_ids)
        sums.setflags(write=False)
        return sums

    @cached_property
    def _cluster_sums(self) -> np.ndarray:
        sums = group_sums(self.values, self.cluster_ids)
        sums.setflags(write=False)
        return sums

    def uses_clusters(self, cluster: bool | None = None) -> bool:
        """Resolve a ``cluster`` argument: ``None`` means "if cluster_ids exist".

        Raises
        ------
        ValueError
            If ``cluster=True`` but the object has no ``cluster_ids``.
        """
        if cluster is None:
            return self.cluster_ids is not None
        if cluster and self.cluster_ids is None:
            raise ValueError(
                "cluster must be False or None when the influence function has no cluster_ids; "
                "got True. Pass cluster_ids when building the InfluenceFunction."
            )
        return bool(cluster)

    def cluster_sums(self, cluster: bool | None = None) -> np.ndarray:
        """Return the scores :math:`S_g = \\sum_{i \\in g} \\psi_i`, one row per cluster.

        Parameters
        ----------
        cluster : bool or None, default None
            Sum within clusters (``None``: when ``cluster_ids`` exist); when
            not clustering each unit is its own cluster, :math:`S_i = \\psi_i`.

        Returns
        -------
        numpy.ndarray
            Read-only array of shape ``(G, k)``, rows in sorted id order.

        Raises
        ------
        ValueError
            If clustering is requested without ``cluster_ids`` or with fewer
            than 2 clusters.
        """
        if not self.uses_clusters(cluster):
            return self._unit_sums
        n_clusters = self.n_clusters
        if n_clusters is None or n_clusters < 2:
            raise ValueError(
                f"cluster_ids must hold at least 2 distinct clusters for clustered variance; "
                f"got {n_clusters}. Cluster on a finer variable or use cluster=False."
            )
        return self._cluster_sums

    def vcov(self, cluster: bool | None = None) -> np.ndarray:
        """Return the covariance matrix of the estimates.

        .. math::

            \\hat V = \\frac{c}{n^2} \\sum_{g=1}^{G} S_g S_g' ,

        with :math:`S_g` the within-cluster sums of :math:`\\psi_i` and
        :math:`c = G / (G - 1)` when clustering, :math:`S_i = \\psi_i` and
        :math:`c = 1` otherwise. For a sample mean
        (:math:`\\psi_i = x_i - \\bar x`) the unclustered matrix is the
        HC0-type variance :math:`\\tfrac{1}{n^2}\\sum_i (x_i - \\bar x)^2`;
        the clustered factor :math:`G/(G-1)` is the CR1 correction that
        Stata's ``vce(cluster)`` and ``fixest``'s default small-sample
        adjustment apply to a mean (their :math:`(N-1)/(N-K)` term is 1 for
        :math:`K = 1`).

        Parameters
        ----------
        cluster : bool or None, default None
            Cluster-robust variance (``None``: when ``cluster_ids`` exist).

        Returns
        -------
        numpy.ndarray
            Symmetric ``(k, k)`` matrix.

        Raises
        ------
        ValueError
            As :meth:`cluster_sums`.

        Warns
        -----
        FewClustersWarning
            When clustering on fewer than :data:`FEW_CLUSTERS` clusters.
        """
        sums = self.cluster_sums(cluster)
        matrix = sums.T @ sums / float(self.n_units) ** 2
        if self.uses_clusters(cluster):
            n_clusters = sums.shape[0]
            if n_clusters < FEW_CLUSTERS:
                warnings.warn(
                    f"clustered inference with {n_clusters} clusters is unreliable below "
                    f"{FEW_CLUSTERS}; use the wild cluster bootstrap (multiplier_bootstrap with "
                    "weights='webb')",
                    FewClustersWarning,
                    stacklevel=2,
                )
            matrix *= n_clusters / (n_clusters - 1.0)
        return 0.5 * (matrix + matrix.T)

    def std_errors(self, cluster: bool | None = None) -> np.ndarray:
        """Return standard errors :math:`\\sqrt{\\mathrm{diag}\\,\\hat V}`, shape ``(k,)``.

        Parameters
        ----------
        cluster : bool or None, default None
            As in :meth:`vcov`.
        """
        return np.sqrt(np.clip(np.diag(self.vcov(cluster)), 0.0, None))

    def tidy(self, level: float = 0.95, cluster: bool | None = None) -> pd.DataFrame:
        """Return the tidy frame (normal inference from :meth:`std_errors`).

        Parameters
        ----------
        level : float, default 0.95
            Confidence level.
        cluster : bool or None, default None
            As in :meth:`vcov`.

        Returns
        -------
        pandas.DataFrame
            See :func:`parkimpact.report.make_tidy`; the columns of ``keys``
            are the family keys.
        """
        keys = None if self.keys is None else {c: self.keys[c].tolist() for c in self.keys}
        return make_tidy(
            self.names,
            self.estimates,
            self.std_errors(cluster),
            level=check_level(level),
            keys=keys,
        )

    # ---------------------------------------------------------- new objects
    def with_values(
        self,
        values: ArrayLike,
        estimates: ArrayLike,
        names: Sequence[str],
        keys: pd.DataFrame | None = None,
    ) -> InfluenceFunction:
        """Return a new object on the same units and clusters with other parameters.

        Parameters
        ----------
        values : array_like
            Shape ``(n_units, m)``, rows in the order of ``unit_ids``.
        estimates : array_like
            Shape ``(m,)``.
        names : sequence of str
            ``m`` unique names.
        keys : pandas.DataFrame or None
            One row per new parameter.
        """
        return InfluenceFunction(values, estimates, names, self.unit_ids, self.cluster_ids, keys)

    def linear_combination(
        self,
        weights: ArrayLike,
        names: Sequence[str],
        keys: pd.DataFrame | None = None,
        estimates: ArrayLike | None = None,
    ) -> InfluenceFunction:
        """Return the influence function of :math:`W'\\hat\\theta`.

        With fixed weights :math:`W` (``k x m``) the new influence functions
        are :math:`\\Psi W` and the new covariance is the sandwich
        :math:`W' \\hat V W`. When the weights are themselves estimated, add
        their contribution with :meth:`add` (or build the combined matrix and
        use :meth:`with_values`).

        Parameters
        ----------
        weights : array_like
            Shape ``(k, m)``, or ``(k,)`` for a single combination.
        names : sequence of str
            ``m`` unique names of the combinations.
        keys : pandas.DataFrame or None
            One row per combination.
        estimates : array_like or None
            Point estimates of the combinations; default :math:`W'\\hat\\theta`.

        Raises
        ------
        ValueError
            If ``weights`` does not have ``k`` rows or is not finite.
        """
        matrix = np.array(weights, dtype=float)
        matrix = matrix[:, None] if matrix.ndim == 1 else matrix
        if matrix.ndim != 2 or matrix.shape[0] != self.k or not np.isfinite(matrix).all():
            raise ValueError(
                f"weights must be a finite array with one row per parameter ({self.k}); got "
                f"shape {matrix.shape}. Pass a (k, m) matrix whose column j weights combination j."
            )
        combined = self.estimates @ matrix if estimates is None else estimates
        return self.with_values(self.values @ matrix, combined, names, keys)

    def add(self, extra: ArrayLike | InfluenceFunction) -> InfluenceFunction:
        """Return a copy whose influence functions are ``values + extra``.

        Used for estimated aggregation weights:
        :math:`\\psi_i^{\\mathrm{agg}} = \\psi_i W + \\psi_i^{W}\\hat\\theta`.

        Parameters
        ----------
        extra : array_like or InfluenceFunction
            Shape ``(n_units, k)`` in the row order of ``unit_ids``, or an
            influence function on the same units (aligned by unit id).

        Raises
        ------
        ValueError
            If the shapes or the units differ.
        """
        if isinstance(extra, InfluenceFunction):
            position = pd.Index(extra.unit_ids).get_indexer(self.unit_ids)
            if extra.n_units != self.n_units or (position < 0).any():
                raise ValueError(
                    f"extra must cover the same units ({self.n_units}); got {extra.n_units} "
                    f"units, {int((position < 0).sum())} of ours missing. Build both on one sample."
                )
            extra = extra.values[position]
        term = np.asarray(extra, dtype=float)
        if term.shape != self.values.shape:
            raise ValueError(
                f"extra must have shape {self.values.shape}; got {term.shape}. "
                "Pass one row per unit and one column per parameter."
            )
        return self.with_values(self.values + term, self.estimates, self.names, self.keys)

    def indices(self, selection: Selection = None) -> np.ndarray:
        """Return the positions of the selected parameters.

        Parameters
        ----------
        selection : int, str, slice, sequence of int/str, boolean mask or None
            Positions, names, a mask of length ``k`` or ``None`` for all.

        Raises
        ------
        ValueError
            If a name is unknown, a position out of range, a mask has the
            wrong length or the selection is empty.
        """
        chosen = self._positions(selection)
        if chosen.size == 0:
            raise ValueError(
                f"selection must pick at least one parameter; got {selection!r}. "
                f"Choose among {list(self.names[:10])}."
            )
        return chosen

    def _positions(self, selection: Selection) -> np.ndarray:
        if selection is None:
            return np.arange(self.k)
        if isinstance(selection, slice):
            return np.arange(self.k)[selection]
        items = np.atleast_1d(np.asarray(selection, dtype=object if has_str(selection) else None))
        if items.dtype == bool:
            if items.size != self.k:
                raise ValueError(
                    f"selection must be a mask of length k ({self.k}); got length {items.size}. "
                    "Pass one boolean per parameter."
                )
            return np.flatnonzero(items)
        if items.dtype == object:
            position = pd.Index(self.names).get_indexer(items.astype(str))
            if (position < 0).any():
                raise ValueError(
                    f"selection must name existing parameters; got unknown "
                    f"{list(items[position < 0][:5])}. Choose among {list(self.names[:10])}."
                )
            return position
        valid = np.issubdtype(items.dtype, np.integer) or items.size == 0
        if not valid or ((items < -self.k) | (items >= self.k)).any():
            raise ValueError(
                f"selection must hold positions in [-{self.k}, {self.k}); got "
                f"{items.tolist()[:10]}. Pass valid positions, names or a boolean mask."
            )
        return np.asarray(items, dtype=np.intp) % self.k

    def subset(self, selection: Selection) -> InfluenceFunction:
        """Return the influence function of the selected parameters (see :meth:`indices`)."""
        chosen = self.indices(selection)
        keys = None if self.keys is None else self.keys.iloc[chosen]
        names = [self.names[j] for j in chosen]
        return self.with_values(self.values[:, chosen], self.estimates[chosen], names, keys)

    # ------------------------------------------------------------------ tests
    def wald(
        self,
        selection: Selection = None,
        null: ArrayLike = 0.0,
        cluster: bool | None = None,
        rtol: float = 1e-10,
    ) -> WaldTest:
        """Wald test that the selected parameters jointly equal ``null``.

        .. math::

            W = (\\hat\\theta_S - r)' \\hat V_S^{+} (\\hat\\theta_S - r)
            \\;\\sim\\; \\chi^2_{\\operatorname{rank}(\\hat V_S)}

        :math:`\\hat V_S^{+}` is the Moore-Penrose pseudo-inverse computed on
        the correlation scale (so the test does not depend on the units of the
        parameters): eigenvalues of the correlation matrix below ``rtol``
        times the largest are treated as zero, and the number kept is the
        degrees of freedom. A singular :math:`\\hat V_S` arises when some
        selected parameters are linear combinations of others (e.g. an
        aggregate tested with its components); the redundant directions are
        then dropped. Parameters with zero variance do not enter the test.

        Parameters
        ----------
        selection : see :meth:`indices`
            Parameters to test; ``None`` tests all.
        null : float or array_like, default 0.0
            Hypothesised values :math:`r`, scalar or one per selected parameter.
        cluster : bool or None, default None
            As in :meth:`vcov`.
        rtol : float, default 1e-10
            Relative eigenvalue cut-off of the pseudo-inverse.

        Returns
        -------
        WaldTest
            ``(statistic, df, p_value)`` with the chi-squared p-value.

        Raises
        ------
        ValueError
            If the selection is invalid, ``null`` has the wrong length or the
            selected covariance is zero.
        """
        chosen = self.indices(selection)
        gap = self.estimates[chosen] - as_null(null, chosen.size)
        matrix = self.vcov(cluster)[np.ix_(chosen, chosen)]
        scale = np.sqrt(np.clip(np.diag(matrix), 0.0, None))
        keep = scale > 0.0
        if not keep.any():
            raise ValueError(
                f"the covariance of the selected parameters must be non-zero; got zero variance "
                f"for all {chosen.size}. Test parameters that are estimated with noise."
            )
        corr = matrix[np.ix_(keep, keep)] / np.outer(scale[keep], scale[keep])
        eigenvalues, vectors = np.linalg.eigh(corr)
        kept = eigenvalues > rtol * eigenvalues.max()
        projected = vectors[:, kept].T @ (gap[keep] / scale[keep])
        statistic = float(np.sum(projected**2 / eigenvalues[kept]))
        df = int(kept.sum())
        return WaldTest(statistic, df, float(stats.chi2.sf(statistic, df)))
