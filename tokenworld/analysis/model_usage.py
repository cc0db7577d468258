"""Language-model usage: decisions/s, tokens, latency, cache hits, fallbacks, and a cost estimate per agent-hour.

Per-decision figures come from the ``decisions`` table (source ``model``:
tokens in/out and latency per answer; ``fallback``: the rules brain answered
because the model failed). Totals that only the inference worker knows
(reflections, cache hits, prompt tokens saved by the shared prefix) are in the
manifest's ``inference`` entry, written when the run ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenworld.analysis.figures import (
    Section,
    empty_note,
    fmt,
    per_window,
    pyplot,
    save,
    skipped,
    window_size,
    window_starts,
)
from tokenworld.analysis.prices import Prices
from tokenworld.sim.run_folder import RunFolder

SOURCE_COLORS = {"model": "C0", "plan": "C9", "fallback": "C3", "rules": "C7", "random": "C8"}


@dataclass
class ModelUsage:
    """What the model did in a run, and what it would cost at a price table.

    Attributes:
        sources: decisions per source ('model', 'plan', 'fallback', 'rules', 'random').
        tokens_in, tokens_out: tokens for the whole run (manifest totals when the run ended, else the decisions' sums).
        tokens_from: where the token totals come from, in words.
        agents: model-driven agents.
        agent_hours: model-driven agents x simulated hours.
        cost: `tokens_in` and `tokens_out` at `prices`.
        prices: the price table used.
        inference: the manifest's `inference` entry ({} while the run goes).
    """

    sources: dict[str, int]
    tokens_in: int
    tokens_out: int
    tokens_from: str
    agents: int
    agent_hours: float
    cost: float
    prices: Prices
    inference: dict

    @property
    def cost_per_agent_hour(self) -> float:
        return self.cost / self.agent_hours if self.agent_hours > 0 else float("nan")


def usage(run: RunFolder, prices: Prices) -> ModelUsage | None:
    """The run's model usage, or None when no language model took part (no model decisions, no inference stats)."""
    sources = dict(run.q("SELECT source, count(*) FROM decisions GROUP BY source"))
    inference = run.manifest.get("inference") or {}
    if not sources.get("model") and not inference:
        return None
    if inference:
        t_in, t_out = int(inference.get("tokens_in", 0)), int(inference.get("tokens_out", 0))
        tokens_from = "the manifest's totals (decisions and reflections)"
    else:
        t_in, t_out = (
            int(v or 0)
            for v in run.q("SELECT sum(tokens_in), sum(tokens_out) FROM decisions WHERE source = 'model'")[0]
        )
        tokens_from = "the decisions so far (reflections are counted when the run ends)"
    agents = int(run.agents.model.sum())
    hours = agents * run.sim_time / 3600.0
    return ModelUsage(sources, t_in, t_out, tokens_from, agents, hours, prices.cost(t_in, t_out), prices, inference)


def model_section(run: RunFolder, out_dir: Path, use: ModelUsage | None) -> Section:
    """Plot 7: model decisions/s (wall clock), tokens per window, latency distribution, where decisions came from."""
    key, title = "model", "Language-model usage"
    window = window_size(run.last_tick)
    about = (
        "Top left: model answers per wall-clock second, per stretch of the run and on average so far (wall time "
        f"is the sum of the ticks' step times). Top right: prompt and generated tokens of those answers "
        f"{per_window(window)}. Bottom left: how long an answer took. Bottom right: where the decisions came "
        "from (model answers, steps of a plan the model chose, rules-brain fallbacks when the model failed)."
    )
    if use is None:
        uses = run.scene.uses_model
        why = (
            "the model has made no decision yet."
            if uses
            else "no language model in this run (rules, random or scripted minds only)."
        )
        return skipped(key, title, about, why)
    w, t_in, t_out = run.columns(
        "SELECT (tick - 1) / ?, sum(tokens_in), sum(tokens_out) FROM decisions "
        "WHERE source = 'model' AND tick >= 1 GROUP BY 1",
        (window,),
        (np.int64, np.float64, np.float64),
    )
    (latency,) = run.columns(
        "SELECT latency_ms FROM decisions WHERE source = 'model' AND latency_ms > 0", dtypes=(np.float64,)
    )
    starts = window_starts(run.last_tick, window)
    tokens = np.zeros((2, len(starts)))
    np.add.at(tokens, (slice(None), np.clip(w, 0, len(starts) - 1)), np.nan_to_num(np.stack([t_in, t_out])))
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), layout="constrained")
    _rate_panel(run, axes[0, 0])
    ax = axes[0, 1]
    ax.bar(starts, tokens[0], width=window * 0.9, align="edge", color="C0", label="tokens in (prompt)")
    ax.bar(
        starts,
        tokens[1],
        width=window * 0.9,
        align="edge",
        bottom=tokens[0],
        color="C1",
        label="tokens out (generated)",
    )
    ax.set_xlabel("tick")
    ax.set_ylabel(f"tokens {per_window(window)}")
    ax.legend(frameon=False, fontsize="small")
    ax.set_title("Tokens of model decisions")
    ax = axes[1, 0]
    if len(latency):
        ax.hist(latency, bins=min(40, max(5, len(latency) // 3)), color="C2")
        for q, style in ((50, "-"), (95, "--")):
            ax.axvline(
                np.percentile(latency, q),
                color="black",
                linestyle=style,
                linewidth=1,
                label=f"p{q} {np.percentile(latency, q):,.0f} ms",
            )
        ax.legend(frameon=False, fontsize="small")
    else:
        empty_note(ax, "no latencies recorded")
    ax.set_xlabel("latency per answer (ms)")
    ax.set_ylabel("answers")
    ax.set_title("Latency")
    ax = axes[1, 1]
    names = sorted(use.sources, key=lambda s: -use.sources[s])
    ax.bar(names, [use.sources[s] for s in names], color=[SOURCE_COLORS.get(s, "grey") for s in names])
    ax.set_ylim(0, 1.6 * max(use.sources.values(), default=1))  # room for the worker's figures
    inf = use.inference
    if inf:
        text = "\n".join(
            f"{label}: {int(inf.get(k, 0)):,}"
            for label, k in (
                ("requests", "requests"),
                ("cache hits", "cache_hits"),
                ("fallbacks", "fallbacks"),
                ("backend errors", "backend_errors"),
                ("reflections", "reflections"),
                ("prefill saved", "prefill_saved"),
            )
        )
        ax.text(
            0.98,
            0.97,
            text,
            ha="right",
            va="top",
            transform=ax.transAxes,
            fontsize="small",
            family="monospace",
            bbox={"facecolor": "white", "edgecolor": "lightgrey"},
        )
    ax.set_ylabel("decisions")
    ax.set_title("Where decisions came from")
    return Section(key, title, about, save(fig, out_dir, key), notes=usage_notes(use, latency))


def _rate_panel(run: RunFolder, ax) -> None:
    """Model decisions per wall-clock second: per stretch of wall time (bars) and on average so far (line).

    Wall time is the sum of the ticks' step times (a lockstep tick includes its wait for the model).
    """
    tick, step_ms = (
        run.columns("SELECT tick, step_ms FROM timings WHERE tick >= 1 ORDER BY tick", dtypes=(np.int64, np.float64))
        if "timings" in run.tables
        else (np.zeros(0, np.int64), np.zeros(0))
    )
    dtick, n = run.columns(
        "SELECT tick, count(*) FROM decisions WHERE source = 'model' GROUP BY tick", dtypes=(np.int64, np.float64)
    )
    ax.set_title("Model decisions per second (wall clock)")
    if not len(tick) or not len(dtick):
        ax.text(
            0.5,
            0.5,
            "no step timings recorded" if not len(tick) else "no model decisions yet",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        return
    wall = np.cumsum(np.nan_to_num(step_ms)) / 1000.0  # seconds since the first tick, at each tick's end
    per_tick = np.zeros(len(tick))
    np.add.at(per_tick, np.clip(np.searchsorted(tick, dtick), 0, len(tick) - 1), n)  # decisions landing at each tick
    bins = np.linspace(0.0, max(float(wall[-1]), 1e-9), 31)
    counts, _ = np.histogram(wall, bins, weights=per_tick)
    width = bins[1] - bins[0]
    ax.bar(
        bins[:-1],
        counts / width,
        width=width * 0.9,
        align="edge",
        color="C0",
        alpha=0.4,
        label=f"per {width:.3g} s of wall time",
    )
    so_far = np.divide(np.cumsum(per_tick), wall, out=np.full(len(wall), np.nan), where=wall > 0)
    ax.plot(wall, so_far, color="C0", label=f"average so far ({so_far[-1]:.3g}/s at the end)")
    ax.legend(frameon=False, fontsize="small")
    ax.set_xlabel("wall-clock seconds since the first tick")
    ax.set_ylabel("decisions per second")


def usage_notes(use: ModelUsage, latency: np.ndarray) -> list[str]:
    """The section's figures in words: counts, cache and fallbacks, tokens and the cost estimate."""
    inf, p, cur = use.inference, use.prices, use.prices.currency
    notes = [
        (
            f"{use.sources.get('model', 0):,} model decisions, {use.sources.get('plan', 0):,} plan steps and "
            f"{use.sources.get('fallback', 0):,} rules-brain fallbacks in the decisions table."
        )
    ]
    if inf:
        notes.append(
            f"Inference worker ({inf.get('backend', '?')}): {int(inf.get('requests', 0)):,} requests, "
            f"{int(inf.get('cache_hits', 0)):,} answered from the cache, "
            f"{int(inf.get('fallbacks', 0)):,} fell back to the rules brain, "
            f"{int(inf.get('reflections', 0)):,} reflections."
            + (f" Last error: {inf['last_error']}" if inf.get("last_error") else "")
        )
    else:
        notes.append("Cache hits, reflections and the worker's totals are written to the manifest when the run ends.")
    if len(latency):
        notes.append(
            f"Latency per answer: median {np.median(latency):,.0f} ms, p95 {np.percentile(latency, 95):,.0f} ms."
        )
    notes.append(f"Tokens: {use.tokens_in:,} in, {use.tokens_out:,} out (from {use.tokens_from}).")
    notes.append(
        f"Cost estimate: {use.cost:.4g} {cur} at {p.input_per_million:g} {cur} per million tokens in and "
        f"{p.output_per_million:g} out ({p.source}); {use.agents:,} model-driven agents over {use.agent_hours:.3g} "
        f"agent-hours of simulated time: {fmt(use.cost_per_agent_hour, 3)} {cur} per agent-hour."
    )
    return notes
