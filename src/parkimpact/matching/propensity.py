r"""Propensity-score models: unpenalised logit and probit, or any scikit-learn classifier.

The propensity score is :math:`e(x) = P(D = 1 \mid X = x)`. The parametric
models are :math:`e(x) = F(\tilde x'\theta)` with :math:`\tilde x = (1, x')'`
and :math:`F` the logistic or standard normal distribution function, fitted by
unpenalised maximum likelihood (statsmodels, Newton's method). Nothing is
regularised, clipped or trimmed: separation is reported as an error naming the
covariates, non-convergence as a :class:`~parkimpact.errors.ConvergenceWarning`
(or :class:`~parkimpact.errors.ConvergenceError`), and thin overlap as an
:class:`~parkimpact.errors.OverlapWarning`. A scikit-learn classifier is cloned
for each fit and used exactly as configured; its own regularisation (for
example the default ``C=1.0`` of ``LogisticRegression``) is part of the
specification and is recorded in the result.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from parkimpact.data.drops import DropReport
from parkimpact.errors import (
    ConvergenceError,
    ConvergenceWarning,
    IdentificationError,
    OverlapWarning,
)
from parkimpact.matching._data import check_names, design_matrix, prepare

__all__ = ["PropensityScore", "PropensityResult", "overlap_summary"]

Link = Literal["logit", "probit"]
_LINKS = ("logit", "probit")


def _is_classifier(model: object) -> bool:
    return (
        hasattr(model, "fit") and hasattr(model, "predict_proba") and hasattr(model, "get_params")
    )


@dataclass(frozen=True)
class PropensityScore:
    r"""Configuration of a propensity-score model.

    Parameters
    ----------
    covariates : sequence of str
        Columns of the data; categorical columns enter as indicators of their
        levels (first sorted level omitted).
    model : {"logit", "probit"} or scikit-learn classifier, default "logit"
        ``"logit"``/``"probit"``: unpenalised maximum likelihood with an
        intercept. A classifier (anything with ``fit``, ``predict_proba`` and
        ``get_params``) is cloned with :func:`sklearn.base.clone` per fit.
    max_iter : int, default 100
        Newton iterations of the parametric models.
    on_nonconvergence : {"warn", "raise"}, default "warn"
        What to do when the optimiser stops without converging.
    separation_tol : float, default 1e-8
        Fitted scores within this distance of 0 or 1 count as separation.

    Notes
    -----
    The log likelihood is :math:`\ell(\theta) = \sum_i D_i \log F(\tilde x_i'\theta)
    + (1 - D_i)\log\{1 - F(\tilde x_i'\theta)\}` and the information matrix
    stored in the result is

    .. math:: I_\theta = \frac{1}{n}\sum_i
              \frac{f(\tilde x_i'\theta)^2}{F(\tilde x_i'\theta)\{1 - F(\tilde x_i'\theta)\}}
              \tilde x_i \tilde x_i' ,

    used by the Abadie-Imbens (2016) adjustment of matching variances.

    References
    ----------
    Rosenbaum, P. R. and Rubin, D. B. (1983), "The central role of the
    propensity score in observational studies for causal effects",
    *Biometrika* 70(1), 41-55.
    """

    covariates: Sequence[str]
    _: KW_ONLY
    model: Any = "logit"
    max_iter: int = 100
    on_nonconvergence: Literal["warn", "raise"] = "warn"
    separation_tol: float = 1e-8

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "covariates", check_names(self.covariates, "covariates", allow_empty=False)
        )
        if isinstance(self.model, str):
            if self.model not in _LINKS:
                raise ValueError(
                    f"model must be 'logit', 'probit' or a scikit-learn classifier; got "
                    f"{self.model!r}. Use model='logit' for unpenalised logistic regression."
                )
        elif not _is_classifier(self.model):
            raise TypeError(
                f"model must be 'logit', 'probit' or a scikit-learn classifier with fit and "
                f"predict_proba; got {type(self.model).__name__}. Pass e.g. "
                "sklearn.ensemble.GradientBoostingClassifier()."
            )
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int | np.integer):
            raise TypeError(f"max_iter must be an integer; got {self.max_iter!r}. Pass e.g. 100.")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be at least 1; got {self.max_iter}. Pass e.g. 100.")
        if self.on_nonconvergence not in ("warn", "raise"):
            raise ValueError(
                f"on_nonconvergence must be 'warn' or 'raise'; got {self.on_nonconvergence!r}. "
                "Pick one of those."
            )
        tol = self.separation_tol
        if isinstance(tol, bool) or not isinstance(tol, float | int) or not 0 < tol < 0.5:
            raise ValueError(
                f"separation_tol must be a number in (0, 0.5); got {tol!r}. Pass e.g. 1e-8."
            )

    def fit(self, data: pd.DataFrame, treatment: str) -> PropensityResult:
        """Fit the model on ``data``.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per unit.
        treatment : str
            Binary treatment column.

        Returns
        -------
        PropensityResult

        Raises
        ------
        ValueError
            If the treatment is not binary.
        IdentificationError
            If the fitted scores are 0 or 1 (separation); the message names
            the covariates that separate the groups.
        ConvergenceError
            If the optimiser fails and ``on_nonconvergence="raise"``.
        """
        prepared = prepare(data, treatment, self.covariates, step="PropensityScore", numeric=())
        x, names = design_matrix(prepared.frame, self.covariates)
        return self.fit_arrays(
            x, prepared.treated, names, index=prepared.frame.index, drops=prepared.drops
        )

    def fit_arrays(
        self,
        x: np.ndarray,
        treated: np.ndarray,
        names: Sequence[str],
        *,
        index: pd.Index | None = None,
        drops: DropReport | None = None,
    ) -> PropensityResult:
        """Fit on a covariate matrix (no intercept column) and a boolean treatment."""
        d = np.asarray(treated, dtype=bool)
        index = pd.RangeIndex(len(d)) if index is None else index
        drops = DropReport() if drops is None else drops
        if isinstance(self.model, str):
            return self._fit_parametric(x, d, list(names), index, drops)
        return self._fit_classifier(x, d, list(names), index, drops)

    # ------------------------------------------------------------------ helpers
    def _fit_parametric(
        self, x: np.ndarray, d: np.ndarray, names: list[str], index: pd.Index, drops: DropReport
    ) -> PropensityResult:
        import statsmodels.api as sm

        constant = np.ptp(x, axis=0) == 0 if x.size else np.zeros(0, dtype=bool)
        if constant.any():
            raise IdentificationError(
                f"covariates must vary in the estimation sample; got constant column(s) "
                f"{[names[j] for j in np.flatnonzero(constant)]}. Drop them from covariates."
            )
        design = np.column_stack([np.ones(len(d)), x])
        family = sm.Logit if self.model == "logit" else sm.Probit
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = family(d.astype(float), design).fit(
                    method="newton", maxiter=self.max_iter, disp=0, warn_convergence=False
                )
            except np.linalg.LinAlgError as exc:
                raise IdentificationError(
                    f"covariates must not be collinear; got a singular Hessian for {names}. "
                    "Drop redundant covariates (e.g. one indicator of each full set)."
                ) from exc
        params = np.asarray(fit.params, dtype=float)
        index_values = design @ params
        scores = self._link_cdf(index_values)
        converged = bool(fit.mle_retvals.get("converged", False))
        messages = tuple(str(w.message) for w in caught)
        self._check_separation(x, d, scores, names, params)
        if not converged:
            message = (
                f"the {self.model} propensity model must converge; got no convergence after "
                f"{self.max_iter} Newton iterations. Rescale covariates or raise max_iter."
            )
            if self.on_nonconvergence == "raise":
                raise ConvergenceError(message)
            warnings.warn(message, ConvergenceWarning, stacklevel=3)
        density = self._link_pdf(index_values)
        weight = density**2 / np.clip(scores * (1.0 - scores), 1e-300, None)
        information = (design * weight[:, None]).T @ design / len(d)
        return PropensityResult(
            scores=pd.Series(scores, index=index, name="propensity"),
            linear_predictor=pd.Series(index_values, index=index, name="linear_predictor"),
            treated=d,
            model=str(self.model),
            params=pd.Series(params, index=["Intercept", *names]),
            design=design,
            information=information,
            converged=converged,
            iterations=int(fit.mle_retvals.get("iterations", -1)),
            log_likelihood=float(fit.llf),
            notes=messages,
            drops=drops,
        )

    def _fit_classifier(
        self, x: np.ndarray, d: np.ndarray, names: list[str], index: pd.Index, drops: DropReport
    ) -> PropensityResult:
        from sklearn.base import clone

        estimator = clone(self.model)
        estimator.fit(x, d.astype(int))
        classes = list(estimator.classes_)
        scores = np.asarray(estimator.predict_proba(x), dtype=float)[:, classes.index(1)]
        self._check_separation(x, d, scores, names, None)
        params = estimator.get_params(deep=False)
        note = (
            f"propensity score from {type(estimator).__name__} used as configured "
            f"(parameters: {params}); any regularisation is the classifier's own"
        )
        with np.errstate(divide="ignore"):
            logit = np.log(scores) - np.log1p(-scores)
        return PropensityResult(
            scores=pd.Series(scores, index=index, name="propensity"),
            linear_predictor=pd.Series(logit, index=index, name="linear_predictor"),
            treated=d,
            model=type(estimator).__name__,
            params=None,
            design=None,
            information=None,
            converged=True,
            iterations=-1,
            log_likelihood=float(np.sum(np.where(d, np.log(scores), np.log1p(-scores)))),
            notes=(note,),
            drops=drops,
        )

    def _link_cdf(self, z: np.ndarray) -> np.ndarray:
        if self.model == "logit":
            return 1.0 / (1.0 + np.exp(-z))
        return stats.norm.cdf(z)

    def _link_pdf(self, z: np.ndarray) -> np.ndarray:
        if self.model == "logit":
            p = 1.0 / (1.0 + np.exp(-z))
            return p * (1.0 - p)
        return stats.norm.pdf(z)

    def _check_separation(
        self,
        x: np.ndarray,
        d: np.ndarray,
        scores: np.ndarray,
        names: list[str],
        params: np.ndarray | None,
    ) -> None:
        tol = float(self.separation_tol)
        extreme = (scores <= tol) | (scores >= 1.0 - tol)
        if not extreme.any():
            return
        culprits = separating_covariates(x, d, names, extreme, params)
        raise IdentificationError(
            f"propensity scores must lie strictly between 0 and 1; got {int(extreme.sum())} "
            f"fitted value(s) of 0 or 1 (separation), driven by covariate(s) {culprits}. Drop or "
            "coarsen those covariates, or restrict the sample to units that have counterparts "
            "in the other group."
        )


def separating_covariates(
    x: np.ndarray,
    d: np.ndarray,
    names: Sequence[str],
    extreme: np.ndarray,
    params: np.ndarray | None,
) -> list[str]:
    """Name the covariates behind separation.

    A covariate is named when at least half of the units with fitted scores of
    0 or 1 have values of it outside the range of the other treatment group
    (complete or quasi-complete separation by that covariate). When no single
    covariate does, the covariates with the largest standardised coefficients
    :math:`|\\hat\\theta_j| \\cdot \\mathrm{sd}(x_j)` are named (separation by a combination).
    """
    found: list[str] = []
    n_extreme = max(int(extreme.sum()), 1)
    for j, name in enumerate(names):
        column = x[:, j]
        outside = 0
        for group in (True, False):
            these = extreme & (d == group)
            if these.any():
                other = column[d != group]
                outside += int(
                    ((column[these] > other.max()) | (column[these] < other.min())).sum()
                )
        if outside >= 0.5 * n_extreme:
            found.append(name)
    if found or params is None or not len(names):
        return found or list(names)
    spread = np.abs(params[1:]) * x.std(axis=0)
    top = np.argsort(-spread)[: min(3, len(names))]
    return [names[j] for j in top]


def overlap_summary(scores: np.ndarray, treated: np.ndarray) -> pd.DataFrame:
    """Distribution of the propensity score by group and the overlap counts.

    Returns
    -------
    pandas.DataFrame
        One row per group (``treated``, ``control``) with ``n``, ``min``,
        ``q01``, ``median``, ``q99``, ``max``, the counts below 0.01 and above
        0.99, and ``outside_other`` (units outside the other group's min-max
        range).
    """
    rows = []
    for label, group in (("treated", True), ("control", False)):
        own = scores[treated == group]
        other = scores[treated != group]
        rows.append(
            {
                "group": label,
                "n": own.size,
                "min": own.min(),
                "q01": np.quantile(own, 0.01),
                "median": np.median(own),
                "q99": np.quantile(own, 0.99),
                "max": own.max(),
                "below_0.01": int((own < 0.01).sum()),
                "above_0.99": int((own > 0.99).sum()),
                "outside_other": int(((own < other.min()) | (own > other.max())).sum()),
            }
        )
    return pd.DataFrame(rows).set_index("group")


@dataclass(frozen=True, eq=False, repr=False)
class PropensityResult:
    """A fitted propensity-score model.

    Attributes
    ----------
    scores : pandas.Series
        :math:`\\hat e(x_i)`, indexed like the complete rows of the data.
    linear_predictor : pandas.Series
        :math:`\\tilde x_i'\\hat\\theta` (the logit of the score for
        classifiers).
    treated : numpy.ndarray
        Boolean treatment of the rows.
    model : str
        ``"logit"``, ``"probit"`` or the classifier's class name.
    params : pandas.Series or None
        :math:`\\hat\\theta` of the parametric models.
    design : numpy.ndarray or None
        :math:`\\tilde X` (with intercept) of the parametric models.
    information : numpy.ndarray or None
        :math:`\\hat I_\\theta` (per observation) of the parametric models.
    converged : bool
        Whether the optimiser converged.
    iterations : int
        Newton iterations used (-1 for classifiers).
    log_likelihood : float
        Log likelihood at the estimate.
    notes : tuple of str
        Messages of the optimiser and notes on the specification.
    drops : DropReport
        Rows dropped for missing values.
    """

    scores: pd.Series
    linear_predictor: pd.Series
    treated: np.ndarray
    model: str
    params: pd.Series | None
    design: np.ndarray | None
    information: np.ndarray | None
    converged: bool
    iterations: int
    log_likelihood: float
    notes: tuple[str, ...] = ()
    drops: DropReport = field(default_factory=DropReport)

    def overlap(self) -> pd.DataFrame:
        """Overlap of the score distributions (see :func:`overlap_summary`)."""
        return overlap_summary(self.scores.to_numpy(), self.treated)

    def warn_overlap(self, threshold: float = 0.01) -> None:
        """Issue an :class:`~parkimpact.errors.OverlapWarning` for scores near 0 or 1."""
        p = self.scores.to_numpy()
        near = int(((p < threshold) | (p > 1.0 - threshold)).sum())
        if near:
            warnings.warn(
                f"{near} propensity score(s) lie outside [{threshold}, {1 - threshold}]; weights "
                "and matches there rest on thin overlap. Consider trimming (trim_crump).",
                OverlapWarning,
                stacklevel=3,
            )

    def __repr__(self) -> str:
        return (
            f"PropensityResult(model={self.model!r}, n={len(self.scores)}, "
            f"converged={self.converged})"
        )
