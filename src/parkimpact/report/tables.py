"""Multi-model regression tables and plain descriptive tables.

:func:`table` lays out several results side by side in the style of Stata's
``esttab`` and fixest's ``etable``: one column per model, for every term a row
with the estimate and its significance stars and a row below with the
standard error in parentheses, then a footer with counts, fixed effects and
the type of standard errors, and notes (stars legend, clustering, user notes).

Significance convention: a term gets one star for every threshold its
p-value is *strictly* below. With the default ``stars=(0.10, 0.05, 0.01)``,
``p = 0.049`` gives ``**`` and ``p = 0.05`` gives ``*``; ``p = 0.01`` gives
``**``. The legend reads ``* p<0.10, ** p<0.05, *** p<0.01``.

:class:`RegressionTable` is also what
:func:`parkimpact.report.descriptive.descriptive_table` returns, so every table
of the project is rendered by :mod:`parkimpact.report.render`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

import pandas as pd

from parkimpact.report import render
from parkimpact.report.render import Cell, Raw
from parkimpact.report.tidy import ModelInfo, tidy_keys, validate_tidy

__all__ = ["RegressionTable", "SupportsTidy", "table"]

_SUFFIXES: Final[dict[str, str]] = {
    ".tex": "latex",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
}


@runtime_checkable
class SupportsTidy(Protocol):
    """Anything with ``tidy()`` and ``model_info()``, e.g. a :class:`ResultBase`."""

    def tidy(self) -> pd.DataFrame:
        """Return the tidy frame."""
        ...

    def model_info(self) -> ModelInfo:
        """Return the model facts."""
        ...


@dataclass(frozen=True)
class RegressionTable:
    """An immutable formatted table with text, Markdown, HTML and LaTeX views.

    Build it with :func:`table` or :func:`descriptive_table` rather than
    directly.

    Parameters
    ----------
    header : tuple of str
        Column headers (the first is usually ``""`` above the row labels).
    rows : tuple of tuple of Cell
        Formatted cells, one tuple per row; a :class:`~parkimpact.report.render.Raw`
        cell carries its LaTeX form separately.
    title : str or None
        Title (text and Markdown heading, HTML caption, default LaTeX caption).
    notes : tuple of Cell
        Lines printed under the table.
    rules_before : tuple of int
        Row positions before which a rule separates sections.
    align : str or None
        One of ``l``, ``c``, ``r`` per column.
    """

    header: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]
    title: str | None = None
    notes: tuple[Cell, ...] = ()
    rules_before: tuple[int, ...] = ()
    align: str | None = None

    def __post_init__(self) -> None:
        width = len(self.header)
        bad = [i for i, row in enumerate(self.rows) if len(row) != width]
        if bad:
            raise ValueError(
                f"rows must each have {width} cells like the header; got rows {bad[:5]} with "
                "another length. Pad missing cells with ''."
            )

    @property
    def _cells(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows), columns=list(self.header), dtype=object)

    @property
    def frame(self) -> pd.DataFrame:
        """A new DataFrame of the cells as plain text (header as columns)."""
        columns = [render.plain(h) for h in self.header]
        rows = [[render.plain(c) for c in row] for row in self.rows]
        return pd.DataFrame(rows, columns=columns, dtype=object)

    def to_text(self) -> str:
        """Return the table as aligned plain text."""
        return render.to_text(
            self._cells,
            title=self.title,
            notes=self.notes,
            rules_before=self.rules_before,
            align=self.align,
        )

    def to_markdown(self) -> str:
        """Return the table as GitHub-flavoured Markdown."""
        return render.to_markdown(self._cells, title=self.title, notes=self.notes, align=self.align)

    def to_html(self) -> str:
        """Return the table as an escaped HTML ``<table>``."""
        return render.to_html(
            self._cells,
            title=self.title,
            notes=self.notes,
            rules_before=self.rules_before,
            align=self.align,
        )

    def to_latex(self, caption: str | None = None, label: str | None = None) -> str:
        r"""Return the table as a booktabs LaTeX ``tabular``.

        Parameters
        ----------
        caption : str or None
            Caption of a ``table`` float; defaults to the table title.
        label : str or None
            ``\label`` of the float. Without caption, title and label the bare
            tabular (plus notes) is returned, ready to ``\input`` in a float.

        Returns
        -------
        str
            LaTeX source requiring ``\usepackage{booktabs}``.
        """
        return render.to_latex(
            self._cells,
            caption=self.title if caption is None else caption,
            label=label,
            notes=self.notes,
            rules_before=self.rules_before,
            align=self.align,
        )

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the table in the format given by the file extension.

        Parameters
        ----------
        path : str or os.PathLike
            Destination ending in ``.tex``, ``.md``, ``.markdown``, ``.html``,
            ``.htm`` or ``.txt``. Written as UTF-8 with LF line endings.

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        ValueError
            If the extension is not one of the above.
        """
        target = Path(path)
        kind = _SUFFIXES.get(target.suffix.lower())
        if kind is None:
            raise ValueError(
                f"path must end in one of {sorted(_SUFFIXES)}; got {target.name!r}. "
                "Choose the extension of the format you want."
            )
        renderers = {
            "latex": self.to_latex,
            "markdown": self.to_markdown,
            "html": self.to_html,
            "text": self.to_text,
        }
        with open(target, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(renderers[kind]())
        return target


# ---------------------------------------------------------------------------
# checks of the arguments of table()
# ---------------------------------------------------------------------------


def _collect_models(
    results: object, model_names: Sequence[str] | None
) -> tuple[list[pd.DataFrame], list[ModelInfo], list[str]]:
    if isinstance(results, pd.DataFrame) or isinstance(results, SupportsTidy):
        results = [results]
    if isinstance(results, str) or not isinstance(results, Sequence) or len(results) == 0:
        raise TypeError(
            "results must be a non-empty sequence of results with tidy() and model_info() "
            f"or tidy DataFrames; got {type(results).__name__}. Pass e.g. [fit1, fit2]."
        )
    if model_names is None:
        names = [f"({k})" for k in range(1, len(results) + 1)]
    else:
        names = [str(n) for n in model_names]
        if isinstance(model_names, str) or len(names) != len(results):
            raise ValueError(
                f"model_names must give one name per result ({len(results)}); "
                f"got {model_names!r}. Pass a list of {len(results)} names."
            )
    frames: list[pd.DataFrame] = []
    infos: list[ModelInfo] = []
    for k, (result, name) in enumerate(zip(results, names, strict=True), start=1):
        if isinstance(result, pd.DataFrame):
            frames.append(result)
            infos.append(ModelInfo(name=name))
        elif isinstance(result, SupportsTidy):
            frames.append(result.tidy())
            infos.append(result.model_info())
        else:
            raise TypeError(
                f"results must hold objects with tidy() and model_info() or DataFrames; "
                f"got {type(result).__name__} at position {k}. Pass fitted results."
            )
        validate_tidy(frames[-1])
    return frames, infos, names


def _check_stars(stars: Sequence[float] | None) -> tuple[float, ...]:
    if stars is None:
        return ()
    values = tuple(stars)
    ok = all(
        isinstance(s, Real) and not isinstance(s, bool) and 0.0 < float(s) < 1.0 for s in values
    )
    if not ok or len(set(values)) != len(values):
        raise ValueError(
            f"stars must be distinct p-value thresholds strictly between 0 and 1; "
            f"got {stars!r}. Use e.g. stars=(0.10, 0.05, 0.01), or None for no stars."
        )
    return tuple(sorted((float(s) for s in values), reverse=True))


def _key_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Real) and not isinstance(value, bool) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _row_labels(frame: pd.DataFrame, position: int) -> list[str]:
    """Label each row of a tidy frame by its term; family keys are added only when the
    term alone repeats (``"att (cohort=2004, year=2005)"``), and boolean flag columns
    never label a row."""
    terms = [render.plain(t) for t in frame["term"]]
    if len(set(terms)) == len(terms):
        return terms
    keys = [k for k in tidy_keys(frame) if not pd.api.types.is_bool_dtype(frame[k].dtype)]
    labels: list[str] = []
    for term, (_, row) in zip(terms, frame.iterrows(), strict=True):
        parts = [(k, _key_text(row[k])) for k in keys]
        described = ", ".join(f"{k}={v}" for k, v in parts if v is not None)
        labels.append(f"{term} ({described})" if described else term)
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            raise ValueError(
                f"terms must be unique within a model; got {label!r} twice in model "
                f"{position}. Add family keys (cohort, year, event_time) to tell them apart."
            )
        seen.add(label)
    return labels


