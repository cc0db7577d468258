"""What agents did: actions over time, activity per agent and per zone, and behaviour by personality trait."""

from __future__ import annotations

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
from tokenworld.scene.schema import TRAITS
from tokenworld.sim.run_folder import RunFolder
from tokenworld.world.actions import ACTIONS

ACTION_NAMES = tuple(a.name for a in ACTIONS)
ACTION_COLORS = {name: f"C{i % 10}" for i, name in enumerate(ACTION_NAMES)}


def _actions_present(run: RunFolder) -> list[str]:
    """Actions that appear in the decisions, in the action table's order (unknown names last)."""
    names = {r[0] for r in run.q("SELECT DISTINCT action FROM decisions")}
    return [a for a in ACTION_NAMES if a in names] + sorted(names - set(ACTION_NAMES))


def actions_over_time(run: RunFolder, out_dir: Path) -> Section:
    """Plot 1: decisions per action per tick window, stacked."""
    key, title = "actions", "Actions over time"
    window = window_size(run.last_tick)
    about = (
        f"Decisions applied {per_window(window)}, stacked by action: what the population spends its time on "
        "and how that changes as the run goes."
    )
    actions = _actions_present(run)
    if not actions:
        return skipped(key, title, about, "no decisions recorded yet.")
    w, action, n = run.columns(
        "SELECT (tick - 1) / ?, action, count(*) FROM decisions WHERE tick >= 1 GROUP BY 1, 2",
        (window,),
        (np.int64, object, np.int64),
    )
    starts = window_starts(run.last_tick, window)
    counts = np.zeros((len(actions), len(starts)), np.int64)
    col = {a: i for i, a in enumerate(actions)}
    rows = np.array([col[a] for a in action], np.int64)  # one entry per (window, action) group, not per decision
    np.add.at(counts, (rows, np.clip(w, 0, len(starts) - 1)), n)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    ax.stackplot(starts, counts, labels=actions, colors=[ACTION_COLORS.get(a, "grey") for a in actions], step=None)
    ax.set_xlabel("tick")
    ax.set_ylabel(f"decisions {per_window(window)}")
    ax.set_xlim(starts[0], max(starts[-1], starts[0] + 1))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    ax.set_title(title)
    totals = counts.sum(axis=1)
    share = totals / max(int(totals.sum()), 1)
    order = np.argsort(-totals)
    notes = ["Shares of all decisions: " + ", ".join(f"{actions[i]} {share[i]:.0%}" for i in order) + "."]
    return Section(key, title, about, save(fig, out_dir, key), notes=notes)


def activity(run: RunFolder, out_dir: Path) -> Section:
    """Plot 2: decisions per agent (histogram), events per zone (bars by kind) and mean agents per zone."""
    key, title = "activity", "Activity per agent and per zone"
    about = (
        "Left: how many decisions each agent made (a long tail means a few agents do most of the acting). "
        "Middle: notable events (gathering, talks, trades, crafts, builds, refusals) per zone. "
        "Right: agents present per zone, averaged over the ticks."
    )
    agent, per_agent = run.columns("SELECT agent, count(*) FROM decisions GROUP BY agent", dtypes=(np.int64, np.int64))
    zone, kind, ok, n = run.columns(
        "SELECT coalesce(zone, -1), kind, ok, count(*) FROM events GROUP BY 1, 2, 3",
        dtypes=(np.int64, object, np.int64, np.int64),
    )
    has_counts = "zone_counts" in run.tables
    czone, cmean = (
        run.columns("SELECT zone, avg(agents) FROM zone_counts GROUP BY zone", dtypes=(np.int64, np.float64))
        if has_counts
        else (np.zeros(0, np.int64), np.zeros(0))
    )
    if not len(agent) and not len(zone) and not len(czone):
        return skipped(key, title, about, "no decisions, events or zone counts recorded yet.")
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    counts = np.zeros(max(run.n_agents, int(agent.max(initial=-1)) + 1), np.int64)
    counts[agent] = per_agent
    ax = axes[0]
    top = int(counts.max(initial=0))
    bins = np.arange(top + 2) - 0.5 if top < 40 else 40  # whole numbers of decisions while they are few
    ax.hist(counts, bins=bins, color="C0")
    ax.set_xlabel("decisions per agent")
    ax.set_ylabel("agents")
    ax.set_title("Decisions per agent")

    names = [*run.zone_names, "outside zones"]
    zi = np.where((zone >= 0) & (zone < len(run.zone_names)), zone, len(run.zone_names))
    label = np.where(ok == 1, kind, "refused")
    labels = list(dict.fromkeys(label.tolist()))
    table = np.zeros((len(labels), len(names)), np.int64)
    np.add.at(table, (np.array([labels.index(x) for x in label], np.int64), zi), n)
    used = np.flatnonzero(table.sum(axis=0) > 0) if len(zone) else np.zeros(0, np.int64)
    ax = axes[1]
    if len(used):
        bottom = np.zeros(len(used))
        for i, lab in enumerate(labels):
            color = "lightgrey" if lab == "refused" else ACTION_COLORS.get(lab, f"C{i % 10}")
            ax.bar(np.arange(len(used)), table[i, used], bottom=bottom, label=lab, color=color)
            bottom += table[i, used]
        ax.set_xticks(np.arange(len(used)), [names[u] for u in used], rotation=35, ha="right")
        ax.legend(fontsize="small", frameon=False)
    else:
        empty_note(ax, "no events recorded")
    ax.set_ylabel("events")
    ax.set_title("Events per zone")

    ax = axes[2]
    if len(czone):
        ok_zone = (czone >= 0) & (czone < len(run.zone_names))
        ax.bar(np.arange(int(ok_zone.sum())), cmean[ok_zone], color="C2")
        ax.set_xticks(
            np.arange(int(ok_zone.sum())), [run.zone_names[z] for z in czone[ok_zone]], rotation=35, ha="right"
        )
    else:
        empty_note(ax, "no zone counts recorded")
    ax.set_ylabel("agents (mean over ticks)")
    ax.set_title("Agents present per zone")
    notes = []
    if counts.size:
        notes.append(
            f"Decisions per agent: median {fmt(float(np.median(counts)))}, max {fmt(int(counts.max()))}; "
            f"{int((counts == 0).sum()):,} of {counts.size:,} agents made none."
        )
    if len(used):
        busiest = used[np.argmax(table[:, used].sum(axis=0))]
        notes.append(f"Busiest zone by events: {names[busiest]} ({int(table[:, busiest].sum()):,} events).")
    return Section(key, title, about, save(fig, out_dir, key), notes=notes)


