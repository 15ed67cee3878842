"""Plain tables of numbers (means by group, balance checks) in the common format.

:func:`descriptive_table` formats a numeric :class:`pandas.DataFrame` into a
:class:`~parkimpact.report.tables.RegressionTable`, so descriptive tables get
the same text, Markdown, HTML and LaTeX renderers as regression tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import pandas as pd

from parkimpact.report import render
from parkimpact.report.render import Cell
from parkimpact.report.tables import RegressionTable

__all__ = ["descriptive_table"]


def _format_value(value: object, digits: int) -> Cell:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Real):
        if isinstance(value, Integral):
            return render.number_cell(str(int(value)))
        return render.number_cell(render.format_number(value, digits))
    return render.plain(value)


def _flatten_label(label: object) -> str:
    if isinstance(label, tuple):
        return " / ".join(render.plain(part) for part in label if render.plain(part))
    return render.plain(label)


def descriptive_table(
    frame: pd.DataFrame,
    *,
    digits: int | Mapping[str, int] = 3,
    title: str | None = None,
    notes: str | Sequence[str] | None = None,
    index: bool = True,
) -> RegressionTable:
    """Format a plain table of numbers (means by group, balance checks).

    Parameters
    ----------
    frame : pandas.DataFrame
        Values to show. Floats get ``digits`` decimals, integers are printed
        whole, booleans as Yes/No, missing values blank, text as is.
        MultiIndex column labels are joined with ``" / "``.
    digits : int or Mapping[str, int], default 3
        Decimals for every column, or per column name (others get 3).
    title : str or None
        Title of the table.
    notes : str, sequence of str or None
        Lines printed under the table.
    index : bool, default True
        Show the index (each level as a leading column headed by its name).

    Returns
    -------
    RegressionTable
        The formatted table, with the same rendering methods as :func:`table`.

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame.
    ValueError
        If ``digits`` is not a non-negative integer (or mapping of them).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"frame must be a pandas DataFrame; got {type(frame).__name__}. "
            "Wrap the values in pd.DataFrame first."
        )
    per_column = dict(digits) if isinstance(digits, Mapping) else {}
    default = 3 if isinstance(digits, Mapping) else render.check_digits(digits)
    per_column = {k: render.check_digits(v, f"digits[{k!r}]") for k, v in per_column.items()}
    header: list[str] = []
    columns: list[list[Cell]] = []
    align = ""
    if index:
        for level in range(frame.index.nlevels):
            header.append(render.plain(frame.index.names[level]))
            columns.append([render.plain(v) for v in frame.index.get_level_values(level)])
            align += "l"
    for position, label in enumerate(frame.columns):
        name = _flatten_label(label)
        places = per_column.get(name, default)
        values = frame.iloc[:, position].tolist()
        header.append(name)
        columns.append([_format_value(v, places) for v in values])
        numeric = pd.api.types.is_numeric_dtype(frame.iloc[:, position])
        align += "r" if numeric else "l"
    if not header:
        raise ValueError(
            "frame must have at least one column to show; got none. Pass index=True or add columns."
        )
    rows = tuple(tuple(cells) for cells in zip(*columns, strict=True)) if columns else ()
    return RegressionTable(
        header=tuple(header),
        rows=rows,
        title=title,
        notes=tuple(render.note_list(notes)),
        align=align,
    )
