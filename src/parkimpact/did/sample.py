"""Estimation samples of the regression estimators, with every dropped row reported.

An estimation sample is built from a :class:`~parkimpact.FirmPanel` in a fixed
order, each step recorded in the panel's drop report under the estimator's
name: rows with a missing outcome, regressor, weight, fixed effect or cluster
(one reason per column), rows with zero weight, rows outside an estimator's
own restriction (such as an event window), and finally observations alone in
a fixed-effect group (singletons, removed iteratively as fixest does), which
carry no information about the slopes but would distort the small-sample
factors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from parkimpact._version import __version__
from parkimpact.data.panel import FirmPanel
from parkimpact.data.validation import examples, numeric_column
from parkimpact.did.ols import VCOV_KINDS, Covariance, OLSFit, covariance
from parkimpact.did.within import FixedEffects
from parkimpact.errors import DataFormatError, IdentificationError

__all__ = [
    "Sample",
    "build_sample",
    "check_panel",
    "make_spec",
    "numeric_values",
    "optional_column",
    "resolve_column",
    "sample_covariance",
]


def check_panel(panel: object, estimator: str) -> FirmPanel:
    """Return ``panel`` if it is a :class:`FirmPanel`, else raise :class:`TypeError`."""
    if not isinstance(panel, FirmPanel):
        raise TypeError(
            f"panel must be a parkimpact FirmPanel; got {type(panel).__name__}. "
            f"Build one with FirmPanel(data, unit=..., time=...) before calling {estimator}.fit."
        )
    return panel


def resolve_column(panel: FirmPanel, name: str, what: str) -> str:
    """The column behind ``name``: a declared role (``"unit"``, ``"time"``, ...) or a column."""
    column = panel.roles.declared().get(name, name)
    if column not in panel.data.columns:
        roles = ", ".join(f"{k}={v!r}" for k, v in panel.roles.declared().items())
        raise DataFormatError(
            f"{what} {name!r} must be a column of the panel or one of its roles; got neither "
            f"(roles: {roles}). Add the column with FirmPanel.assign or fix the name."
        )
    return column


def optional_column(panel: FirmPanel, name: str | None, what: str) -> str | None:
    """:func:`resolve_column` for optional settings (None stays None)."""
    return None if name is None else resolve_column(panel, name, what)


def numeric_values(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """``column`` as float64; text cells raise :class:`DataFormatError`."""
    values, bad = numeric_column(frame, column, what)
    if bad.any():
        raise DataFormatError(
            f"{what} {column!r} must be numeric; got text in {int(bad.sum())} cell(s) "
            f"(e.g. {examples(frame.loc[bad, column])}). Convert it with "
            "pd.to_numeric(..., errors='coerce') so that those cells become missing (they are "
            "then dropped and reported), or fix the source."
        )
    return values


@dataclass(frozen=True, eq=False)
class Sample:
    """The rows an estimator uses, with coded fixed effects and clusters.

    Parameters
    ----------
    panel : FirmPanel
        The panel restricted to the estimation sample; its drop report lists
        every row removed on the way.
    weights : numpy.ndarray or None
        Observation weights.
    fixed_effects : FixedEffects
        Coded fixed effects of the sample.
    clusters : numpy.ndarray or None
        Integer cluster codes.
    cluster : str or None
        Cluster column.
    """

    panel: FirmPanel
    weights: np.ndarray | None
    fixed_effects: FixedEffects
    clusters: np.ndarray | None
    cluster: str | None

    def values(self, column: str, what: str) -> np.ndarray:
        """A numeric column of the sample as float64."""
        return numeric_values(self.panel.data, column, what)


def build_sample(
    panel: FirmPanel,
    *,
    step: str,
    numeric: Mapping[str, str],
    fixed_effects: Sequence[str],
    weights: str | None,
    cluster: str | None,
    restrict: Callable[[FirmPanel], FirmPanel] | None = None,
    drop_singletons: bool = True,
) -> Sample:
    """Build the estimation sample; every dropped row is recorded under ``step``.

    Parameters
    ----------
    panel : FirmPanel
        The input panel.
    step : str
        Name recorded in the drop report (the estimator's name).
    numeric : Mapping[str, str]
        Numeric columns (outcome, regressors) mapped to what they are, for
        messages; text cells raise, missing cells are dropped.
    fixed_effects : sequence of str
        Fixed-effect columns.
    weights, cluster : str or None
        Weight and cluster columns.
    restrict : callable or None
        Further restriction applied after the missing-value drops (it must
        record its own drops).
    drop_singletons : bool, default True
        Drop observations alone in a fixed-effect group.

    Returns
    -------
    Sample

    Raises
    ------
    DataFormatError
        If a numeric column holds text.
    IdentificationError
        If no observation is left.
    """
    frame = panel.data
    columns = dict(numeric)
    if weights is not None:
        columns[weights] = "weights"
    for column, what in columns.items():
        numeric_values(frame, column, what)
    needed = list(dict.fromkeys([*columns, *fixed_effects, *([cluster] if cluster else [])]))
    work = panel.dropna(needed, step=step)
    if weights is not None:
        values = numeric_values(work.data, weights, "weights")
        if (values < 0).any():
            raise DataFormatError(
                f"weights {weights!r} must be non-negative; got {int((values < 0).sum())} "
                f"negative value(s) (e.g. {examples(values[values < 0])}). Fix the weights."
            )
        work = work.drop_rows(values == 0, step=step, reason=f"zero weight ({weights})")
    if restrict is not None:
        work = restrict(work)
    _require_rows(work, step)
    if drop_singletons and fixed_effects:
        coded = FixedEffects.from_columns(work.data, fixed_effects)
        reason = f"singleton in fixed effect(s) {', '.join(fixed_effects)}"
        work = work.drop_rows(coded.singletons(), step=step, reason=reason)
        _require_rows(work, step)
    data = work.data
    w = None if weights is None else numeric_values(data, weights, "weights")
    codes = None if cluster is None else pd.factorize(data[cluster])[0].astype(np.intp)
    return Sample(work, w, FixedEffects.from_columns(data, fixed_effects), codes, cluster)


def _require_rows(panel: FirmPanel, step: str) -> None:
    if panel.n_obs == 0:
        raise IdentificationError(
            f"the estimation sample of {step} must have observations; got 0 after the drops "
            f"listed in the drop report:\n{panel.drops.summary()}\nCheck for missing values "
            "in the outcome and regressors."
        )


def make_spec(estimator: object, panel: FirmPanel, **extra: Any) -> Mapping[str, Any]:
    """The specification stored in a result: settings, version and data fingerprint."""
    settings = asdict(estimator) if is_dataclass(estimator) else dict(vars(estimator))  # type: ignore[arg-type]
    spec = {
        "estimator": type(estimator).__name__,
        "settings": MappingProxyType(settings),
        "parkimpact_version": __version__,
        "panel_fingerprint": panel.fingerprint(),
        **extra,
    }
    return MappingProxyType(spec)


def sample_covariance(sample: Sample, fit: OLSFit, kind: str, cluster: str | None) -> Covariance:
    """Covariance of ``fit`` on ``sample``: ``kind`` with clusters from column ``cluster``.

    The fixed-effect parameter counts of the small-sample factors come from
    ``sample.fixed_effects`` (see :func:`parkimpact.did.ols.covariance`).
    """
    if kind not in VCOV_KINDS:
        raise ValueError(f"The 'vcov' parameter must be one of {VCOV_KINDS}. Got {kind!r} instead.")
    fe = sample.fixed_effects
    if kind != "cluster":
        return covariance(fit, kind, n_fe_params=fe.n_params())
    column = resolve_column(sample.panel, cluster or "unit", "cluster")
    if column == sample.cluster and sample.clusters is not None:
        codes = sample.clusters
    else:
        values = sample.panel.data[column]
        if values.isna().any():
            raise ValueError(
                f"cluster {column!r} must not be missing in the estimation sample; got "
                f"{int(values.isna().sum())} missing value(s). Refit with cluster={column!r} "
                "so that those rows are dropped and reported."
            )
        codes = pd.factorize(values)[0].astype(np.intp)
    return covariance(
        fit,
        "cluster",
        n_fe_params=fe.n_params(),
        n_fe_params_cluster=fe.n_params(nested_in=codes),
        clusters=codes,
        cluster_name=column,
    )
