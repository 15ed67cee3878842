r"""Goodman-Bacon (2021) decomposition of the static two-way fixed effects coefficient.

On a balanced panel with a binary, absorbing treatment that switches on at
different dates (staggered park entry), the coefficient of

.. math:: y_{it} = \alpha_i + \lambda_t + \beta^{DD} D_{it} + \varepsilon_{it}

is a weighted average of every two-group, two-period difference-in-differences
("2x2") that compares one timing group with another (Goodman-Bacon 2021,
Theorem 1). Timing groups are the firms entering in the same year :math:`k`;
firms never treated within the sample form the untreated group :math:`U`
(share of treated periods :math:`\bar D_U = 0`) and firms treated in every
sample year the always-treated group (:math:`\bar D = 1`).

For two groups :math:`k` (earlier) and :math:`\ell` (later, possibly
:math:`U`) with sample shares :math:`n_k, n_\ell` and shares of treated
periods :math:`\bar D_k > \bar D_\ell`, the decomposition contains

- the earlier group treated, the later one as control in the years before it
  is treated, with weight :math:`\propto n_k n_\ell (\bar D_k - \bar D_\ell)
  (1 - \bar D_k)` ("Earlier vs Later Treated", or "Treated vs Untreated"
  when :math:`\ell = U`);
- the later group treated, the earlier one as control *after* it is treated
  (the "forbidden" comparison), with weight :math:`\propto n_k n_\ell
  \bar D_\ell (\bar D_k - \bar D_\ell)` ("Later vs Earlier Treated", or
  "Later vs Always Treated" when :math:`k` is always treated).

These are Goodman-Bacon's equations (10e)-(10g) after cancelling the common
factor :math:`(n_k + n_\ell)^2 \hat n_{k\ell}(1 - \hat n_{k\ell}) = n_k n_\ell`;
their sum is the variance of the two-way demeaned treatment, so the weights
sum to one and :math:`\sum_c s_c \hat\beta_c = \hat\beta^{DD}` exactly.

References
----------
Goodman-Bacon, A. (2021). Difference-in-differences with variation in
treatment timing. *Journal of Econometrics*, 225(2), 254-277.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.data.panel import FirmPanel
from parkimpact.did.sample import check_panel, make_spec, numeric_values, resolve_column
from parkimpact.did.within import FixedEffects
from parkimpact.errors import IdentificationError, PanelStructureError
from parkimpact.report.tidy import ModelInfo, ResultBase, make_tidy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BaconDecomposition", "BaconResult", "COMPARISON_TYPES"]

IN_PARK: Final = "in_park"
EARLIER_VS_LATER: Final = "Earlier vs Later Treated"
LATER_VS_EARLIER: Final = "Later vs Earlier Treated"
TREATED_VS_UNTREATED: Final = "Treated vs Untreated"
LATER_VS_ALWAYS: Final = "Later vs Always Treated"
#: Comparison types, in the order of the summary by type.
COMPARISON_TYPES: Final[tuple[str, ...]] = (
    EARLIER_VS_LATER,
    LATER_VS_EARLIER,
    TREATED_VS_UNTREATED,
    LATER_VS_ALWAYS,
)
NEVER: Final = "never treated"
ALWAYS: Final = "always treated"


@dataclass(frozen=True)
class BaconDecomposition:
    r"""Goodman-Bacon (2021) decomposition of the static TWFE coefficient.

    Decomposes :math:`\hat\beta^{DD}` from the regression of ``outcome`` on
    the treatment with firm and year fixed effects into all 2x2 comparisons
    between timing groups and their variance-based weights (see the module
    docstring for the formulas).

    Parameters
    ----------
    outcome : str
        Outcome column.
    treatment : str, default "in_park"
        Binary (0/1), absorbing treatment column. ``"in_park"`` is derived from
        the panel's entry role as :math:`1[t \ge \text{entry}_i]` when the panel
        has no such column.

    Notes
    -----
    The decomposition is an identity of the balanced panel only: unbalanced
    panels raise :class:`~parkimpact.errors.PanelStructureError` (use
    :meth:`FirmPanel.balance`). A fractional treatment (e.g. the share of the
    adoption year a law was in force) is rejected; binarise it first, as the
    R package ``bacondecomp`` requires.

    Examples
    --------
    >>> result = BaconDecomposition("log_output").fit(panel.balance())  # doctest: +SKIP
    >>> result.summary_by_type()  # doctest: +SKIP
    """

    outcome: str
    _: KW_ONLY
    treatment: str = IN_PARK

    def __post_init__(self) -> None:
        for name in ("outcome", "treatment"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise TypeError(f"{name} must be a column name (str); got {value!r}.")

    def fit(self, panel: FirmPanel) -> BaconResult:
        """Decompose the TWFE coefficient on ``panel``.

        Parameters
        ----------
        panel : FirmPanel
            A balanced panel without missing outcome or treatment values.

        Returns
        -------
        BaconResult

        Raises
        ------
        PanelStructureError
            If the panel is unbalanced or has missing outcome or treatment values.
        ValueError
            If the treatment is not binary or switches off again.
        IdentificationError
            If there are fewer than two timing groups with different treatment
            shares (no 2x2 comparison).
        """
        panel = check_panel(panel, "BaconDecomposition")
        outcome = resolve_column(panel, self.outcome, "outcome")
        data = panel.data
        y = numeric_values(data, outcome, "outcome")
        d = _treatment_values(panel, self.treatment)
        _check_balanced(panel, y, d, outcome)
        unit_codes, _ = pd.factorize(data[panel.roles.unit], sort=True)
        years = np.sort(data[panel.roles.time].unique())
        time_pos = np.searchsorted(years, data[panel.roles.time].to_numpy())
        start = _first_treated_position(unit_codes, time_pos, d, len(years), self.treatment)
        comparisons = _comparisons(unit_codes, time_pos, y, start, years)
        twfe = _twfe_coefficient(data, panel, y, d)
        return BaconResult(
            comparisons=comparisons,
            twfe=twfe,
            dependent=outcome,
            treatment=self.treatment,
            n_obs=len(y),
            n_units=int(unit_codes.max()) + 1,
            n_periods=len(years),
            drops=panel.drops,
            spec=make_spec(self, panel),
        )


# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------
def _treatment_values(panel: FirmPanel, name: str) -> np.ndarray:
    """The 0/1 treatment as float64 (derived from the entry role for ``in_park``)."""
    if name in panel.data.columns or name in panel.roles.declared():
        column = resolve_column(panel, name, "treatment")
        values = numeric_values(panel.data, column, "treatment")
    elif name == IN_PARK and panel.roles.entry is not None:
        return panel.in_park().to_numpy(dtype=np.float64)
    else:
        raise ValueError(
            f"treatment {name!r} must be a column of the panel or derivable from its entry "
            "role; got neither. Declare FirmPanel(..., entry='<entry year column>') or name an "
            "existing 0/1 treatment column."
        )
    present = values[~np.isnan(values)]
    bad = (present != 0) & (present != 1)
    if bad.any():
        raise ValueError(
            f"treatment {name!r} must be 0 or 1; got {int(bad.sum())} other value(s) (e.g. "
            f"{float(present[bad][0]):g}). Binarise it first, e.g. (column > 0).astype(int)."
        )
    return values


def _check_balanced(panel: FirmPanel, y: np.ndarray, d: np.ndarray, outcome: str) -> None:
    missing = np.isnan(y) | np.isnan(d)
    if missing.any():
        raise PanelStructureError(
            f"{outcome} and the treatment must be observed in every firm-year; got "
            f"{int(missing.sum())} missing row(s). The decomposition needs a balanced panel: "
            f"use panel.dropna([{outcome!r}, ...]).balance() first."
        )
    if not panel.is_balanced:
        expected = panel.n_units * len(panel.years)
        raise PanelStructureError(
            f"panel must be balanced for the Goodman-Bacon decomposition; got {panel.n_obs} "
            f"firm-years for {panel.n_units} firms x {len(panel.years)} years ({expected}). "
            "Use panel.balance() to keep the firms observed in every year."
        )


def _first_treated_position(
    unit: np.ndarray, time_pos: np.ndarray, d: np.ndarray, n_periods: int, name: str
) -> np.ndarray:
    """Per firm, the position of its first treated year (``n_periods`` if never treated)."""
    n_units = int(unit.max()) + 1
    treated = d == 1
    start = np.full(n_units, n_periods, dtype=np.int64)
    np.minimum.at(start, unit[treated], time_pos[treated])
    switched_off = treated != (time_pos >= start[unit])
    if switched_off.any():
        n_firms = len(np.unique(unit[switched_off]))
        raise ValueError(
            f"treatment {name!r} must be absorbing (never switch back to 0 after the first 1); "
            f"got reversals for {n_firms} firm(s). The decomposition covers staggered adoption "
            "only; censor the years after exit (FirmPanel(..., exits='censor'))."
        )
    return start


# ---------------------------------------------------------------------------
# the decomposition
# ---------------------------------------------------------------------------
def _group_label(position: int, years: np.ndarray) -> str:
    if position >= len(years):
        return NEVER
    if position == 0:
        return ALWAYS
    return str(int(years[position]))


def _comparisons(
    unit: np.ndarray, time_pos: np.ndarray, y: np.ndarray, start: np.ndarray, years: np.ndarray
) -> pd.DataFrame:
    """All 2x2 estimates and their normalised weights (one row per comparison)."""
    n_periods = len(years)
    groups, group_of_unit, sizes = np.unique(start, return_inverse=True, return_counts=True)
    if len(groups) < 2:
        raise IdentificationError(
            "the treatment must start at different dates for some firms; got a single timing "
            f"group ({_group_label(int(groups[0]), years)}). There is no 2x2 comparison."
        )
    share = sizes / sizes.sum()
    treated_share = (n_periods - groups) / n_periods  # D-bar of each group
    cell = group_of_unit[unit] * n_periods + time_pos
    sums = np.bincount(cell, weights=y, minlength=len(groups) * n_periods)
    counts = np.bincount(cell, minlength=len(groups) * n_periods)
    means = (sums / counts).reshape(len(groups), n_periods)
    prefix = np.concatenate([np.zeros((len(groups), 1)), np.cumsum(means, axis=1)], axis=1)
    rows: list[dict[str, Any]] = []
    for k in range(len(groups)):  # loops over timing groups (a handful), not firms
        for ell in range(k + 1, len(groups)):
            rows.extend(_pair_rows(k, ell, groups, share, treated_share, prefix, years, sizes))
    frame = pd.DataFrame(rows)
    frame["weight"] = frame["weight"] / frame["weight"].sum()
    order = frame["type"].map({kind: i for i, kind in enumerate(COMPARISON_TYPES)})
    frame = frame.assign(_order=order).sort_values(
        ["_order", "treated_year", "control_year"], kind="stable"
    )
    return frame.drop(columns="_order").reset_index(drop=True)


def _window_change(prefix: np.ndarray, group: int, a: int, b: int, c: int) -> float:
    """Mean over positions [b, c) minus mean over [a, b) of a group's yearly means."""
    post = (prefix[group, c] - prefix[group, b]) / (c - b)
    pre = (prefix[group, b] - prefix[group, a]) / (b - a)
    return float(post - pre)


