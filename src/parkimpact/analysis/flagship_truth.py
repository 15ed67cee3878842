r"""The true effects of a simulated project, shown next to the flagship's estimates.

Only simulated data have a truth: ``parkimpact simulate`` (and
:meth:`parkimpact.datasets.parks.ParkSimulation.write_sources`) writes it to a
folder ``truth/`` next to the column mapping. The flagship looks for that
folder beside the ``[data] mapping`` file; when it is absent (real data) every
truth column is simply omitted.

What each truth is
------------------
- ``simple`` / ``dynamic``: ``truth/aggregates.csv`` (cohort-size weighted
  averages of the exact individual effects, the Callaway-Sant'Anna weights).
- TFP: the simulator's productivity :math:`\omega` is Hicks-neutral
  *gross-output* productivity, :math:`q = \beta_0 + \beta_l l + \beta_k k +
  \beta_m m + \omega + \varepsilon`. With materials chosen flexibly, value
  added satisfies :math:`\ln VA = \omega/(1 - \beta_m) + (\beta_l l + \beta_k
  k)/(1 - \beta_m) + \text{prices} + \text{const}`, so the productivity of a
  *value-added* production function (what ACF estimates with
  ``kind="value_added"``) moves by :math:`\Delta\omega/(1 - \beta_m)`. For a
  value-added TFP stage the truth of the TFP effects is therefore the
  simulator's :math:`\omega` effect divided by :math:`1 - \beta_m`
  (:math:`\beta_m` from ``truth/elasticities.csv``); for gross output it is
  used as is. Levels of TFP are never compared (an estimated TFP includes the
  constant and the industry's level).
- ``proportional``: :math:`\theta / (\mu_1 - \theta)` with :math:`\theta` the
  true simple ATT and :math:`\mu_1` the same cohort-size weighted mean of the
  tenants' observed outcomes over the post-entry cells (so :math:`\mu_1 -
  \theta` is their exact untreated mean).
- subgroups: the simple aggregation of the individual effects in
  ``truth/firm_effects.csv`` within each subgroup (cohort sizes counted within
  the subgroup), with the subgroups defined from the panel as in the analysis.
- R&D elasticities (Yang-style test): ``rd_capital`` outside parks and before
  entry, ``rd_capital_in_park`` after entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from parkimpact.data import FirmPanel

__all__ = ["Truth", "find_truth", "load_truth"]

_FILES = ("aggregates", "att_gt", "firm_effects", "elasticities", "cohorts")


def find_truth(mapping_path: Path) -> Path | None:
    """The ``truth/`` folder beside the mapping file, or None when there is none."""
    folder = Path(mapping_path).parent / "truth"
    if all((folder / f"{name}.csv").is_file() for name in _FILES):
        return folder
    return None


@dataclass(frozen=True, eq=False)
class Truth:
    """Truth tables of a simulated project and the scale of each outcome's effect.

    Attributes
    ----------
    aggregates, att_gt, firm_effects, cohorts : pandas.DataFrame
        The simulator's tables.
    elasticities : Mapping[str, float]
        True production and R&D parameters.
    scale : Mapping[str, float]
        Factor turning the simulator's effect into the effect on the
        analysis' outcome (``tfp``: :math:`1/(1 - \beta_m)` for value added).
    files : Mapping[str, Path]
        The files read (recorded in the manifest).
    """

    aggregates: pd.DataFrame
    att_gt: pd.DataFrame
    firm_effects: pd.DataFrame
    cohorts: pd.DataFrame
    elasticities: Mapping[str, float]
    scale: Mapping[str, float] = field(default_factory=dict)
    files: Mapping[str, Path] = field(default_factory=dict)

    def has(self, outcome: str) -> bool:
        """Whether the truth covers ``outcome``."""
        return bool((self.aggregates["outcome"] == outcome).any())

    def _aggregate(self, outcome: str, kind: str) -> pd.Series:
        rows = self.aggregates.loc[
            (self.aggregates["outcome"] == outcome) & (self.aggregates["kind"] == kind)
        ]
        return pd.Series(
            rows["att"].to_numpy(dtype=float) * self.scale.get(outcome, 1.0),
            index=rows["key"].to_numpy(dtype=float),
        )

    def simple(self, outcome: str) -> float:
        """True simple ATT (NaN when the outcome has no truth)."""
        values = self._aggregate(outcome, "simple")
        return float(values.iloc[0]) if len(values) else float("nan")

    def dynamic(self, outcome: str) -> pd.Series:
        """True event-study effects indexed by event time."""
        values = self._aggregate(outcome, "dynamic")
        return values[values.index.notna()]

    def window_average(self, outcome: str, last: int) -> float:
        """Mean of the true dynamic effects over event times 0..last (PSM-DiD's estimand)."""
        values = self.dynamic(outcome)
        chosen = values[(values.index >= 0) & (values.index <= last)]
        return float(chosen.mean()) if len(chosen) else float("nan")

    def proportional(self, outcome: str, panel: FirmPanel) -> float:
        """True proportional effect :math:`\\theta/(\\mu_1 - \\theta)` (module docstring)."""
        if not self.has(outcome) or outcome not in panel.data.columns:
            return float("nan")
        roles = panel.roles
        data = panel.data
        means = data.groupby([roles.entry, roles.time])[outcome].mean()
        cells = self.att_gt.loc[
            (self.att_gt["outcome"] == outcome) & (self.att_gt["event_time"] >= 0)
        ]
        sizes = self.cohorts.set_index("cohort")["n_firms"]
        weight = sizes.reindex(cells["cohort"]).to_numpy(dtype=float)
        index = pd.MultiIndex.from_arrays([cells["cohort"].astype(float), cells["year"]])
        level = means.reindex(index).to_numpy(dtype=float)
        ok = np.isfinite(level)
        mu1 = float(np.sum(weight[ok] * level[ok]) / np.sum(weight[ok]))
        theta = self.simple(outcome) / self.scale.get(outcome, 1.0)
        return theta / (mu1 - theta)

    def subgroups(self, outcome: str, labels: Mapping[object, str]) -> pd.Series:
        """True simple ATT within each subgroup (firm id -> label in ``labels``)."""
        if outcome not in self.firm_effects.columns:
            return pd.Series(dtype=float)
        first = int(self.cohorts["cohort"].min())
        effects = self.firm_effects.loc[self.firm_effects["cohort"] >= first]
        group = pd.Series(labels).reindex(effects["firm_id"]).to_numpy()
        frame = pd.DataFrame(
            {
                "group": group,
                "cohort": effects["cohort"].to_numpy(),
                "year": effects["year"].to_numpy(),
                "firm": effects["firm_id"].to_numpy(),
                "effect": effects[outcome].to_numpy(dtype=float),
            }
        ).dropna(subset=["group"])
        cells = frame.groupby(["group", "cohort", "year"])["effect"].mean().rename("att")
        sizes = frame.groupby(["group", "cohort"])["firm"].nunique().rename("n")
        cells = cells.reset_index().merge(sizes.reset_index(), on=["group", "cohort"])
        weighted = (cells["att"] * cells["n"]).groupby(cells["group"]).sum()
        total = cells["n"].groupby(cells["group"]).sum()
        return (weighted / total) * self.scale.get(outcome, 1.0)

    def rd_elasticities(self) -> pd.Series:
        """True output elasticity of R&D capital outside parks, before and after entry."""
        outside = float(self.elasticities.get("rd_capital", np.nan))
        inside = float(self.elasticities.get("rd_capital_in_park", np.nan))
        return pd.Series(
            {
                "outside parks": outside,
                "park firms before entry": outside,
                "park firms after entry": inside,
            }
        )


def load_truth(folder: Path | None, *, value_added_tfp: bool, tfp_column: str) -> Truth | None:
    """Read the truth folder (None when there is none) and set the TFP scale."""
    if folder is None:
        return None
    files = {name: folder / f"{name}.csv" for name in _FILES}
    tables = {name: pd.read_csv(path) for name, path in files.items()}
    elastic = tables["elasticities"]
    elasticities = dict(zip(elastic["parameter"], elastic["value"].astype(float), strict=True))
    scale = {}
    if value_added_tfp and "materials" in elasticities:
        scale[tfp_column] = 1.0 / (1.0 - elasticities["materials"])
    return Truth(
        aggregates=tables["aggregates"],
        att_gt=tables["att_gt"],
        firm_effects=tables["firm_effects"],
        cohorts=tables["cohorts"],
        elasticities=elasticities,
        scale=scale,
        files={f"truth_{name}": path for name, path in files.items()},
    )
