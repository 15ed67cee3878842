r"""Greedy nearest-neighbour matching with the semantics of MatchIt 4.x.

Matching on a scalar distance (by default a logit propensity score) runs by
sorted search (:mod:`parkimpact.matching._nn`); Mahalanobis matching by a k-d
tree. Both use memory linear in the number of units.

Why no bootstrap
----------------
The naive bootstrap is not valid for nearest-neighbour matching with a fixed
number of matches: resampling duplicates units, which changes how often each
control is used in a way that has no counterpart in the sampling distribution,
and the bootstrap variance does not converge to the variance of the estimator
(Abadie and Imbens 2008, *Econometrica* 76(6)). Standard errors therefore
come from the analytic formulas of Abadie and Imbens (2006, 2016) or from the
cluster-robust regression on the matched sample (see
:mod:`parkimpact.matching._variance`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import KW_ONLY, asdict, dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from parkimpact._version import __version__
from parkimpact.errors import IdentificationError, OverlapWarning
from parkimpact.matching._data import (
    Prepared,
    check_int,
    check_names,
    check_positive,
    design_matrix,
    prepare,
)
from parkimpact.matching._nn import Matches, greedy_sorted, kdtree_match, stable_argsort
from parkimpact.matching.propensity import PropensityResult, PropensityScore
from parkimpact.matching.results import MatchResult

__all__ = ["NearestNeighborMatch", "whiten"]

CaliperScale = Literal["ps_sd", "logit_sd", "absolute"]
Order = Literal["largest", "smallest", "data", "random"]
Metric = Literal["pooled", "sample", "inverse_variance"]
SEKind = Literal["ai", "ai_sample", "ai2016", "cluster"]
_SE_KINDS = ("ai", "ai_sample", "ai2016", "cluster")


def whiten(x: np.ndarray, treated: np.ndarray, metric: Metric) -> np.ndarray:
    """Transform covariates so that Euclidean distance is the Mahalanobis distance.

    ``"pooled"``: pooled within-group covariance (MatchIt); ``"sample"``:
    full-sample covariance (``nnmatch, metric(maha)``, ``teffects nnmatch``);
    ``"inverse_variance"``: diagonal of full-sample variances (``nnmatch``'s
    default). Returns :math:`X V \\Lambda^{-1/2}` for :math:`S = V\\Lambda V'`.
    """
    if metric == "inverse_variance":
        scale = x.std(axis=0, ddof=1)
        return x / np.where(scale > 0, scale, 1.0)
    if metric == "pooled":
        centred = x.copy()
        for g in (True, False):
            centred[treated == g] -= x[treated == g].mean(axis=0)
        cov = centred.T @ centred / max(x.shape[0] - 2, 1)
    else:
        cov = np.atleast_2d(np.cov(x, rowvar=False))
    values, vectors = np.linalg.eigh(cov)
    keep = values > values.max() * 1e-12
    return x @ vectors[:, keep] / np.sqrt(values[keep])


@dataclass(frozen=True)
class NearestNeighborMatch:
    r"""Greedy k:1 nearest-neighbour matching (MatchIt 4.x ``method = "nearest"``).

    Parameters
    ----------
    treatment : str
        Binary treatment column.
    outcome : str or None, default None
        Outcome column; without it only the matching (design) is done.
    covariates : sequence of str, default ()
        Covariates of the logit propensity score (when ``distance`` is None)
        and of the balance table.
    distance : str, PropensityScore or None, default None
        ``None``: logit propensity score on ``covariates``; a column name: a
        supplied distance (e.g. a score estimated elsewhere); a
        :class:`PropensityScore`: that model (probit, scikit-learn, ...).
        Ignored for matching when ``mahalanobis`` is set and no ``covariates``
        are given (pure Mahalanobis matching).
    k : int, default 1
        Matches per focal unit, made in ``k`` rounds.
    replace : bool, default False
        Match with replacement.
    caliper : float or None, default None
        Caliper width in ``caliper_scale`` units; focal units without a
        control inside it stay unmatched (and are reported).
    caliper_scale : {"ps_sd", "logit_sd", "absolute"}, default "ps_sd"
        ``"ps_sd"``: standard deviations of the distance over all units
        (MatchIt's ``std.caliper = TRUE``); ``"logit_sd"``: the caliper
        applies to the logit of the score, in its standard deviations (Austin
        2011); ``"absolute"``: raw distance units.
    order : {"largest", "smallest", "data", "random"} or None, default None
        Matching order of focal units; None means ``"largest"`` for the ATT
        and ``"smallest"`` for the ATC (MatchIt's default for a propensity
        score), ``"data"`` for pure Mahalanobis matching. Ties in the
        distance keep data order. Irrelevant with replacement.
    exact : sequence of str, default ()
        Match exactly on these columns (e.g. industry and entry cohort).
    mahalanobis : sequence of str, default ()
        Match on the Mahalanobis distance of these covariates (MatchIt's
        ``mahvars``); the propensity score, if any, only sets the caliper.
    metric : {"pooled", "sample", "inverse_variance"}, default "pooled"
        Scaling matrix of the Mahalanobis distance (see :func:`whiten`).
    ties : bool, default False
        Keep all controls tied with the k-th nearest and split the weight
        (``nnmatch``); requires ``replace=True``.
    estimand : {"ATT", "ATC"}, default "ATT"
        Focal group: treated units receive matches for the ATT, controls for
        the ATC.
    bias_adjust : sequence of str, default ()
        Covariates of the Abadie-Imbens (2011) bias correction; empty for none.
    se : {"ai", "ai_sample", "ai2016", "cluster"}, default "ai"
        Reported standard error: Abadie-Imbens (2006) for the population
        (``"ai"``) or sample (``"ai_sample"``) average effect, Abadie-Imbens
        (2016) for a logit/probit score estimated here (``"ai2016"``, ATT with
        replacement), or the cluster-robust regression on the matched sample
        (``"cluster"``). All that apply are computed; see ``std_errors``.
    variance_matches : int, default 2
        Same-group neighbours :math:`J` used to estimate conditional
        variances.
    cluster : str or None, default None
        Cluster column of the regression SE; default: matched pairs without
        replacement, units with replacement.
    seed : int, default 0
        Seed of ``order="random"``.

    Notes
    -----
    Tie-breaking: all units are sorted by distance with ties in data order;
    the nearest eligible control to each side is found and the lower one wins
    ties in distance (see :mod:`parkimpact.matching._nn`). With these rules
    and the same distance, the matched sets equal those of MatchIt 4.x.
    Mahalanobis ties go to the control first in data order.

    References
    ----------
    Ho, D., Imai, K., King, G. and Stuart, E. A. (2011), "MatchIt:
    Nonparametric preprocessing for parametric causal inference", *Journal of
    Statistical Software* 42(8). Abadie, A. and Imbens, G. W. (2006), "Large
    sample properties of matching estimators for average treatment effects",
    *Econometrica* 74(1), 235-267. Austin, P. C. (2011), "Optimal caliper
    widths for propensity-score matching", *Pharmaceutical Statistics* 10(2).
    """

    treatment: str
    _: KW_ONLY
    outcome: str | None = None
    covariates: Sequence[str] = ()
    distance: str | PropensityScore | None = None
    k: int = 1
    replace: bool = False
    caliper: float | None = None
    caliper_scale: CaliperScale = "ps_sd"
    order: Order | None = None
    exact: Sequence[str] = ()
    mahalanobis: Sequence[str] = ()
    metric: Metric = "pooled"
    ties: bool = False
    estimand: Literal["ATT", "ATC"] = "ATT"
    bias_adjust: Sequence[str] = ()
    se: SEKind = "ai"
    variance_matches: int = 2
    cluster: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("covariates", "exact", "mahalanobis", "bias_adjust"):
            object.__setattr__(self, name, check_names(getattr(self, name), name))
        check_int(self.k, "k", 1)
        check_int(self.variance_matches, "variance_matches", 1)
        check_positive(self.caliper, "caliper", allow_none=True)
        choices = {
            "caliper_scale": ("ps_sd", "logit_sd", "absolute"),
            "order": (None, "largest", "smallest", "data", "random"),
            "metric": ("pooled", "sample", "inverse_variance"),
            "estimand": ("ATT", "ATC"),
            "se": _SE_KINDS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"The '{name}' parameter of NearestNeighborMatch must be one of {allowed}. "
                    f"Got {getattr(self, name)!r} instead."
                )
        if not isinstance(self.replace, bool) or not isinstance(self.ties, bool):
            raise TypeError("replace and ties must be bool; got a non-bool value. Pass True/False.")
        if self.ties and not self.replace:
            raise ValueError(
                "ties must be False when matching without replacement; got ties=True. Set "
                "replace=True to keep tied controls."
            )
        if not self.covariates and not self.mahalanobis and not isinstance(self.distance, str):
            raise ValueError(
                "covariates, mahalanobis or a distance column must be given; got none. Pass "
                "covariates=[...] for a logit propensity score."
            )
        if self.se == "ai2016" and (self.estimand != "ATT" or not self.replace):
            raise ValueError(
                f"se='ai2016' must be used with estimand='ATT' and replace=True; got "
                f"estimand={self.estimand!r}, replace={self.replace}. Use se='ai' otherwise."
            )

    # ------------------------------------------------------------------ fitting
    def fit(self, data: pd.DataFrame) -> MatchResult:
        """Match the units of ``data`` and estimate the effect.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per unit, with a unique index.

        Returns
        -------
        MatchResult

        Raises
        ------
        ValueError
            If the treatment is not binary or ``k`` exceeds the available
            controls without replacement.
        IdentificationError
            If the propensity model separates the groups, or no focal unit
            finds a match (the message gives the caliper and the distance
            quantiles).
        """
        prepared = prepare(data, self.treatment, self._columns(), step="NearestNeighborMatch")
        treated = prepared.treated
        focal = treated if self.estimand == "ATT" else ~treated
        score, ps_fit = self._distance(prepared)
        axis, width = self._caliper(score)
        self._check_k(focal)
        strata = self._strata(prepared.frame)
        # with replacement the order cannot change the matches (MatchIt ignores it too)
        order = np.flatnonzero(focal) if self.replace else self._order(score, focal)
        matches = self._match(prepared, score, focal, order, strata, axis, width)
        if matches.focal.size == 0:
            raise IdentificationError(self._no_match_message(score, width))
        return self._result(prepared, focal, score, ps_fit, matches, width)

    def _columns(self) -> list[str]:
        names = [*self.covariates, *self.mahalanobis, *self.exact, *self.bias_adjust]
        for extra in (self.outcome, self.cluster):
            if extra is not None:
                names.append(extra)
        if isinstance(self.distance, str):
            names.append(self.distance)
        return list(dict.fromkeys(names))

    def _distance(self, prepared: Prepared) -> tuple[np.ndarray | None, PropensityResult | None]:
        frame = prepared.frame
        if isinstance(self.distance, str):
            values = frame[self.distance].to_numpy(dtype=float)
            if not np.isfinite(values).all():
                raise ValueError(
                    f"distance column {self.distance!r} must be finite; got "
                    f"{int((~np.isfinite(values)).sum())} infinite value(s). Fix the scores."
                )
            return values, None
        if not self.covariates:
            return None, None
        model = self.distance or PropensityScore(self.covariates)
        x, names = design_matrix(frame, model.covariates)
        fit = model.fit_arrays(x, prepared.treated, names, index=frame.index)
        fit.warn_overlap()
        return fit.scores.to_numpy(), fit

    def _caliper(self, score: np.ndarray | None) -> tuple[np.ndarray | None, float]:
        if self.caliper is None:
            return None, float("inf")
        if score is None:
            raise ValueError(
                "caliper must be used with a propensity score or distance; got pure Mahalanobis "
                "matching. Give covariates (for a score) or a distance column."
            )
        if self.caliper_scale == "absolute":
            return score, float(self.caliper)
        if self.caliper_scale == "logit_sd":
            if (score <= 0).any() or (score >= 1).any():
                raise ValueError(
                    "distance must lie strictly between 0 and 1 for caliper_scale='logit_sd'; got "
                    f"values in [{score.min():.4g}, {score.max():.4g}]. Use 'ps_sd' or 'absolute'."
                )
            logit = np.log(score) - np.log1p(-score)
            return logit, float(self.caliper) * float(np.std(logit, ddof=1))
        return score, float(self.caliper) * float(np.std(score, ddof=1))

    def _check_k(self, focal: np.ndarray) -> None:
        n_other = int((~focal).sum())
        if self.replace:
            if self.k > n_other:
                raise ValueError(
                    f"k must not exceed the {n_other} available matches; got k={self.k}. Lower k."
                )
            return
        if self.k > n_other:
            raise ValueError(
                f"k must not exceed the {n_other} available controls without replacement; got "
                f"k={self.k}. Lower k or set replace=True."
            )
        if self.k * int(focal.sum()) > n_other:
            warnings.warn(
                f"{int(focal.sum())} focal units x k={self.k} exceed the {n_other} available "
                "units without replacement; not all focal units will get k matches.",
                OverlapWarning,
                stacklevel=3,
            )

    def _strata(self, frame: pd.DataFrame) -> np.ndarray | None:
        if not self.exact:
            return None
        return frame.groupby(list(self.exact), sort=True, dropna=False).ngroup().to_numpy()

    def _order(self, score: np.ndarray | None, focal: np.ndarray) -> np.ndarray:
        rows = np.flatnonzero(focal)
        order = self.order
        if order is None:
            pure_mahalanobis = score is None
            order = (
                "data"
                if pure_mahalanobis
                else ("largest" if self.estimand == "ATT" else "smallest")
            )
        if order == "data" or score is None and order in ("largest", "smallest"):
            return rows
        if order == "random":
            return np.random.default_rng(self.seed).permutation(rows)
        values = score[rows] if order == "smallest" else -score[rows]
        return rows[stable_argsort(values)]

    def _match(
        self,
        prepared: Prepared,
        score: np.ndarray | None,
        focal: np.ndarray,
        order: np.ndarray,
        strata: np.ndarray | None,
        axis: np.ndarray | None,
        width: float,
    ) -> Matches:
        if self.mahalanobis:
            x, _ = design_matrix(prepared.frame, self.mahalanobis)
            z = whiten(x, prepared.treated, self.metric)
            return kdtree_match(
                z,
                focal,
                k=self.k,
                replace=self.replace,
                order=order,
                strata=strata,
                caliper_axis=axis,
                caliper=width,
                ties=self.ties,
            )
        if score is None:
            raise ValueError("a distance is required without mahalanobis=; got none.")
        if self.ties:
            return kdtree_match(
                score[:, None],
                focal,
                k=self.k,
                replace=True,
                order=order,
                strata=strata,
                caliper_axis=axis,
                caliper=width,
                ties=True,
            )
        return greedy_sorted(
            score,
            focal,
            k=self.k,
            replace=self.replace,
            order=order,
            strata=strata,
            caliper_axis=axis,
            caliper=width,
        )

    def _no_match_message(self, score: np.ndarray | None, width: float) -> str:
        quantiles = ""
        if score is not None:
            q = np.quantile(score, [0.0, 0.25, 0.5, 0.75, 1.0])
            quantiles = (
                " distance quantiles (0, 25, 50, 75, 100%): "
                + ", ".join(f"{v:.4g}" for v in q)
                + ";"
            )
        return (
            f"caliper must leave at least one match; got none with caliper {self.caliper} "
            f"({self.caliper_scale}) = {width:.4g} in distance units;{quantiles} widen the "
            "caliper, use caliper_scale='absolute' with a larger width, or check overlap."
        )

    def _result(
        self,
        prepared: Prepared,
        focal: np.ndarray,
        score: np.ndarray | None,
        ps_fit: PropensityResult | None,
        matches: Matches,
        width: float,
    ) -> MatchResult:
        from parkimpact.matching._nn_result import build_result

        return build_result(self, prepared, focal, score, ps_fit, matches, width)

    def spec(self) -> MappingProxyType:
        """Settings, as stored in results."""
        settings = asdict(self)
        if isinstance(self.distance, PropensityScore):
            settings["distance"] = repr(self.distance)
        return MappingProxyType(
            {
                "estimator": "NearestNeighborMatch",
                "settings": MappingProxyType(settings),
                "parkimpact_version": __version__,
                "outcome": self.outcome,
                "seed": self.seed,
            }
        )
