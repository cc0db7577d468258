"""A sweep's summary: one row per run (its varied keys, seed and analysis figures) as CSV and Parquet, and a
small HTML report (the table, and each figure plotted against the varied keys, averaged over seeds)."""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

import numpy as np

from tokenworld.analysis.figures import Section, fmt, pyplot, save
from tokenworld.analysis.render import Pages, write_html, write_markdown
from tokenworld.analysis.summary import FIGURES
from tokenworld.sweep.spec import Sweep, short_key

# figures plotted against the varied keys (those that some run has), at most six
PLOTTED = (
    "decisions_per_agent",
    "trades",
    "talks",
    "ties",
    "mean_hunger",
    "news_reach",
    "model_decisions",
    "last_average",
    "ticks_per_second",
)
EXTRA = ("task_seconds", "host", "error")  # the task's facts, after the figures
ABOUT = dict(FIGURES) | {"task_seconds": "wall seconds of the run's task (building and resuming counted)"}


def columns(sweep: Sweep) -> list[str]:
    """summary.csv's columns in order: run, seed, the varied keys, every figure, the task's facts."""
    return list(dict.fromkeys(["run", "seed", *sweep.columns, *(k for k, _ in FIGURES), *EXTRA]))


def counted(n: int, what: str) -> str:
    """'1 seed', '2 seeds'."""
    return f"{n} {what}" + ("" if n == 1 else "s")


def write_summary(folder: Path, sweep: Sweep, rows: list[dict], *, plots: bool) -> None:
    """Write summary.csv and summary.parquet (each replaced whole), and with `plots` report.html and summary.md."""
    names = columns(sweep)
    _replace(folder / "summary.csv", lambda p: _write_csv(p, names, rows))
    _replace(folder / "summary.parquet", lambda p: _write_parquet(p, names, rows))
    if plots:
        _write_report(folder, sweep, rows, names)


def _replace(path: Path, write) -> None:
    """Write through a temporary file renamed over `path`, so a reader never sees half a table."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    tmp.replace(path)


def _write_csv(path: Path, names: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        writer.writerows([["" if r.get(n) is None else r.get(n) for n in names] for r in rows])


def _write_parquet(path: Path, names: list[str], rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for n in names:
        values = [r.get(n) for r in rows]
        try:
            arrays[n] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds (a key set to 5 in one variant, "high" in one)
            arrays[n] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    pq.write_table(pa.table(arrays), path)


def _write_report(folder: Path, sweep: Sweep, rows: list[dict], names: list[str]) -> None:
    o = sweep.options
    finished = [r for r in rows if r["status"] == "finished"]
    seeds = sorted({r["seed"] for r in rows})
    variants = len(rows) // max(len(seeds), 1)
    headline = [
        ("Sweep", f"{o.name} ({sweep.path})"),
        ("Base scene", o.scene),
        ("Runs", f"{len(rows)} ({counted(variants, 'variant')} x {counted(len(seeds), 'seed')})"),
        ("Finished", str(len(finished))),
        ("Varied", ", ".join(sweep.columns) or "only the seed"),
        ("Seeds", ", ".join(map(str, seeds))),
        ("Ticks per run", str(o.ticks) if o.ticks is not None else "the scene's sim.ticks"),
    ]
    notices = [
        f"{r['run']}: {r['status']}" + (f" ({r['error']})" if r.get("error") else "")
        for r in rows
        if r["status"] != "finished"
    ]
    if notices:
        notices.insert(0, "Not every run finished; run `tokenworld sweep` again to continue them:")
    shown = [n for n in names if n not in ("host", "error") and any(r.get(n) is not None for r in rows)]
    table = (shown, [[_cell(r.get(n)) for n in shown] for r in rows])
    pages = Pages(
        title=f"Token World sweep {o.name}",
        subtitle=f"{len(rows)} runs of {o.scene}",
        headline=headline,
        notices=notices,
        sections=_plots(folder, sweep, finished),
        footer=f"Made by `tokenworld sweep {sweep.path}` on {time.strftime('%Y-%m-%d %H:%M:%S %Z')}.",
        table=table,
    )
    write_html(folder / "report.html", pages)
    write_markdown(folder / "summary.md", pages)


def _cell(v) -> str:
    if v is None:
        return ""
    return fmt(v) if isinstance(v, float) else str(v)


def _plots(folder: Path, sweep: Sweep, rows: list[dict]) -> list[Section]:
    """One section: every plotted figure against the first varied key (lines: the other keys' values)."""
    key, title = "figures", "Figures across the sweep"
    figures = [f for f in PLOTTED if any(isinstance(r.get(f), (int, float)) for r in rows)][:6]
    varied = [c for c in sweep.columns if len({repr(r.get(c)) for r in rows}) > 1]
    if not rows or not figures:
        return [Section(key, title, "", skipped="no run has finished yet.")]
    x_key = varied[0] if varied else "seed"
    others = varied[1:]
    values = {repr(r.get(x_key)): r.get(x_key) for r in rows}  # in order of first appearance
    xs = list(values)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values())
    position = {x: (float(values[x]) if numeric else i) for i, x in enumerate(xs)}
    lines = list(dict.fromkeys(tuple(repr(r.get(c)) for c in others) for r in rows))
    plt = pyplot()
    cols = min(3, len(figures))
    nrows = math.ceil(len(figures) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, figures, strict=False):
        for line in lines:
            pts = []
            for x in xs:
                ys = [
                    r[name]
                    for r in rows
                    if repr(r.get(x_key)) == x
                    and tuple(repr(r.get(c)) for c in others) == line
                    and isinstance(r.get(name), (int, float))
                ]
                if ys:
                    pts.append((position[x], np.mean(ys), np.min(ys), np.max(ys)))
            if not pts:
                continue
            px, mean, lo, hi = (np.array(v) for v in zip(*pts, strict=True))
            label = ", ".join(f"{short_key(c)} {v}" for c, v in zip(others, line, strict=True)) or None
            ax.errorbar(px, mean, yerr=[mean - lo, hi - mean], marker="o", capsize=3, label=label)
        ax.set_title(name.replace("_", " "), fontsize=10)
        ax.set_xlabel(x_key)
        if not numeric:
            ax.set_xticks(list(position.values()), xs, rotation=20)
    for ax in list(axes.flat)[len(figures) :]:
        ax.axis("off")
    if any(line for line in lines):
        axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    about = (
        f"Each panel is one figure of the runs' analysis against {x_key}: the mean over seeds, the bars from the "
        "lowest to the highest seed" + (f"; one line per value of {', '.join(others)}." if others else ".")
    )
    notes = [f"{n}: {ABOUT[n]}" for n in figures]
    return [Section(key, title, about, save(fig, folder, key), notes=notes)]
