"""Results of the matching and weighting estimators.

:class:`EffectResult` is the common base: an average effect (ATT, ATC or ATE),
its standard error, the adjustment weights of the units and the data needed to
recompute balance. :class:`MatchResult` adds the matched sets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.matching._nn import Matches
from parkimpact.matching.balance import BalanceResult, balance_table
from parkimpact.report.tidy import ModelInfo, ResultBase, make_tidy

__all__ = ["EffectResult", "MatchResult"]


@dataclass(frozen=True, eq=False, repr=False)
class EffectResult(ResultBase):
    """An average treatment effect with its weights and inference.

    Attributes
    ----------
    name : str
        Title of the method.
    estimand : str
        ``"ATT"``, ``"ATC"`` or ``"ATE"``.
    estimate : float
        The point estimate (NaN when no outcome was given).
    std_error : float
        Standard error of the chosen type (``se_type``).
    se_type : str
        How ``std_error`` was computed.
    std_errors : Mapping[str, float]
        Every standard error that was computed, by name; :meth:`with_se`
        switches between them.
    weights : pandas.Series
        Adjustment weights of the units used (index of the input data).
    treated : numpy.ndarray
        Boolean treatment of those units.
    frame : pandas.DataFrame
        The units used (complete rows), for balance.
    covariates : tuple of str
        Covariates assessed by :meth:`balance`.
    scores : pandas.Series or None
        Propensity score or distance of the units, if any.
    drops : DropReport
        Rows dropped (missing values, trimming, unmatched units).
    spec : Mapping[str, Any]
        Settings, package version and seed.
    notes : tuple of str
        Notes printed under the summary.
    """

    name: str
    estimand: str
    estimate: float
    std_error: float
    se_type: str
    std_errors: Mapping[str, float]
    weights: pd.Series
    treated: np.ndarray
    frame: pd.DataFrame = field(repr=False)
    covariates: tuple[str, ...]
    scores: pd.Series | None
    drops: DropReport
    spec: Mapping[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def att(self) -> float:
        """The ATT (raises for other estimands; see :attr:`estimate`)."""
        if self.estimand != "ATT":
            raise ValueError(
                f"att must be read from a result with estimand 'ATT'; got {self.estimand!r}. "
                "Read .estimate instead."
            )
        return self.estimate

    @property
    def n_treated(self) -> int:
        """Treated units with positive weight."""
        return int(((self.weights.to_numpy() > 0) & self.treated).sum())

    @property
    def n_control(self) -> int:
        """Control units with positive weight."""
        return int(((self.weights.to_numpy() > 0) & ~self.treated).sum())

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row (term = the estimand) with normal-reference inference."""
        return make_tidy([self.estimand], [self.estimate], [self.std_error], level=level)

    def model_info(self) -> ModelInfo:
        """Counts, standard-error type and notes."""
        return ModelInfo(
            name=self.name,
            n_obs=len(self.frame),
            se_type=self.se_type,
            dependent=self.spec.get("outcome"),
            notes=self.notes,
            extra={
                "treated / control used": f"{self.n_treated} / {self.n_control}",
                "rows dropped": str(len(self.drops)),
            },
        )

    def with_se(self, kind: str) -> EffectResult:
        """A copy whose ``std_error`` is the one named ``kind`` in :attr:`std_errors`."""
        if kind not in self.std_errors:
            raise ValueError(
                f"kind must be one of {sorted(self.std_errors)}; got {kind!r}. Those standard "
                "errors were computed for this result."
            )
        return dataclasses.replace(self, std_error=self.std_errors[kind], se_type=kind)

    def balance(
        self,
        covariates: Sequence[str] | None = None,
        *,
        squares: bool = False,
        interactions: bool = False,
    ) -> BalanceResult:
        """Balance before and after adjustment (see :func:`balance_table`).

        Parameters
        ----------
        covariates : sequence of str, optional
            Numeric columns of the data used; default the estimator's
            covariates.
        squares, interactions : bool
            Also assess squares and pairwise products.
        """
        names = tuple(self.covariates if covariates is None else covariates)
        extra = None if self.scores is None else {"distance": self.scores.to_numpy()}
        estimand = self.estimand if self.estimand in ("ATT", "ATC", "ATE") else "ATT"
        return balance_table(
            self.frame,
            self.treated,
            names,
            self.weights.to_numpy(),
            estimand=estimand,  # type: ignore[arg-type]
            squares=squares,
            interactions=interactions,
            extra=extra,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.estimand}={self.estimate:.6g}, "
            f"std_error={self.std_error:.4g}, se_type={self.se_type!r})"
        )


