"""PNG plots of how each benchmarked cost grows: per tick against agents, decisions/s against batch size.

matplotlib is imported when a plot is drawn, with the Agg
backend (no display needed). Each function takes a suite's report and writes
one PNG; `write_plots` draws every plot the reports have data for.
"""

from __future__ import annotations

from pathlib import Path

from tokenworld.errors import TokenWorldError


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise TokenWorldError(
            "plots need matplotlib (a tokenworld dependency): pip install 'matplotlib>=3.8', or reinstall tokenworld."
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _lines(
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    series: dict[str, tuple[list, list]],
    *,
    logx: bool = True,
    logy: bool = True,
    base_x: int = 10,
) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    try:
        for label, (xs, ys) in series.items():
            pts = [(x, y) for x, y in zip(xs, ys, strict=False) if y is not None and (y > 0 or not logy)]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        if logx:
            ax.set_xscale("log", base=base_x)
            xs_all = sorted({x for xs, _ in series.values() for x in xs})
            ax.set_xticks(xs_all, [_count(x) for x in xs_all])  # the sizes measured, as plain numbers
            ax.xaxis.set_minor_locator(matplotlib_ticker().NullLocator())
        if logy:
            ax.set_yscale("log")
            plain = matplotlib_ticker().FuncFormatter(lambda v, _: f"{v:g}")
            ax.yaxis.set_major_formatter(plain)
            # Minor ticks labelled only at 2 and 5 times a power of ten: every one of them crowds the axis.
            ax.yaxis.set_minor_formatter(
                matplotlib_ticker().LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5))
            )
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def matplotlib_ticker():
    import matplotlib.ticker

    return matplotlib.ticker


def _count(x: float) -> str:
    """1000 -> '1k', 64000 -> '64k', 1000000 -> '1M', 16 -> '16'."""
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if x >= div and x % (div // 10) == 0:
            return f"{x / div:g}{suffix}"
    return f"{x:g}"


def _against_agents(rows: list[dict], names: dict[str, str]) -> dict[str, tuple[list, list]]:
    """One series per entry of `names` (a row's key -> legend label), against each row's agent count."""
    n = [r["agents"] for r in rows]
    return {label: (n, [r.get(k) for r in rows]) for k, label in names.items()}


def plot_engine(report: dict, path: Path) -> Path:
    """Engine ms per step against agents, log-log, the full step and each stage."""
    names = {
        "ms_per_step": "full step",
        "hash_ms": "hash",
        "perception_ms": "perception",
        "motion_ms": "motion",
        "zones_ms": "zones",
    }
    series = _against_agents(report["results"], names)
    return _lines(path, f"Spatial engine ({report.get('arch')}): ms per step", "agents", "ms per step (median)", series)


def plot_world(report: dict, path: Path) -> Path:
    """World ms per tick against agents, log-log, the whole tick and each stage."""
    names = {
        "tick_ms": "tick",
        "engine_ms": "engine",
        "world_ms": "world",
        "rules_ms": "rules",
        "brain_ms": "brain",
        "tick_ms_with_recorder": "tick with recorder",
    }
    series = _against_agents(report["results"], names)
    return _lines(path, "World: ms per tick", "agents", "ms per tick (median)", series)


def plot_inference(report: dict, path: Path) -> Path:
    """Decisions/s against batch size (the batch sweep), with one-at-a-time calls for reference."""
    rows = report["batch_sweep"]
    b = [r["batch_size"] for r in rows]
    series = {
        f"batched worker ({report.get('default_mode')}, decoded together)": (b, [r["decisions_per_s"] for r in rows])
    }
    for key, label in (
        ("sequential", "one at a time, Llama API"),
        ("sequential_same_backend", "one at a time, our backend"),
    ):
        if report.get(key):
            series[label] = (b, [report[key]["decisions_per_s"]] * len(b))
    return _lines(
        path,
        f"Decisions/s by batch size ({report.get('model')})",
        "batch size",
        "decisions/s",
        series,
        logy=False,
        base_x=2,
    )


def plot_viewer(report: dict, path: Path) -> Path:
    """Viewer median frame time against agents, one line per case."""
    series: dict[str, tuple[list, list]] = {}
    for r in report["rows"]:
        xs, ys = series.setdefault(r["case"], ([], []))
        xs.append(r["agents"])
        ys.append(r["frame_ms_median"])
    w, h = report.get("size", ["?", "?"])
    return _lines(path, f"Viewer frame time ({w}x{h} offscreen)", "agents", "ms per frame (median)", series)


def plot_mesa(report: dict, path: Path) -> Path:
    """Ms per step against agents for Mesa's boid flockers and our engine, log-log."""
    rows = report["results"]
    n = [r["agents"] for r in rows]
    series = {
        f"Mesa {report.get('mesa_version', '')} boid flockers": (n, [r["mesa_ms_per_step"] for r in rows]),
        f"Token World engine ({report.get('arch')})": (n, [r["tokenworld_ms_per_step"] for r in rows]),
    }
    return _lines(path, "Boid flocking: ms per step", "agents", "ms per step (median)", series)


PLOTS = {
    "engine": (plot_engine, "results"),
    "world": (plot_world, "results"),
    "inference": (plot_inference, "batch_sweep"),
    "viewer": (plot_viewer, "rows"),
    "mesa": (plot_mesa, "results"),
}


def write_plots(reports: dict[str, dict], folder: str | Path, *, stem: str = "bench") -> dict[str, Path]:
    """Draw a PNG per suite report that has data for one, as `<folder>/<stem>-<suite>.png`; return them by suite.

    Raises `TokenWorldError` if matplotlib is missing (and there is something to draw).
    """
    todo = {name: rep for name, rep in reports.items() if name in PLOTS and rep.get(PLOTS[name][1])}
    if not todo:
        return {}
    _pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, rep in todo.items():
        fn = PLOTS[name][0]
        try:
            out[name] = fn(rep, folder / f"{stem}-{name}.png")
        except OSError as exc:
            raise TokenWorldError(f"cannot write the {name} plot in {folder}: {exc.strerror}.") from None
    return out
