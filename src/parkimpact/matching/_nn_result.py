"""Assembling a :class:`~parkimpact.matching.MatchResult`: weights, estimates and variances."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from parkimpact.matching import _variance as var
from parkimpact.matching._data import Prepared, design_matrix
from parkimpact.matching._nn import Matches, greedy_sorted
from parkimpact.matching.propensity import PropensityResult
from parkimpact.matching.results import MatchResult

if TYPE_CHECKING:
    from parkimpact.matching.nearest import NearestNeighborMatch

__all__ = ["build_result", "matching_weights", "unmatched_focal"]


def matching_weights(matches: Matches, focal: np.ndarray) -> np.ndarray:
    """MatchIt's weights: 1 for matched focal units; :math:`K(j)` for the others, rescaled.

    The weights of the matched non-focal units are scaled to sum to their
    number (MatchIt's convention); the rescaling does not change any weighted
    difference in means.
    """
    n = focal.size
    weights = np.zeros(n)
    weights[matches.focal] = 1.0
    k = np.bincount(matches.control, weights=matches.weight, minlength=n)
    used = k > 0  # matched units of the other group only: focal units are never controls
    k_used = k[used]
    weights[used] = k_used * k_used.size / k_used.sum()
    return weights


def unmatched_focal(matches: Matches, focal: np.ndarray) -> np.ndarray:
    """Row positions of focal units without any match (empty when all are matched)."""
    has = np.zeros(focal.size, dtype=bool)
    has[matches.focal] = True
    return np.flatnonzero(focal & ~has)


def _standard_errors(
    est: NearestNeighborMatch,
    prepared: Prepared,
    focal: np.ndarray,
    score: np.ndarray | None,
    ps_fit: PropensityResult | None,
    matches: Matches,
    y: np.ndarray,
    y_hat: np.ndarray,
    effect: float,
    weights: np.ndarray,
) -> dict[str, float]:
    n = y.size
    focal_rows = np.unique(matches.focal)
    k, k2 = var.usage(matches, n)
    z = _metric_space(est, prepared, score)
    sigma2 = var.neighbour_variance(y, z, prepared.treated, est.variance_matches)
    sign = 1.0 if est.estimand == "ATT" else -1.0
    population, sample = var.ai_variance(y, y_hat, focal_rows, sigma2, k, k2, ~focal, sign * effect)
    out = {"ai": np.sqrt(population), "ai_sample": np.sqrt(sample)}
    clusters = _clusters(est, prepared, matches)
    _, se_cluster, _ = var.cluster_regression_se(y, prepared.treated, weights, clusters)
    out["cluster"] = se_cluster
    if (
        est.estimand == "ATT"
        and est.replace
        and ps_fit is not None
        and ps_fit.design is not None
        and score is not None
        and not est.mahalanobis
    ):
        out["ai2016"] = np.sqrt(_ai2016(est, prepared, score, ps_fit, y, y_hat, effect, population))
    return {name: float(value) for name, value in out.items()}


def _metric_space(
    est: NearestNeighborMatch, prepared: Prepared, score: np.ndarray | None
) -> np.ndarray:
    from parkimpact.matching.nearest import whiten

    if est.mahalanobis:
        x, _ = design_matrix(prepared.frame, est.mahalanobis)
        return whiten(x, prepared.treated, est.metric)
    # Matching on a score is matching on that one variable: the conditional variances of the
    # Abadie-Imbens formulas are Var(Y | score, group), estimated among neighbours in the score.
    # Neighbours in the covariates would estimate Var(Y | X, group), which leaves out the
    # variation of E[Y | X] within a level set of the score and understates the variance.
    if score is None:
        raise ValueError("a distance is required for the variance; got none.")
    return score[:, None]


def _clusters(est: NearestNeighborMatch, prepared: Prepared, matches: Matches) -> np.ndarray:
    n = prepared.treated.size
    if est.cluster is not None:
        return pd.factorize(prepared.frame[est.cluster])[0]
    if est.replace:
        return np.arange(n)
    ids = np.arange(n)
    ids[matches.control] = matches.focal
    return ids


def _ai2016(
    est: NearestNeighborMatch,
    prepared: Prepared,
    score: np.ndarray,
    ps_fit: PropensityResult,
    y: np.ndarray,
    y_hat: np.ndarray,
    effect: float,
    population: float,
) -> float:
    treated = prepared.treated
    back = greedy_sorted(score, ~treated, k=est.k, replace=True, order=np.flatnonzero(~treated))
    y1_hat = var.imputed(y, back, y.size)
    unit_effects = np.where(treated, y - y_hat, y1_hat - y)
    linear = ps_fit.linear_predictor.to_numpy()
    if ps_fit.model == "logit":
        density = score * (1.0 - score)
    else:
        from scipy import stats

        density = stats.norm.pdf(linear)
    if ps_fit.design is None or ps_fit.information is None:
        raise ValueError("se='ai2016' needs a logit or probit propensity score; got a classifier.")
    return var.ai2016_variance(
        population,
        int(treated.sum()),
        effect,
        unit_effects,
        y,
        treated,
        score,
        density,
        ps_fit.design,
        ps_fit.information,
    )


def _estimates(
    est: NearestNeighborMatch, prepared: Prepared, focal: np.ndarray, matches: Matches
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Outcome, imputed counterfactuals and the (adjusted, unadjusted) estimates."""
    y = prepared.frame[est.outcome].to_numpy(dtype=float)
    n = y.size
    sign = 1.0 if est.estimand == "ATT" else -1.0
    raw_hat = var.imputed(y, matches, n)
    rows = np.unique(matches.focal)
    raw = sign * float(np.mean(y[rows] - raw_hat[rows]))
    if not est.bias_adjust:
        return y, raw_hat, raw, raw
    x, _ = design_matrix(prepared.frame, est.bias_adjust)
    k, _ = var.usage(matches, n)
    adjusted_hat = var.bias_adjusted(y, x, matches, k, ~focal)
    adjusted = sign * float(np.mean(y[rows] - adjusted_hat[rows]))
    return y, adjusted_hat, adjusted, raw


def build_result(
    est: NearestNeighborMatch,
    prepared: Prepared,
    focal: np.ndarray,
    score: np.ndarray | None,
    ps_fit: PropensityResult | None,
    matches: Matches,
    width: float,
) -> MatchResult:
    """Weights, matched sets, estimate and standard errors of a matching."""
    index = prepared.frame.index
    weights = matching_weights(matches, focal)
    drops = prepared.drops
    unmatched = unmatched_focal(matches, focal)
    notes = [_describe(est, width)]
    if unmatched.size:
        drops = drops.record(
            "data",
            "NearestNeighborMatch",
            "focal unit without a match (caliper, exact strata or exhausted controls)",
            unit=np.asarray(index)[unmatched],
            row=prepared.positions[unmatched].astype(float),
        )
        notes.append(f"{unmatched.size} focal unit(s) left unmatched (see the drop report)")
    estimate, raw, errors, se_type = float("nan"), float("nan"), {}, "none (no outcome)"
    if est.outcome is not None:
        y, y_hat, estimate, raw = _estimates(est, prepared, focal, matches)
        errors = _standard_errors(
            est, prepared, focal, score, ps_fit, matches, y, y_hat, estimate, weights
        )
        se_type = est.se if est.se in errors else "ai"
    if ps_fit is not None:
        notes.extend(ps_fit.notes)
    return MatchResult(
        name="Nearest-neighbour matching",
        estimand=est.estimand,
        estimate=estimate,
        std_error=errors.get(se_type, float("nan")),
        se_type=se_type,
        std_errors=errors,
        weights=_series(weights, index, "weights"),
        treated=prepared.treated,
        frame=prepared.frame,
        covariates=tuple(est.covariates) or tuple(est.mahalanobis),
        scores=_series(score, index, "distance"),
        drops=drops,
        spec=est.spec(),
        notes=tuple(notes),
        pairs=matches,
        paired=not est.replace,
        estimate_unadjusted=raw,
        caliper_width=None if not np.isfinite(width) else width,
    )


def _series(values: np.ndarray | None, index: pd.Index, name: str) -> pd.Series | None:
    """A Series over ``values`` without copying them (they are not written to afterwards)."""
    return None if values is None else pd.Series(values, index=index, name=name, copy=False)


def _describe(est: NearestNeighborMatch, width: float) -> str:
    how = "with" if est.replace else "without"
    text = f"{est.k}:1 nearest-neighbour matching {how} replacement"
    if est.mahalanobis:
        text += f" on the Mahalanobis distance ({est.metric})"
    if np.isfinite(width):
        text += f", caliper {est.caliper} ({est.caliper_scale}) = {width:.4g}"
    if est.exact:
        text += f", exact on {', '.join(est.exact)}"
    if est.bias_adjust:
        text += "; bias-corrected (Abadie-Imbens 2011)"
    return text
