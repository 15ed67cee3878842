"""Dependency-free renderers of cell tables to text, Markdown, HTML and LaTeX.

Every table in parkimpact is first turned into a :class:`pandas.DataFrame` of
already formatted cells (its columns are the header row) and then rendered by
one of the functions below, so that all outputs look alike:

* :func:`to_text` -- aligned columns with rules, for terminals and logs;
* :func:`to_markdown` -- GitHub-flavoured Markdown with an alignment row;
* :func:`to_html` -- a ``<table>`` with ``<thead>`` and one ``<tbody>`` per
  section, every cell escaped with :func:`html.escape`;
* :func:`to_latex` -- a booktabs ``tabular``, optionally in a ``table`` float
  with caption and label, and footnote lines under the tabular.

A cell is a ``str`` (escaped for the target format) or a :class:`Raw` marker
that carries LaTeX source passed through unchanged (for instance significance
stars ``$^{***}$``) together with its plain-text form used by the other
formats.

The module also holds the number formatters shared by every table
(:func:`format_number`, :func:`format_count`) and :func:`significant`, the
10-significant-digit format of the tidy CSV files.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Final

import numpy as np
import pandas as pd

__all__ = [
    "Raw",
    "Cell",
    "check_digits",
    "escape_latex",
    "escape_markdown",
    "plain",
    "note_list",
    "format_number",
    "number_cell",
    "format_count",
    "significant",
    "to_text",
    "to_markdown",
    "to_html",
    "to_latex",
]

_LATEX_SPECIALS: Final[dict[str, str]] = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}

_MARKDOWN_SPECIALS: Final[frozenset[str]] = frozenset("\\`*_[]<>|#")

_ALIGNMENTS: Final[frozenset[str]] = frozenset("lcr")


@dataclass(frozen=True)
class Raw:
    """A cell whose LaTeX source is passed through without escaping.

    Parameters
    ----------
    latex : str
        LaTeX source written verbatim by :func:`to_latex`, e.g. ``"$^{**}$"``.
    text : str or None, default None
        The plain-text form used by the text, Markdown and HTML renderers
        (where it is escaped as usual). ``None`` uses ``latex`` itself.

    Examples
    --------
    >>> Raw("0.512$^{**}$", text="0.512**")
    Raw(latex='0.512$^{**}$', text='0.512**')
    """

    latex: str
    text: str | None = None

    def __str__(self) -> str:
        return self.latex if self.text is None else self.text


Cell = str | Raw
"""A formatted table cell: plain text, or a :class:`Raw` LaTeX marker."""


def plain(cell: object) -> str:
    """Return the plain-text form of a cell.

    Parameters
    ----------
    cell : object
        A ``str``, a :class:`Raw` marker, or any object (converted with
        ``str``); ``None`` and missing values give ``""``.

    Returns
    -------
    str
        The text shown by the text, Markdown and HTML renderers.
    """
    if cell is None:
        return ""
    if isinstance(cell, float) and math.isnan(cell):
        return ""
    return str(cell)


def escape_latex(text: str) -> str:
    r"""Escape the characters that are special in LaTeX text mode.

    Parameters
    ----------
    text : str
        Plain text.

    Returns
    -------
    str
        ``text`` with ``& % $ # _ { } ~ ^ \ < >`` replaced by commands that
        print them literally, e.g. ``log_capital`` -> ``log\_capital``.
    """
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def escape_markdown(text: str) -> str:
    """Escape Markdown punctuation and table pipes with backslashes.

    Parameters
    ----------
    text : str
        Plain text.

    Returns
    -------
    str
        ``text`` with backslash escapes before ``\\ ` * _ [ ] < > | #`` and
        newlines replaced by spaces, so that stars, underscores and pipes are
        shown literally inside and outside tables.
    """
    flat = text.replace("\r\n", " ").replace("\n", " ")
    return "".join("\\" + char if char in _MARKDOWN_SPECIALS else char for char in flat)


def _is_missing(x: object) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    return isinstance(x, Real) and not isinstance(x, bool) and math.isnan(float(x))


def check_digits(digits: object, name: str = "digits") -> int:
    """Return ``digits`` as an int after checking it is a non-negative integer.

    Parameters
    ----------
    digits : object
        The value to check.
    name : str, default "digits"
        Argument name used in the error message.

    Returns
    -------
    int
        ``digits``.

    Raises
    ------
    ValueError
        If ``digits`` is not a non-negative integer.
    """
    if isinstance(digits, bool) or not isinstance(digits, int | np.integer) or digits < 0:
        raise ValueError(
            f"{name} must be a non-negative integer; got {digits!r}. "
            f"Pass the number of digits, e.g. {name}=3."
        )
    return int(digits)


def format_number(x: object, digits: int = 3) -> str:
    """Format a number with a fixed number of decimals.

    Parameters
    ----------
    x : object
        A real number; ``None``, NaN and ``pd.NA`` give ``""``.
    digits : int, default 3
        Number of decimals (no thousands separators).

    Returns
    -------
    str
        For example ``format_number(1234.5678)`` -> ``"1234.568"``. A value
        that rounds to zero is printed without a minus sign.

    Raises
    ------
    ValueError
        If ``digits`` is not a non-negative integer.
    TypeError
        If ``x`` is not a real number.
    """
    digits = check_digits(digits)
    if _is_missing(x):
        return ""
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(
            f"x must be a real number; got {type(x).__name__} {x!r}. "
            "Format text cells yourself or pass a number."
        )
    out = f"{float(x):.{digits}f}"
    if out.startswith("-") and float(out) == 0.0:
        out = out[1:]
    return out


def number_cell(text: str) -> Cell:
    r"""Turn a formatted number into a cell with a true minus sign in LaTeX.

    Parameters
    ----------
    text : str
        A formatted number such as ``"-0.200"``.

    Returns
    -------
    Cell
        ``text`` itself when it does not start with ``-``; otherwise a
        :class:`Raw` cell whose LaTeX form is ``$-$0.200`` (a hyphen in text
        mode would print too short).
    """
    if not text.startswith("-"):
        return text
    return Raw(latex="$-$" + escape_latex(text[1:]), text=text)


def format_count(x: object) -> str:
    """Format an integer count (observations, firms) without separators.

    Parameters
    ----------
    x : object
        An integer-valued number; ``None`` and NaN give ``""``.

    Returns
    -------
    str
        The count, e.g. ``"12840"``.
    """
    if _is_missing(x):
        return ""
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(
            f"x must be an integer count; got {type(x).__name__} {x!r}. Pass an int or None."
        )
    return str(int(round(float(x))))


def significant(x: object, digits: int = 10) -> str:
    """Format a number with a given count of significant digits.

    Parameters
    ----------
    x : object
        A real number; ``None`` and NaN give ``""``.
    digits : int, default 10
        Significant digits (``%g`` formatting, as used for tidy CSV files).

    Returns
    -------
    str
        For example ``significant(1 / 3)`` -> ``"0.3333333333"``.
    """
    digits = check_digits(digits)
    if digits == 0:
        raise ValueError("digits must be at least 1; got 0. Use digits=10 for CSV output.")
    if _is_missing(x):
        return ""
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"x must be a real number; got {type(x).__name__} {x!r}. Pass a number.")
    return f"{float(x):.{digits}g}"


# ---------------------------------------------------------------------------
# shared checks
# ---------------------------------------------------------------------------


def _resolve_align(frame: pd.DataFrame, align: str | None) -> str:
    n_cols = frame.shape[1]
    if n_cols == 0:
        raise ValueError(
            "frame must have at least one column; got 0 columns. Build the cell frame first."
        )
    if align is None:
        return "l" + "c" * (n_cols - 1)
    if len(align) != n_cols or not set(align) <= _ALIGNMENTS:
        raise ValueError(
            f"align must be one of 'l', 'c', 'r' per column ({n_cols} letters); got {align!r}. "
            f"Pass e.g. {'l' + 'c' * (n_cols - 1)!r}."
        )
    return align


def _resolve_rules(frame: pd.DataFrame, rules_before: Iterable[int]) -> frozenset[int]:
    rules = frozenset(int(r) for r in rules_before)
    bad = sorted(r for r in rules if r <= 0 or r >= frame.shape[0])
    if bad:
        raise ValueError(
            f"rules_before must hold row positions between 1 and {frame.shape[0] - 1}; "
            f"got {bad}. A rule is drawn before the row at each position."
        )
    return rules


def _header(frame: pd.DataFrame) -> list[Cell]:
    return [col if isinstance(col, Raw) else plain(col) for col in frame.columns]


def _rows(frame: pd.DataFrame) -> list[list[object]]:
    return [list(row) for row in frame.itertuples(index=False, name=None)]


def note_list(notes: str | Raw | Sequence[Cell] | None) -> list[Cell]:
    """Return notes as a list of cells (one string or marker becomes one line).

    Parameters
    ----------
    notes : str, Raw, sequence of them, or None
        Note lines.

    Returns
    -------
    list of Cell
        The lines; ``None`` gives an empty list.
    """
    if notes is None:
        return []
    if isinstance(notes, str | Raw):
        return [notes]
    return list(notes)


# ---------------------------------------------------------------------------
# renderers
# ---------------------------------------------------------------------------


def _pad(text: str, width: int, how: str) -> str:
    if how == "r":
        return text.rjust(width)
    if how == "c":
        return text.center(width)
    return text.ljust(width)


def to_text(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    notes: str | Sequence[Cell] | None = None,
    rules_before: Iterable[int] = (),
    align: str | None = None,
) -> str:
    """Render a cell frame as aligned plain text.

    Parameters
    ----------
    frame : pandas.DataFrame
        Formatted cells; the column labels form the header row and the index
        is ignored.
    title : str or None
        Line printed above the table.
    notes : str, sequence of str or None
        Lines printed under the bottom rule.
    rules_before : iterable of int
        Row positions (0-based, body rows) before which a thin rule is drawn.
    align : str or None
        One letter per column among ``l``, ``c``, ``r``; default left for the
        first column and centred for the others.

    Returns
    -------
    str
        The table, lines joined by ``"\\n"`` and ending with a newline.
    """
    how = _resolve_align(frame, align)
    rules = _resolve_rules(frame, rules_before)
    header = [plain(c) for c in _header(frame)]
    rows = [[plain(c) for c in row] for row in _rows(frame)]
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    total = sum(widths) + 2 * (len(widths) - 1)

    def line(cells: list[str]) -> str:
        return "  ".join(_pad(c, w, a) for c, w, a in zip(cells, widths, how, strict=True))

    out: list[str] = []
    if title:
        out.append(title)
    out += ["=" * total, line(header).rstrip(), "-" * total]
    for i, row in enumerate(rows):
        if i in rules:
            out.append("-" * total)
        out.append(line(row).rstrip())
    out.append("=" * total)
    out += [plain(n) for n in note_list(notes)]
    return "\n".join(out) + "\n"


def to_markdown(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    notes: str | Sequence[Cell] | None = None,
    align: str | None = None,
) -> str:
    """Render a cell frame as a GitHub-flavoured Markdown table.

    Parameters
    ----------
    frame : pandas.DataFrame
        Formatted cells; the column labels form the header row.
    title : str or None
        Printed in bold above the table.
    notes : str, sequence of str or None
        Paragraphs printed under the table.
    align : str or None
        One letter per column among ``l``, ``c``, ``r`` (the alignment row).

    Returns
    -------
    str
        Markdown text ending with a newline. Markdown punctuation in cells is
        escaped (``*`` becomes ``\\*``), so stars and underscores print as is.
    """
    how = _resolve_align(frame, align)
    marks = {"l": ":---", "c": ":---:", "r": "---:"}

    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join(escape_markdown(plain(c)) for c in cells) + " |"

    out: list[str] = []
    if title:
        out += [f"**{escape_markdown(title)}**", ""]
    out.append(line(_header(frame)))
    out.append("| " + " | ".join(marks[a] for a in how) + " |")
    out += [line(row) for row in _rows(frame)]
    for note in note_list(notes):
        out += ["", escape_markdown(plain(note))]
    return "\n".join(out) + "\n"


def to_html(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    notes: str | Sequence[Cell] | None = None,
    rules_before: Iterable[int] = (),
    align: str | None = None,
) -> str:
    """Render a cell frame as an HTML ``<table>``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Formatted cells; the column labels form the ``<thead>`` row.
    title : str or None
        The ``<caption>``.
    notes : str, sequence of str or None
        Rows of a ``<tfoot>``, each spanning all columns.
    rules_before : iterable of int
        Row positions that start a new ``<tbody>`` section.
    align : str or None
        One letter per column among ``l``, ``c``, ``r``.

    Returns
    -------
    str
        HTML with every cell, header, caption and note escaped.
    """
    how = _resolve_align(frame, align)
    rules = _resolve_rules(frame, rules_before)
    styles = {"l": "left", "c": "center", "r": "right"}

    def cells(values: Sequence[object], tag: str) -> str:
        return "".join(
            f'<{tag} style="text-align: {styles[a]}">{html.escape(plain(v))}</{tag}>'
            for v, a in zip(values, how, strict=True)
        )

    out = ['<table class="parkimpact-table">']
    if title:
        out.append(f"<caption>{html.escape(title)}</caption>")
    out.append(f"<thead><tr>{cells(_header(frame), 'th')}</tr></thead>")
    out.append("<tbody>")
    for i, row in enumerate(_rows(frame)):
        if i in rules:
            out.append("</tbody><tbody>")
        out.append(f"<tr>{cells(row, 'td')}</tr>")
    out.append("</tbody>")
    lines = note_list(notes)
    if lines:
        out.append("<tfoot>")
        out += [
            f'<tr><td colspan="{len(how)}" style="text-align: left">'
            f"{html.escape(plain(n))}</td></tr>"
            for n in lines
        ]
        out.append("</tfoot>")
    out.append("</table>")
    return "\n".join(out) + "\n"


def _latex_cell(cell: object) -> str:
    if isinstance(cell, Raw):
        return cell.latex
    return escape_latex(plain(cell))


def to_latex(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    label: str | None = None,
    notes: str | Sequence[Cell] | None = None,
    rules_before: Iterable[int] = (),
    align: str | None = None,
) -> str:
    r"""Render a cell frame as a booktabs LaTeX ``tabular``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Formatted cells; the column labels form the header row. ``str`` cells
        are escaped; :class:`Raw` cells are written verbatim.
    caption, label : str or None
        When either is given the tabular is wrapped in a ``table`` float with
        ``\caption`` (escaped) and ``\label`` (written as given).
    notes : str, sequence of str or None
        Footnote lines set in ``\footnotesize`` under the tabular.
    rules_before : iterable of int
        Row positions before which a ``\midrule`` is drawn.
    align : str or None
        The column specification, one of ``l``, ``c``, ``r`` per column.

    Returns
    -------
    str
        LaTeX source needing only ``\usepackage{booktabs}``.
    """
    how = _resolve_align(frame, align)
    rules = _resolve_rules(frame, rules_before)

    def line(values: Sequence[object]) -> str:
        return " & ".join(_latex_cell(v) for v in values) + r" \\"

    body = [rf"\begin{{tabular}}{{{how}}}", r"\toprule", line(_header(frame)), r"\midrule"]
    for i, row in enumerate(_rows(frame)):
        if i in rules:
            body.append(r"\midrule")
        body.append(line(row))
    body += [r"\bottomrule", r"\end{tabular}"]
    lines = note_list(notes)
    if lines:
        body.append(r"\par\smallskip")
        body.append(r"{\footnotesize\raggedright")
        body += [_latex_cell(n) + r"\par" for n in lines]
        body.append("}")
    if caption is None and label is None:
        return "\n".join(body) + "\n"
    head = [r"\begin{table}[htbp]", r"\centering"]
    if caption is not None:
        head.append(rf"\caption{{{escape_latex(caption)}}}")
    if label is not None:
        head.append(rf"\label{{{label}}}")
    return "\n".join([*head, *body, r"\end{table}"]) + "\n"
