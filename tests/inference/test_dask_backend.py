"""The cluster bootstrap on a Dask cluster gives the same numbers as on one machine.

The cluster runs two single-threaded worker processes, as a real cluster would: statistics
and data are pickled, shipped and evaluated in other interpreters. The statistics here are
lambdas or nested functions, which are pickled by value: workers cannot import this module.
"""

from __future__ import annotations

import asyncio
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import joblib
import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from parkimpact import FirmPanel, ImpactStudy  # noqa: E402
from parkimpact.datasets import simulate_acf, simulate_parks  # noqa: E402
from parkimpact.errors import IdentificationError  # noqa: E402
from parkimpact.inference import DaskClientError, ResampleResult, cluster_bootstrap  # noqa: E402
from parkimpact.tfp import ACF  # noqa: E402

N_CLUSTERS = 60


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    """Two single-threaded worker processes; not the default client, so tests opt in."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Firms in clusters of unequal size."""
    rng = np.random.default_rng(2718)
    sizes = rng.integers(1, 6, size=N_CLUSTERS)
    group = np.repeat(np.arange(N_CLUSTERS), sizes)
    y = rng.normal(size=N_CLUSTERS)[group] + rng.normal(size=group.size)
    firm = 10 * group + rng.integers(0, 2, size=group.size)  # firms nested in clusters
    return pd.DataFrame({"g": group, "firm": firm, "y": y})


# Inline, so that it is pickled by value: the workers cannot import this module.
MOMENTS = lambda data: np.array([data["y"].mean(), data["y"].std(), data["firm"].nunique()])  # noqa: E731


def _run(frame: pd.DataFrame, **kwargs: object) -> ResampleResult:
    settings: dict[str, object] = {"cluster": "g", "relabel": "firm", "n_boot": 37, "seed": 5}
    return cluster_bootstrap(MOMENTS, frame, **{**settings, **kwargs})  # type: ignore[arg-type]


@contextmanager
def dask_tasks(client: distributed.Client) -> Iterator[list[str]]:
    """Collect the keys of the bootstrap chunks that ran on the cluster inside the block."""
    keys: list[str] = []
    with distributed.get_task_stream(client=client) as stream:
        yield keys
    keys.extend(str(task["key"]) for task in stream.data if "_run_chunk" in str(task["key"]))


def _same(first: ResampleResult, second: ResampleResult) -> None:
    np.testing.assert_array_equal(first.estimates, second.estimates)
    np.testing.assert_array_equal(first.std_errors, second.std_errors)
    assert first.n_failed == second.n_failed


# ----------------------------------------------------------------------------- identical draws
def test_draws_are_identical_on_dask_and_locally(
    client: distributed.Client, frame: pd.DataFrame
) -> None:
    with dask_tasks(client) as chunks:
        on_dask = _run(frame, client=client)
    assert len(chunks) == 8
    _same(on_dask, _run(frame, backend="sequential"))
    _same(on_dask, _run(frame, backend="loky", n_jobs=2))
    assert on_dask.estimates.shape == (37, 3) and on_dask.seed == 5
    assert not np.array_equal(on_dask.estimates, _run(frame, client=client, seed=6).estimates)


def test_every_way_of_choosing_dask_gives_the_same_draws(
    client: distributed.Client, frame: pd.DataFrame
) -> None:
    reference = _run(frame, backend="sequential")
    with dask_tasks(client) as current, client.as_current():
        _same(reference, _run(frame, backend="dask"))
    with dask_tasks(client) as context, client.as_current():
        with joblib.parallel_config(backend="dask"):
            _same(reference, _run(frame))
    with dask_tasks(client) as given, joblib.parallel_config(backend="dask", client=client):
        _same(reference, _run(frame, backend="dask"))
    with dask_tasks(client) as local, joblib.parallel_config(backend="dask", client=client):
        # A deliberate local backend stays local (e.g. for a statistic that cannot be pickled).
        _same(reference, _run(frame, backend="threading", n_jobs=2))
        _same(reference, _run(frame, backend="sequential"))
    assert len(current) == len(context) == len(given) == 8 and not local


