"""Checks shared by :class:`parkimpact.FirmPanel` and the data adapters.

Each check either returns a cleaned array or raises a typed error whose message
names the column, the count of offending rows, a few examples and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from parkimpact.errors import DataFormatError, PanelStructureError

__all__ = [
    "require_columns",
    "integer_years",
    "numeric_column",
    "check_unique_keys",
    "constant_within",
    "key_order",
    "varies_within_sorted",
    "examples",
]


def examples(values: Iterable[object], k: int = 3) -> str:
    """Up to ``k`` distinct example values, comma separated, for error messages."""
    seen: list[str] = []
    for value in values:
        text = repr(value.item() if isinstance(value, np.generic) else value)
        if text not in seen:
            seen.append(text)
        if len(seen) == k:
            break
    return ", ".join(seen)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`DataFormatError` if any of ``columns`` is not in ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        available = ", ".join(map(str, list(frame.columns)[:12]))
        raise DataFormatError(
            f"{what} must have column(s) {', '.join(map(repr, missing))}; got columns "
            f"[{available}{', ...' if frame.shape[1] > 12 else ''}]. "
            "Fix the column mapping or rename the columns."
        )


def numeric_column(frame: pd.DataFrame, column: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``column`` as float; return ``(values, bad_mask)``.

    Missing cells become NaN and are not flagged. Cells holding text that is not
    a number (``"n/a"``, ``"12,3"``) are flagged in ``bad_mask`` and set to NaN;
    the caller decides whether that is an error or a reported drop.
    """
    series = frame[column]
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype="float64"), np.zeros(len(series), dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(series), dtype=bool)
    parsed = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    blank = series.isna().to_numpy() | series.astype(str).str.strip().eq("").to_numpy()
    bad = np.isnan(parsed) & ~blank
    return parsed, bad


def integer_years(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """Return ``column`` as int64 years or raise :class:`PanelStructureError`."""
    values, bad = numeric_column(frame, column, what)
    if bad.any():
        raise PanelStructureError(
            f"{what} column {column!r} must hold integer years; got text in {int(bad.sum())} "
            f"row(s) (e.g. {examples(frame.loc[bad, column])}). "
            "Convert it to integers, e.g. with pd.to_numeric, before building the panel."
        )
    missing = np.isnan(values)
    if missing.any():
        raise PanelStructureError(
            f"{what} column {column!r} must not be missing; got {int(missing.sum())} missing "
            "row(s). Drop or fill them before building the panel."
        )
    fractional = values != np.round(values)
    if fractional.any():
        raise PanelStructureError(
            f"{what} column {column!r} must hold integer years; got {int(fractional.sum())} "
            f"non-integer value(s) (e.g. {examples(values[fractional])}). "
            "Aggregate to annual data or round deliberately before building the panel."
        )
    return values.astype("int64")


def check_unique_keys(frame: pd.DataFrame, keys: Sequence[str], what: str) -> None:
    """Raise :class:`PanelStructureError` on duplicated key combinations."""
    dup = frame.duplicated(list(keys), keep=False).to_numpy()
    if dup.any():
        first = frame.loc[dup, list(keys)].drop_duplicates().head(3)
        shown = "; ".join(
            "(" + ", ".join(f"{k}={v!r}" for k, v in zip(keys, row, strict=True)) + ")"
            for row in first.itertuples(index=False)
        )
        n_keys = int(frame.loc[dup, list(keys)].drop_duplicates().shape[0])
        raise PanelStructureError(
            f"{what} must have one row per ({', '.join(keys)}); got {int(dup.sum())} rows "
            f"sharing {n_keys} duplicated key(s), e.g. {shown}. "
            "Remove or aggregate the duplicates (build_panel(..., duplicates='drop') keeps "
            "the first and reports the rest)."
        )


def constant_within(frame: pd.DataFrame, unit: str, column: str, what: str, *, hint: str) -> None:
    """Raise :class:`PanelStructureError` if ``column`` varies within a unit."""
    varying = frame.groupby(unit, sort=False)[column].nunique(dropna=False) > 1
    if varying.any():
        bad_units = varying.index[varying.to_numpy()]
        raise PanelStructureError(
            f"{what} column {column!r} must be constant within each {unit}; got varying values "
            f"for {len(bad_units)} unit(s) (e.g. {examples(bad_units)}). {hint}"
        )


def key_order(frame: pd.DataFrame, unit: str, time: str, what: str) -> np.ndarray | None:
    """The permutation sorting ``frame`` by (unit, time), or None when it is sorted already.

    One linear pass when the rows are already in order; otherwise an integer sort
    of a combined key (units coded in sorted order, so the permutation equals a
    stable ``sort_values([unit, time])``). Raises :class:`PanelStructureError`
    (through :func:`check_unique_keys`) when a (unit, time) pair repeats.
    """
    codes, _ = pd.factorize(frame[unit], sort=True)
    years = frame[time].to_numpy(dtype=np.int64)
    low = int(years.min())
    key = codes.astype(np.int64) * (int(years.max()) - low + 1) + (years - low)
    step = np.diff(key)
    if (step > 0).all():
        return None
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    if (ordered[1:] == ordered[:-1]).any():
        check_unique_keys(frame, [unit, time], what)
    return order


def varies_within_sorted(units: np.ndarray, values: np.ndarray) -> bool:
    """Whether ``values`` (float, NaN = missing) varies within a unit, for rows sorted by unit.

    Adjacent rows of the same unit are compared; two missing values count as equal,
    a missing and a present value as different (as ``nunique(dropna=False)``).
    """
    if len(units) < 2:
        return False
    same_unit = units[1:] == units[:-1]
    both_missing = np.isnan(values[1:]) & np.isnan(values[:-1])
    return bool((same_unit & (values[1:] != values[:-1]) & ~both_missing).any())