def _pair_rows(
    k: int,
    ell: int,
    groups: np.ndarray,
    share: np.ndarray,
    treated_share: np.ndarray,
    prefix: np.ndarray,
    years: np.ndarray,
    sizes: np.ndarray,
) -> list[dict[str, Any]]:
    """The (up to) two comparisons between the earlier group ``k`` and the later ``ell``."""
    n_periods = prefix.shape[1] - 1
    t_k, t_l = int(groups[k]), int(groups[ell])
    d_k, d_l = treated_share[k], treated_share[ell]
    scale = share[k] * share[ell] * (d_k - d_l)
    rows = []
    if t_k > 0:  # k treated, ell (not yet treated) as control over [0, t_l)
        kind = TREATED_VS_UNTREATED if t_l >= n_periods else EARLIER_VS_LATER
        estimate = _window_change(prefix, k, 0, t_k, t_l) - _window_change(prefix, ell, 0, t_k, t_l)
        rows.append(_row(kind, k, ell, groups, years, sizes, estimate, scale * (1 - d_k)))
    if t_l < n_periods:  # ell treated, k (already treated) as control over [t_k, T)
        kind = LATER_VS_ALWAYS if t_k == 0 else LATER_VS_EARLIER
        change = _window_change(prefix, ell, t_k, t_l, n_periods)
        estimate = change - _window_change(prefix, k, t_k, t_l, n_periods)
        rows.append(_row(kind, ell, k, groups, years, sizes, estimate, scale * d_l))
    return rows


