"""The tidy schema and the protocol every parkimpact result follows.

A *tidy frame* has one row per reported coefficient or effect and the columns
of :data:`TIDY_COLUMNS`; estimators whose effects are indexed (by entry cohort,
calendar year, event time, ...) add those *family keys* as extra columns right
after ``term``. :func:`make_tidy` builds such a frame from point estimates and
standard errors, and stores the confidence level and, for Student t inference,
the degrees of freedom in ``frame.attrs`` (``"level"`` and ``"df"``).

Results inherit :class:`ResultBase`, implement ``tidy()`` and ``model_info()``
and get ``summary()``, ``__str__``, ``_repr_html_`` and ``conf_int(level)``
for free; the mixin never sets attributes, so frozen dataclasses can use it.
:func:`write_tidy_csv` stores tidy frames as byte-reproducible CSV files.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from parkimpact.report import render

__all__ = [
    "KPI_COLUMNS",
    "TIDY_COLUMNS",
    "ModelInfo",
    "ResultBase",
    "make_tidy",
    "validate_tidy",
    "tidy_keys",
    "conf_int_from_tidy",
    "write_tidy_csv",
]

TIDY_COLUMNS: Final[tuple[str, ...]] = (
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
)
"""Columns every tidy frame carries, in this order (family keys follow ``term``)."""

KPI_COLUMNS: tuple[str, ...] = (
    "kpi",
    "version",
    "park",
    "level",
    "year",
    "cohort",
    "tenants",
    "non_tenants",
    "n_tenants",
    "effect",
    "std_error",
    "conf_low",
    "conf_high",
    "method",
    "status",
    "note",
)
"""Columns of the scorecard's KPI table (``scorecard/kpis.csv``), in order; the report
reads files with these columns."""


@dataclass(frozen=True)
class ModelInfo:
    """Descriptive facts about a fitted model, shown in summaries and table footers.

    Parameters
    ----------
    name : str
        Title of the model, e.g. ``"Callaway-Sant'Anna ATT(g, t)"``.
    n_obs : int or None
        Number of observations (firm-years) used.
    n_units : int or None
        Number of firms.
    n_clusters : int or None
        Number of clusters of the covariance estimate.
    fixed_effects : tuple of str
        Names of the absorbed fixed effects, e.g. ``("firm", "year")``.
    cluster : str or None
        The clustering variable, e.g. ``"firm_id"``.
    se_type : str or None
        How standard errors were computed, e.g. ``"cluster-robust (firm)"``,
        ``"bootstrap, 999 draws, seed 42"``, ``"analytic influence function"``.
    dependent : str or None
        Name of the outcome variable.
    notes : tuple of str
        Free-text lines printed under the summary.
    extra : Mapping[str, str]
        Extra footer rows such as ``{"R2": "0.412"}``, already formatted.
    """

    name: str
    n_obs: int | None = None
    n_units: int | None = None
    n_clusters: int | None = None
    fixed_effects: tuple[str, ...] = ()
    cluster: str | None = None
    se_type: str | None = None
    dependent: str | None = None
    notes: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# building and checking tidy frames
# ---------------------------------------------------------------------------


def _check_level(level: object) -> float:
    if isinstance(level, bool) or not isinstance(level, Real) or not 0.0 < float(level) < 1.0:
        raise ValueError(
            f"level must be a number strictly between 0 and 1; got {level!r}. "
            "Use e.g. level=0.95 for 95% intervals."
        )
    return float(level)


def _check_df(df: object) -> float | None:
    if df is None:
        return None
    if isinstance(df, bool) or not isinstance(df, Real) or not float(df) > 0.0:
        raise ValueError(
            f"df must be a positive number or None; got {df!r}. "
            "Pass the residual degrees of freedom for t inference, or None for normal."
        )
    return float(df)


def _critical_value(level: float, df: float | None) -> float:
    tail = (1.0 - level) / 2.0
    if df is None:
        return float(stats.norm.isf(tail))
    return float(stats.t.isf(tail, df))


def _two_sided_p(statistic: np.ndarray, df: float | None) -> np.ndarray:
    magnitude = np.abs(statistic)
    if df is None:
        return 2.0 * stats.norm.sf(magnitude)
    return 2.0 * stats.t.sf(magnitude, df)


def _as_vector(values: ArrayLike, name: str, n_terms: int) -> np.ndarray:
    try:
        vector = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be numeric; got {values!r}. Convert the values to floats."
        ) from exc
    if vector.ndim != 1 or vector.shape[0] != n_terms:
        raise ValueError(
            f"{name} must be one-dimensional with one value per term ({n_terms}); "
            f"got shape {vector.shape}. Pass one value for each entry of terms."
        )
    return vector


def _key_columns(
    keys: Mapping[str, Sequence[object]] | None, n_terms: int
) -> dict[str, list[object]]:
    if keys is None:
        return {}
    out: dict[str, list[object]] = {}
    for name, values in keys.items():
        if not isinstance(name, str) or name in TIDY_COLUMNS:
            raise ValueError(
                f"keys must be named by strings other than the tidy columns; got {name!r}. "
                "Use family names such as 'cohort', 'year' or 'event_time'."
            )
        column = list(values)
        if len(column) != n_terms:
            raise ValueError(
                f"keys[{name!r}] must have one value per term ({n_terms}); "
                f"got {len(column)}. Pass one key value for each entry of terms."
            )
        out[name] = column
    return out


def make_tidy(
    terms: Sequence[str],
    estimates: ArrayLike,
    std_errors: ArrayLike,
    *,
    level: float = 0.95,
    df: float | None = None,
    keys: Mapping[str, Sequence[object]] | None = None,
) -> pd.DataFrame:
    """Build the canonical tidy frame from estimates and standard errors.

    The statistic is ``estimate / std_error``; the p-value is two-sided and the
    confidence interval is ``estimate -/+ q * std_error`` with ``q`` the
    ``(1 + level) / 2`` quantile of the standard normal distribution, or of
    Student's t with ``df`` degrees of freedom when ``df`` is given. A missing
    standard error gives missing statistic, p-value and interval (silently).

    Parameters
    ----------
    terms : sequence of str
        Names of the coefficients or effects.
    estimates, std_errors : array_like
        One value per term. Standard errors must be non-negative or NaN.
    level : float, default 0.95
        Confidence level of ``conf_low`` / ``conf_high``.
    df : float or None, default None
        Degrees of freedom of a t reference distribution; ``None`` for normal.
    keys : Mapping[str, Sequence] or None
        Family keys (``cohort``, ``year``, ``event_time``, ...), each with one
        value per term; they become columns placed right after ``term``.

    Returns
    -------
    pandas.DataFrame
        Columns ``term``, the family keys, then the rest of
        :data:`TIDY_COLUMNS`. ``attrs["level"]`` holds ``level`` and, when
        given, ``attrs["df"]`` holds ``df``.

    Raises
    ------
    ValueError
        If lengths disagree, a standard error is negative, ``level`` is not in
        (0, 1), ``df`` is not positive or a key is named like a tidy column.

    Examples
    --------
    >>> frame = make_tidy(["att"], [0.2], [0.1])
    >>> round(frame.loc[0, "p_value"], 4)
    0.0455
    """
    level = _check_level(level)
    df = _check_df(df)
    if isinstance(terms, str):
        raise ValueError(
            f"terms must be a sequence of names; got the string {terms!r}. Wrap it in a list."
        )
    names = [str(t) for t in terms]
    estimate = _as_vector(estimates, "estimates", len(names))
    std_error = _as_vector(std_errors, "std_errors", len(names))
    negative = np.flatnonzero(std_error < 0)
    if negative.size:
        raise ValueError(
            f"std_errors must be non-negative or NaN; got {negative.size} negative value(s), "
            f"e.g. {std_error[negative[0]]!r} for term {names[negative[0]]!r}. "
            "Check the variance computation."
        )
    key_cols = _key_columns(keys, len(names))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = estimate / std_error
        p_value = _two_sided_p(statistic, df)
        half_width = _critical_value(level, df) * std_error
    p_value = np.where(np.isnan(statistic), np.nan, p_value)
    columns: dict[str, object] = {"term": names, **key_cols}
    columns.update(
        estimate=estimate,
        std_error=std_error,
        statistic=statistic,
        p_value=p_value,
        conf_low=estimate - half_width,
        conf_high=estimate + half_width,
    )
    frame = pd.DataFrame(columns)
    frame.attrs["level"] = level
    if df is not None:
        frame.attrs["df"] = df
    return frame


def validate_tidy(frame: pd.DataFrame) -> None:
    """Check that ``frame`` carries every column of :data:`TIDY_COLUMNS`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame to check.

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame.
    ValueError
        If a tidy column is missing.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"frame must be a pandas DataFrame; got {type(frame).__name__}. "
            "Pass the output of a result's tidy() method."
        )
    missing = [c for c in TIDY_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"frame must have the tidy columns {list(TIDY_COLUMNS)}; got {len(missing)} "
            f"missing: {missing}. Build the frame with parkimpact.report.make_tidy."
        )


