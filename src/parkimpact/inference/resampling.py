"""The cluster (pairs) bootstrap: re-estimate on resampled clusters.

Replication ``b`` draws :math:`G` clusters with replacement from the
:math:`G` clusters of the data, stacks all their rows (a cluster drawn twice
appears twice) and evaluates the statistic on that frame. Where the multiplier
bootstrap only perturbs stored influence functions, the pairs bootstrap
re-runs the whole estimator, so it also captures first-stage estimation
(e.g. TFP or propensity scores) that the influence function omits.

Replication ``b`` uses ``numpy.random.default_rng(children[b])`` with
``children = spawn(seed, n_boot)``; results are therefore identical for any
``n_jobs``, backend, chunking or completion order. Rows are gathered with one
vectorised take per replication from row positions grouped by cluster once,
so a replication costs :math:`O(\\text{rows})`.

Replications run in chunks through joblib (``"loky"``, ``"threading"``,
``"sequential"``) or on a Dask cluster: with ``client=``, ``backend="dask"``
(the current default client) or inside ``joblib.parallel_config(backend="dask")``
the statistic, the data and the cluster layout are scattered to every worker
once, each chunk is submitted as a future that only carries its child seeds,
and the chunks are gathered in task order.
"""

from __future__ import annotations

import contextlib
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Final, Literal, get_args

import joblib
import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from parkimpact.errors import ConvergenceError, ParkImpactError, ParkImpactWarning
from parkimpact.inference._validation import (
    check_choice,
    check_int,
    check_level,
    check_n_jobs,
    normal_critical,
)
from parkimpact.inference.seeds import SeedLike, as_seed_sequence, recorded_seed
from parkimpact.report.tidy import make_tidy

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "Backend",
    "Statistic",
    "ResampleResult",
    "ClusterLayout",
    "cluster_bootstrap",
    "cluster_layout",
    "resample_clusters",
    "MAX_FAILED_SHARE",
    "DaskClientError",
]

Backend = Literal["loky", "threading", "sequential", "dask"]
"""Execution backends of :func:`cluster_bootstrap`."""

Statistic = Callable[[pd.DataFrame], np.ndarray | pd.Series]
"""A function of a data frame returning a fixed-length vector of estimates."""

MAX_FAILED_SHARE: Final[float] = 0.10
"""Above this share of failed replications :func:`cluster_bootstrap` raises."""

_CHUNKS_PER_WORKER: Final[int] = 4

_START_CLIENT: Final[str] = (
    "Start one before the bootstrap, e.g. from distributed import Client, LocalCluster; "
    "client = Client(LocalCluster(n_workers=4, threads_per_worker=1)), or connect to a "
    "running scheduler with Client('tcp://scheduler:8786'), and pass client=client"
)


class DaskClientError(ParkImpactError, RuntimeError):
    """No running :class:`distributed.Client` to run a ``backend="dask"`` bootstrap on."""


@dataclass(frozen=True, eq=False)
class ClusterLayout:
    """Row positions of ``data`` grouped by cluster, computed once per bootstrap.

    Attributes
    ----------
    order : numpy.ndarray
        Row positions sorted by cluster (stable, so rows keep their order
        within a cluster); clusters are in sorted id order.
    starts, counts : numpy.ndarray
        Start in ``order`` and number of rows of each cluster.
    unit_codes : numpy.ndarray or None
        Integer code of each row's unit (the ``relabel`` column), or ``None``.
    n_units : int
        Number of distinct units (0 without ``relabel``).
    """

    order: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    unit_codes: np.ndarray | None
    n_units: int

    @property
    def n_clusters(self) -> int:
        """Number of clusters :math:`G`."""
        return int(self.counts.size)


def _column_codes(data: pd.DataFrame, column: object, role: str) -> np.ndarray:
    if not isinstance(column, str) or column not in data.columns:
        raise ValueError(
            f"{role} must name a column of data; got {column!r}. "
            f"Choose among {list(data.columns)[:10]}."
        )
    codes, _ = pd.factorize(data[column], sort=True, use_na_sentinel=True)
    missing = int((codes < 0).sum())
    if missing:
        raise ValueError(
            f"{role} column {column!r} must not be missing; got {missing} missing value(s). "
            "Drop those rows or give them an id."
        )
    return codes


