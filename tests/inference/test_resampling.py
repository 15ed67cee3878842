"""Tests of the pairs cluster bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkimpact.errors import ConvergenceError, IdentificationError, ParkImpactWarning
from parkimpact.inference import (
    InfluenceFunction,
    cluster_bootstrap,
    cluster_layout,
    resample_clusters,
)

N_YEARS = 3


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """Firms observed for three years, nested in 200 parks of unequal size."""
    rng = np.random.default_rng(8128)
    n_parks = 200
    firms_per_park = rng.integers(1, 6, size=n_parks)
    park_of_firm = np.repeat(np.arange(n_parks), firms_per_park)
    n_firms = park_of_firm.size
    firm = np.repeat(np.arange(n_firms), N_YEARS)
    park = park_of_firm[firm]
    y = rng.normal(size=n_parks)[park] + 0.5 * rng.normal(size=n_firms)[firm]
    y = y + rng.normal(size=firm.size)
    frame = pd.DataFrame({"park": park, "firm": firm, "year": np.tile([1, 2, 3], n_firms), "y": y})
    return frame.sample(frac=1.0, random_state=1).reset_index(drop=True)


def mean_of_y(frame: pd.DataFrame) -> np.ndarray:
    return np.array([frame["y"].mean()])


def test_se_matches_clustered_analytic(panel: pd.DataFrame) -> None:
    result = cluster_bootstrap(
        mean_of_y, panel, cluster="park", n_boot=400, seed=12, backend="sequential"
    )
    y = panel["y"].to_numpy()
    inf = InfluenceFunction(y - y.mean(), [y.mean()], ["mean"], cluster_ids=panel["park"])
    assert result.std_errors[0] == pytest.approx(inf.std_errors()[0], rel=0.10)
    assert result.point_estimates[0] == pytest.approx(y.mean(), rel=1e-12)
    assert result.estimates.shape == (400, 1) and result.n_failed == 0
    assert (result.n_clusters, result.n_boot, result.seed) == (200, 400, 12)
    low, high = result.conf_int(0.95)[0]
    assert low < y.mean() < high
    normal = result.conf_int(0.95, method="normal")[0]
    np.testing.assert_allclose(
        normal, y.mean() + np.array([-1, 1]) * 1.959964 * result.std_errors[0], rtol=1e-6
    )
    assert result.tidy()["std_error"].iloc[0] == result.std_errors[0]


def test_identical_across_jobs_and_backends(panel: pd.DataFrame) -> None:
    # A lambda is pickled by value, so loky workers need not import this test module.
    statistic = lambda frame: np.array([frame["y"].mean(), frame["y"].std()])  # noqa: E731
    runs = [
        cluster_bootstrap(
            statistic, panel, cluster="park", n_boot=40, seed=7, n_jobs=jobs, backend=backend
        )
        for jobs, backend in [(1, "sequential"), (1, "loky"), (2, "loky"), (2, "threading")]
    ]
    for other in runs[1:]:
        assert np.array_equal(runs[0].estimates, other.estimates)
    different = cluster_bootstrap(statistic, panel, cluster="park", n_boot=40, seed=8)
    assert not np.array_equal(runs[0].estimates, different.estimates)


def firm_copies(frame: pd.DataFrame) -> pd.Series:
    """Whether every firm id has exactly one run of years, and the number of firm ids."""
    rows = frame.groupby("firm").size()
    return pd.Series({"all_single": float((rows == N_YEARS).all()), "n_firms": float(rows.size)})


def test_relabel_gives_each_copy_its_own_id(panel: pd.DataFrame) -> None:
    result = cluster_bootstrap(
        firm_copies, panel, cluster="park", n_boot=30, seed=3, relabel="firm", backend="sequential"
    )
    assert result.names == ("all_single", "n_firms")
    assert (result.estimates[:, 0] == 1.0).all()
    merged = cluster_bootstrap(
        firm_copies, panel, cluster="park", n_boot=30, seed=3, backend="sequential"
    )
    assert (merged.estimates[:, 0] == 0.0).any()
    assert (merged.estimates[:, 1] < result.estimates[:, 1]).all()


def test_resampled_frame_holds_whole_clusters(panel: pd.DataFrame) -> None:
    layout = cluster_layout(panel, "park", relabel="firm")
    sample = resample_clusters(panel, layout, np.random.default_rng(0), relabel="firm")
    sizes = panel.groupby("park").size()
    drawn = sample.groupby("park").size()
    assert (drawn % sizes.loc[drawn.index] == 0).all()
    assert (drawn // sizes.loc[drawn.index]).sum() == layout.n_clusters == 200
    assert isinstance(sample.index, pd.RangeIndex)
    assert sample.groupby("firm")["park"].nunique().max() == 1


def test_failed_replications_are_counted_and_warned(panel: pd.DataFrame) -> None:
    failures: list[int] = []

    def fragile(frame: pd.DataFrame) -> np.ndarray:
        if frame is not panel and frame["park"].iloc[0] >= 190:
            failures.append(1)
            raise IdentificationError("no control parks in this sample")
        return mean_of_y(frame)

    with pytest.warns(ParkImpactWarning, match=r"of 200 cluster-bootstrap replications failed"):
        result = cluster_bootstrap(
            fragile, panel, cluster="park", n_boot=200, seed=5, backend="sequential"
        )
    assert 0 < result.n_failed == len(failures) <= 20
    assert np.isnan(result.estimates[:, 0]).sum() == result.n_failed
    assert np.isfinite(result.std_errors).all()


def test_linalg_errors_count_as_failures(panel: pd.DataFrame) -> None:
    def singular(frame: pd.DataFrame) -> np.ndarray:
        if frame is not panel and frame["park"].iloc[0] >= 195:
            raise np.linalg.LinAlgError("Singular matrix")
        return mean_of_y(frame)

    with pytest.warns(ParkImpactWarning, match="replications failed"):
        result = cluster_bootstrap(singular, panel, cluster="park", n_boot=100, seed=1)
    assert result.n_failed > 0


def test_too_many_failures_raise(panel: pd.DataFrame) -> None:
    def hopeless(frame: pd.DataFrame) -> np.ndarray:
        if frame is not panel and frame["park"].iloc[0] >= 100:
            raise IdentificationError("no control parks in this sample")
        return mean_of_y(frame)

    with pytest.raises(ConvergenceError, match=r"at most 10% of the time; got \d+ of 50 failed"):
        cluster_bootstrap(hopeless, panel, cluster="park", n_boot=50, seed=2, backend="sequential")


def test_other_errors_propagate(panel: pd.DataFrame) -> None:
    def broken(frame: pd.DataFrame) -> np.ndarray:
        if len(frame) != len(panel):
            raise KeyError("bug")
        return mean_of_y(frame)

    with pytest.raises(KeyError, match="bug"):
        cluster_bootstrap(broken, panel, cluster="park", n_boot=5, seed=1, backend="sequential")

    def varying(frame: pd.DataFrame) -> np.ndarray:
        return frame["y"].to_numpy()[: frame["park"].nunique() % 3 + 1]

    with pytest.raises(ValueError, match="statistic must return the same number of values"):
        cluster_bootstrap(varying, panel, cluster="park", n_boot=20, seed=1, backend="sequential")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cluster": "region"}, ValueError, "cluster must name a column of data; got 'region'"),
        ({"relabel": "plant"}, ValueError, "relabel must name a column of data; got 'plant'"),
        ({"relabel": "year"}, ValueError, "relabel column 'year' must be nested in cluster 'park'"),
        ({"n_boot": 1}, ValueError, "n_boot must be an integer of at least 2; got 1"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be a non-zero integer"),
        ({"backend": "spark"}, ValueError, "backend must be one of 'loky', 'threading'"),
        ({"seed": -3}, ValueError, "seed must be a non-negative integer; got -3"),
    ],
)
def test_bad_arguments(
    panel: pd.DataFrame, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {"cluster": "park", "n_boot": 5, "backend": "sequential"}
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        cluster_bootstrap(mean_of_y, panel, **arguments)  # type: ignore[arg-type]


def test_bad_inputs(panel: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="statistic must be callable; got str"):
        cluster_bootstrap("mean", panel, cluster="park")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="data must be a non-empty pandas DataFrame; got an empty"):
        cluster_bootstrap(mean_of_y, panel.iloc[:0], cluster="park")
    holes = panel.assign(park=panel["park"].where(panel.index > 2))
    with pytest.raises(ValueError, match="cluster column 'park' must not be missing; got 3"):
        cluster_bootstrap(mean_of_y, holes, cluster="park")