def decisions_per_agent(run: RunFolder, actions: list[str], n_agents: int, source: str | None = None) -> np.ndarray:
    """int64 (n_agents, len(actions)): each agent's decisions of each action (actions not listed are left out), of
    one source only (model, plan, rules, ...) when `source` is given."""
    where, params = ("WHERE source = ?", (source,)) if source else ("", ())
    agent, action, n = run.columns(
        f"SELECT agent, action, count(*) FROM decisions {where} GROUP BY 1, 2", params, (np.int64, object, np.int64)
    )
    col = {a: i for i, a in enumerate(actions)}
    keep = (agent >= 0) & (agent < n_agents) & np.isin(action.astype(str), actions)
    per_agent = np.zeros((n_agents, len(actions)), np.int64)
    names, inverse = np.unique(action[keep].astype(str), return_inverse=True)  # one lookup per action name, not per row
    column = np.array([col[a] for a in names], np.int64)[inverse]
    np.add.at(per_agent, (agent[keep], column), n[keep])
    return per_agent


def traits_by_behaviour(run: RunFolder, out_dir: Path) -> Section:
    """Plot 6: share of each trait group's decisions that are each action (rows: trait high/low at 0.5)."""
    key, title = "traits", "Personality and behaviour"
    about = (
        "Each row is the agents with one Big Five trait high (>= 0.5) or low; each cell is the share of that group's "
        "decisions that were the column's action. Rows that differ within a trait mean that personality changes "
        "behaviour."
    )
    actions = _actions_present(run)
    if not actions:
        return skipped(key, title, about, "no decisions recorded yet.")
    if len(actions) == 1:
        return skipped(key, title, about, f"every decision was `{actions[0]}`: there is no mix of actions to compare.")
    traits = run.agents.traits
    per_agent = decisions_per_agent(run, actions, len(traits))
    high = traits >= 0.5  # (n, 5)
    groups = np.empty((2 * len(TRAITS), len(traits)), bool)  # rows: trait 0 high, trait 0 low, trait 1 high, ...
    groups[0::2], groups[1::2] = high.T, ~high.T
    sums = groups.astype(np.int64) @ per_agent  # (10, actions): decisions per group and action
    totals = sums.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(totals > 0, sums / np.maximum(totals, 1), np.nan)
    sizes = groups.sum(axis=1)
    labels = [f"{t} {'high' if h == 0 else 'low'} ({sizes[2 * i + h]:,})" for i, t in enumerate(TRAITS) for h in (0, 1)]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(actions) + 4, 5.6), layout="constrained")
    masked = np.ma.masked_invalid(share)
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgrey")
    im = ax.imshow(
        masked,
        cmap=cmap,
        vmin=0.0,
        vmax=max(float(np.nanmax(share)) if np.isfinite(share).any() else 1.0, 1e-9),
        aspect="auto",
    )
    for (r, c), v in np.ndenumerate(share):
        ax.text(
            c,
            r,
            "-" if not np.isfinite(v) else f"{v:.0%}",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if np.isfinite(v) and v < 0.6 * float(np.nanmax(share)) else "black",
        )
    ax.set_xticks(np.arange(len(actions)), actions, rotation=35, ha="right")
    ax.set_yticks(np.arange(len(labels)), labels)
    for r in range(1, len(TRAITS)):
        ax.axhline(2 * r - 0.5, color="white", linewidth=2)
    fig.colorbar(im, ax=ax, label="share of the group's decisions")
    ax.set_title(title + " (agents per group in brackets)")
    gap = np.abs(share[0::2] - share[1::2])  # (5, actions)
    notes = []
    if np.isfinite(gap).any() and np.nanmax(gap) > 0:
        t, a = np.unravel_index(np.nanargmax(gap), gap.shape)
        notes.append(
            f"Largest difference: {actions[a]} is {share[2 * t, a]:.0%} of the decisions of agents high in {TRAITS[t]} "
            f"and {share[2 * t + 1, a]:.0%} of those low in it."
        )
    empty = [TRAITS[i] for i in range(len(TRAITS)) if min(sizes[2 * i], sizes[2 * i + 1]) == 0]
    if empty:
        notes.append(f"Every agent falls on one side of 0.5 for {', '.join(empty)}: those rows cannot be compared.")
    return Section(key, title, about, save(fig, out_dir, key), notes=notes)