def test_data_is_scattered_once_and_tasks_carry_only_seeds(
    client: distributed.Client, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    scattered: list[object] = []
    submitted: list[tuple[object, ...]] = []
    scatter, submit = client.scatter, client.submit

    def spy_scatter(data: object, **kwargs: object) -> object:
        scattered.append(kwargs)
        return scatter(data, **kwargs)

    def spy_submit(function: object, *args: object, **kwargs: object) -> object:
        submitted.append(args)
        return submit(function, *args, **kwargs)

    monkeypatch.setattr(client, "scatter", spy_scatter)
    monkeypatch.setattr(client, "submit", spy_submit)
    _run(frame, client=client, n_boot=50)
    assert scattered == [{"broadcast": True, "hash": False}]
    # Four chunks per worker thread, each task holding the scattered future and its seeds.
    assert len(submitted) == 8
    assert all(isinstance(args[0], distributed.Future) for args in submitted)
    assert sum(len(args[1]) for args in submitted) == 50
    deadline = time.monotonic() + 10.0
    while client.who_has() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not client.who_has(), "the scattered data and the chunks must be released"


def test_failures_and_errors_behave_as_locally(
    client: distributed.Client, frame: pd.DataFrame
) -> None:
    def crowded(data: pd.DataFrame) -> np.ndarray:
        # Fails when cluster 0 was drawn three times or more (5 of these 80 samples).
        if (data["g"] == 0).sum() >= 3 * (frame["g"] == 0).sum():
            raise IdentificationError("cluster 0 drawn three times")
        return np.array([data["y"].mean()])

    settings = {"cluster": "g", "n_boot": 80, "seed": 1}
    with pytest.warns(UserWarning, match="cluster-bootstrap replications failed"):
        local = cluster_bootstrap(crowded, frame, backend="sequential", **settings)
    with pytest.warns(UserWarning, match="cluster-bootstrap replications failed"):
        remote = cluster_bootstrap(crowded, frame, client=client, **settings)
    assert remote.n_failed == 5
    _same(local, remote)

    def broken(data: pd.DataFrame) -> np.ndarray:
        if data["g"].nunique() < N_CLUSTERS:
            raise KeyError("a column went missing on a resample")
        return np.array([1.0])

    with pytest.raises(KeyError, match="a column went missing on a resample"):
        cluster_bootstrap(broken, frame, cluster="g", n_boot=10, seed=1, client=client)


# ----------------------------------------------------------------------------- estimators
def test_tfp_bootstrap_ses_are_identical_on_dask(client: distributed.Client) -> None:
    sim = simulate_acf(1, n_firms=300, n_years=10, seed=1)
    panel = FirmPanel(sim.data, unit="firm_id", time="year")
    settings = {"output": "y", "free": "l", "state": "k", "proxy": "m", "n_grid": 64}
    local = ACF(**settings, n_polish=2, n_boot=8, seed=5, backend="sequential")
    on_dask = ACF(**settings, n_polish=2, n_boot=8, seed=5, backend="dask")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = local.fit(panel)
        with dask_tasks(client) as current, client.as_current():
            second = on_dask.fit(panel)
        # The estimator's default backend ("loky") inside a joblib Dask context.
        with dask_tasks(client) as context, joblib.parallel_config(backend="dask", client=client):
            third = ACF(**settings, n_polish=2, n_boot=8, seed=5).fit(panel)
    assert current and context and (first.std_errors > 0).all()
    for other in (second, third):
        pd.testing.assert_series_equal(first.std_errors, other.std_errors, check_exact=True)
        np.testing.assert_array_equal(first.bootstrap.estimates, other.bootstrap.estimates)


def test_whole_pipeline_bootstrap_is_identical_on_dask(client: distributed.Client) -> None:
    data = simulate_parks(n_firms=200, seed=3).panel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = FirmPanel(
            data.assign(log_rd=np.log1p(data["rd"])),
            unit="firm_id",
            time="year",
            entry="entry_year",
            exit="exit_year",
            industry="industry",
            exits="keep_treated",
        )
    tfp = ACF(
        output="log_value_added",
        free="log_employment",
        state="log_capital",
        proxy="log_materials",
        n_grid=16,
        n_polish=2,
    )
    settings = {"outcomes": ["patents"], "tfp": tfp, "event_window": (-3, 4), "seed": 11}
    settings |= {"pre_entry_years": 4, "bootstrap": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = ImpactStudy(**settings).fit(panel)  # type: ignore[arg-type]
        with dask_tasks(client) as chunks, client.as_current():
            remote = ImpactStudy(**settings, backend="dask").fit(panel)  # type: ignore[arg-type]
    assert chunks and local.bootstrap is not None and remote.bootstrap is not None
    assert local.bootstrap.n_failed == 0
    _same(local.bootstrap, remote.bootstrap)
    pd.testing.assert_frame_equal(local.tidy(), remote.tidy(), check_exact=True)


# ----------------------------------------------------------------------------- errors
def test_dask_without_a_client_says_how_to_start_one(frame: pd.DataFrame) -> None:
    with pytest.raises(DaskClientError, match=r"got none running\. Start one .*LocalCluster"):
        _run(frame, backend="dask")


def test_dask_without_the_extra_says_what_to_install(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'parkimpact\[scale\]'"):
        _run(frame, backend="dask")
    # Without distributed, the default backend stays local.
    assert _run(frame, n_boot=4).n_boot == 4


def test_bad_clients(client: distributed.Client, frame: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="client must be a synchronous distributed.Client; got str"):
        _run(frame, client=client.scheduler.address)
    with pytest.raises(ValueError, match="backend must be 'dask' or left at its default when"):
        _run(frame, client=client, backend="sequential")
    closed = distributed.Client(client.scheduler.address, set_as_default=False)
    closed.close()
    with pytest.raises(DaskClientError, match="client must be running; got status 'closed'"):
        _run(frame, client=closed)

    async def asynchronous() -> None:
        async with distributed.Client(
            client.scheduler.address, asynchronous=True, set_as_default=False
        ) as remote:
            _run(frame, client=remote)

    with pytest.raises(TypeError, match="got an asynchronous Client"):
        asyncio.run(asynchronous())


def test_a_cluster_without_workers_is_refused(frame: pd.DataFrame) -> None:
    with (
        distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty,
        distributed.Client(empty, set_as_default=False) as idle,
        pytest.raises(DaskClientError, match="client must have at least one worker; got none"),
    ):
        _run(frame, client=idle)
