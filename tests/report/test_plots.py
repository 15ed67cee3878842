"""Panel plots draw what the data say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from parkimpact import FirmPanel  # noqa: E402
from parkimpact.report.plots import plot_entry_cohorts  # noqa: E402


def test_entry_cohort_bars_count_firms() -> None:
    frame = pd.DataFrame(
        {
            "firm": [1, 1, 2, 2, 3, 3, 4, 4],
            "year": [2000, 2001] * 4,
            "entry": [2001, 2001, 2001, 2001, 1990, 1990, None, None],
            "park": ["A", "A", "B", "B", "A", "A", None, None],
        }
    )
    panel = FirmPanel(frame, unit="firm", time="year", entry="entry", park="park")
    fig, ax = plt.subplots()
    plot_entry_cohorts(panel, ax=ax)
    bars = [bar for container in ax.containers for bar in container]
    by_year: dict[int, float] = {}
    for bar in bars:
        year = round(bar.get_x() + bar.get_width() / 2)
        by_year[year] = by_year.get(year, 0.0) + bar.get_height()
    assert {y: h for y, h in by_year.items() if h > 0} == {2001: 2.0, 1990: 1.0}
    assert len(ax.containers) == 2  # one stacked layer per park
    plt.close(fig)
    with pytest.raises(ValueError, match="needs the panel's entry role"):
        plot_entry_cohorts(FirmPanel(frame, unit="firm", time="year"))
