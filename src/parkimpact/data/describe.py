"""Descriptions of a :class:`~parkimpact.FirmPanel`: cohorts and a readable summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from parkimpact.data.panel import FirmPanel

__all__ = ["cohort_table", "describe_panel", "treated_contrast"]


def cohort_table(panel: FirmPanel) -> pd.DataFrame:
    """Firms, firm-years, and first and last observed year per entry cohort.

    The never-treated group comes last with ``cohort`` missing. Without an entry
    role every firm is never-treated.
    """
    roles = panel.roles
    data = panel._data  # read-only use
    cohort = data[roles.entry] if roles.entry else pd.Series(np.nan, index=data.index)
    frame = pd.DataFrame(
        {"cohort": cohort.to_numpy(), "unit": data[roles.unit].to_numpy(), "t": data[roles.time]}
    )
    table = (
        frame.groupby("cohort", dropna=False, sort=True)
        .agg(
            n_firms=("unit", "nunique"),
            n_obs=("unit", "size"),
            first_year=("t", "min"),
            last_year=("t", "max"),
        )
        .reset_index()
    )
    table["never_treated"] = table["cohort"].isna()
    return table.sort_values(["never_treated", "cohort"], kind="stable").reset_index(drop=True)


def treated_contrast(panel: FirmPanel, columns: list[str]) -> pd.DataFrame:
    """Means of ``columns`` for never-tenants and for tenants before and after entry.

    Returns one row per column with the means and firm-year counts of the three
    groups: ``never`` (never entered), ``pre`` (future tenants before entry) and
    ``post`` (tenants from their entry year on).
    """
    roles = panel.roles
    data = panel._data
    if roles.entry is None:
        raise ValueError(
            "treated_contrast needs the panel's entry role; got none. "
            "Build the panel with entry=..."
        )
    entry = data[roles.entry].to_numpy()
    t = data[roles.time].to_numpy()
    group = np.where(np.isnan(entry), "never", np.where(t >= entry, "post", "pre"))
    means = data[columns].groupby(group).mean().T
    counts = data[columns].notna().groupby(group).sum().T
    out = pd.DataFrame(index=pd.Index(columns, name="variable"))
    for g in ("never", "pre", "post"):
        out[f"mean_{g}"] = means[g] if g in means else np.nan
        out[f"n_{g}"] = counts[g].astype("int64") if g in counts else 0
    return out.reset_index()


def describe_panel(panel: FirmPanel) -> str:
    """Readable description: size, years, balance, roles, cohorts, notes and drops."""
    years = panel.years
    lines = [
        "FirmPanel",
        f"  firm-years: {panel.n_obs}   firms: {panel.n_units}   "
        f"years: {years.min()}-{years.max()} ({len(years)})   "
        f"balanced: {'yes' if panel.is_balanced else 'no'}",
        "  roles: " + ", ".join(f"{k}={v}" for k, v in panel.roles.declared().items()),
        f"  exit policy: {panel.exits}",
    ]
    if panel.roles.entry is not None:
        cohorts = cohort_table(panel)
        treated = cohorts.loc[~cohorts["never_treated"]]
        never = cohorts.loc[cohorts["never_treated"], "n_firms"].sum()
        lines.append(
            f"  entry cohorts: {len(treated)} ({int(treated['n_firms'].sum())} firms); "
            f"never treated: {int(never)} firms"
        )
        for rec in treated.itertuples(index=False):
            lines.append(
                f"    {int(rec.cohort)}: {rec.n_firms:>5} firms, {rec.n_obs:>6} firm-years, "
                f"observed {rec.first_year}-{rec.last_year}"
            )
    for note in panel.notes:
        lines.append(f"  note: {note}")
    lines.append("  " + panel.drops.summary().replace("\n", "\n  "))
    return "\n".join(lines)