def _row(
    kind: str,
    treated: int,
    control: int,
    groups: np.ndarray,
    years: np.ndarray,
    sizes: np.ndarray,
    estimate: float,
    weight: float,
) -> dict[str, Any]:
    def year(position: int) -> float:
        if position >= len(years):
            return float("inf")
        return float(years[position]) if position > 0 else float("-inf")

    return {
        "type": kind,
        "treated": _group_label(int(groups[treated]), years),
        "control": _group_label(int(groups[control]), years),
        "estimate": estimate,
        "weight": weight,
        "treated_year": year(int(groups[treated])),
        "control_year": year(int(groups[control])),
        "n_treated_units": int(sizes[treated]),
        "n_control_units": int(sizes[control]),
    }


def _twfe_coefficient(data: pd.DataFrame, panel: FirmPanel, y: np.ndarray, d: np.ndarray) -> float:
    """The TWFE coefficient by the within transformation (firm and year effects)."""
    fixed_effects = FixedEffects.from_columns(data, [panel.roles.unit, panel.roles.time])
    demeaned = fixed_effects.demean(np.column_stack([d, y])).values
    d_tilde = demeaned[:, 0]
    return float(d_tilde @ demeaned[:, 1] / (d_tilde @ d_tilde))


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class BaconResult(ResultBase):
    r"""Result of :class:`BaconDecomposition`.

    Parameters
    ----------
    comparisons : pandas.DataFrame
        One row per 2x2 comparison: ``type``, ``treated`` and ``control``
        (entry year, ``"never treated"`` or ``"always treated"``),
        ``estimate``, ``weight`` (summing to one), ``treated_year`` and
        ``control_year`` (inf for never treated, -inf for always treated) and
        the numbers of firms in both groups.
    twfe : float
        The TWFE coefficient :math:`\hat\beta^{DD}` (equal to
        :math:`\sum_c s_c \hat\beta_c`).
    dependent, treatment : str
        Outcome and treatment columns.
    n_obs, n_units, n_periods : int
        Firm-years, firms and years of the balanced panel.
    drops : DropReport
        The panel's drop report (the decomposition drops nothing).
    spec : Mapping
        Estimator settings, package version and the panel's fingerprint.
    """

    comparisons: pd.DataFrame
    twfe: float
    dependent: str
    treatment: str
    n_obs: int
    n_units: int
    n_periods: int
    drops: DropReport
    spec: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def weighted_sum(self) -> float:
        r""":math:`\sum_c s_c \hat\beta_c`, equal to :attr:`twfe` up to rounding."""
        frame = self.comparisons
        return float(np.sum(frame["weight"].to_numpy() * frame["estimate"].to_numpy()))

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row per comparison; the 2x2 estimates have no standard errors.

        Parameters
        ----------
        level : float, default 0.95
            Recorded in ``attrs["level"]`` (intervals are missing).

        Returns
        -------
        pandas.DataFrame
            Columns ``term, type, treated, control, weight`` and the tidy schema.
        """
        frame = self.comparisons
        terms = [f"{t} vs {c}" for t, c in zip(frame["treated"], frame["control"], strict=True)]
        keys = {name: frame[name].tolist() for name in ("type", "treated", "control", "weight")}
        errors = np.full(len(frame), np.nan)
        return make_tidy(terms, frame["estimate"].to_numpy(), errors, level=level, keys=keys)

    def summary_by_type(self) -> pd.DataFrame:
        """Total weight and weighted-average estimate of each comparison type.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``type`` (types present only), columns ``weight``,
            ``estimate`` (weight-averaged within the type) and ``n_comparisons``.
        """
        frame = self.comparisons.assign(
            weighted=self.comparisons["weight"] * self.comparisons["estimate"]
        )
        grouped = frame.groupby("type", sort=False).agg(
            weight=("weight", "sum"), weighted=("weighted", "sum"), n_comparisons=("weight", "size")
        )
        grouped["estimate"] = grouped["weighted"] / grouped["weight"]
        order = [t for t in COMPARISON_TYPES if t in grouped.index]
        return grouped.loc[order, ["weight", "estimate", "n_comparisons"]]

    def model_info(self) -> ModelInfo:
        """Counts, the TWFE coefficient and the share of forbidden comparisons."""
        by_type = self.summary_by_type()
        forbidden = float(by_type["weight"].reindex([LATER_VS_EARLIER, LATER_VS_ALWAYS]).sum())
        return ModelInfo(
            name="Goodman-Bacon decomposition",
            n_obs=self.n_obs,
            n_units=self.n_units,
            fixed_effects=("firm", "year"),
            se_type="none (decomposition of a point estimate)",
            dependent=self.dependent,
            notes=(
                "weights are Goodman-Bacon (2021) eq. (10e)-(10g), normalised to sum to one",
                "Later vs Earlier/Always Treated use already-treated firms as controls",
            ),
            extra={
                "TWFE coefficient": f"{self.twfe:.6f}",
                "Weighted sum of 2x2s": f"{self.weighted_sum:.6f}",
                "Weight on already-treated controls": f"{forbidden:.4f}",
            },
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Scatter of 2x2 estimates against weights by type; see :func:`plot_bacon`."""
        from parkimpact.did.diagnostic_plots import plot_bacon

        return plot_bacon(self, ax=ax)

    def __repr__(self) -> str:
        return (
            f"BaconResult({self.dependent} on {self.treatment}; {len(self.comparisons)} "
            f"comparisons, TWFE = {self.twfe:.4f})"
        )