def cluster_layout(data: pd.DataFrame, cluster: str, relabel: str | None = None) -> ClusterLayout:
    """Group the rows of ``data`` by ``cluster`` (and code the ``relabel`` units).

    Raises
    ------
    ValueError
        If a column is missing or has missing values, or if units of
        ``relabel`` are not nested in clusters (a unit in two clusters).
    """
    codes = _column_codes(data, cluster, "cluster")
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    if relabel is None:
        return ClusterLayout(order, starts, counts, None, 0)
    units = _column_codes(data, relabel, "relabel")
    n_units = int(units.max()) + 1
    pairs = np.unique(units.astype(np.int64) * counts.size + codes)
    spread = np.bincount(pairs // counts.size, minlength=n_units)
    if (spread > 1).any():
        raise ValueError(
            f"relabel column {relabel!r} must be nested in cluster {cluster!r}; got "
            f"{int((spread > 1).sum())} unit(s) in more than one cluster. Cluster on a variable "
            "constant within units, or relabel a unit id nested in the clusters."
        )
    return ClusterLayout(order, starts, counts, units, n_units)


def _copy_numbers(drawn: np.ndarray) -> np.ndarray:
    """Copy number of each draw: how often the same cluster was drawn before it."""
    order = np.argsort(drawn, kind="stable")
    ranked = drawn[order]
    first = np.concatenate(([True], ranked[1:] != ranked[:-1]))
    group_start = np.maximum.accumulate(np.where(first, np.arange(drawn.size), 0))
    copies = np.empty(drawn.size, dtype=np.int64)
    copies[order] = np.arange(drawn.size) - group_start
    return copies


def resample_clusters(
    data: pd.DataFrame, layout: ClusterLayout, rng: np.random.Generator, relabel: str | None = None
) -> pd.DataFrame:
    """Return one pairs-bootstrap sample of ``data``.

    Draws :math:`G` cluster indices uniformly with replacement and gathers
    their rows with one ``take``. With ``relabel``, the unit id of copy
    :math:`c = 0, 1, \\dots` of a cluster becomes the integer
    :math:`c \\cdot U + u` with :math:`u` the unit's code among the
    :math:`U` sorted unit ids, so repeated copies are distinct units and a
    first copy keeps the code of the original.

    Parameters
    ----------
    data : pandas.DataFrame
        The original data.
    layout : ClusterLayout
        From :func:`cluster_layout` on ``data``.
    rng : numpy.random.Generator
        Source of randomness.
    relabel : str or None
        Unit-id column to relabel (must match the layout).

    Returns
    -------
    pandas.DataFrame
        The sample with a fresh ``RangeIndex``.
    """
    drawn = rng.integers(0, layout.n_clusters, size=layout.n_clusters)
    counts = layout.counts[drawn]
    ends = np.cumsum(counts)
    shift = np.repeat(layout.starts[drawn] - (ends - counts), counts)
    rows = layout.order[np.arange(ends[-1]) + shift]
    frame = data.take(rows).reset_index(drop=True)
    if relabel is not None and layout.unit_codes is not None:
        copies = np.repeat(_copy_numbers(drawn), counts)
        frame[relabel] = copies * layout.n_units + layout.unit_codes[rows]
    return frame


def _as_output(value: object, k: int | None) -> np.ndarray:
    if isinstance(value, pd.Series):
        value = value.to_numpy()
    vector = np.asarray(value, dtype=float).reshape(-1)
    if k is not None and vector.size != k:
        raise ValueError(
            f"statistic must return the same number of values on every sample ({k}); got "
            f"{vector.size} on a bootstrap sample. Return a fixed-length vector, with NaN "
            "for what cannot be estimated."
        )
    return vector


@dataclass(frozen=True, eq=False)
class _Replications:
    """What every chunk of replications needs; shipped to each worker once."""

    statistic: Statistic
    data: pd.DataFrame
    layout: ClusterLayout
    relabel: str | None
    k: int


def _run_chunk(
    job: _Replications, children: Sequence[np.random.SeedSequence]
) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate consecutive replications; failed ones give NaN rows and a True flag."""
    estimates = np.full((len(children), job.k), np.nan)
    failed = np.zeros(len(children), dtype=bool)
    for row, child in enumerate(children):
        sample = resample_clusters(job.data, job.layout, np.random.default_rng(child), job.relabel)
        try:
            value = job.statistic(sample)
        except (ParkImpactError, np.linalg.LinAlgError):
            failed[row] = True
            continue
        estimates[row] = _as_output(value, job.k)
    return estimates, failed


@dataclass(frozen=True, eq=False, repr=False)
class ResampleResult:
    """Replications of a cluster bootstrap (see :func:`cluster_bootstrap`).

    Attributes
    ----------
    estimates : numpy.ndarray
        Statistic on each bootstrap sample, shape ``(n_boot, k)``; rows of
        failed replications are NaN.
    point_estimates : numpy.ndarray
        Statistic on the original data, shape ``(k,)``.
    names : tuple of str
        Names of the statistic's values (the index of a returned Series, or
        positions).
    std_errors : numpy.ndarray
        Standard deviations (``ddof=1``) over the successful replications.
    n_failed : int
        Number of failed replications.
    n_boot : int
        Number of replications.
    seed : int or numpy.random.SeedSequence
        Seed that reproduces the replications.
    n_clusters : int
        Number of clusters drawn per replication.
    cluster : str
        The cluster column.
    """

    estimates: np.ndarray
    point_estimates: np.ndarray
    names: tuple[str, ...]
    std_errors: np.ndarray
    n_failed: int
    n_boot: int
    seed: int | np.random.SeedSequence
    n_clusters: int
    cluster: str

    def __repr__(self) -> str:
        return (
            f"ResampleResult(k={len(self.names)}, n_boot={self.n_boot}, n_failed={self.n_failed}, "
            f"n_clusters={self.n_clusters}, seed={self.seed!r})"
        )

    def conf_int(
        self, level: float = 0.95, method: Literal["percentile", "normal"] = "percentile"
    ) -> np.ndarray:
        """Return confidence intervals, shape ``(k, 2)``.

        Parameters
        ----------
        level : float, default 0.95
            Confidence level.
        method : {"percentile", "normal"}, default "percentile"
            ``"percentile"``: the :math:`(1 \\mp \\mathrm{level})/2` quantiles
            of the successful replications (linear interpolation);
            ``"normal"``: ``point_estimates`` :math:`\\mp z \\, \\mathrm{SE}`.

        Raises
        ------
        ValueError
            If ``level`` is not in (0, 1) or ``method`` is unknown.
        """
        level = check_level(level)
        check_choice(method, "method", ("percentile", "normal"))
        if method == "normal":
            half_width = normal_critical(level) * self.std_errors
            return np.column_stack(
                (self.point_estimates - half_width, self.point_estimates + half_width)
            )
        tails = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanquantile(self.estimates, tails, axis=0).T

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """Return the tidy frame: point estimates, bootstrap SEs and normal inference."""
        return make_tidy(self.names, self.point_estimates, self.std_errors, level=level)


def _check_arguments(
    statistic: object, data: object, n_boot: object, n_jobs: object, backend: object
) -> tuple[int, int]:
    if not callable(statistic):
        raise TypeError(
            f"statistic must be callable; got {type(statistic).__name__}. "
            "Pass a function of a DataFrame returning a vector of estimates."
        )
    if not isinstance(data, pd.DataFrame) or data.empty:
        found = "an empty DataFrame" if isinstance(data, pd.DataFrame) else type(data).__name__
        raise ValueError(
            f"data must be a non-empty pandas DataFrame; got {found}. Pass the estimation sample."
        )
    check_choice(backend, "backend", get_args(Backend))
    return check_int(n_boot, "n_boot", 2, "Use e.g. n_boot=199"), check_n_jobs(n_jobs)


def _import_distributed() -> ModuleType:
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as exc:
        raise ImportError(
            "backend='dask' requires dask and distributed; got them not installed. "
            "Install them with pip install 'parkimpact[scale]'."
        ) from exc
    return distributed


def _context_client() -> Client | None:
    """The client of an active ``joblib.parallel_config(backend="dask")``, if any."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    active, _ = joblib.parallel.get_active_backend()
    client = getattr(active, "client", None)
    return client if isinstance(client, distributed.Client) else None


