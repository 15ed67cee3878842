"""Inference shared by every parkimpact estimator.

- :class:`InfluenceFunction` stores the influence functions of estimated
  parameters (scaled so that :math:`\\hat\\theta - \\theta \\approx n^{-1}
  \\sum_i \\psi_i`) with unit and cluster ids, and gives analytic and
  clustered covariances, aggregations (linear combinations) and Wald tests.
- :func:`multiplier_bootstrap` perturbs those influence functions with
  Rademacher, Mammen or Webb multipliers (per unit or per cluster) for
  bootstrap standard errors and uniform (sup-t) bands.
- :func:`cluster_bootstrap` re-runs any statistic on clusters resampled with
  replacement, in parallel through joblib (loky, threading) or on a Dask
  cluster (``client=``, ``backend="dask"`` or a joblib Dask context).
- :mod:`~parkimpact.inference.seeds` turns ``seed`` arguments into
  independent child streams so that results do not depend on ``n_jobs``.
"""

from parkimpact.inference.influence import (
    FEW_CLUSTERS,
    FewClustersWarning,
    InfluenceFunction,
    WaldTest,
)
from parkimpact.inference.multiplier import (
    FEW_WILD_CLUSTERS,
    BootstrapResult,
    WeightType,
    multiplier_bootstrap,
    multiplier_weights,
)
from parkimpact.inference.resampling import (
    MAX_FAILED_SHARE,
    Backend,
    ClusterLayout,
    DaskClientError,
    ResampleResult,
    Statistic,
    cluster_bootstrap,
    cluster_layout,
    resample_clusters,
)
from parkimpact.inference.seeds import SeedLike, as_seed_sequence, recorded_seed, spawn

__all__ = [
    "InfluenceFunction",
    "WaldTest",
    "FewClustersWarning",
    "FEW_CLUSTERS",
    "multiplier_bootstrap",
    "multiplier_weights",
    "BootstrapResult",
    "WeightType",
    "FEW_WILD_CLUSTERS",
    "cluster_bootstrap",
    "cluster_layout",
    "resample_clusters",
    "ClusterLayout",
    "DaskClientError",
    "ResampleResult",
    "Backend",
    "Statistic",
    "MAX_FAILED_SHARE",
    "SeedLike",
    "as_seed_sequence",
    "spawn",
    "recorded_seed",
]
