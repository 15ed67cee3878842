r"""Weighting estimators: IPW, AIPW and entropy balancing.

With propensity score :math:`e_i = e(X_i)` and treatment :math:`D_i`:

*IPW* (normalised, Hajek weights). ATE:

.. math:: \hat\tau = \frac{\sum_i D_i Y_i / e_i}{\sum_i D_i / e_i}
   - \frac{\sum_i (1-D_i) Y_i / (1-e_i)}{\sum_i (1-D_i)/(1-e_i)},

ATT: :math:`\hat\tau = \bar Y_1 - \sum_i (1-D_i) r_i Y_i / \sum_i (1-D_i) r_i`
with :math:`r_i = e_i / (1 - e_i)`.

*AIPW* (doubly robust; Robins, Rotnitzky and Zhao 1994). ATE:

.. math:: \hat\tau = \frac1n\sum_i \Big[\hat\mu_1(X_i) - \hat\mu_0(X_i)
   + \frac{D_i (Y_i - \hat\mu_1(X_i))}{e_i}
   - \frac{(1-D_i)(Y_i - \hat\mu_0(X_i))}{1-e_i}\Big],

ATT: :math:`\hat\tau = \sum_i [D_i - (1-D_i) r_i](Y_i - \hat\mu_0(X_i)) / \sum_i D_i`.
It is consistent when either the propensity model or the outcome model is
correct.

*Entropy balancing* (Hainmueller 2012), ATT: control weights
:math:`w_j \propto \exp(\lambda' c(X_j))` with :math:`\lambda` solving the convex
dual :math:`\min_\lambda \log \sum_j \exp\{\lambda'(c(X_j) - \bar c_1)\}`, so
that the weighted control moments :math:`c` (means, and with ``moments=2``
second moments) equal the treated ones exactly.

Standard errors come from influence functions
(:class:`~parkimpact.inference.InfluenceFunction`), clustered when a cluster
column is given. For IPW with a logit/probit score the influence function
includes the estimation of :math:`\theta`, :math:`\psi_i + (\partial\hat\tau /
\partial\theta)' I_\theta^{-1} s_i(\theta)`; for AIPW the nuisance estimation
does not enter to first order. Entropy balancing uses the M-estimation
sandwich of the stacked moment conditions (numerical Jacobian).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, asdict, dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from parkimpact._version import __version__
from parkimpact.errors import ConvergenceError
from parkimpact.inference import InfluenceFunction
from parkimpact.matching._data import Prepared, check_names, design_matrix, prepare
from parkimpact.matching.propensity import PropensityResult, PropensityScore
from parkimpact.matching.results import EffectResult

__all__ = ["IPW", "AIPW", "EntropyBalancing"]

Estimand = Literal["ATT", "ATE"]


def _check_common(estimator: Any) -> None:
    for name in ("covariates",):
        object.__setattr__(estimator, name, check_names(getattr(estimator, name), name))
    if estimator.estimand not in ("ATT", "ATE"):
        raise ValueError(
            f"The 'estimand' parameter of {type(estimator).__name__} must be one of "
            f"('ATT', 'ATE'). Got {estimator.estimand!r} instead."
        )


def _spec(estimator: Any) -> MappingProxyType:
    settings = {
        k: (repr(v) if not isinstance(v, str | int | float | bool | tuple | None) else v)
        for k, v in asdict(estimator).items()
    }
    return MappingProxyType(
        {
            "estimator": type(estimator).__name__,
            "settings": MappingProxyType(settings),
            "parkimpact_version": __version__,
            "outcome": estimator.outcome,
        }
    )


def _propensity(estimator: Any, prepared: Prepared) -> tuple[PropensityResult, np.ndarray]:
    model = estimator.propensity or PropensityScore(estimator.covariates)
    x, names = design_matrix(prepared.frame, model.covariates)
    fit = model.fit_arrays(x, prepared.treated, names, index=prepared.frame.index)
    fit.warn_overlap()
    return fit, fit.scores.to_numpy()


def _score_correction(fit: PropensityResult, d: np.ndarray) -> np.ndarray | None:
    """Rows of :math:`I_\\theta^{-1} s_i(\\theta)` (None for classifiers)."""
    if fit.design is None or fit.information is None:
        return None
    e = fit.scores.to_numpy()
    z = fit.linear_predictor.to_numpy()
    density = e * (1 - e) if fit.model == "logit" else stats.norm.pdf(z)
    score = ((d - e) * density / (e * (1 - e)))[:, None] * fit.design
    return score @ np.linalg.pinv(fit.information)


def _density(fit: PropensityResult) -> np.ndarray:
    e = fit.scores.to_numpy()
    return e * (1 - e) if fit.model == "logit" else stats.norm.pdf(fit.linear_predictor.to_numpy())


def _result(
    estimator: Any,
    prepared: Prepared,
    name: str,
    psi: np.ndarray,
    estimate: float,
    weights: np.ndarray,
    scores: np.ndarray | None,
    notes: Sequence[str],
) -> EffectResult:
    clusters = None
    if estimator.cluster is not None:
        clusters = prepared.frame[estimator.cluster].to_numpy()
    influence = InfluenceFunction(
        psi[:, None], [estimate], [estimator.estimand], cluster_ids=clusters
    )
    se = float(influence.std_errors()[0])
    se_type = "influence function" + (
        f", clustered ({estimator.cluster})" if clusters is not None else ""
    )
    index = prepared.frame.index
    return EffectResult(
        name=name,
        estimand=estimator.estimand,
        estimate=float(estimate),
        std_error=se,
        se_type=se_type,
        std_errors=MappingProxyType({"influence": se}),
        weights=pd.Series(weights, index=index, name="weights"),
        treated=prepared.treated,
        frame=prepared.frame,
        covariates=tuple(estimator.covariates),
        scores=None if scores is None else pd.Series(scores, index=index, name="propensity"),
        drops=prepared.drops,
        spec=_spec(estimator),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class IPW:
    """Inverse probability weighting with normalised (Hajek) weights.

    Parameters
    ----------
    treatment : str
        Binary treatment column.
    outcome : str
        Outcome column.
    covariates : sequence of str
        Covariates of the propensity model (logit unless ``propensity`` is
        given) and of the balance table.
    estimand : {"ATT", "ATE"}, default "ATT"
    propensity : PropensityScore or None, default None
        A custom propensity model.
    cluster : str or None, default None
        Cluster column for the influence-function variance.

    Notes
    -----
    ATT weights: 1 for treated units, :math:`e/(1-e)` for controls; ATE
    weights: :math:`1/e` and :math:`1/(1-e)`; each group's weights are
    normalised to sum to its size. See the module notes for the formulas.
    """

    treatment: str
    outcome: str
    _: KW_ONLY
    covariates: Sequence[str] = ()
    estimand: Estimand = "ATT"
    propensity: PropensityScore | None = None
    cluster: str | None = None

    def __post_init__(self) -> None:
        _check_common(self)

    def fit(self, data: pd.DataFrame) -> EffectResult:
        """Estimate on ``data`` (one row per unit); see the class notes."""
        prepared = _prepare(self, data)
        fit, e = _propensity(self, prepared)
        d = prepared.treated.astype(float)
        y = prepared.frame[self.outcome].to_numpy(dtype=float)
        psi, estimate, weights, gradient = _ipw_parts(y, d, e, _density(fit), fit, self.estimand)
        correction = _score_correction(fit, d)
        notes = []
        if correction is not None:
            psi = psi + correction @ gradient
        else:
            notes.append("SE treats the propensity score as known (classifier model)")
        return _result(self, prepared, f"IPW ({self.estimand})", psi, estimate, weights, e, notes)


def _ipw_parts(
    y: np.ndarray, d: np.ndarray, e: np.ndarray, f: np.ndarray, fit: PropensityResult, estimand: str
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Influence function (score fixed), estimate, weights and d tau / d theta."""
    x = fit.design if fit.design is not None else np.ones((y.size, 1))
    if estimand == "ATE":
        w1, w0 = d / e, (1 - d) / (1 - e)
        mu1, mu0 = np.sum(w1 * y) / np.sum(w1), np.sum(w0 * y) / np.sum(w0)
        psi = w1 * (y - mu1) / w1.mean() - w0 * (y - mu0) / w0.mean()
        grad1 = -(d * f / e**2 * (y - mu1)) @ x / y.size / w1.mean()
        grad0 = ((1 - d) * f / (1 - e) ** 2 * (y - mu0)) @ x / y.size / w0.mean()
        weights = w1 * d.sum() / w1.sum() + w0 * (1 - d).sum() / w0.sum()
        return psi, mu1 - mu0, weights, grad1 - grad0
    r = (1 - d) * e / (1 - e)
    p = d.mean()
    mu1, mu0 = np.sum(d * y) / d.sum(), np.sum(r * y) / r.sum()
    psi = d * (y - mu1) / p - r * (y - mu0) / r.mean()
    grad0 = ((1 - d) * f / (1 - e) ** 2 * (y - mu0)) @ x / y.size / r.mean()
    weights = d + r * (1 - d).sum() / r.sum()
    return psi, mu1 - mu0, weights, -grad0


