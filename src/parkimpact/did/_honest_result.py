"""Result of :class:`~parkimpact.did.honest.HonestDiD`: robust intervals by M, breakdown value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from parkimpact.did._honest_arp import identified_set_rm
from parkimpact.did._honest_flci import identified_set_sd
from parkimpact.report.tidy import ModelInfo, ResultBase, make_tidy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["HonestDiDResult"]


@dataclass(frozen=True, eq=False, repr=False)
class HonestDiDResult(ResultBase):
    r"""Confidence intervals for :math:`\theta = l'\tau` under :math:`\Delta(M)`, by M.

    Parameters
    ----------
    restriction : str
        ``"relative_magnitudes"`` or ``"smoothness"``.
    method : str
        ``"C-LF"`` (ARP conditional-least-favourable hybrid) or ``"FLCI"``.
    m_values : numpy.ndarray
        The values of :math:`\bar M` or :math:`M`, ascending.
    conf_low, conf_high : numpy.ndarray
        The robust intervals, one per M (NaN when the confidence set is empty).
    centers : numpy.ndarray
        Centres of the FLCIs (the affine estimates); NaN for ``"C-LF"``.
    open_ended : numpy.ndarray of bool
        Whether the interval reached the end of the theta grid.
    estimate, std_error : float
        :math:`l'\hat\beta_{post}` and its standard error (the original interval).
    level : float
        Confidence level.
    l_vec : numpy.ndarray
        Weights :math:`l` of the post-entry effects.
    betahat, sigma : numpy.ndarray
        The event-study coefficients (pre then post) and their covariance.
    n_pre, n_post : int
        Numbers of pre- and post-entry coefficients.
    event_times : tuple of int or None
        Event times of ``betahat`` when it came from a fitted event study.
    target : str or int
        The setting that defined :math:`l`.
    notes : tuple of str
        Lines shown under the summary.
    spec : Mapping
        Settings and package version.
    """

    restriction: str
    method: str
    m_values: np.ndarray
    conf_low: np.ndarray
    conf_high: np.ndarray
    centers: np.ndarray
    open_ended: np.ndarray
    estimate: float
    std_error: float
    level: float
    l_vec: np.ndarray
    betahat: np.ndarray
    sigma: np.ndarray
    n_pre: int
    n_post: int
    event_times: tuple[int, ...] | None
    target: str | int
    notes: tuple[str, ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict)

    # ----------------------------------------------------------------- values
    @property
    def original(self) -> tuple[float, float]:
        r"""The conventional interval :math:`l'\hat\beta_{post} \mp z_{1-\alpha/2} se`."""
        half = float(stats.norm.ppf(0.5 + self.level / 2.0)) * self.std_error
        return self.estimate - half, self.estimate + half

    @property
    def breakdown_value(self) -> float:
        """Smallest M of ``m_values`` whose interval contains 0 (NaN if none does).

        The resolution is that of ``m_values``: the conclusion "the effect is
        not zero" holds for every M below the breakdown value on the grid.
        """
        contains = (self.conf_low <= 0.0) & (self.conf_high >= 0.0)
        return float(self.m_values[np.argmax(contains)]) if contains.any() else float("nan")

    @property
    def m_label(self) -> str:
        """``"Mbar"`` for relative magnitudes, ``"M"`` for smoothness."""
        return "Mbar" if self.restriction == "relative_magnitudes" else "M"

    def identified_set(self) -> pd.DataFrame:
        """Identified set of theta at each M, treating the estimates as the truth.

        Returns
        -------
        pandas.DataFrame
            Columns ``m, id_low, id_high`` (NaN when the pre-entry estimates
            already violate the smoothness restriction).
        """
        relative = self.restriction == "relative_magnitudes"
        compute = identified_set_rm if relative else identified_set_sd
        bounds = [compute(self.betahat, self.n_pre, self.l_vec, float(m)) for m in self.m_values]
        frame = pd.DataFrame(bounds, columns=["id_low", "id_high"])
        frame.insert(0, "m", self.m_values)
        return frame

    # ------------------------------------------------------------------ tidy
    def tidy(self) -> pd.DataFrame:
        """The original interval, then one row per M.

        Returns
        -------
        pandas.DataFrame
            Columns ``term, m, method, restriction`` and the tidy schema. The
            original row carries the estimate, its standard error and normal
            inference; robust rows carry the interval (and, for the FLCI, its
            centre as ``estimate``) with missing standard errors and p-values.
        """
        n = len(self.m_values)
        terms = ["original"] + [f"{self.m_label}={m:g}" for m in self.m_values]
        frame = make_tidy(
            terms,
            [self.estimate, *self.centers.tolist()],
            [self.std_error] + [np.nan] * n,
            level=self.level,
            keys={
                "m": [np.nan, *self.m_values.tolist()],
                "method": ["original"] + [self.method] * n,
                "restriction": ["none"] + [self.restriction] * n,
            },
        )
        frame.loc[1:, "conf_low"] = self.conf_low
        frame.loc[1:, "conf_high"] = self.conf_high
        return frame

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """The intervals at the fitted level (robust intervals are not rescalable).

        Parameters
        ----------
        level : float or None
            Must be None or the level the result was fitted with.

        Returns
        -------
        pandas.DataFrame
            ``conf_low``, ``conf_high`` indexed by ``(term, m, method, restriction)``.
        """
        if level is not None and not np.isclose(level, self.level):
            raise ValueError(
                f"level must equal the fitted level {self.level:g}; got {level!r}. Robust "
                "intervals are computed for one level: refit HonestDiD with level=..."
            )
        frame = self.tidy()
        return frame.set_index(["term", "m", "method", "restriction"])[["conf_low", "conf_high"]]

    def model_info(self) -> ModelInfo:
        """Target, method and breakdown value for summaries."""
        breakdown = self.breakdown_value
        shown = "none in grid" if np.isnan(breakdown) else f"{breakdown:g}"
        described = (
            "average of the post-entry effects"
            if self.target == "average_post"
            else f"post-entry effect {self.target} (0 = entry year)"
        )
        return ModelInfo(
            name=f"Sensitivity to violations of parallel trends ({self.restriction}, "
            f"{self.method})",
            se_type=f"{self.method} robust confidence intervals",
            notes=(
                f"target: {described}",
                f"{self.n_pre} pre-entry and {self.n_post} post-entry coefficients",
                *self.notes,
            ),
            extra={f"Breakdown {self.m_label}": shown},
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Sensitivity plot; see :func:`parkimpact.did.diagnostic_plots.plot_sensitivity`."""
        from parkimpact.did.diagnostic_plots import plot_sensitivity

        return plot_sensitivity(self, ax=ax)

    def __repr__(self) -> str:
        return (
            f"HonestDiDResult({self.restriction}, {self.method}; {len(self.m_values)} values of "
            f"{self.m_label}; breakdown {self.breakdown_value:g})"
        )
