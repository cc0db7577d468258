"""A run's key figures as numbers: the report's headline and the rows of a sweep's summary table read them here."""

from __future__ import annotations

import math

from tokenworld.analysis.model_usage import usage
from tokenworld.analysis.news import fact_reach
from tokenworld.analysis.prices import load_prices
from tokenworld.sim.run_folder import RunFolder

# (key, what it is) of every figure `run_figures` gives, in table order; None where a run has no such thing
FIGURES = (
    ("status", "how the run ended (finished, interrupted, failed, running)"),
    ("agents", "agents at the end"),
    ("ticks", "ticks committed"),
    ("sim_seconds", "simulated seconds"),
    ("run_seconds", "wall seconds the ticks took (building not counted)"),
    ("ticks_per_second", "ticks per wall second"),
    ("decisions", "decisions of every mind (model, plan steps, rules brain)"),
    ("decisions_per_agent", "decisions over agents"),
    ("refused", "actions the world refused"),
    ("trades", "trades"),
    ("talks", "conversations"),
    ("ties", "social ties at the end"),
    ("mean_hunger", "mean hunger at the end (0 fed, 1 starving)"),
    ("mean_energy", "mean energy at the end (1 rested)"),
    ("news_reach", "share of the agents the farthest-travelled news reached"),
    ("model_decisions", "decisions the language model made"),
    ("fallbacks", "model requests answered by the rules brain instead"),
    ("tokens_in", "prompt tokens evaluated"),
    ("tokens_out", "tokens generated"),
    ("rounds", "game rounds played"),
    ("last_average", "the last round's average guess"),
)
FIGURE_KEYS = tuple(k for k, _ in FIGURES)


def run_figures(run: RunFolder) -> dict[str, float | int | str | None]:
    """Every figure of FIGURES for `run` (None where the run has none: no model, no news, no game, no tick)."""
    m = run.manifest
    timings = m.get("timings") or {}
    figures: dict[str, float | int | str | None] = dict.fromkeys(FIGURE_KEYS)
    figures.update(
        status=str(m.get("status", "unknown")),
        agents=run.n_agents,
        ticks=run.last_tick,
        sim_seconds=round(run.sim_time, 3),
        run_seconds=timings.get("run_seconds"),
        ticks_per_second=timings.get("ticks_per_second"),
    )
    if run.last_tick == 0:
        return figures
    decisions = int(run.scalar("SELECT count(*) FROM decisions") or 0)
    trades, talks, ties, hunger, energy = run.q(
        "SELECT coalesce(sum(trades), 0), coalesce(sum(talks), 0), last.ties, last.mean_hunger, last.mean_energy "
        "FROM ticks, (SELECT ties, mean_hunger, mean_energy FROM ticks ORDER BY tick DESC LIMIT 1) AS last"
    )[0]
    figures.update(
        decisions=decisions,
        decisions_per_agent=round(decisions / max(run.n_agents, 1), 4),
        refused=int(run.scalar("SELECT count(*) FROM events WHERE ok = 0") or 0),
        trades=int(trades),
        talks=int(talks),
        ties=None if ties is None else int(ties),
        mean_hunger=_rounded(hunger),
        mean_energy=_rounded(energy),
    )
    facts = fact_reach(run)
    if facts:
        figures["news_reach"] = round(max(f.share for f in facts), 4)
    use = usage(run, load_prices(None))  # prices do not matter here: only counts are read
    if use is not None:
        figures.update(
            model_decisions=use.sources.get("model", 0),
            fallbacks=use.sources.get("fallback", 0),
            tokens_in=use.tokens_in,
            tokens_out=use.tokens_out,
        )
    if run.has_rows("rounds"):
        n, avg = run.q("SELECT count(*), (SELECT average FROM rounds ORDER BY round DESC LIMIT 1) FROM rounds")[0]
        figures.update(rounds=int(n), last_average=_rounded(avg))
    return figures


def _rounded(x) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), 4)