def _resolve_client(client: object, backend: str) -> Client | None:
    """The Dask client that runs the replications, or ``None`` to run them through joblib.

    ``client`` if given; else, for ``"dask"`` or the default ``"loky"``, the
    client of an active joblib Dask context; else, for ``"dask"``, the current
    default client.
    """
    if client is None and backend != "dask":
        return _context_client() if backend == "loky" else None
    if client is not None and backend not in ("loky", "dask"):
        raise ValueError(
            f"backend must be 'dask' or left at its default when client is given; got "
            f"{backend!r}. Drop client= to run locally, or drop backend=."
        )
    distributed = _import_distributed()
    client = client if client is not None else _context_client()
    if client is None:
        try:
            client = distributed.get_client()
        except ValueError as exc:
            raise DaskClientError(
                f"backend='dask' must run on a distributed.Client; got none running. "
                f"{_START_CLIENT}."
            ) from exc
    is_client = isinstance(client, distributed.Client)
    if not is_client or client.asynchronous:
        found = "an asynchronous Client" if is_client else type(client).__name__
        raise TypeError(
            f"client must be a synchronous distributed.Client; got {found}. "
            "Pass e.g. client=Client('tcp://scheduler:8786')."
        )
    if client.status != "running":
        raise DaskClientError(
            f"client must be running; got status {client.status!r}. {_START_CLIENT}."
        )
    return client


