r"""Radius and kernel matching on the propensity score (``psmatch2`` conventions).

Each focal unit :math:`i` is compared with a weighted average of the other
group, :math:`\hat Y_i = \sum_j w_{ij} Y_j`, with

* radius matching: equal weights on every control with
  :math:`|p_j - p_i| \le r` (``psmatch2, radius caliper(r)``);
* kernel matching: :math:`w_{ij} \propto K((p_j - p_i)/h)`, with the
  Epanechnikov kernel :math:`K(u) = (1 - u^2)\,1[|u| < 1]` or the Gaussian
  kernel :math:`K(u) = \exp(-u^2/2)` (``psmatch2, kernel kerneltype()
  bwidth(h)``, default :math:`h = 0.06`).

Focal units with no control in the window are off support and are dropped
(and reported), as in ``psmatch2``. Windows are found by sorted search and no
dense matrix is formed, but the matched pairs themselves are stored: memory is
proportional to the number of (focal, control) pairs inside the windows. The
Gaussian kernel has unbounded support and so uses all :math:`n_1 n_0` pairs;
prefer the Epanechnikov kernel on large samples.

The standard error is the Abadie-Imbens (2006) population variance applied
to the weights :math:`w_{ij}` (see :mod:`parkimpact.matching._variance`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, asdict, dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from parkimpact._version import __version__
from parkimpact.errors import IdentificationError
from parkimpact.matching import _variance as var
from parkimpact.matching._data import check_names, check_positive, design_matrix, prepare
from parkimpact.matching._nn import Matches
from parkimpact.matching._nn_result import matching_weights
from parkimpact.matching.propensity import PropensityScore
from parkimpact.matching.results import MatchResult

__all__ = ["KernelMatch", "RadiusMatch", "window_pairs"]

_CHUNK_PAIRS = 4_000_000


def window_pairs(
    distance: np.ndarray, focal: np.ndarray, half_width: float
) -> tuple[np.ndarray, np.ndarray]:
    """All (focal, control) row pairs with ``|d_j - d_i| <= half_width``, by sorted search.

    Generated chunk by chunk from the sorted controls; the output holds one
    entry per pair.
    """
    controls = np.flatnonzero(~focal)
    order = np.argsort(distance[controls], kind="stable")
    sorted_rows, sorted_values = controls[order], distance[controls][order]
    units = np.flatnonzero(focal)
    lo = np.searchsorted(sorted_values, distance[units] - half_width, side="left")
    hi = np.searchsorted(sorted_values, distance[units] + half_width, side="right")
    counts = hi - lo
    out_f, out_c = [], []
    start = 0
    cumulative = np.cumsum(counts)
    while start < units.size:
        base = cumulative[start - 1] if start else 0
        stop = int(np.searchsorted(cumulative, base + _CHUNK_PAIRS, side="right"))
        stop = max(stop, start + 1)
        c = counts[start:stop]
        f = np.repeat(units[start:stop], c)
        offsets = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
        out_f.append(f)
        out_c.append(sorted_rows[np.repeat(lo[start:stop], c) + offsets])
        start = stop
    return np.concatenate(out_f), np.concatenate(out_c)


@dataclass(frozen=True)
class KernelMatch:
    """Kernel or radius matching on a propensity score or distance.

    Parameters
    ----------
    treatment : str
        Binary treatment column.
    outcome : str
        Outcome column.
    covariates : sequence of str, default ()
        Covariates of the logit score (unless ``distance`` is given) and of
        the balance table.
    distance : str, PropensityScore or None, default None
        As in :class:`~parkimpact.matching.NearestNeighborMatch`.
    kernel : {"epanechnikov", "gaussian", "uniform"}, default "epanechnikov"
        ``"uniform"`` is radius matching.
    bandwidth : float, default 0.06
        Kernel bandwidth :math:`h` (the radius for ``"uniform"``), in
        distance units.
    estimand : {"ATT", "ATC"}, default "ATT"
    variance_matches : int, default 2
        Same-group neighbours for the conditional variances.
    """

    treatment: str
    outcome: str
    _: KW_ONLY
    covariates: Sequence[str] = ()
    distance: str | PropensityScore | None = None
    kernel: Literal["epanechnikov", "gaussian", "uniform"] = "epanechnikov"
    bandwidth: float = 0.06
    estimand: Literal["ATT", "ATC"] = "ATT"
    variance_matches: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariates", check_names(self.covariates, "covariates"))
        check_positive(self.bandwidth, "bandwidth")
        if self.kernel not in ("epanechnikov", "gaussian", "uniform"):
            raise ValueError(
                f"The 'kernel' parameter of {type(self).__name__} must be one of "
                f"('epanechnikov', 'gaussian', 'uniform'). Got {self.kernel!r} instead."
            )
        if self.estimand not in ("ATT", "ATC"):
            raise ValueError(f"estimand must be 'ATT' or 'ATC'; got {self.estimand!r}.")
        if not self.covariates and not isinstance(self.distance, str):
            raise ValueError(
                "covariates or a distance column must be given; got neither. Pass covariates."
            )

    def fit(self, data: pd.DataFrame) -> MatchResult:
        """Match and estimate; off-support focal units are dropped and reported."""
        columns = [*self.covariates, self.outcome]
        if isinstance(self.distance, str):
            columns.append(self.distance)
        prepared = prepare(
            data,
            self.treatment,
            list(dict.fromkeys(columns)),
            step=type(self).__name__,
            numeric=[self.outcome],
        )
        d = prepared.treated
        focal = d if self.estimand == "ATT" else ~d
        if isinstance(self.distance, str):
            score = prepared.frame[self.distance].to_numpy(dtype=float)
        else:
            model = self.distance or PropensityScore(self.covariates)
            x, names = design_matrix(prepared.frame, model.covariates)
            score = model.fit_arrays(x, d, names).scores.to_numpy()
        h = float(self.bandwidth)
        reach = np.inf if self.kernel == "gaussian" else h
        f, c = window_pairs(score, focal, reach)
        if f.size == 0:
            raise IdentificationError(
                f"bandwidth must leave at least one focal unit with a control in its window; "
                f"got none with bandwidth {h}. Widen the bandwidth."
            )
        u = (score[c] - score[f]) / h
        k = {
            "epanechnikov": 1.0 - u**2,
            "gaussian": np.exp(-0.5 * u**2),
            "uniform": np.ones_like(u),
        }[self.kernel]
        keep = k > 0
        f, c, k = f[keep], c[keep], k[keep]
        totals = np.bincount(f, weights=k, minlength=d.size)
        matches = Matches(f, c, np.zeros(f.size, dtype=np.intp), k / totals[f])
        return self._result(prepared, focal, score, matches)

    def _result(self, prepared, focal, score, matches) -> MatchResult:  # type: ignore[no-untyped-def]
        y = prepared.frame[self.outcome].to_numpy(dtype=float)
        n = y.size
        sign = 1.0 if self.estimand == "ATT" else -1.0
        y_hat = var.imputed(y, matches, n)
        rows = np.unique(matches.focal)
        estimate = sign * float(np.mean(y[rows] - y_hat[rows]))
        kk, kk2 = var.usage(matches, n)
        # conditional variances given the score matched on (see parkimpact.matching._variance)
        sigma2 = var.neighbour_variance(y, score[:, None], prepared.treated, self.variance_matches)
        population, sample = var.ai_variance(
            y, y_hat, rows, sigma2, kk, kk2, ~focal, sign * estimate
        )
        drops = prepared.drops
        off = np.setdiff1d(np.flatnonzero(focal), rows)
        if off.size:
            drops = drops.record(
                "data",
                type(self).__name__,
                "focal unit off support (no control in window)",
                unit=np.asarray(prepared.frame.index)[off],
                row=prepared.positions[off].astype(float),
            )
        index = prepared.frame.index
        errors = {"ai": float(np.sqrt(population)), "ai_sample": float(np.sqrt(sample))}
        return MatchResult(
            name=f"{self.kernel.capitalize()} kernel matching"
            if self.kernel != "uniform"
            else "Radius matching",
            estimand=self.estimand,
            estimate=estimate,
            std_error=errors["ai"],
            se_type="ai",
            std_errors=MappingProxyType(errors),
            weights=pd.Series(matching_weights(matches, focal), index=index, name="weights"),
            treated=prepared.treated,
            frame=prepared.frame,
            covariates=tuple(self.covariates),
            scores=pd.Series(score, index=index, name="distance"),
            drops=drops,
            spec=MappingProxyType(
                {
                    "estimator": type(self).__name__,
                    "settings": MappingProxyType(_settings(self)),
                    "parkimpact_version": __version__,
                    "outcome": self.outcome,
                }
            ),
            notes=(f"{self.kernel} kernel, bandwidth {self.bandwidth}",),
            pairs=matches,
            estimate_unadjusted=estimate,
        )


def _settings(estimator: KernelMatch) -> dict[str, object]:
    settings = asdict(estimator)
    if isinstance(estimator.distance, PropensityScore):
        settings["distance"] = repr(estimator.distance)
    return settings


@dataclass(frozen=True)
class RadiusMatch(KernelMatch):
    """Radius (caliper) matching: every control within ``bandwidth`` gets equal weight.

    Same parameters as :class:`KernelMatch`, with ``kernel="uniform"``
    fixed; ``bandwidth`` is the radius (``psmatch2, radius caliper()``).
    """

    kernel: Literal["epanechnikov", "gaussian", "uniform"] = "uniform"

    def __post_init__(self) -> None:
        if self.kernel != "uniform":
            raise ValueError(f"kernel must be 'uniform' for RadiusMatch; got {self.kernel!r}.")
        super().__post_init__()