def _prepare(estimator: Any, data: pd.DataFrame, extra: Sequence[str] = ()) -> Prepared:
    columns = [*estimator.covariates, *extra, estimator.outcome]
    if estimator.propensity is not None:
        columns += list(estimator.propensity.covariates)
    if estimator.cluster is not None:
        columns.append(estimator.cluster)
    return prepare(
        data,
        estimator.treatment,
        list(dict.fromkeys(columns)),
        step=type(estimator).__name__,
        numeric=[estimator.outcome],
    )


@dataclass(frozen=True)
class AIPW:
    """Augmented inverse probability weighting (doubly robust).

    Parameters
    ----------
    treatment, outcome : str
        Treatment and outcome columns.
    covariates : sequence of str
        Covariates of the propensity model (unless ``propensity`` is given)
        and of the balance table.
    outcome_covariates : sequence of str or None, default None
        Covariates of the outcome regressions (default ``covariates``).
    outcome_model : "ols" or scikit-learn regressor, default "ols"
        Model of :math:`\\mu_d(x)`, fitted separately in each group; a
        regressor is cloned per fit.
    estimand : {"ATT", "ATE"}, default "ATE"
    propensity : PropensityScore or None, default None
    cluster : str or None, default None

    Notes
    -----
    The influence function is :math:`\\psi_i` of the module notes minus
    :math:`\\hat\\tau` (ATE), or
    :math:`[D_i - (1-D_i) r_i](Y_i - \\hat\\mu_0(X_i)) - D_i\\hat\\tau` over
    :math:`\\bar D` (ATT).
    """

    treatment: str
    outcome: str
    _: KW_ONLY
    covariates: Sequence[str] = ()
    outcome_covariates: Sequence[str] | None = None
    outcome_model: Any = "ols"
    estimand: Estimand = "ATE"
    propensity: PropensityScore | None = None
    cluster: str | None = None

    def __post_init__(self) -> None:
        _check_common(self)
        if self.outcome_covariates is not None:
            object.__setattr__(
                self,
                "outcome_covariates",
                check_names(self.outcome_covariates, "outcome_covariates"),
            )
        if isinstance(self.outcome_model, str) and self.outcome_model != "ols":
            raise ValueError(
                f"outcome_model must be 'ols' or a scikit-learn regressor; got "
                f"{self.outcome_model!r}. Use 'ols'."
            )

    def fit(self, data: pd.DataFrame) -> EffectResult:
        """Estimate on ``data`` (one row per unit); see the class notes."""
        prepared = _prepare(self, data, self.outcome_covariates or ())
        _, e = _propensity(self, prepared)
        d = prepared.treated
        y = prepared.frame[self.outcome].to_numpy(dtype=float)
        x, _ = design_matrix(prepared.frame, self.outcome_covariates or self.covariates)
        mu0 = self._predict(x, y, ~d)
        df = d.astype(float)
        if self.estimand == "ATE":
            mu1 = self._predict(x, y, d)
            terms = mu1 - mu0 + df * (y - mu1) / e - (1 - df) * (y - mu0) / (1 - e)
            estimate = float(terms.mean())
            psi = terms - estimate
            weights = df / e + (1 - df) / (1 - e)
        else:
            r = (1 - df) * e / (1 - e)
            p = df.mean()
            estimate = float(np.sum((df - r) * (y - mu0)) / df.sum())
            psi = ((df - r) * (y - mu0) - df * estimate) / p
            weights = df + r * (1 - df).sum() / max(r.sum(), 1e-300)
        return _result(self, prepared, f"AIPW ({self.estimand})", psi, estimate, weights, e, ())

    def _predict(self, x: np.ndarray, y: np.ndarray, group: np.ndarray) -> np.ndarray:
        if isinstance(self.outcome_model, str):
            design = np.column_stack([np.ones(len(y)), x])
            beta, *_ = np.linalg.lstsq(design[group], y[group], rcond=None)
            return design @ beta
        from sklearn.base import clone

        model = clone(self.outcome_model).fit(x[group], y[group])
        return np.asarray(model.predict(x), dtype=float)


