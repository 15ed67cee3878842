r"""Covariate balance and common support.

Balance statistics, computed before (unit weights) and after (matching or
balancing weights) adjustment for each covariate :math:`x`:

* standardised mean difference
  :math:`\mathrm{SMD} = (\bar x_{1,w} - \bar x_{0,w}) / s`, with :math:`s`
  the standard deviation *before* adjustment of the treated group (ATT), of
  the controls (ATC) or :math:`\sqrt{(s_1^2 + s_0^2)/2}` (ATE), so that
  before and after share one denominator (as MatchIt and cobalt do);
* variance ratio :math:`s^2_{1,w} / s^2_{0,w}` with the weighted variance
  :math:`\sum w (x - \bar x_w)^2 / (\sum w - \sum w^2 / \sum w)`;
* the weighted empirical distribution functions: mean and maximum of
  :math:`|F_{1,w}(v) - F_{0,w}(v)|` over the observed values :math:`v`
  (the maximum is the Kolmogorov-Smirnov statistic).

Common support: :func:`trim_minmax` keeps the units whose score lies inside
both groups' ranges; :func:`trim_crump` keeps :math:`\alpha \le e(x) \le
1-\alpha` with the optimal :math:`\alpha` of Crump, Hotz, Imbens and Mitnik
(2009). Both record the dropped units in a :class:`~parkimpact.DropReport`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.errors import IdentificationError
from parkimpact.report.tidy import ModelInfo, ResultBase, make_tidy

__all__ = [
    "BalanceResult",
    "balance_table",
    "TrimResult",
    "trim_minmax",
    "trim_crump",
    "expand_terms",
]

Estimand = Literal["ATT", "ATC", "ATE"]


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * x) / np.sum(w))


def _wvar(x: np.ndarray, w: np.ndarray) -> float:
    total = np.sum(w)
    denominator = total - np.sum(w**2) / total
    if denominator <= 0:
        return float("nan")
    return float(np.sum(w * (x - _wmean(x, w)) ** 2) / denominator)


def _ecdf_gaps(x1: np.ndarray, w1: np.ndarray, x0: np.ndarray, w0: np.ndarray) -> np.ndarray:
    """``|F1(v) - F0(v)|`` at every distinct observed value ``v`` (sorted search)."""
    values = np.unique(np.concatenate([x1, x0]))

    def cdf(x: np.ndarray, w: np.ndarray) -> np.ndarray:
        order = np.argsort(x, kind="stable")
        cum = np.concatenate([[0.0], np.cumsum(w[order])]) / np.sum(w)
        return cum[np.searchsorted(x[order], values, side="right")]

    return np.abs(cdf(x1, w1) - cdf(x0, w0))


def expand_terms(
    frame: pd.DataFrame, covariates: Sequence[str], squares: bool, interactions: bool
) -> pd.DataFrame:
    """Covariates plus, optionally, their squares and pairwise products.

    Squares of binary covariates (equal to the covariate) are skipped.
    """
    out = {c: frame[c].to_numpy(dtype=float) for c in covariates}
    if squares:
        for c in covariates:
            values = out[c]
            if not np.isin(values, (0.0, 1.0)).all():
                out[f"{c}^2"] = values**2
    if interactions:
        for a, b in combinations(covariates, 2):
            out[f"{a}*{b}"] = out[a] * out[b]
    return pd.DataFrame(out, index=frame.index)


def _row(x: np.ndarray, treated: np.ndarray, w: np.ndarray, scale: float) -> dict[str, float]:
    x1, x0, w1, w0 = x[treated], x[~treated], w[treated], w[~treated]
    gaps = _ecdf_gaps(x1, w1, x0, w0)
    mean1, mean0 = _wmean(x1, w1), _wmean(x0, w0)
    var0 = _wvar(x0, w0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "mean_treated": mean1,
            "mean_control": mean0,
            "smd": (mean1 - mean0) / scale if scale > 0 else float("nan"),
            "variance_ratio": _wvar(x1, w1) / var0 if var0 > 0 else float("nan"),
            "ecdf_mean": float(gaps.mean()),
            "ecdf_max": float(gaps.max()),
        }


def balance_table(
    frame: pd.DataFrame,
    treated: np.ndarray,
    covariates: Sequence[str],
    weights: np.ndarray,
    *,
    estimand: Estimand = "ATT",
    squares: bool = False,
    interactions: bool = False,
    extra: dict[str, np.ndarray] | None = None,
) -> BalanceResult:
    """Balance of ``covariates`` before and after weighting.

    Parameters
    ----------
    frame : pandas.DataFrame
        The units (numeric covariates).
    treated : numpy.ndarray
        Boolean treatment, one per row.
    covariates : sequence of str
        Columns to assess.
    weights : numpy.ndarray
        Adjustment weights (matching or balancing weights; zero for unmatched).
    estimand : {"ATT", "ATC", "ATE"}
        Chooses the SMD denominator (see the module notes).
    squares, interactions : bool
        Also assess squares and pairwise products.
    extra : dict of str to numpy.ndarray, optional
        Further variables, e.g. ``{"distance": scores}``, listed first.

    Returns
    -------
    BalanceResult
    """
    terms = expand_terms(frame, covariates, squares, interactions)
    if extra:
        terms = pd.concat([pd.DataFrame(extra, index=frame.index), terms], axis=1)
    ones = np.ones(len(frame))
    after = np.asarray(weights, dtype=float)
    keep = after > 0
    records = []
    for name in terms.columns:
        x = terms[name].to_numpy(dtype=float)
        s1, s0 = np.std(x[treated], ddof=1), np.std(x[~treated], ddof=1)
        scale = {"ATT": s1, "ATC": s0, "ATE": np.sqrt((s1**2 + s0**2) / 2.0)}[estimand]
        before = _row(x, treated, ones, scale)
        adjusted = _row(x[keep], treated[keep], after[keep], scale)
        records.append(
            {"term": name}
            | {f"{k}_before": v for k, v in before.items()}
            | {f"{k}_after": v for k, v in adjusted.items()}
        )
    table = pd.DataFrame(records).set_index("term")
    counts = pd.DataFrame(
        {
            "treated": [int(treated.sum()), int((treated & keep).sum())],
            "control": [int((~treated).sum()), int((~treated & keep).sum())],
            "control_ess": [
                float((~treated).sum()),
                float(after[~treated].sum() ** 2 / np.sum(after[~treated] ** 2)),
            ],
        },
        index=["before", "after"],
    )
    return BalanceResult(table=table, counts=counts, estimand=estimand)


@dataclass(frozen=True, eq=False, repr=False)
class BalanceResult(ResultBase):
    """Balance statistics before and after adjustment.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per term; columns ``mean_treated``, ``mean_control``,
        ``smd``, ``variance_ratio``, ``ecdf_mean``, ``ecdf_max``, each with
        suffix ``_before`` and ``_after``.
    counts : pandas.DataFrame
        Units before and after, and the effective sample size
        :math:`(\\sum w)^2 / \\sum w^2` of the controls.
    estimand : str
        The estimand that fixed the SMD denominator.
    """

    table: pd.DataFrame
    counts: pd.DataFrame
    estimand: str

    def tidy(self) -> pd.DataFrame:
        """Standardised mean differences in the tidy schema (key ``sample``).

        ``estimate`` is the SMD; balance statistics carry no standard error, so
        ``std_error`` and the inference columns are missing.
        """
        terms = list(self.table.index)
        estimates = np.concatenate(
            [self.table["smd_before"].to_numpy(), self.table["smd_after"].to_numpy()]
        )
        return make_tidy(
            terms * 2,
            estimates,
            np.full(estimates.size, np.nan),
            keys={"sample": ["before"] * len(terms) + ["after"] * len(terms)},
        )

    def model_info(self) -> ModelInfo:
        """Counts and the largest absolute SMD after adjustment."""
        worst = float(np.nanmax(np.abs(self.table["smd_after"].to_numpy())))
        return ModelInfo(
            name=f"Covariate balance ({self.estimand})",
            n_obs=int(self.counts.loc["before"].iloc[:2].sum()),
            se_type="none (descriptive)",
            extra={
                "max |SMD| after": f"{worst:.4f}",
                "matched treated / control": (
                    f"{self.counts.loc['after', 'treated']} / {self.counts.loc['after', 'control']}"
                ),
            },
        )

    def love_plot(self, ax: object = None, threshold: float = 0.1) -> object:
        """Love plot of the absolute SMDs (see :func:`parkimpact.matching.plots.love_plot`)."""
        from parkimpact.matching.plots import love_plot

        return love_plot(self, ax=ax, threshold=threshold)


@dataclass(frozen=True, eq=False)
class TrimResult:
    """Outcome of common-support trimming.

    Attributes
    ----------
    keep : numpy.ndarray
        Boolean mask of the units kept.
    bounds : tuple of float
        Kept interval of the score.
    drops : DropReport
        The dropped units (source ``"data"``), appended to the input report.
    method : str
        ``"minmax"`` or ``"crump"``.
    """

    keep: np.ndarray
    bounds: tuple[float, float]
    drops: DropReport
    method: str


def _finish(
    scores: np.ndarray,
    treated: np.ndarray,
    keep: np.ndarray,
    bounds: tuple[float, float],
    method: str,
    index: pd.Index | None,
    drops: DropReport | None,
) -> TrimResult:
    report = DropReport() if drops is None else drops
    labels = np.arange(scores.size) if index is None else np.asarray(index)
    gone = np.flatnonzero(~keep)
    if gone.size:
        report = report.record(
            "data",
            f"trim_{method}",
            f"propensity score outside [{bounds[0]:.4g}, {bounds[1]:.4g}]",
            unit=labels[gone],
            row=gone.astype(float),
        )
    if not (keep & treated).any() or not (keep & ~treated).any():
        raise IdentificationError(
            f"common support must keep treated and control units; got {int((keep & treated).sum())}"
            f" treated and {int((keep & ~treated).sum())} control units after {method} trimming "
            f"to [{bounds[0]:.4g}, {bounds[1]:.4g}] (no overlap). The groups do not overlap in "
            "the propensity score: revise the covariates or the comparison group."
        )
    return TrimResult(keep, bounds, report, method)


def trim_minmax(
    scores: np.ndarray,
    treated: np.ndarray,
    *,
    side: Literal["both", "control", "treated"] = "both",
    index: pd.Index | None = None,
    drops: DropReport | None = None,
) -> TrimResult:
    """Keep units whose score lies in the other group's min-max range.

    ``side="both"`` keeps :math:`[\\max(\\min p_1, \\min p_0), \\min(\\max p_1,
    \\max p_0)]` (MatchIt's ``discard = "both"``); ``"control"`` drops only
    controls outside the treated range, ``"treated"`` only treated units
    outside the control range.

    Raises
    ------
    IdentificationError
        If no treated or no control unit is left.
    """
    p = np.asarray(scores, dtype=float)
    p1, p0 = p[treated], p[~treated]
    low, high = max(p1.min(), p0.min()), min(p1.max(), p0.max())
    inside = (p >= low) & (p <= high)
    keep = {
        "both": inside,
        "control": treated | ((p >= p1.min()) & (p <= p1.max())),
        "treated": ~treated | ((p >= p0.min()) & (p <= p0.max())),
    }[side]
    return _finish(p, treated, keep, (float(low), float(high)), "minmax", index, drops)


def crump_alpha(scores: np.ndarray) -> float:
    """Optimal trimming threshold of Crump, Hotz, Imbens and Mitnik (2009).

    With :math:`g = 1/\\{e(1-e)\\}`, :math:`\\alpha = 0` if
    :math:`\\max g \\le 2\\,\\mathrm{E}[g]`; otherwise :math:`\\gamma =
    1/\\{\\alpha(1-\\alpha)\\}` solves :math:`\\gamma = 2\\,\\mathrm{E}[g \\mid g \\le
    \\gamma]`, found by sorted search over the observed :math:`g`.
    """
    p = np.clip(np.asarray(scores, dtype=float), 1e-12, 1 - 1e-12)
    g = np.sort(1.0 / (p * (1.0 - p)))
    if g[-1] <= 2.0 * g.mean():
        return 0.0
    cummean = np.cumsum(g) / np.arange(1, g.size + 1)
    ok = np.flatnonzero(g <= 2.0 * cummean)
    gamma = 2.0 * cummean[ok[-1]]
    return float(0.5 - np.sqrt(max(0.25 - 1.0 / gamma, 0.0)))


def trim_crump(
    scores: np.ndarray,
    treated: np.ndarray,
    *,
    alpha: float | None = None,
    index: pd.Index | None = None,
    drops: DropReport | None = None,
) -> TrimResult:
    """Keep :math:`\\alpha \\le e(x) \\le 1 - \\alpha` (default: :func:`crump_alpha`).

    Raises
    ------
    IdentificationError
        If no treated or no control unit is left.
    """
    p = np.asarray(scores, dtype=float)
    a = crump_alpha(p) if alpha is None else float(alpha)
    if not 0.0 <= a < 0.5:
        raise ValueError(f"alpha must be in [0, 0.5); got {alpha!r}. Pass e.g. alpha=0.1.")
    keep = (p >= a) & (p <= 1.0 - a)
    return _finish(p, treated, keep, (a, 1.0 - a), "crump", index, drops)