def _chunks(
    children: list[np.random.SeedSequence], n_workers: int
) -> list[list[np.random.SeedSequence]]:
    """Split the child seeds into consecutive chunks, a few per worker."""
    size = math.ceil(len(children) / (_CHUNKS_PER_WORKER * max(1, n_workers)))
    return [children[i : i + size] for i in range(0, len(children), size)]


def _run_local(
    job: _Replications, children: list[np.random.SeedSequence], n_jobs: int, backend: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Run the chunks in this process or through a local joblib backend, in task order."""
    if backend == "sequential":
        return [_run_chunk(job, chunk) for chunk in _chunks(children, 1)]
    chunks = _chunks(children, joblib.effective_n_jobs(n_jobs))
    return Parallel(n_jobs=n_jobs, backend=backend)(
        delayed(_run_chunk)(job, chunk) for chunk in chunks
    )


def _run_on_dask(
    client: Client, job: _Replications, children: list[np.random.SeedSequence]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Scatter ``job`` to every worker once, submit one future per chunk, gather in order."""
    threads = sum(client.nthreads().values())
    if not threads:
        raise DaskClientError(
            "client must have at least one worker; got none. Start workers first, e.g. "
            "cluster.scale(4), and wait for them with client.wait_for_workers(4)."
        )
    remote = client.scatter(job, broadcast=True, hash=False)
    futures = []
    try:
        futures = [
            client.submit(_run_chunk, remote, chunk, pure=False)
            for chunk in _chunks(children, threads)
        ]
        return client.gather(futures)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures)
        raise
    finally:
        remote.release()