def _term_order(all_labels: list[list[str]], terms: Sequence[str] | None) -> list[str]:
    order: list[str] = []
    for labels in all_labels:
        order += [label for label in labels if label not in order]
    if terms is None:
        return order
    chosen = [str(t) for t in terms]
    unknown = [t for t in chosen if t not in order]
    if isinstance(terms, str) or unknown:
        raise ValueError(
            "terms must list terms present in at least one model; "
            f"got unknown {unknown or terms!r}. Available terms: {order}."
        )
    return chosen


# ---------------------------------------------------------------------------
# cell formatting
# ---------------------------------------------------------------------------


def _star_count(p_value: float, thresholds: tuple[float, ...]) -> int:
    if math.isnan(p_value):
        return 0
    return sum(p_value < t for t in thresholds)


def _estimate_cell(
    estimate: float,
    std_error: float,
    p_value: float,
    *,
    thresholds: tuple[float, ...],
    digits: int,
    se_below: bool,
) -> tuple[Cell, Cell]:
    """Return the estimate cell (with stars) and the standard-error cell."""
    number = render.format_number(estimate, digits)
    stars = "*" * _star_count(p_value, thresholds) if number else ""
    se_text = render.format_number(std_error, digits)
    se_cell = f"({se_text})" if se_text and number else ""
    base = render.number_cell(number)
    latex = (base.latex if isinstance(base, Raw) else base) + (f"$^{{{stars}}}$" if stars else "")
    text = number + stars
    if not se_below and se_cell:
        text, latex, se_cell = f"{text} {se_cell}", f"{latex} {se_cell}", ""
    if latex == text:
        return text, se_cell
    return Raw(latex=latex, text=text), se_cell