@dataclass(frozen=True)
class EntropyBalancing:
    """Entropy balancing of the controls on the treated moments (ATT).

    Parameters
    ----------
    treatment, outcome : str
        Treatment and outcome columns.
    covariates : sequence of str
        Numeric covariates to balance.
    moments : {1, 2}, default 1
        Balance means (1) or means and second moments (2).
    cluster : str or None, default None
    max_iter : int, default 200

    Raises
    ------
    ConvergenceError
        From :meth:`fit` when the dual problem cannot be solved (the treated
        moments lie outside the convex hull of the controls).

    References
    ----------
    Hainmueller, J. (2012), "Entropy balancing for causal effects",
    *Political Analysis* 20(1), 25-46.
    """

    treatment: str
    outcome: str
    _: KW_ONLY
    covariates: Sequence[str] = ()
    moments: int = 1
    cluster: str | None = None
    max_iter: int = 200
    estimand: Literal["ATT"] = "ATT"
    propensity: None = None

    def __post_init__(self) -> None:
        _check_common(self)
        if self.moments not in (1, 2):
            raise ValueError(f"moments must be 1 or 2; got {self.moments!r}. Pick one of those.")
        if not self.covariates:
            raise ValueError("covariates must name at least one column; got none. List them.")

    def fit(self, data: pd.DataFrame) -> EffectResult:
        """Solve for the weights and estimate the ATT."""
        prepared = _prepare(self, data)
        x, _ = design_matrix(prepared.frame, self.covariates)
        c = np.column_stack([x, x**2]) if self.moments == 2 else x
        c = (c - c.mean(axis=0)) / np.where(c.std(axis=0) > 0, c.std(axis=0), 1.0)
        d = prepared.treated
        y = prepared.frame[self.outcome].to_numpy(dtype=float)
        lam = self._solve(c[~d], c[d].mean(axis=0))
        theta = np.concatenate([c[d].mean(axis=0), lam, [y[d].mean(), 0.0]])
        theta[-1] = _eb_mu0(c, d, y, lam)
        moments = _eb_moments(c, d.astype(float), y)
        psi = _sandwich_influence(moments, theta)
        estimate = theta[-2] - theta[-1]
        ratio = np.exp((c[~d] - theta[: c.shape[1]]) @ lam)
        weights = d.astype(float)
        weights[~d] = ratio * (~d).sum() / ratio.sum()
        return _result(
            self,
            prepared,
            "Entropy balancing (ATT)",
            psi,
            estimate,
            weights,
            None,
            ("SE: M-estimation sandwich of the balancing conditions",),
        )

    def _solve(self, controls: np.ndarray, target: np.ndarray) -> np.ndarray:
        centred = controls - target

        def dual(lam: np.ndarray) -> tuple[float, np.ndarray]:
            z = centred @ lam
            top = z.max()
            w = np.exp(z - top)
            return float(np.log(w.sum()) + top), (w / w.sum()) @ centred

        solution = optimize.minimize(
            dual,
            np.zeros(controls.shape[1]),
            jac=True,
            method="BFGS",
            options={"maxiter": self.max_iter, "gtol": 1e-10},
        )
        gap = np.abs(dual(solution.x)[1]).max()
        if gap > 1e-6:
            raise ConvergenceError(
                f"entropy balancing must reach the treated moments; got a largest standardised "
                f"imbalance of {gap:.3g} after {solution.nit} iterations. The treated moments "
                "may lie outside the controls' range: drop or coarsen covariates, or use "
                "moments=1."
            )
        return np.asarray(solution.x)