@dataclass(frozen=True, eq=False, repr=False)
class MatchResult(EffectResult):
    """Result of nearest-neighbour, radius or kernel matching.

    Attributes
    ----------
    pairs : Matches or None
        The matched sets as arrays of row positions in :attr:`frame` (one
        entry per focal unit and match); :attr:`matches` and
        :attr:`subclass` are built from them when first read.
    paired : bool
        Whether each control serves one focal unit (matching without
        replacement), so that matched sets form subclasses.
    estimate_unadjusted : float
        The estimate without bias correction (equal to ``estimate`` when no
        bias adjustment was requested).
    caliper_width : float or None
        Caliper in the units of the distance (or of its logit).
    """

    pairs: Matches | None = field(default=None, repr=False)
    paired: bool = False
    estimate_unadjusted: float = float("nan")
    caliper_width: float | None = None

    @cached_property
    def matches(self) -> pd.DataFrame:
        """One row per (focal unit, match), in focal-unit order.

        Columns ``focal`` and ``control`` (index labels of the data), ``rank``
        (round of the match), ``weight`` (within the focal unit, summing to one)
        and ``distance_gap`` (absolute difference in the distance; NaN without
        one). Built on first access.
        """
        pairs = self._pairs()
        labels = self.frame.index.to_numpy()
        if self.scores is None:
            gap = np.full(pairs.focal.size, np.nan)
        else:
            score = self.scores.to_numpy()
            gap = np.abs(score[pairs.focal] - score[pairs.control])
        return pd.DataFrame(
            {
                "focal": labels[pairs.focal],
                "control": labels[pairs.control],
                "rank": pairs.rank,
                "weight": pairs.weight,
                "distance_gap": gap,
            }
        )

    @cached_property
    def subclass(self) -> pd.Series | None:
        """Matched-set id (1, 2, ...) of every matched unit, by index label; None with
        replacement. Built on first access."""
        if not self.paired:
            return None
        pairs = self._pairs()
        codes, first = np.unique(pairs.focal, return_inverse=True)
        rows = np.concatenate([codes, pairs.control])
        ids = np.concatenate([np.arange(codes.size), first]) + 1
        labels = self.frame.index.to_numpy()[rows]
        return pd.Series(ids, index=labels, name="subclass").sort_index()

    def _pairs(self) -> Matches:
        if self.pairs is None:
            empty = np.empty(0, dtype=np.intp)
            return Matches(empty, empty, empty, np.empty(0))
        return self.pairs

    def matched_data(self) -> pd.DataFrame:
        """The matched units with columns ``weights`` and ``subclass`` (MatchIt's match.data)."""
        used = self.weights > 0
        out = self.frame.loc[used.to_numpy()].copy()
        out["weights"] = self.weights[used].to_numpy()
        if self.subclass is not None:
            out["subclass"] = self.subclass.reindex(out.index).to_numpy()
        return out

    def rosenbaum_bounds(self, gammas: Sequence[float] = (1.0, 1.5, 2.0, 2.5, 3.0)) -> pd.DataFrame:
        """Rosenbaum bounds of the matched pairs (see :func:`rosenbaum_bounds`)."""
        from parkimpact.matching.sensitivity import rosenbaum_bounds

        outcome = self.spec.get("outcome")
        if outcome is None:
            raise ValueError(
                "outcome must be set to compute Rosenbaum bounds; got None. Refit with "
                "outcome='<column>'."
            )
        pairs = self.matches.loc[self.matches["rank"] == 0]
        y = self.frame[outcome]
        gaps = y.loc[pairs["focal"]].to_numpy() - y.loc[pairs["control"]].to_numpy()
        sign = 1.0 if self.estimand == "ATT" else -1.0
        return rosenbaum_bounds(sign * gaps, gammas)
