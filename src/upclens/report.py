"""One self-contained HTML page from a study's results: text, tables and embedded figures.

The page has no scripts and no external resources (figures are PNG data URIs, the style sheet is
inline), so it opens offline in any browser and cannot raise console errors of its own.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from upclens.io import atomic_path

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #446; padding-bottom: .3em; }
h2 { margin-top: 2em; color: #335; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #bbc; padding: .25em .6em; text-align: right; }
th { background: #eef; }
td:first-child, th:first-child { text-align: left; }
figure { display: inline-block; margin: .6em; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .88em; color: #555; max-width: 520px; }
pre { background: #f6f6fa; padding: .6em; overflow-x: auto; font-size: .85em; }
.note { color: #555; font-size: .9em; }
nav a { margin-right: 1em; }
"""


@dataclass
class Section:
    """A titled part of the report: an ordered list of blocks (text, table or figure)."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def text(self, paragraph: str) -> Section:
        """Add a paragraph (plain text; escaped)."""
        self.blocks.append(("text", paragraph))
        return self

    def code(self, text: str) -> Section:
        """Add a preformatted block (configuration files, commands)."""
        self.blocks.append(("code", text))
        return self

    def table(self, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Section:
        """Add a table from a list of dicts (columns: their keys, in order, unless given)."""
        if rows:
            self.blocks.append(("table", (rows, columns or list(rows[0]))))
        return self

    def figure(self, path: str | Path, caption: str = "") -> Section:
        """Add a PNG figure, embedded as a data URI when the page is rendered."""
        self.blocks.append(("figure", (Path(path), caption)))
        return self


@dataclass
class Report:
    """A report page: title, a short lead paragraph and sections."""

    title: str
    lead: str = ""
    sections: list[Section] = field(default_factory=list)

    def section(self, title: str) -> Section:
        """Append a new section and return it."""
        sec = Section(title)
        self.sections.append(sec)
        return sec

    def render(self) -> str:
        """The complete HTML document as a string."""
        parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                 f"<title>{html.escape(self.title)}</title>",
                 f"<style>{_STYLE}</style></head><body>",
                 f"<h1>{html.escape(self.title)}</h1>"]
        if self.lead:
            parts.append(f"<p>{html.escape(self.lead)}</p>")
        parts.append("<nav>" + "".join(
            f'<a href="#s{i}">{html.escape(s.title)}</a>' for i, s in enumerate(self.sections))
            + "</nav>")
        for i, sec in enumerate(self.sections):
            parts.append(f'<section id="s{i}"><h2>{html.escape(sec.title)}</h2>')
            parts.extend(_render_block(kind, value) for kind, value in sec.blocks)
            parts.append("</section>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, path: str | Path) -> Path:
        """Write the page atomically; returns its path."""
        path = Path(path)
        with atomic_path(path, suffix=".html") as tmp:
            tmp.write_text(self.render(), encoding="utf-8")
        return path


def _render_block(kind: str, value: Any) -> str:
    if kind == "text":
        return f"<p>{html.escape(value)}</p>"
    if kind == "code":
        return f"<pre>{html.escape(value)}</pre>"
    if kind == "table":
        rows, columns = value
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(format_value(r.get(c, '')))}</td>"
                             for c in columns) + "</tr>" for r in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    path, caption = value
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(caption or path.stem)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def format_value(value: Any) -> str:
    """Numbers with 4 significant digits; everything else as str."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)