def _threshold_text(threshold: float) -> str:
    two = f"{threshold:.2f}"
    return two if float(two) == threshold else f"{threshold:g}"


def _stars_legend(thresholds: tuple[float, ...]) -> Raw | None:
    if not thresholds:
        return None
    text = ", ".join(f"{'*' * k} p<{_threshold_text(t)}" for k, t in enumerate(thresholds, start=1))
    latex = ", ".join(
        f"$^{{{'*' * k}}}$ $p<{_threshold_text(t)}$" for k, t in enumerate(thresholds, start=1)
    )
    return Raw(latex=latex, text=text)


def _cluster_note(infos: list[ModelInfo], names: list[str]) -> str:
    by_cluster: dict[str, list[str]] = {}
    for info, name in zip(infos, names, strict=True):
        if info.cluster:
            by_cluster.setdefault(info.cluster, []).append(name)
    if not by_cluster:
        return "Standard errors in parentheses."
    if len(by_cluster) == 1 and len(next(iter(by_cluster.values()))) == len(infos):
        return f"Standard errors clustered by {next(iter(by_cluster))} in parentheses."
    parts = [f"by {cluster} in {', '.join(models)}" for cluster, models in by_cluster.items()]
    return f"Standard errors in parentheses; clustered {'; '.join(parts)}."


def _footer_rows(infos: list[ModelInfo]) -> list[tuple[Cell, ...]]:
    rows: list[tuple[Cell, ...]] = []
    for label, attribute in (
        ("Observations", "n_obs"),
        ("Firms", "n_units"),
        ("Clusters", "n_clusters"),
    ):
        values = [getattr(info, attribute) for info in infos]
        if any(v is not None for v in values):
            rows.append((label, *(render.format_count(v) for v in values)))
    effects: list[str] = []
    for info in infos:
        effects += [fe for fe in info.fixed_effects if fe not in effects]
    for effect in effects:
        label = f"{effect[:1].upper()}{effect[1:]} FE"
        rows.append((label, *("Yes" if effect in info.fixed_effects else "No" for info in infos)))
    extra: list[str] = []
    for info in infos:
        extra += [key for key in info.extra if key not in extra]
    for key in extra:
        rows.append((key, *(render.plain(info.extra.get(key)) for info in infos)))
    if any(info.se_type for info in infos):
        rows.append(("SE", *(info.se_type or "" for info in infos)))
    return rows


