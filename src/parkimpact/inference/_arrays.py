"""Array coercion, id handling and group sums behind :class:`InfluenceFunction`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = [
    "group_sums",
    "as_matrix",
    "as_vector",
    "as_names",
    "as_ids",
    "as_keys",
    "as_null",
    "has_str",
]


def group_sums(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Sum the rows of ``values`` within groups, groups ordered by sorted id.

    .. math::  S_g = \\sum_{i : \\mathrm{id}_i = g} \\psi_i

    Parameters
    ----------
    values : numpy.ndarray
        Array of shape ``(n, k)``.
    ids : numpy.ndarray
        Group id of each row, shape ``(n,)``, no missing values.

    Returns
    -------
    numpy.ndarray
        Shape ``(G, k)``, one row per distinct id in sorted order, so the
        result does not depend on the order of the rows (up to rounding).
    """
    codes, uniques = pd.factorize(ids, sort=True)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(uniques))
    if counts.size == codes.size:
        return values[order]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return np.add.reduceat(values[order], starts, axis=0)


def as_matrix(values: ArrayLike) -> np.ndarray:
    """Copy ``values`` into a float ``(n, k)`` array (a vector becomes one column)."""
    try:
        matrix = np.array(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"values must be a numeric array; got {type(values).__name__}. "
            "Pass the (n_units, k) influence-function matrix as floats."
        ) from exc
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2 or matrix.shape[0] < 1 or matrix.shape[1] < 1:
        raise ValueError(
            f"values must be a 2-D array of shape (n_units, k) with n_units, k >= 1; got shape "
            f"{matrix.shape}. Stack one row per unit and one column per parameter."
        )
    return matrix


def as_vector(values: ArrayLike, name: str, k: int) -> np.ndarray:
    """Copy ``values`` into a float vector of length ``k``."""
    vector = np.array(values, dtype=float).reshape(-1)
    if vector.shape[0] != k:
        raise ValueError(
            f"{name} must have one value per parameter ({k}); got {vector.shape[0]}. "
            "Pass one value for each column of values."
        )
    return vector


def as_names(names: Sequence[str] | str, k: int) -> tuple[str, ...]:
    """Return ``k`` unique parameter names as a tuple of str."""
    if isinstance(names, str):
        names = [names]
    out = tuple(str(name) for name in names)
    if len(out) != k:
        raise ValueError(
            f"names must have one name per parameter ({k}); got {len(out)}. "
            "Pass one name for each column of values."
        )
    duplicated = pd.Index(out)[pd.Index(out).duplicated()]
    if len(duplicated):
        raise ValueError(
            f"names must be unique; got {len(duplicated)} repeated, e.g. {duplicated[0]!r}. "
            "Give every parameter a distinct name, e.g. 'ATT(2005,2007)'."
        )
    return out


def as_ids(ids: ArrayLike, name: str, n: int) -> np.ndarray:
    """Return a read-only copy of ``n`` non-missing ids."""
    array = ids.to_numpy() if isinstance(ids, pd.Series | pd.Index) else np.asarray(ids)
    array = array.reshape(-1) if array.ndim == 0 else array
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(
            f"{name} must have one id per row of values ({n}); got shape {array.shape}. "
            "Pass one id for each unit, in the row order of values."
        )
    missing = int(pd.isna(array).sum())
    if missing:
        raise ValueError(
            f"{name} must not be missing; got {missing} missing id(s). "
            "Drop those units or give them an id."
        )
    array = array.copy()
    array.setflags(write=False)
    return array


def as_keys(keys: pd.DataFrame | None, k: int) -> pd.DataFrame | None:
    """Return a re-indexed copy of a ``k``-row key frame (or ``None``)."""
    if keys is None:
        return None
    if not isinstance(keys, pd.DataFrame) or len(keys) != k:
        found = f"{len(keys)} rows" if isinstance(keys, pd.DataFrame) else type(keys).__name__
        raise ValueError(
            f"keys must be a pandas DataFrame with one row per parameter ({k}); got {found}. "
            "Pass e.g. a frame with columns cohort and year, one row per parameter."
        )
    return keys.reset_index(drop=True).copy()


def has_str(selection: object) -> bool:
    """Whether a parameter selection is made of names."""
    if isinstance(selection, str):
        return True
    if isinstance(selection, np.ndarray):
        return selection.dtype.kind in "OUS"
    return isinstance(selection, Sequence) and any(isinstance(s, str) for s in selection)


def as_null(null: ArrayLike, size: int) -> np.ndarray:
    """Broadcast a Wald null hypothesis to ``size`` values."""
    vector = np.atleast_1d(np.asarray(null, dtype=float))
    if vector.size == 1:
        return np.full(size, float(vector[0]))
    if vector.shape != (size,):
        raise ValueError(
            f"null must be a scalar or have one value per tested parameter ({size}); got "
            f"shape {vector.shape}. Pass the hypothesised values in selection order."
        )
    return vector
