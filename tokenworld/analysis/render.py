"""The report's two pages: report.html (self-contained, plots beside it as PNGs) and summary.md."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from pathlib import Path

from tokenworld.analysis.figures import Section

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.sub { color: #666; margin-top: 0; }
table.head { border-collapse: collapse; margin: 1em 0; }
table.head td { padding: 0.25em 1.2em 0.25em 0; border-bottom: 1px solid #eee; vertical-align: top; }
table.head td:first-child { color: #555; }
img { max-width: 100%; border: 1px solid #eee; }
.about { color: #444; } .skip { color: #8a6d3b; background: #fcf8e3; padding: 0.5em 0.8em; border-radius: 4px; }
.notice { background: #eef5fb; padding: 0.6em 0.9em; border-radius: 4px; }
.wide { overflow-x: auto; } table.rows { border-collapse: collapse; font-size: 0.85em; }
table.rows th, table.rows td { padding: 0.2em 0.6em; border-bottom: 1px solid #eee; text-align: right; }
table.rows th { background: #f5f5f5; position: sticky; top: 0; }
ul.notes { margin-top: 0.5em; } footer { margin-top: 3em; color: #777; font-size: 0.9em; }
"""


@dataclass(frozen=True)
class Pages:
    """What both pages of a report show.

    Attributes:
        title: the report's heading.
        subtitle: the line under it (the scene and its description).
        headline: (label, value) rows of the headline table.
        notices: warnings shown above the headline (a run still being written, ...).
        sections: every section in report order, plotted or skipped.
        footer: the closing line (`generated_line`).
        table: (column names, rows of cells) of a table shown before the sections (a sweep's runs), or None.
    """

    title: str
    subtitle: str
    headline: list[tuple[str, str]]
    notices: list[str]
    sections: list[Section]
    footer: str
    table: tuple[list[str], list[list[str]]] | None = None


def write_html(path: Path, pages: Pages) -> None:
    """Write the HTML report: headline table, notices, then every section (plot, or why it is missing)."""
    e = html.escape
    sections = pages.sections
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(pages.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(pages.title)}</h1>",
        f'<p class="sub">{e(pages.subtitle)}</p>',
    ]
    parts += [f'<p class="notice">{e(n)}</p>' for n in pages.notices]
    parts.append('<table class="head">')
    parts += [f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in pages.headline]
    parts.append("</table>")
    if pages.table is not None:
        names, rows = pages.table
        parts.append(
            '<div class="wide"><table class="rows"><tr>' + "".join(f"<th>{e(n)}</th>" for n in names) + "</tr>"
        )
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table></div>")
    plotted = [s for s in sections if s.image]
    if plotted:
        parts.append("<p>Plots: " + ", ".join(f'<a href="#{e(s.key)}">{e(s.title)}</a>' for s in plotted) + ".</p>")
    for s in sections:
        parts.append(f'<h2 id="{e(s.key)}">{e(s.title)}</h2>')
        if s.about:
            parts.append(f'<p class="about">{e(s.about)}</p>')
        if s.image:
            parts.append(f'<p><img src="{e(s.image)}" alt="{e(s.title)}"></p>')
        else:
            parts.append(f'<p class="skip">No plot: {e(s.skipped or "no data.")}</p>')
        if s.notes:
            parts.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in s.notes) + "</ul>")
    parts.append(f"<footer>{e(pages.footer)}</footer></body></html>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def write_markdown(path: Path, pages: Pages) -> None:
    """Write summary.md: the headline figures, notices, the plots (file and title) and what was left out."""
    sections, notices = pages.sections, pages.notices
    lines = [f"# {pages.title}", "", pages.subtitle, ""]
    lines += [f"> {n}" for n in notices] + ([""] if notices else [])
    lines += ["| | |", "|---|---|"] + [f"| {k} | {_md_cell(v)} |" for k, v in pages.headline] + [""]
    if pages.table is not None:
        names, rows = pages.table
        lines += ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows] + [""]
    plotted = [s for s in sections if s.image]
    lines.append("## Plots")
    lines.append("")
    lines += [f"- [{s.title}]({s.image})" + (f": {s.notes[0]}" if s.notes else "") for s in plotted] or ["- none yet"]
    missing = [s for s in sections if not s.image]
    if missing:
        lines += ["", "## Left out", ""] + [f"- {s.title}: {s.skipped}" for s in missing]
    lines += ["", f"_{pages.footer}_", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def generated_line(folder: Path) -> str:
    """The footer: when and how the report was made."""
    return (
        f"Made by `tokenworld analyze {folder}` on {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; "
        "run it again for ticks committed since."
    )


def duration(seconds: float) -> str:
    """'45 s', '5 min 0 s', '2 h 3 min'."""
    s = round(seconds)
    if s < 60:
        return f"{seconds:.3g} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"