# ---------------------------------------------------------------------------
# public builders
# ---------------------------------------------------------------------------


def table(
    results: Sequence[SupportsTidy | pd.DataFrame] | SupportsTidy | pd.DataFrame,
    *,
    model_names: Sequence[str] | None = None,
    terms: Sequence[str] | None = None,
    term_labels: Mapping[str, str] | None = None,
    stars: Sequence[float] | None = (0.10, 0.05, 0.01),
    digits: int = 3,
    se_below: bool = True,
    title: str | None = None,
    notes: str | Sequence[str] | None = None,
) -> RegressionTable:
    """Lay out several results side by side, one column per model.

    Parameters
    ----------
    results : sequence of results or tidy DataFrames
        Objects with ``tidy()`` and ``model_info()`` (see
        :class:`~parkimpact.report.ResultBase`) or bare tidy frames. A single
        result or frame is accepted too.
    model_names : sequence of str or None
        Column headers; default ``"(1)"``, ``"(2)"``, ...
    terms : sequence of str or None
        Rows to show, in this order; default every term in order of first
        appearance. A term that repeats within a frame is labelled with its
        family keys, ``"term (key=value, ...)"``, e.g. ``"att (event_time=-1)"``.
    term_labels : Mapping[str, str] or None
        Display names of terms (keys as in ``terms``); unknown keys are ignored.
    stars : sequence of float or None, default (0.10, 0.05, 0.01)
        p-value thresholds; a term gets one star per threshold its p-value is
        strictly below (p = 0.05 gives ``*``, p = 0.049 gives ``**``). ``None``
        or ``()`` shows no stars and no legend.
    digits : int, default 3
        Decimals of estimates and standard errors.
    se_below : bool, default True
        Standard errors in parentheses on a row under the estimate; if False
        they follow the estimate in the same cell.
    title : str or None
        Title of the table (LaTeX caption by default).
    notes : str, sequence of str or None
        Extra lines printed after the stars legend and the clustering note.

    Returns
    -------
    RegressionTable
        The formatted table; render it with ``to_text``, ``to_markdown``,
        ``to_html``, ``to_latex`` or ``save``.

    Raises
    ------
    TypeError
        If ``results`` does not hold results or tidy frames.
    ValueError
        If names, terms, stars or digits are invalid, a frame misses a tidy
        column or a term appears twice in one model.
    """
    frames, infos, names = _collect_models(results, model_names)
    thresholds = _check_stars(stars)
    digits = render.check_digits(digits)
    labels = [_row_labels(frame, k) for k, frame in enumerate(frames, start=1)]
    order = _term_order(labels, terms)
    display = dict(term_labels or {})
    lookup = [dict(zip(lab, range(len(lab)), strict=True)) for lab in labels]
    rows: list[tuple[Cell, ...]] = []
    rules: list[int] = []
    if any(info.dependent for info in infos):
        rows.append(("Dependent variable", *(info.dependent or "" for info in infos)))
        rules.append(1)
    for label in order:
        top: list[Cell] = [display.get(label, label)]
        bottom: list[Cell] = [""]
        for frame, positions in zip(frames, lookup, strict=True):
            if label not in positions:
                top.append("")
                bottom.append("")
                continue
            row = frame.iloc[positions[label]]
            est, se = _estimate_cell(
                float(row["estimate"]),
                float(row["std_error"]),
                float(row["p_value"]),
                thresholds=thresholds,
                digits=digits,
                se_below=se_below,
            )
            top.append(est)
            bottom.append(se)
        rows.append(tuple(top))
        if se_below:
            rows.append(tuple(bottom))
    footer = _footer_rows(infos)
    if footer and rows:
        rules.append(len(rows))
    rows += footer
    legend = _stars_legend(thresholds)
    all_notes: list[Cell] = [] if legend is None else [legend]
    all_notes.append(_cluster_note(infos, names))
    all_notes += render.note_list(notes)
    return RegressionTable(
        header=("", *names),
        rows=tuple(rows),
        title=title,
        notes=tuple(all_notes),
        rules_before=tuple(r for r in rules if 0 < r < len(rows)),
        align="l" + "c" * len(names),
    )
