"""The panel stage of an analysis: build from raw sources, describe, draw the cohorts."""

from __future__ import annotations

import warnings
from pathlib import Path

from parkimpact.analysis.config import AnalysisConfig
from parkimpact.analysis.outputs import OutputWriter
from parkimpact.data import FirmPanel, build_panel, load_mapping
from parkimpact.data.describe import treated_contrast
from parkimpact.errors import ParkImpactWarning
from parkimpact.report import descriptive_table

__all__ = ["panel_from_config", "describe_panel_outputs", "cohort_figure"]

_DEFAULT_DESCRIBE = (
    "output",
    "value_added",
    "employment",
    "capital",
    "rd",
    "phd",
    "patents",
    "log_output",
)
_CONTRAST_LABELS = {
    "mean_never": "Never in a park",
    "mean_pre": "Tenants, before entry",
    "mean_post": "Tenants, after entry",
    "n_never": "N never",
    "n_pre": "N before",
    "n_post": "N after",
}


def panel_from_config(config: AnalysisConfig) -> tuple[FirmPanel, dict[str, Path]]:
    """Build the panel the ``[data]`` section describes; return it with its input files."""
    data = config.section("data")
    mapping_path = config.resolve(data["mapping"])
    spec = load_mapping(mapping_path)
    inputs = {"mapping": mapping_path}
    for name in spec.files:
        inputs[name] = config.resolve(spec.path(name))  # type: ignore[arg-type]
    options = {k: data[k] for k in ("bad_values", "duplicates", "exits", "zeros") if k in data}
    if "logs" in data:
        options["logs"] = tuple(data["logs"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParkImpactWarning)  # everything lands in the report
        panel = build_panel(mapping=spec, **options)
    return panel, inputs


def describe_panel_outputs(panel: FirmPanel, config: AnalysisConfig, out: OutputWriter) -> None:
    """Description, drop report, row accounting, cohorts and the in-vs-out table."""
    out.text("panel_description.txt", panel.describe())
    accounting = panel.drops.accounting()
    out.csv("data/row_accounting.csv", accounting)
    out.table(
        "tables/row_accounting",
        descriptive_table(
            accounting.set_index("source").rename(
                columns={
                    "rows_in": "Rows in",
                    "rows_kept": "Kept",
                    "rows_dropped": "Dropped",
                    "balanced": "In = kept + dropped",
                }
            ),
            title="Row accounting by source",
            notes="Every dropped row is listed with its reason in data/dropped_rows.csv.",
        ),
    )
    out.csv("data/drop_summary.csv", panel.drops.counts())
    out.csv("data/dropped_rows.csv", panel.drops.to_frame())
    out.csv("data/cohorts.csv", panel.cohorts())
    wanted = config.section("describe").get("variables", _DEFAULT_DESCRIBE)
    variables = [v for v in wanted if v in panel.data.columns]
    contrast = treated_contrast(panel, variables)
    out.csv("tables/descriptive_in_vs_out.csv", contrast)
    table = descriptive_table(
        contrast.set_index("variable").rename(columns=_CONTRAST_LABELS),
        title="Firms in and out of parks, before and after entry",
        notes=[
            "Means over firm-years; money in real terms (base-year prices).",
            "Tenants before entry: firm-years of future tenants before their entry year.",
        ],
    )
    out.table("tables/descriptive_in_vs_out", table)


def cohort_figure(panel: FirmPanel, out: OutputWriter) -> None:
    """Entry cohorts by year and park (``figures/entry_cohorts.png``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from parkimpact.report.plots import plot_entry_cohorts

    fig, ax = plt.subplots(figsize=(8, 4))
    plot_entry_cohorts(panel, ax=ax)
    fig.tight_layout()
    out.figure("figures/entry_cohorts.png", fig)
