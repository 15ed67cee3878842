"""Input checks shared by the matching and weighting estimators.

Every estimator of :mod:`parkimpact.matching` takes a :class:`pandas.DataFrame`
with one row per unit (firm). :func:`prepare` checks the columns, drops the rows
with a missing value in any column the estimator uses (recording each in a
:class:`~parkimpact.DropReport` with one reason per column) and checks that the
treatment is binary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from numbers import Integral, Real

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.data.validation import examples, require_columns
from parkimpact.errors import DataFormatError, IdentificationError

__all__ = ["Prepared", "prepare", "design_matrix", "check_names", "check_positive", "check_int"]

SOURCE = "data"
"""Source name of the rows of a matching input in drop reports."""


@dataclass(frozen=True, eq=False)
class Prepared:
    """The rows an estimator uses.

    Attributes
    ----------
    frame : pandas.DataFrame
        Complete rows, original index kept.
    treated : numpy.ndarray
        Boolean treatment indicator, one per row of ``frame``.
    positions : numpy.ndarray
        Positions of the kept rows in the input frame.
    drops : DropReport
        Rows dropped, with ``rows_in`` and ``rows_kept`` of source ``"data"``.
    """

    frame: pd.DataFrame
    treated: np.ndarray
    positions: np.ndarray
    drops: DropReport


def check_names(value: object, name: str, *, allow_empty: bool = True) -> tuple[str, ...]:
    """Return a tuple of column names after checking ``value`` is a sequence of strings."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(
            f"{name} must be a sequence of column names; got {value!r}. "
            f"Pass a list such as {name}=['age', 'educ']."
        )
    names = tuple(value)
    bad = [v for v in names if not isinstance(v, str)]
    if bad:
        raise TypeError(f"{name} must hold column names (str); got {bad[:3]!r}. Pass strings.")
    if not allow_empty and not names:
        raise ValueError(f"{name} must name at least one column; got none. List the columns.")
    repeated = sorted({v for v in names if names.count(v) > 1})
    if repeated:
        raise ValueError(f"{name} must not repeat columns; got {repeated}. Remove duplicates.")
    return names


def check_positive(value: object, name: str, *, allow_none: bool = False) -> float | None:
    """Return ``value`` as a positive finite float (or None when allowed)."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(float(value))
    if not ok or float(value) <= 0.0:  # type: ignore[arg-type]
        raise ValueError(f"{name} must be a positive number; got {value!r}. Pass e.g. 0.2.")
    return float(value)  # type: ignore[arg-type]


def check_int(value: object, name: str, minimum: int) -> int:
    """Return ``value`` as an int after checking it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < minimum:
        raise ValueError(
            f"{name} must be an integer of at least {minimum}; got {value!r}. "
            f"Pass an integer such as {name}={max(minimum, 1)}."
        )
    return int(value)


def _binary(series: pd.Series, name: str) -> np.ndarray:
    """Boolean treatment from a 0/1 or boolean column (missing values already dropped)."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        numbers = series.to_numpy(dtype=float)
        is_one = numbers == 1.0
        if (is_one | (numbers == 0.0)).all():  # the common case, without hashing the column
            return is_one
    values = pd.unique(series)
    as_float = pd.to_numeric(pd.Series(values), errors="coerce")
    if as_float.isna().any() or not set(as_float.tolist()) <= {0.0, 1.0}:
        shown = examples(sorted(values, key=str))
        raise ValueError(
            f"treatment {name!r} must be binary (0/1 or False/True); got {len(values)} distinct "
            f"value(s): {shown}. Recode the treatment to 0 for controls and 1 for treated units."
        )
    return pd.to_numeric(series).to_numpy(dtype=float) == 1.0


@cache
def _empty_report() -> DropReport:
    return DropReport()


def _new_report() -> DropReport:
    """An empty drop report whose empty frame is a fresh object (a shallow copy of a cached one)."""
    return DropReport(frame=_empty_report().frame.copy(deep=False))


def prepare(
    data: pd.DataFrame,
    treatment: str,
    columns: Sequence[str],
    *,
    step: str,
    numeric: Sequence[str] = (),
) -> Prepared:
    """Check ``data`` and keep the complete rows.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    treatment : str
        Binary treatment column.
    columns : sequence of str
        Every other column the estimator uses (covariates, outcome, strata,
        clusters); rows missing any of them are dropped and reported, one
        reason per column.
    step : str
        Name of the estimator, recorded in the drop report.
    numeric : sequence of str
        Columns that must be numeric (text raises :class:`DataFormatError`).

    Returns
    -------
    Prepared

    Raises
    ------
    TypeError
        If ``data`` is not a DataFrame.
    DataFormatError
        If a column is missing or a numeric column holds text.
    ValueError
        If the treatment is not binary.
    IdentificationError
        If no treated or no control unit is left.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"data must be a pandas DataFrame with one row per unit; got {type(data).__name__}. "
            "Convert it with pd.DataFrame(...)."
        )
    needed = list(dict.fromkeys([treatment, *columns]))
    require_columns(data, needed, "data")
    for column in numeric:
        if not (
            pd.api.types.is_numeric_dtype(data[column]) or pd.api.types.is_bool_dtype(data[column])
        ):
            raise DataFormatError(
                f"column {column!r} must be numeric; got dtype {data[column].dtype} (e.g. "
                f"{examples(data[column].dropna())}). Convert it with pd.to_numeric or encode "
                "categories as indicator columns."
            )
    drops = _new_report().with_rows_in(SOURCE, len(data))
    keep = np.ones(len(data), dtype=bool)
    for column in needed:
        missing = data[column].isna().to_numpy() & keep
        if missing.any():
            rows = np.flatnonzero(missing)
            drops = drops.record(
                SOURCE,
                step,
                f"missing {column}",
                unit=data.index.to_numpy()[rows],
                row=rows.astype(float),
            )
            keep &= ~missing
    if keep.all():  # nothing dropped: a shallow copy (copy-on-write keeps it a snapshot)
        positions = np.arange(len(data))
        frame = data.copy(deep=False)
    else:
        positions = np.flatnonzero(keep)
        frame = data.iloc[positions]
    treated = _binary(frame[treatment], treatment)
    n_treated = int(treated.sum())
    if n_treated == 0 or n_treated == len(treated):
        group = "treated" if n_treated == 0 else "control"
        raise IdentificationError(
            f"treatment {treatment!r} must have both treated and control units; got no {group} "
            f"units among {len(treated)} complete rows ({len(data) - len(treated)} dropped for "
            "missing values). Check the treatment coding and the drop report."
        )
    return Prepared(frame, treated, positions, drops.with_kept(SOURCE, len(frame)))


def design_matrix(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Covariate matrix: numeric columns as they are, categorical ones as indicators.

    A column of dtype object, category or string becomes one indicator per level
    but the first (sorted), named ``"column[level]"``; booleans become 0/1.

    Returns
    -------
    matrix : numpy.ndarray
        Shape ``(n, p)``, float64.
    names : list of str
        One name per column of ``matrix``.
    """
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for column in covariates:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            blocks.append(series.to_numpy(dtype=float)[:, None])
            names.append(column)
            continue
        levels = sorted(pd.unique(series), key=str)
        for level in levels[1:]:
            blocks.append((series == level).to_numpy(dtype=float)[:, None])
            names.append(f"{column}[{level}]")
    if not blocks:
        return np.empty((len(frame), 0)), names
    return np.hstack(blocks), names
