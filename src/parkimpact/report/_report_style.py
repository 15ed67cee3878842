"""Inline style sheet and content policy of the HTML run report.

The page uses only fonts installed on the reader's machine, colours with a
contrast ratio of at least 4.5:1 against their background, and print rules
(A4 margins, no page break inside a table row or figure, section starts on a
new page) so that the report prints as it reads on screen.
"""

from __future__ import annotations

__all__ = ["CSS", "CSP"]

#: Content-Security-Policy of the page: inline style and ``data:`` images only.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

CSS = """\
:root {
  --ink: #1c2430;
  --muted: #4a5565;
  --rule: #d5dbe3;
  --band: #f4f6f9;
  --accent: #12406b;
  --positive: #1d5e3a;
  --negative: #8a1c1c;
  --neutral: #4a5565;
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body {
  margin: 0;
  color: var(--ink);
  background: #ffffff;
  font-family: "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
  line-height: 1.5;
}
.masthead {
  background: var(--accent);
  color: #ffffff;
  padding: 2rem 0 1.5rem;
}
.masthead > * { max-width: 1080px; margin-left: auto; margin-right: auto;
  padding-left: 2rem; padding-right: 2rem; }
.masthead h1 { margin-top: 0; margin-bottom: 0.3rem; font-size: 1.9rem; font-weight: 600; }
.masthead .subtitle { margin-top: 0; margin-bottom: 1rem; font-size: 1.05rem;
  color: #e3ebf4; }
.facts { display: flex; flex-wrap: wrap; gap: 0.4rem 2rem; margin-top: 0; margin-bottom: 0; }
.facts div { min-width: 8rem; }
.facts dt { font-size: 0.75rem; text-transform: uppercase; letter-spacing: 0.05em;
  color: #c9d6e5; }
.facts dd { margin: 0; font-weight: 600; }
nav, main, footer { max-width: 1080px; margin: 0 auto; padding: 0 2rem; }
nav { padding-top: 1.2rem; padding-bottom: 0.4rem; }
nav h2 { font-size: 0.85rem; text-transform: uppercase; letter-spacing: 0.06em;
  color: var(--muted); margin: 0 0 0.4rem; border: 0; padding: 0; }
nav ol { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap;
  gap: 0.3rem 1.5rem; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover, nav a:focus { text-decoration: underline; }
section { padding: 1.2rem 0 0.6rem; }
h2 { font-size: 1.4rem; color: var(--accent); margin: 1rem 0 0.8rem;
  padding-bottom: 0.3rem; border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.1rem; margin: 1.4rem 0 0.5rem; }
p { margin: 0.5rem 0; max-width: 75ch; }
p.lead { font-size: 1.08rem; }
p.note, p.missing, p.warning {
  padding: 0.6rem 0.9rem; border-left: 4px solid var(--rule); background: var(--band);
  max-width: none;
}
p.missing { border-left-color: #8c96a3; color: var(--muted); }
p.warning { border-left-color: #a8641a; background: #fbf4ea; }
ul { max-width: 75ch; padding-left: 1.3rem; }
li { margin: 0.25rem 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr));
  gap: 0.8rem; margin: 0.8rem 0 1rem; }
.card { border: 1px solid var(--rule); border-top: 4px solid var(--neutral);
  border-radius: 4px; padding: 0.7rem 0.9rem; break-inside: avoid; }
.card-positive { border-top-color: var(--positive); }
.card-negative { border-top-color: var(--negative); }
.card p { margin: 0.15rem 0; }
.card-title { font-weight: 600; color: var(--muted); font-size: 0.9rem; }
.card-value { font-size: 1.5rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.card-interval { font-size: 0.9rem; font-variant-numeric: tabular-nums; }
.card-verdict { font-size: 0.9rem; }
.card-positive .card-verdict { color: var(--positive); }
.card-negative .card-verdict { color: var(--negative); }
.table-wrap { margin: 0.8rem 0 1.2rem; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; }
caption { text-align: left; font-weight: 600; padding: 0 0 0.4rem; caption-side: top; }
thead th { border-bottom: 2px solid var(--ink); border-top: 2px solid var(--ink);
  background: var(--band); vertical-align: bottom; }
th, td { padding: 0.3rem 0.55rem; }
tbody tr { border-bottom: 1px solid var(--rule); break-inside: avoid; }
tbody:last-of-type tr:last-child { border-bottom: 2px solid var(--ink); }
tbody th { font-weight: 500; }
td.left { overflow-wrap: break-word; }
td.hash { font-family: "DejaVu Sans Mono", Consolas, "Liberation Mono", monospace;
  font-size: 0.78rem; overflow-wrap: anywhere; }
tr.group th { text-align: left; background: #e8eef5; color: var(--accent);
  font-weight: 600; padding-top: 0.35rem; }
tbody + tbody tr.group th { border-top: 1px solid var(--rule); }
.left { text-align: left; }
.center { text-align: center; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
.table-note { font-size: 0.82rem; color: var(--muted); margin: 0.3rem 0; max-width: none; }
.badge { display: inline-block; padding: 0.05rem 0.45rem; border-radius: 3px;
  font-size: 0.78rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.badge-estimated { color: var(--positive); }
.badge-descriptive-only { color: #7a4a0c; }
.badge-not-available { color: var(--muted); }
figure { margin: 1rem 0 1.4rem; break-inside: avoid; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { font-size: 0.88rem; color: var(--muted); margin-top: 0.4rem; max-width: 75ch; }
figcaption .source { display: block; font-size: 0.8rem; }
pre { background: var(--band); border: 1px solid var(--rule); padding: 0.8rem;
  font-size: 0.8rem; overflow-x: auto; white-space: pre-wrap; }
footer { border-top: 1px solid var(--rule); margin-top: 2rem; padding-top: 0.8rem;
  padding-bottom: 2rem; color: var(--muted); font-size: 0.85rem; }
@media print {
  @page { size: A4; margin: 16mm 14mm; }
  html { font-size: 10.5pt; }
  .masthead { background: #ffffff; color: var(--ink); padding: 0 0 0.6rem;
    border-bottom: 3px solid var(--accent); }
  .masthead .subtitle { color: var(--muted); }
  .facts dt { color: var(--muted); }
  nav, main, footer { max-width: none; padding: 0; }
  nav a { color: var(--ink); }
  section { break-before: page; }
  section:first-of-type { break-before: auto; }
  h2, h3, caption { break-after: avoid; }
  .table-wrap { overflow: visible; }
  .card, figure, pre { break-inside: avoid; }
}
"""
