r"""Least squares on (within-transformed) data and its covariance estimators.

Shared by :class:`~parkimpact.did.TwoWayFE`, :class:`~parkimpact.did.EventStudy`
and :class:`~parkimpact.did.FirstDifference`. The estimator solves

.. math:: \hat\beta = \arg\min_\beta \sum_i w_i (\tilde y_i - \tilde x_i'\beta)^2

by a QR decomposition of :math:`[\sqrt{w}\tilde X, \sqrt{w}\tilde y]`, computed in
row blocks (a tall-skinny QR) so that only ``k x k`` triangular factors are kept.
The covariance estimators and their small-sample factors follow fixest
(>= 0.13) and pyfixest (>= 0.30) defaults; see :func:`covariance`.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import linalg

from parkimpact.errors import IdentificationError, ParkImpactWarning

__all__ = ["VcovKind", "VCOV_KINDS", "OLSFit", "Covariance", "fit_ols", "covariance"]

VcovKind = Literal["cluster", "hetero", "iid"]
VCOV_KINDS: tuple[str, ...] = ("cluster", "hetero", "iid")

#: A regressor whose within variation is below this share of its raw variation
#: is treated as absorbed by the fixed effects.
ABSORBED_TOL = 1e-8
#: A regressor whose component orthogonal to the earlier ones is below this share
#: of its norm is treated as collinear.
COLLINEAR_TOL = 1e-8
#: Fewer clusters than this trigger a warning.
FEW_CLUSTERS = 30
_BLOCK_ROWS = 65_536


@dataclass(frozen=True, eq=False)
class OLSFit:
    """A solved least-squares problem and what its covariance needs.

    Parameters
    ----------
    terms : tuple of str
        Names of the columns of ``design``.
    coef : numpy.ndarray
        Estimated coefficients.
    bread : numpy.ndarray
        :math:`(\\tilde X' W \\tilde X)^{-1}`.
    design : numpy.ndarray
        The (within-transformed) regressors, ``(n, k)``.
    resid : numpy.ndarray
        Residuals :math:`\\tilde y - \\tilde X \\hat\\beta` (unweighted).
    weights : numpy.ndarray or None
        Observation weights.
    rss, tss : float
        Weighted residual and total sums of squares of the transformed outcome
        (``tss`` around zero when ``centered_tss`` is false, else around the
        weighted mean).
    """

    terms: tuple[str, ...]
    coef: np.ndarray
    bread: np.ndarray
    design: np.ndarray
    resid: np.ndarray
    weights: np.ndarray | None
    rss: float
    tss: float

    @property
    def n_obs(self) -> int:
        """Number of observations."""
        return int(self.design.shape[0])

    @property
    def n_coef(self) -> int:
        """Number of estimated slope coefficients."""
        return len(self.terms)

    @property
    def r_squared(self) -> float:
        """``1 - rss / tss`` (the within R-squared after demeaning)."""
        return float(1.0 - self.rss / self.tss) if self.tss > 0 else float("nan")


@dataclass(frozen=True, eq=False)
class Covariance:
    """A covariance estimate with its small-sample convention.

    Parameters
    ----------
    kind : {"cluster", "hetero", "iid"}
        Estimator.
    matrix : numpy.ndarray
        The ``k x k`` covariance of the coefficients.
    df : float
        Degrees of freedom of the Student t reference: ``G - 1`` when
        clustered, ``n - K`` otherwise (fixest's ``t.df = "min"``).
    n_params : int
        The ``K`` of the small-sample factor.
    factor : float
        The small-sample factor applied.
    n_clusters : int or None
        Number of clusters ``G``.
    cluster : str or None
        Name of the cluster variable.
    description : str
        Readable description, used as the ``se_type`` of the result.
    """

    kind: str
    matrix: np.ndarray
    df: float
    n_params: int
    factor: float
    n_clusters: int | None
    cluster: str | None
    description: str


def fit_ols(
    design: np.ndarray,
    response: np.ndarray,
    terms: Sequence[str],
    *,
    weights: np.ndarray | None = None,
    raw_norms: np.ndarray | None = None,
    absorbed_by: str | None = None,
    tss_centered: bool = False,
) -> OLSFit:
    """Solve weighted least squares and check the regressors' rank.

    Parameters
    ----------
    design : numpy.ndarray
        ``(n, k)`` regressors, already within-transformed.
    response : numpy.ndarray
        ``(n,)`` outcome, transformed like ``design``.
    terms : sequence of str
        Column names, used in error messages and results.
    weights : numpy.ndarray or None
        Observation weights.
    raw_norms : numpy.ndarray or None
        Norms of the regressors before the within transformation (centred);
        a column whose transformed norm falls below ``1e-8`` of it is reported
        as absorbed by ``absorbed_by``.
    absorbed_by : str or None
        Description of the fixed effects, for the error message.
    tss_centered : bool, default False
        Centre the total sum of squares on the weighted mean of ``response``
        (models with an explicit intercept).

    Returns
    -------
    OLSFit

    Raises
    ------
    IdentificationError
        If a regressor is absorbed by the fixed effects or collinear with the
        other regressors.
    """
    terms = tuple(terms)
    root = None if weights is None else np.sqrt(weights)
    scaled = design if root is None else design * root[:, None]
    y_scaled = response if root is None else response * root
    norms = np.sqrt(np.einsum("ij,ij->j", scaled, scaled))
    if raw_norms is not None:
        _check_absorbed(norms, raw_norms, terms, absorbed_by)
    r_factor = _tall_qr(scaled, y_scaled)
    k = len(terms)
    _check_collinear(r_factor[:k, :k], norms, terms)
    r_xx = r_factor[:k, :k]
    coef = linalg.solve_triangular(r_xx, r_factor[:k, k])
    r_inv = linalg.solve_triangular(r_xx, np.eye(k))
    bread = r_inv @ r_inv.T
    resid = response - design @ coef
    rss = float(r_factor[k, k] ** 2) if r_factor.shape[0] > k else 0.0
    if tss_centered:
        w = np.ones_like(response) if weights is None else weights
        centred = response - np.sum(w * response) / np.sum(w)
        tss = float(np.sum(w * centred**2))
    else:
        tss = float(y_scaled @ y_scaled)
    return OLSFit(terms, coef, bread, design, resid, weights, rss, tss)


def _tall_qr(scaled: np.ndarray, y_scaled: np.ndarray) -> np.ndarray:
    """R factor of ``[scaled, y_scaled]`` by a blocked (tall-skinny) QR."""
    n = scaled.shape[0]
    factors = []
    for start in range(0, n, _BLOCK_ROWS):
        block = np.column_stack(
            [scaled[start : start + _BLOCK_ROWS], y_scaled[start : start + _BLOCK_ROWS]]
        )
        factors.append(np.linalg.qr(block, mode="r"))
    stacked = factors[0] if len(factors) == 1 else np.linalg.qr(np.vstack(factors), mode="r")
    width = scaled.shape[1] + 1
    if stacked.shape[0] < width:  # fewer rows than columns
        stacked = np.vstack([stacked, np.zeros((width - stacked.shape[0], width))])
    return stacked


def _check_absorbed(
    norms: np.ndarray, raw_norms: np.ndarray, terms: tuple[str, ...], absorbed_by: str | None
) -> None:
    absorbed = norms <= ABSORBED_TOL * np.maximum(raw_norms, np.finfo(float).tiny)
    if absorbed.any():
        names = [t for t, a in zip(terms, absorbed, strict=True) if a]
        raise IdentificationError(
            f"regressors must vary within the fixed effects ({absorbed_by}); got no remaining "
            f"variation in {', '.join(map(repr, names))} (absorbed, e.g. constant within firm "
            "or within year). Remove them from covariates, or interact them with a "
            "time-varying variable."
        )


def _check_collinear(r_xx: np.ndarray, norms: np.ndarray, terms: tuple[str, ...]) -> None:
    if np.any(norms == 0):
        names = [t for t, size in zip(terms, norms, strict=True) if size == 0]
        raise IdentificationError(
            f"regressors must vary in the estimation sample; got {', '.join(map(repr, names))} "
            "equal to zero throughout (after differencing or removing fixed effects). Remove "
            "them or check their coding."
        )
    diag = np.abs(np.diag(r_xx))
    bad = diag <= COLLINEAR_TOL * np.maximum(norms, np.finfo(float).tiny)
    if not bad.any():
        return
    j = int(np.flatnonzero(bad)[0])
    if j == 0:
        partners: list[str] = []
    else:
        combo = linalg.lstsq(r_xx[:j, :j], r_xx[:j, j])[0]
        size = np.abs(combo)
        partners = [terms[i] for i in np.flatnonzero(size > 1e-6 * max(size.max(), 1e-300))]
    named = ", ".join(map(repr, partners)) or "the fixed effects"
    raise IdentificationError(
        f"regressors must be linearly independent after removing the fixed effects; got "
        f"{terms[j]!r} collinear with {named}. Drop one of them (e.g. a treatment dummy that "
        "equals another, or a dummy for every event time without never-treated firms: "
        "bin the endpoints or omit a second event time)."
    )


def covariance(
    fit: OLSFit,
    kind: str,
    *,
    n_fe_params: int = 0,
    n_fe_params_cluster: int | None = None,
    clusters: np.ndarray | None = None,
    cluster_name: str | None = None,
) -> Covariance:
    r"""Covariance of the coefficients with fixest's default small-sample factors.

    With :math:`B = (\tilde X'W\tilde X)^{-1}`, :math:`e` the residuals,
    :math:`n` observations and :math:`k` slope coefficients:

    - ``"iid"``: :math:`\hat\sigma^2 B`, :math:`\hat\sigma^2 = \sum_i w_i e_i^2
      / (n - K)` with :math:`K = k + \text{all fixed-effect parameters}`
      (``sum(L_f) - (F - 1)``). This is the usual textbook FE/LSDV variance.
    - ``"hetero"``: HC1, :math:`\frac{n}{n - K} B \left(\sum_i w_i^2 e_i^2
      \tilde x_i \tilde x_i'\right) B` with the same :math:`K` (fixest >= 0.13
      ``vcov = "hetero"``; fixest < 0.13 used :math:`(n-1)/(n-K)`).
    - ``"cluster"``: CRV1, :math:`\frac{G}{G-1}\frac{n-1}{n-K_c} B \left(\sum_g
      s_g s_g'\right) B` with :math:`s_g = \sum_{i \in g} w_i e_i \tilde x_i`
      and :math:`K_c = k +` the fixed-effect parameters not nested in the
      cluster, each nested fixed effect counting one (fixest
      ``ssc(K.adj = TRUE, K.fixef = "nonnested", G.adj = TRUE)``, formerly
      ``fixef.K = "nested"``; Stata's ``xtreg, fe vce(cluster)`` agrees).

    Parameters
    ----------
    fit : OLSFit
        The solved regression.
    kind : {"cluster", "hetero", "iid"}
        Estimator.
    n_fe_params : int, default 0
        All fixed-effect parameters (0 for a model with an explicit intercept,
        which is then one of the ``k`` coefficients).
    n_fe_params_cluster : int or None
        Fixed-effect parameters counted under clustering (default
        ``n_fe_params``).
    clusters : numpy.ndarray or None
        Integer cluster codes ``0 .. G - 1`` (required for ``"cluster"``).
    cluster_name : str or None
        Name of the cluster variable, for descriptions.

    Returns
    -------
    Covariance

    Raises
    ------
    IdentificationError
        If there are no residual degrees of freedom or fewer than 2 clusters.
    """
    n, k = fit.n_obs, fit.n_coef
    k_full = k + n_fe_params
    if n - k_full <= 0:
        raise IdentificationError(
            f"observations must exceed estimated parameters; got {n} observations for "
            f"{k_full} parameters ({k} coefficients and {n_fe_params} fixed effects). "
            "Use a longer panel or fewer regressors."
        )
    w_resid = fit.resid if fit.weights is None else fit.resid * fit.weights
    if kind == "iid":
        sigma2 = float(np.sum(fit.resid * w_resid)) / (n - k_full)
        return Covariance(
            kind="iid",
            matrix=sigma2 * fit.bread,
            df=float(n - k_full),
            n_params=k_full,
            factor=1.0,
            n_clusters=None,
            cluster=None,
            description="iid (sigma^2 = RSS/(n - K))",
        )
    scores = fit.design * w_resid[:, None]
    if kind == "hetero":
        factor = n / (n - k_full)
        meat = scores.T @ scores
        return Covariance(
            kind="hetero",
            matrix=factor * _sandwich(fit.bread, meat),
            df=float(n - k_full),
            n_params=k_full,
            factor=factor,
            n_clusters=None,
            cluster=None,
            description="HC1 heteroskedasticity-robust (fixest small-sample correction)",
        )
    if kind != "cluster":
        raise ValueError(f"vcov must be one of {VCOV_KINDS}; got {kind!r}.")
    k_cluster = k + (n_fe_params if n_fe_params_cluster is None else n_fe_params_cluster)
    return _cluster_covariance(fit, scores, k_cluster, clusters, cluster_name)


def _cluster_covariance(
    fit: OLSFit,
    scores: np.ndarray,
    k_cluster: int,
    clusters: np.ndarray | None,
    cluster_name: str | None,
) -> Covariance:
    if clusters is None:
        raise ValueError("clusters must be given for vcov='cluster'; got None.")
    n, k = fit.n_obs, fit.n_coef
    n_groups = int(clusters.max()) + 1 if len(clusters) else 0
    if n_groups < 2:
        raise IdentificationError(
            f"cluster {cluster_name!r} must have at least 2 distinct values in the estimation "
            f"sample; got {n_groups}. Cluster by a finer variable or use vcov='hetero'."
        )
    if n_groups < FEW_CLUSTERS:
        warnings.warn(
            f"cluster {cluster_name!r} has {n_groups} clusters (fewer than {FEW_CLUSTERS}); "
            "CRV1 standard errors and t(G - 1) p-values can be too small with few clusters. "
            "Consider a wild cluster bootstrap.",
            ParkImpactWarning,
            stacklevel=_caller_stacklevel(),
        )
    summed = np.column_stack(
        [np.bincount(clusters, weights=scores[:, j], minlength=n_groups) for j in range(k)]
    )
    factor = n_groups / (n_groups - 1) * (n - 1) / (n - k_cluster)
    return Covariance(
        kind="cluster",
        matrix=factor * _sandwich(fit.bread, summed.T @ summed),
        df=float(n_groups - 1),
        n_params=k_cluster,
        factor=factor,
        n_clusters=n_groups,
        cluster=cluster_name,
        description=f"CRV1 clustered by {cluster_name} (fixest small-sample correction)",
    )


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside this package (the user's call)."""
    package = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == package:
        frame, level = frame.f_back, level + 1
    return level


def _sandwich(bread: np.ndarray, meat: np.ndarray) -> np.ndarray:
    matrix = bread @ meat @ bread
    return (matrix + matrix.T) / 2.0
