"""Plots draw what the results say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from tests.tfp.conftest import acf_panel, quiet_fit  # noqa: E402

from parkimpact import FirmPanel  # noqa: E402
from parkimpact.tfp import OLS, LevinsohnPetrin  # noqa: E402
from parkimpact.tfp.plots import (  # noqa: E402
    plot_coefficients,
    plot_tfp_distribution,
    tfp_by_park_status,
)

KW = {"output": "y", "free": "l", "state": "k"}


@pytest.fixture(scope="module")
def panel() -> FirmPanel:
    data = acf_panel(2, n_firms=200).data
    entry = np.where(data["firm_id"] % 3 == 0, 5.0, np.nan)
    return FirmPanel(data.assign(entry=entry), unit="firm_id", time="year", entry="entry")


def test_tfp_split_by_park_status(panel: FirmPanel) -> None:
    result = quiet_fit(OLS(**KW), panel)
    frame = tfp_by_park_status(result, panel)
    in_park = panel.in_park().to_numpy() == 1
    assert (frame["status"] == "in park").sum() == in_park.sum()
    with pytest.raises(ValueError, match="must declare the entry role"):
        tfp_by_park_status(result, acf_panel(2, n_firms=200))


@pytest.mark.parametrize("kind", ["kde", "ecdf"])
def test_tfp_distribution_draws_one_curve_per_status(panel: FirmPanel, kind: str) -> None:
    result = quiet_fit(OLS(**KW), panel)
    fig, ax = plt.subplots()
    plot_tfp_distribution(result, panel, kind=kind, ax=ax)
    assert len(ax.lines) + len(ax.collections) >= 2
    assert ax.get_xlabel() == "log TFP"
    plt.close(fig)
    with pytest.raises(ValueError, match="kind must be 'kde' or 'ecdf'"):
        plot_tfp_distribution(result, panel, kind="hist")  # type: ignore[arg-type]


def test_coefficient_plot_places_estimates(panel: FirmPanel) -> None:
    results = {
        "OLS": quiet_fit(OLS(**KW), panel),
        "LP": quiet_fit(LevinsohnPetrin(**KW, proxy="m"), panel),
    }
    fig, ax = plt.subplots()
    plot_coefficients(results, ax=ax)
    points = [c for c in ax.containers]
    assert len(points) == 2
    xs = points[0].lines[0].get_xdata()
    assert np.asarray(xs) == pytest.approx(results["OLS"].params.to_numpy())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["l", "k"]
    plt.close(fig)