def tidy_keys(frame: pd.DataFrame) -> list[str]:
    """Return the family-key columns of a tidy frame (those not in the schema).

    Parameters
    ----------
    frame : pandas.DataFrame
        A tidy frame.

    Returns
    -------
    list of str
        Columns other than :data:`TIDY_COLUMNS`, in frame order.
    """
    return [str(c) for c in frame.columns if c not in TIDY_COLUMNS]


def conf_int_from_tidy(frame: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Recompute the confidence interval of a tidy frame at another level.

    The reference distribution is Student's t when ``frame.attrs`` holds
    ``"df"`` and the standard normal otherwise.

    Parameters
    ----------
    frame : pandas.DataFrame
        A tidy frame.
    level : float, default 0.95
        The new confidence level.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with ``conf_low`` and ``conf_high`` recomputed from
        ``estimate`` and ``std_error`` and ``attrs["level"]`` updated.

    Raises
    ------
    ValueError
        If ``level`` is not in (0, 1) or a tidy column is missing.
    """
    validate_tidy(frame)
    level = _check_level(level)
    df = _check_df(frame.attrs.get("df"))
    out = frame.copy()
    estimate = out["estimate"].to_numpy(dtype=float)
    half_width = _critical_value(level, df) * out["std_error"].to_numpy(dtype=float)
    out["conf_low"] = estimate - half_width
    out["conf_high"] = estimate + half_width
    out.attrs["level"] = level
    return out


def write_tidy_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a tidy frame to a byte-reproducible CSV file.

    Floats are written with 10 significant digits (``%.10g``), lines end with
    LF, the index is dropped and the encoding is UTF-8, so that the same
    estimates always give the same bytes whatever the platform.

    Parameters
    ----------
    frame : pandas.DataFrame
        A tidy frame (see :data:`TIDY_COLUMNS`).
    path : str or os.PathLike
        Destination file; parent folders must exist.

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame.
    ValueError
        If a tidy column is missing.
    """
    validate_tidy(frame)
    frame.to_csv(
        path,
        index=False,
        float_format="%.10g",
        lineterminator="\n",
        encoding="utf-8",
    )


# ---------------------------------------------------------------------------
# the result protocol
# ---------------------------------------------------------------------------


def _level_label(frame: pd.DataFrame) -> str:
    level = frame.attrs.get("level")
    if level is None:
        return "CI"
    return f"{100.0 * float(level):g}% CI"


def _coefficient_cells(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Format a tidy frame as the coefficient block of a summary."""
    keys = tidy_keys(frame)
    stat = "t" if frame.attrs.get("df") is not None else "z"
    ci = _level_label(frame)
    cells: dict[str, list[str]] = {"term": [render.plain(t) for t in frame["term"]]}
    for key in keys:
        cells[key] = [render.plain(v) for v in frame[key]]
    for column, header, digits in (
        ("estimate", "estimate", 4),
        ("std_error", "std. error", 4),
        ("statistic", stat, 3),
        ("p_value", f"P>|{stat}|", 3),
        ("conf_low", f"{ci} low", 4),
        ("conf_high", f"{ci} high", 4),
    ):
        cells[header] = [render.format_number(v, digits) for v in frame[column]]
    align = "l" * (1 + len(keys)) + "r" * 6
    return pd.DataFrame(cells, dtype=object), align


def _footer_lines(info: ModelInfo, frame: pd.DataFrame) -> list[str]:
    """Lines listing the counts, fixed effects, inference and notes of a model."""
    lines: list[str] = []
    if info.dependent:
        lines.append(f"Dependent variable: {info.dependent}")
    if info.n_obs is not None:
        lines.append(f"Observations: {render.format_count(info.n_obs)}")
    if info.n_units is not None:
        lines.append(f"Firms: {render.format_count(info.n_units)}")
    if info.n_clusters is not None or info.cluster:
        parts = [] if info.n_clusters is None else [render.format_count(info.n_clusters)]
        if info.cluster:
            parts.append(f"({info.cluster})")
        lines.append("Clusters: " + " ".join(parts))
    if info.fixed_effects:
        lines.append(f"Fixed effects: {', '.join(info.fixed_effects)}")
    if info.se_type:
        lines.append(f"SE: {info.se_type}")
    df = frame.attrs.get("df")
    if df is not None:
        lines.append(f"Reference distribution: t with {float(df):g} df")
    lines += [f"{key}: {value}" for key, value in info.extra.items()]
    lines += list(info.notes)
    return lines


class ResultBase(abc.ABC):
    """Mixin giving results their summary, HTML view and confidence intervals.

    Subclasses (usually frozen dataclasses) implement :meth:`tidy` and
    :meth:`model_info`; everything else is derived from those two methods and
    nothing is stored on the instance.
    """

    __slots__ = ()

    @abc.abstractmethod
    def tidy(self) -> pd.DataFrame:
        """Return the tidy frame of the result (see :data:`TIDY_COLUMNS`)."""

    @abc.abstractmethod
    def model_info(self) -> ModelInfo:
        """Return the descriptive facts shown in summaries and tables."""

    def _summary_parts(self) -> tuple[str, pd.DataFrame, str, list[str]]:
        frame = self.tidy()
        validate_tidy(frame)
        info = self.model_info()
        cells, align = _coefficient_cells(frame)
        return info.name, cells, align, _footer_lines(info, frame)

    def summary(self) -> str:
        """Return a text summary: title, coefficient table and model facts.

        Returns
        -------
        str
            The model name, a table with estimate, standard error, z (or t)
            statistic, p-value and confidence interval for every term, then
            lines for observations, firms, clusters, fixed effects, the type of
            standard errors, extra rows and notes.
        """
        title, cells, align, lines = self._summary_parts()
        return render.to_text(cells, title=title, notes=lines, align=align)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """Return the summary as an escaped HTML table (used by Jupyter)."""
        title, cells, align, lines = self._summary_parts()
        return render.to_html(cells, title=title, notes=lines, align=align)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Return confidence intervals at ``level``.

        Parameters
        ----------
        level : float, default 0.95
            Confidence level; the reference distribution is the one of the
            tidy frame (t when it carries ``attrs["df"]``, else normal).

        Returns
        -------
        pandas.DataFrame
            Columns ``conf_low`` and ``conf_high``. The index is ``term``, or a
            MultiIndex ``(term, *family keys)`` when the tidy frame has keys.
        """
        frame = conf_int_from_tidy(self.tidy(), level)
        index = ["term", *tidy_keys(frame)]
        return frame.set_index(index)[["conf_low", "conf_high"]]