def _eb_mu0(c: np.ndarray, d: np.ndarray, y: np.ndarray, lam: np.ndarray) -> float:
    w = np.exp((c[~d] - c[d].mean(axis=0)) @ lam)
    return float(np.sum(w * y[~d]) / w.sum())


def _eb_moments(c: np.ndarray, d: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Stacked moment conditions g_i(theta), theta = (m1, lambda, mu1, mu0)."""
    q = c.shape[1]

    def g(theta: np.ndarray) -> np.ndarray:
        m1, lam, mu1, mu0 = theta[:q], theta[q : 2 * q], theta[-2], theta[-1]
        w = (1 - d) * np.exp((c - m1) @ lam)
        return np.column_stack(
            [d[:, None] * (c - m1), w[:, None] * (c - m1), d * (y - mu1), w * (y - mu0)]
        )

    return g


def _sandwich_influence(g: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> np.ndarray:
    """Influence function of mu1 - mu0 from stacked moments: -(A^{-1} g_i)."""
    base = g(theta)
    step = 1e-6 * np.maximum(np.abs(theta), 1.0)
    jac = np.empty((theta.size, theta.size))
    for j in range(theta.size):
        shifted = theta.copy()
        shifted[j] += step[j]
        jac[:, j] = (g(shifted).mean(axis=0) - base.mean(axis=0)) / step[j]
    influence = -base @ np.linalg.inv(jac).T
    return influence[:, -2] - influence[:, -1]
