"""The document model of the run report and its two renderings, HTML and Markdown.

A report is a :class:`Document` of :class:`Section` objects, each a sequence of
blocks (:class:`Paragraph`, :class:`Bullets`, :class:`Cards`, :class:`Table`,
:class:`Figure`, :class:`Code`, :class:`Heading`). Sections are built once and
rendered twice, so the HTML file and the Markdown file always say the same
thing. Every piece of text is plain text: :func:`to_html` escapes it with
:func:`html.escape` and :func:`to_markdown` with
:func:`~parkimpact.report.render.escape_markdown`, so nothing read from a CSV
file can inject markup.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from parkimpact.report._report_style import CSP, CSS
from parkimpact.report.render import escape_markdown

__all__ = [
    "Paragraph",
    "Bullets",
    "Card",
    "Cards",
    "Table",
    "Figure",
    "Code",
    "Heading",
    "Block",
    "Section",
    "Document",
    "to_html",
    "to_markdown",
]

ParagraphStyle = Literal["body", "lead", "note", "missing", "warning"]
Tone = Literal["positive", "negative", "neutral"]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text, optionally opened by a bold ``label``."""

    text: str
    style: ParagraphStyle = "body"
    label: str | None = None


@dataclass(frozen=True)
class Bullets:
    """An unordered list; each item may open with a bold label (``(label, text)``)."""

    items: tuple[tuple[str | None, str], ...]


@dataclass(frozen=True)
class Card:
    """One headline figure: what, the value, its interval and a verdict in words."""

    title: str
    value: str
    interval: str
    verdict: str
    tone: Tone = "neutral"


@dataclass(frozen=True)
class Cards:
    """A row of headline cards (a list in Markdown)."""

    cards: tuple[Card, ...]


@dataclass(frozen=True)
class Table:
    """A table of formatted cells; the first column labels the rows.

    ``align`` holds one letter per column (``l`` left, ``r`` right-aligned
    numbers, ``c`` centred, ``m`` left in a monospace font); ``status_column``
    marks a column whose cells are rendered as status badges in HTML. With
    ``group_first`` the rows are grouped by their first cell, which is shown
    once as a group heading instead of in every row.
    """

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str = ""
    notes: tuple[str, ...] = ()
    status_column: int | None = None
    group_first: bool = False

    def __post_init__(self) -> None:
        width = len(self.header)
        if self.align and (len(self.align) != width or set(self.align) - set("lrcm")):
            raise ValueError(
                f"align must have one letter among l, r, c, m per column ({width}); "
                f"got {self.align!r}."
            )
        bad = [i for i, row in enumerate(self.rows) if len(row) != width]
        if bad:
            raise ValueError(
                f"rows must have {width} cells like the header; got {len(bad)} rows that "
                f"do not (first: row {bad[0]}). Pad missing cells with ''."
            )


@dataclass(frozen=True)
class Figure:
    """A PNG figure: embedded in HTML, referenced by ``path`` in Markdown."""

    path: str
    data: bytes
    alt: str
    caption: str