def cluster_bootstrap(
    statistic: Statistic,
    data: pd.DataFrame,
    *,
    cluster: str,
    n_boot: int = 199,
    seed: SeedLike = None,
    n_jobs: int = 1,
    backend: Backend = "loky",
    relabel: str | None = None,
    client: Client | None = None,
) -> ResampleResult:
    """Pairs cluster bootstrap of a statistic.

    The statistic is evaluated on ``data`` (failures there propagate) and on
    ``n_boot`` samples of :math:`G` clusters drawn with replacement (see
    :func:`resample_clusters`). The bootstrap SE of value :math:`j` is

    .. math::

        \\mathrm{SE}_j = \\Big( \\frac{1}{B' - 1} \\sum_{b}
            (\\hat\\theta^*_{bj} - \\bar\\theta^*_j)^2 \\Big)^{1/2}

    over the :math:`B'` successful replications.

    Parameters
    ----------
    statistic : callable
        ``statistic(frame)`` returns a fixed-length vector (array or Series;
        a Series' index names the values). It must be picklable for the
        ``"loky"`` and ``"dask"`` backends (functions of an installed module,
        lambdas and closures are, via cloudpickle); on Dask, the workers must
        be able to import the modules it refers to.
    data : pandas.DataFrame
        Estimation sample.
    cluster : str
        Column of cluster ids; missing ids are not allowed.
    n_boot : int, default 199
        Number of replications (at least 2).
    seed : int, numpy.random.SeedSequence or None, default None
        Seed; ``None`` draws fresh entropy, recorded in the result.
    n_jobs : int, default 1
        Local workers (``-1``: all cores); ignored by ``"sequential"`` and on
        Dask (which uses every thread of the cluster's workers).
    backend : {"loky", "threading", "sequential", "dask"}, default "loky"
        Where the replications run. ``"dask"`` uses ``client``, else the
        client of an active ``joblib.parallel_config(backend="dask")``, else
        the current default client (``distributed.get_client()``); it needs
        ``pip install 'parkimpact[scale]'``. Inside
        ``joblib.parallel_config(backend="dask")`` the default ``"loky"``
        runs on Dask too, while ``"threading"`` and ``"sequential"`` stay local.
    relabel : str or None, default None
        Unit-id column to make distinct across repeated copies of a cluster,
        so panel estimators treat them as different firms. Units must be
        nested in clusters.
    client : distributed.Client or None, default None
        Run the replications on this Dask client (implies ``"dask"``). The
        statistic, ``data`` and the cluster layout are scattered to every
        worker once; each task carries only its chunk of child seeds.

    Returns
    -------
    ResampleResult

    Raises
    ------
    TypeError
        If ``statistic`` is not callable, ``seed`` has a bad type or
        ``client`` is not a synchronous ``distributed.Client``.
    ValueError
        For bad arguments or columns, a statistic whose length changes, or
        ``client`` with a local backend.
    ImportError
        If ``backend="dask"`` and dask or distributed is missing.
    DaskClientError
        If ``backend="dask"`` finds no running client, or the client has no
        workers.
    ConvergenceError
        If more than :data:`MAX_FAILED_SHARE` of the replications fail.

    Warns
    -----
    ParkImpactWarning
        When some (at most 10%) replications fail; a replication fails when
        the statistic raises a :class:`~parkimpact.errors.ParkImpactError` or
        :class:`numpy.linalg.LinAlgError`.

    Examples
    --------
    On a Dask cluster (see ``docs/cluster.md``)::

        from distributed import Client, LocalCluster

        with Client(LocalCluster(n_workers=2, threads_per_worker=1)) as client:
            result = cluster_bootstrap(statistic, data, cluster="firm", seed=1, client=client)
    """
    n_boot, n_jobs = _check_arguments(statistic, data, n_boot, n_jobs, backend)
    layout = cluster_layout(data, cluster, relabel)
    dask_client = _resolve_client(client, backend)
    full = statistic(data)
    point = _as_output(full, None)
    labels = full.index if isinstance(full, pd.Series) else range(point.size)
    names = tuple(str(label) for label in labels)
    sequence = as_seed_sequence(seed)
    record = recorded_seed(sequence)
    children = sequence.spawn(n_boot)
    job = _Replications(statistic, data, layout, relabel, point.size)
    if dask_client is None:
        chunks = _run_local(job, children, n_jobs, backend)
    else:
        chunks = _run_on_dask(dask_client, job, children)
    estimates = np.concatenate([chunk[0] for chunk in chunks], axis=0)
    n_failed = int(sum(int(chunk[1].sum()) for chunk in chunks))
    _report_failures(n_failed, n_boot)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        std_errors = np.nanstd(estimates, axis=0, ddof=1)
    estimates.setflags(write=False)
    return ResampleResult(
        estimates=estimates,
        point_estimates=point,
        names=names,
        std_errors=std_errors,
        n_failed=n_failed,
        n_boot=n_boot,
        seed=record,
        n_clusters=layout.n_clusters,
        cluster=cluster,
    )


def _report_failures(n_failed: int, n_boot: int) -> None:
    if n_failed > MAX_FAILED_SHARE * n_boot:
        raise ConvergenceError(
            f"cluster_bootstrap replications must fail at most {MAX_FAILED_SHARE:.0%} of the "
            f"time; got {n_failed} of {n_boot} failed. Check that the estimator is identified "
            "on resampled data (enough treated and control clusters) or simplify it."
        )
    if n_failed:
        warnings.warn(
            f"{n_failed} of {n_boot} cluster-bootstrap replications failed and were dropped; "
            "the standard errors use the remaining ones",
            ParkImpactWarning,
            stacklevel=3,
        )
