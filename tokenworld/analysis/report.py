"""`analyze`: the report of a run folder (HTML page, PNG plots, Markdown summary), also while the run is still going."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tokenworld.analysis.behaviour import actions_over_time, activity, traits_by_behaviour
from tokenworld.analysis.economy import needs_and_resources, prices_and_trade
from tokenworld.analysis.figures import Section, fmt, skipped
from tokenworld.analysis.model_usage import ModelUsage, model_section, usage
from tokenworld.analysis.news import news_headline, news_section
from tokenworld.analysis.prices import load_prices
from tokenworld.analysis.render import Pages, duration, generated_line, write_html, write_markdown
from tokenworld.analysis.society import guess_convergence, social_network
from tokenworld.analysis.steering import checks as steering_checks
from tokenworld.analysis.steering import steering_section
from tokenworld.analysis.summary import run_figures
from tokenworld.errors import RunError
from tokenworld.sim.run_folder import RunFolder, make_folder

# (key, title) of every section, in report order; the plot functions return the same keys
SECTIONS = (
    ("actions", "Actions over time"),
    ("activity", "Activity per agent and per zone"),
    ("needs", "Needs and resources"),
    ("trade", "Prices and trade"),
    ("social", "Social network growth"),
    ("news", "How far news travels"),
    ("traits", "Personality and behaviour"),
    ("model", "Language-model usage"),
    ("guess", "Guess the average: convergence"),
    ("steering", "Trait steering"),
)


def analyze(
    run_folder: str | Path,
    *,
    out_dir: str | Path | None = None,
    prices_path: str | Path | None = None,
    baseline: str | Path | None = None,
) -> Path:
    """Write the report of a run: report.html, summary.md and one PNG per plot.

    Works on a run that is still being written (it reports the ticks committed
    so far and says the run is still going); a run with no tick yet gets a
    report that says so, without plots.

    Args:
        run_folder: a run folder written by ``tokenworld run`` (``runs/<name>``).
        out_dir: where the report goes (default: ``run_folder/report``); made if missing.
        prices_path: a TOML price table for the model cost estimate (see docs/analysis.md);
            default placeholder prices without it.
        baseline: a run folder of the same scene and seed without steering, for the Steering section.

    Returns:
        The path of report.html.

    Raises:
        RunError: the folder is missing, is not a run folder, or its store is damaged.
        PriceTableError: the price table is missing or invalid.
    """
    t0 = time.perf_counter()
    prices = load_prices(prices_path)  # a bad table fails before any work
    folder = Path(run_folder)
    base = RunFolder.open(baseline) if baseline is not None else None
    try:
        return _analyze(folder, out_dir, prices, base, t0)
    finally:
        if base is not None:
            base.close()


def _analyze(folder: Path, out_dir, prices, base: RunFolder | None, t0: float) -> Path:
    with RunFolder.open(folder, snapshot=True) as run:
        out = Path(out_dir) if out_dir is not None else folder / "report"
        make_folder(out, what="the report folder", option="--out")
        use = usage(run, prices) if run.last_tick else None
        sections = _sections(run, out, use, base)
        for s in sections:  # a plot left out now must not leave an older PNG behind
            if s.image is None:
                (out / f"{s.key}.png").unlink(missing_ok=True)
        title = f"Token World run {run.name}"
        subtitle = f"Scene {run.manifest.get('scene', run.scene.name)}: {run.scene.description}".rstrip(": ")
        pages = Pages(
            title=title,
            subtitle=subtitle,
            headline=headline(run, use),
            notices=steering_checks(run) + _notices(run),
            sections=sections,
            footer=generated_line(folder),
        )
        report = out / "report.html"
        try:
            write_html(report, pages)
            write_markdown(out / "summary.md", pages)
        except OSError as exc:
            raise RunError(
                f"cannot write the report into {out}: {exc.strerror}. Pass --out to a writable place."
            ) from None
    plots = sum(1 for s in sections if s.image)
    print(
        f"report: {report} ({plots} plots, {time.perf_counter() - t0:.1f} s); summary: {out / 'summary.md'}",
        file=sys.stderr,
    )
    return report


def _sections(run: RunFolder, out: Path, use: ModelUsage | None, base: RunFolder | None = None) -> list[Section]:
    """Every section in report order: a plot each, or why it is missing."""
    if run.last_tick == 0:
        why = "the run has no ticks committed yet." if run.running else "the run has no ticks."
        return [skipped(key, title, "", why) for key, title in SECTIONS]
    sections = [
        actions_over_time(run, out),
        activity(run, out),
        needs_and_resources(run, out),
        prices_and_trade(run, out),
        social_network(run, out),
        news_section(run, out),
        traits_by_behaviour(run, out),
        model_section(run, out, use),
        guess_convergence(run, out),
        steering_section(run, out, base),
    ]
    assert [s.key for s in sections] == [k for k, _ in SECTIONS]
    return sections


def _notices(run: RunFolder) -> list[str]:
    notices = []
    if run.running:
        notices.append(
            f"The run is still going: this report covers the {run.last_tick:,} ticks committed when it was made. "
            "Run `tokenworld analyze` again for the newer ones."
        )
    if run.last_tick == 0:
        notices.append(
            "No tick has been committed to this run yet, so there is nothing to plot."
            if run.running
            else "The run has no ticks (it asked for none, or stopped before its first), so there is nothing to plot."
        )
    return notices


def headline(run: RunFolder, use: ModelUsage | None) -> list[tuple[str, str]]:
    """The report's key figures as (label, value) pairs, in order."""
    m = run.manifest
    requested = m.get("ticks_requested")
    rows = [
        ("Run", f"{run.name} ({run.folder})"),
        ("Status", run.status),
        ("Agents", f"{run.n_agents:,}"),
        ("Ticks", f"{run.last_tick:,}" + (f" of {int(requested):,} asked for" if requested is not None else "")),
        ("Simulated time", f"{duration(run.sim_time)} (tick of {run.scene.sim.dt:g} s)"),
        ("Seed", str(m.get("seed", run.scene.sim.seed)) + ("" if m.get("seed_given", True) else " (drawn, not given)")),
        ("Minds", _minds(run)),
    ]
    if m.get("timings", {}).get("ticks_per_second"):
        rows.append(("Speed", f"{m['timings']['ticks_per_second']:g} ticks/s on {m.get('arch', '?')}"))
    if run.last_tick == 0:
        return rows
    f = run_figures(run)
    decisions, refused = f["decisions"], f["refused"]
    agents_deciding = run.scalar("SELECT count(DISTINCT agent) FROM decisions")
    rows += [
        (
            "Decisions",
            f"{decisions:,} ({fmt(f['decisions_per_agent'])} per agent; {agents_deciding:,} agents decided)",
        ),
        ("Refused actions", f"{refused:,}" + (f" ({refused / decisions:.1%} of decisions)" if decisions else "")),
        ("Trades", f"{f['trades']:,}"),
        ("Talks", f"{f['talks']:,}"),
        ("Ties at the end", fmt(f["ties"]) if f["ties"] is not None else "n/a"),
    ]
    news = news_headline(run)
    if news is not None:
        rows.append(news)
    if f["rounds"] is not None:
        rows.append(("Game rounds", f"{f['rounds']:,} (last average guess {fmt(f['last_average'])})"))
    if use is not None:
        cur = use.prices.currency
        rows += [
            ("Model decisions", f"{use.sources.get('model', 0):,} ({use.sources.get('fallback', 0):,} fallbacks)"),
            ("Tokens", f"{use.tokens_in:,} in, {use.tokens_out:,} out"),
            ("Cost per agent-hour", f"{fmt(use.cost_per_agent_hour)} {cur} (estimate at {use.prices.source})"),
        ]
    return rows


def _minds(run: RunFolder) -> str:
    """'model llama_cpp gemma3-270m; groups: farmers 8 (model), ...' (model groups say 'rules' when no model ran)."""
    sc = run.scene
    model = sc.mind.backend != "rules"
    groups = ", ".join(
        f"{g.name} {g.count:,} ({g.mind if g.mind != 'model' or model else 'rules brain'})" for g in sc.groups
    )
    return (
        f"model: {sc.mind.backend} {sc.mind.model}" if model else "rules brain (no language model)"
    ) + f"; groups: {groups}"