@dataclass(frozen=True)
class Code:
    """Preformatted text (the configuration of the run)."""

    text: str
    language: str = ""


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section."""

    text: str


Block = Paragraph | Bullets | Cards | Table | Figure | Code | Heading


@dataclass(frozen=True)
class Section:
    """A numbered section of the report with an anchor for the contents list."""

    anchor: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    """The whole report: title, subtitle, facts shown under the title, sections."""

    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    footer: str = ""
    figure_base: str = field(default="", compare=False)


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _labelled(label: str | None, text: str) -> str:
    lead = f"<strong>{_e(label)}</strong> " if label else ""
    return lead + _e(text)


def _html_row(table: Table, row: tuple[str, ...], align: str, first: int) -> str:
    cls = {"l": "left", "r": "num", "c": "center", "m": "left hash"}
    cells = []
    for j in range(first, len(row)):
        value, a = row[j], align[j]
        content = _e(value)
        if j == table.status_column and value:
            slug = "".join(c if c.isalnum() else "-" for c in value.lower())
            content = f'<span class="badge badge-{slug}">{content}</span>'
        tag = "th" if j == first else "td"
        scope = ' scope="row"' if j == first else ""
        cells.append(f'<{tag}{scope} class="{cls[a]}">{content}</{tag}>')
    return f"<tr>{''.join(cells)}</tr>"


def _html_table(table: Table, number: int) -> str:
    align = table.align or "l" + "r" * (len(table.header) - 1)
    cls = {"l": "left", "r": "num", "c": "center", "m": "left hash"}
    first = 1 if table.group_first else 0
    out = [f'<div class="table-wrap"><table id="table-{number}">']
    out.append(f"<caption>Table {number}. {_e(table.caption)}</caption>")
    head = "".join(
        f'<th scope="col" class="{cls[a]}">{_e(h)}</th>'
        for h, a in zip(table.header[first:], align[first:], strict=True)
    )
    out.append(f"<thead><tr>{head}</tr></thead>")
    out.append("<tbody>")
    group: str | None = None
    for i, row in enumerate(table.rows):
        if table.group_first and row[0] != group:
            if i:
                out.append("</tbody><tbody>")
            group = row[0]
            out.append(
                f'<tr class="group"><th scope="rowgroup" colspan="{len(row) - 1}">'
                f"{_e(table.header[0])}: {_e(group)}</th></tr>"
            )
        out.append(_html_row(table, row, align, first))
    out.append("</tbody></table>")
    out += [f'<p class="table-note">{_e(n)}</p>' for n in table.notes]
    out.append("</div>")
    return "\n".join(out)


def _html_figure(figure: Figure, number: int) -> str:
    data = base64.b64encode(figure.data).decode("ascii")
    return (
        f'<figure id="figure-{number}">\n'
        f'<img src="data:image/png;base64,{data}" alt="{_e(figure.alt)}">\n'
        f"<figcaption>Figure {number}. {_e(figure.caption)} "
        f'<span class="source">Source file: {_e(figure.path)}</span></figcaption>\n'
        "</figure>"
    )


def _html_cards(cards: Cards) -> str:
    out = ['<div class="cards">']
    for card in cards.cards:
        out.append(
            f'<div class="card card-{card.tone}">'
            f'<p class="card-title">{_e(card.title)}</p>'
            f'<p class="card-value">{_e(card.value)}</p>'
            f'<p class="card-interval">{_e(card.interval)}</p>'
            f'<p class="card-verdict">{_e(card.verdict)}</p></div>'
        )
    out.append("</div>")
    return "\n".join(out)


def _html_block(block: Block, counters: dict[str, int]) -> str:
    if isinstance(block, Paragraph):
        role = ' role="note"' if block.style in ("missing", "warning", "note") else ""
        return f'<p class="{block.style}"{role}>{_labelled(block.label, block.text)}</p>'
    if isinstance(block, Bullets):
        items = "".join(f"<li>{_labelled(label, text)}</li>" for label, text in block.items)
        return f"<ul>{items}</ul>"
    if isinstance(block, Cards):
        return _html_cards(block)
    if isinstance(block, Table):
        counters["table"] += 1
        return _html_table(block, counters["table"])
    if isinstance(block, Figure):
        counters["figure"] += 1
        return _html_figure(block, counters["figure"])
    if isinstance(block, Code):
        return f"<pre><code>{_e(block.text)}</code></pre>"
    return f"<h3>{_e(block.text)}</h3>"


def to_html(doc: Document) -> str:
    """Render ``doc`` as one self-contained HTML page (inline CSS, embedded figures).

    Parameters
    ----------
    doc : Document
        The report.

    Returns
    -------
    str
        The page. It loads nothing: no scripts, no external style sheets or
        fonts, figures as ``data:`` URIs, and a Content-Security-Policy that
        forbids any other request.
    """
    counters = {"table": 0, "figure": 0}
    toc = "".join(
        f'<li><a href="#{s.anchor}">{i}. {_e(s.title)}</a></li>'
        for i, s in enumerate(doc.sections, start=1)
    )
    facts = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in doc.facts)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(doc.title)}</title>",
        f"<style>\n{CSS}</style>",
        "</head>",
        "<body>",
        '<header class="masthead">',
        f"<h1>{_e(doc.title)}</h1>",
        f'<p class="subtitle">{_e(doc.subtitle)}</p>',
        f'<dl class="facts">{facts}</dl>',
        "</header>",
        f'<nav aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>',
        "<main>",
    ]
    for i, section in enumerate(doc.sections, start=1):
        out.append(f'<section id="{section.anchor}" aria-labelledby="{section.anchor}-title">')
        out.append(f'<h2 id="{section.anchor}-title">{i}. {_e(section.title)}</h2>')
        out += [_html_block(b, counters) for b in section.blocks]
        out.append("</section>")
    out += ["</main>", f"<footer><p>{_e(doc.footer)}</p></footer>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


def _m(text: str) -> str:
    return escape_markdown(text)


def _md_labelled(label: str | None, text: str) -> str:
    return (f"**{_m(label)}** " if label else "") + _m(text)


def _md_table(table: Table, number: int) -> list[str]:
    align = table.align or "l" + "r" * (len(table.header) - 1)
    marks = {"l": ":---", "r": "---:", "c": ":---:", "m": ":---"}

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(_m(c) for c in cells) + " |"

    out = [f"**Table {number}. {_m(table.caption)}**", "", line(table.header)]
    out.append("| " + " | ".join(marks[a] for a in align) + " |")
    group: str | None = None
    for row in table.rows:
        shown = row
        if table.group_first:
            shown = ("",) + row[1:] if row[0] == group else row
            group = row[0]
        out.append(line(shown))
    for note in table.notes:
        out += ["", f"*{_m(note)}*"]
    return out


def _md_block(block: Block, counters: dict[str, int], base: str) -> list[str]:
    if isinstance(block, Paragraph):
        text = _md_labelled(block.label, block.text)
        if block.style in ("missing", "warning", "note"):
            return [f"> {text}"]
        return [text]
    if isinstance(block, Bullets):
        return [f"- {_md_labelled(label, text)}" for label, text in block.items]
    if isinstance(block, Cards):
        out = ["| Indicator | Effect | Interval | Reading |", "| :--- | ---: | :--- | :--- |"]
        out += [
            f"| {_m(c.title)} | **{_m(c.value)}** | {_m(c.interval)} | {_m(c.verdict)} |"
            for c in block.cards
        ]
        return out
    if isinstance(block, Table):
        counters["table"] += 1
        return _md_table(block, counters["table"])
    if isinstance(block, Figure):
        counters["figure"] += 1
        target = f"{base}/{block.path}" if base else block.path
        alt = block.alt.replace("[", "(").replace("]", ")").replace("\n", " ")
        return [f"![{alt}]({target})", "", f"*Figure {counters['figure']}. {_m(block.caption)}*"]
    if isinstance(block, Code):
        fence = "```"
        while fence in block.text:
            fence += "`"
        return [f"{fence}{block.language}", block.text.rstrip("\n"), fence]
    return [f"### {_m(block.text)}"]


def to_markdown(doc: Document) -> str:
    """Render ``doc`` as Markdown; figures are linked by relative path.

    Parameters
    ----------
    doc : Document
        The report; ``doc.figure_base`` is the path from the Markdown file to
        the output folder (``".."`` for ``OUTPUT_DIR/report/scorecard.md``).

    Returns
    -------
    str
        Markdown text with the same sections, tables, notes and figure
        captions as :func:`to_html`.
    """
    counters = {"table": 0, "figure": 0}
    base = doc.figure_base.replace(os.sep, "/")
    out = [f"# {_m(doc.title)}", "", _m(doc.subtitle), ""]
    out += [f"- **{_m(k)}:** {_m(v)}" for k, v in doc.facts]
    out += ["", "## Contents", ""]
    out += [f"{i}. [{_m(s.title)}](#{s.anchor})" for i, s in enumerate(doc.sections, start=1)]
    for i, section in enumerate(doc.sections, start=1):
        out += ["", f'<a id="{section.anchor}"></a>', "", f"## {i}. {_m(section.title)}"]
        for block in section.blocks:
            out.append("")
            out += _md_block(block, counters, base)
    if doc.footer:
        out += ["", "---", "", f"*{_m(doc.footer)}*"]
    return "\n".join(out) + "\n"
