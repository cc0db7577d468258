"""The society: social network growth, and the guess-the-average game's convergence."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tokenworld.analysis.figures import Section, empty_note, fmt, pyplot, save, skipped
from tokenworld.sim.run_folder import RunFolder


def social_network(run: RunFolder, out_dir: Path) -> Section:
    """Plot 5: ties, mean degree (every tick, from ticks) and clustering, communities (every snapshot, from social)."""
    key, title = "social", "Social network growth"
    about = (
        "Agents tie when they talk, trade or give. Ties and mean degree (ties per agent) come from every tick; "
        "clustering (how often two of an agent's ties are tied too) and communities (groups found by modularity) "
        "from the tie graph at every snapshot."
    )
    tick, ties, degree = run.columns(
        "SELECT tick, ties, mean_degree FROM ticks ORDER BY tick", dtypes=(np.int64, np.float64, np.float64)
    )
    has_social = run.has_rows("social")
    stick, edges, sdegree, clustering, communities = [np.zeros(0)] * 5
    if has_social:
        stick, edges, sdegree, clustering, communities = run.columns(
            "SELECT tick, edges, mean_degree, clustering, communities FROM social ORDER BY tick",
            dtypes=(np.int64, np.float64, np.float64, np.float64, np.float64),
        )
    any_ties = bool(np.nan_to_num(ties).any() or np.nan_to_num(edges).any())
    if not any_ties:
        why = "no ties between agents formed (agents tie by talking, trading and giving)"
        if not has_social:
            every = run.scene.store.snapshot_every
            why += "; no snapshots either" + (
                " ([store] snapshot_every = 0)" if not every else f" (the first is at tick {every:,})"
            )
        return skipped(key, title, about, why + ".")
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), layout="constrained", sharex=True)
    panels = (
        (axes[0, 0], "Ties", tick, ties, stick, edges),
        (axes[0, 1], "Mean degree", tick, degree, stick, sdegree),
        (axes[1, 0], "Clustering", None, None, stick, clustering),
        (axes[1, 1], "Communities", None, None, stick, communities),
    )
    for ax, name, t, every_tick, s, at_snapshot in panels:
        if t is not None and np.isfinite(every_tick).any():
            ax.plot(t, every_tick, color="C0", label="every tick")
        if len(s):
            ax.plot(s, at_snapshot, "o", color="C1", markersize=4, label="snapshots")
        elif t is None:
            empty_note(ax, "no snapshots ([store] snapshot_every)")
        ax.set_title(name)
        if len(s) and t is not None:
            ax.legend(frameon=False, fontsize="small")
    for ax in axes[1]:
        ax.set_xlabel("tick")
    notes = []
    last = np.flatnonzero(np.isfinite(ties))
    if len(last):
        i = last[-1]
        notes.append(f"At tick {int(tick[i]):,}: {fmt(ties[i])} ties, mean degree {fmt(degree[i])}.")
    if len(stick):
        notes.append(
            f"At the last snapshot (tick {int(stick[-1]):,}): clustering {fmt(clustering[-1])}, "
            f"{fmt(communities[-1])} communities."
        )
    return Section(key, title, about, save(fig, out_dir, key), notes=notes)


def guess_convergence(run: RunFolder, out_dir: Path) -> Section:
    """Plot 8: the guess-the-average game, round by round: average, target, winning guess and the spread of guesses."""
    key, title = "guess", "Guess the average: convergence"
    about = (
        "Every round each player guesses a number; the target is a fraction of the average guess and the closest "
        "guess wins. Players who reason about the others push the average down round after round, towards 0 "
        "(the game's equilibrium); the band shows where the middle 80% of the guesses fell. With several kinds of "
        "players (LLM, rules, random), each kind's average guess has its own line and the notes give each round's "
        "mean and median by kind and the winner's kind. For p = 2/3 in [0, 100] the star is human players' "
        "first-round mean, 36.7 (Nagel 1995), which fell over the four rounds of those experiments."
    )
    if not run.has_rows("rounds"):
        if run.scene.game.kind == "guess_average":
            return skipped(key, title, about, "no round has closed yet.")
        return skipped(key, title, about, "this scene plays no game ([game] kind is not guess_average).")
    rnd, rtick, average, target, winning, guesses, winner = run.columns(
        "SELECT round, tick, average, target, winning_guess, guesses, winner FROM rounds ORDER BY round",
        dtypes=(np.int64, np.int64, np.float64, np.float64, np.float64, np.int64, np.int64),
    )
    gtick, gagent, value, source = run.columns(
        "SELECT tick, agent, amount, source FROM decisions WHERE action = 'guess' AND tick <= ?",
        (int(rtick[-1]),),
        (np.int64, np.int64, np.float64, object),
    )
    which = np.searchsorted(rtick, gtick, side="left")  # a guess counts for the first round closing at or after it
    bands = np.full((len(rnd), 3), np.nan)
    for r in np.unique(which[which < len(rnd)]):  # one percentile call per round
        bands[r] = np.percentile(value[which == r], [10, 50, 90])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    if np.isfinite(bands).any():
        ax.fill_between(rnd, bands[:, 0], bands[:, 2], color="C0", alpha=0.15, label="guesses, 10th-90th percentile")
        ax.plot(rnd, bands[:, 1], ":", color="C0", label="median guess")
    ax.plot(rnd, average, "o-", color="C0", label="average guess")
    ax.plot(rnd, target, "s-", color="C3", label="target")
    ax.plot(rnd, winning, "^--", color="C2", label="winning guess")
    minds = _by_mind(which, source, value, len(rnd))
    if len(minds) > 1:  # several kinds of players: each kind's average guess
        for (mind, (mean, _)), color in zip(minds.items(), ("C1", "C4", "C5", "C7", "C8"), strict=False):
            ax.plot(rnd, mean, ".-", color=color, linewidth=1.0, label=f"average guess, {MIND_LABELS.get(mind, mind)}")
    if abs(run.scene.game.factor - 2 / 3) < 1e-3 and run.scene.game.max_value == 100:
        ax.plot([1], [NAGEL_ROUND1_MEAN], "*", color="k", markersize=11, label="humans, round 1 (Nagel 1995)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("round")
    ax.set_ylabel("value")
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(bands[:, 0])) if np.isfinite(bands).any() else 0.0))
    if len(rnd) <= 20:
        ax.set_xticks(rnd)
    outside = {"loc": "upper left", "bbox_to_anchor": (1.0, 1.0)} if len(minds) > 1 else {}  # many lines: beside
    ax.legend(frameon=False, fontsize="small", **outside)
    ax.set_title(title)
    notes = [
        (
            f"{len(rnd):,} rounds of {fmt(float(np.median(guesses)))} guesses: the average went from {fmt(average[0])} "
            f"(round {int(rnd[0])}) to {fmt(average[-1])} (round {int(rnd[-1])}); the last target was "
            f"{fmt(target[-1])} and the winning guess {fmt(winning[-1])}."
        )
    ]
    winner_mind = [_mind_of(int(w), int(t), gtick, gagent, source) for w, t in zip(winner, rtick, strict=True)]
    for r in range(len(rnd)):
        parts = [
            f"{MIND_LABELS.get(m, m)} mean {fmt(mean[r])}, median {fmt(median[r])}"
            for m, (mean, median) in minds.items()
            if np.isfinite(mean[r])
        ]
        notes.append(
            f"Round {int(rnd[r])}: target {fmt(target[r])}; winner {int(winner[r])} ({winner_mind[r]}); "
            + "; ".join(parts)
            + "."
        )
    return Section(key, title, about, save(fig, out_dir, key), notes=notes)


NAGEL_ROUND1_MEAN = 36.7  # humans' first-round mean with p = 2/3 in [0, 100] (Nagel, AER 85(5), 1995)
MIND_LABELS = {"model": "LLM", "fallback": "LLM (rules fallback)", "rules": "rules", "random": "random"}


def _by_mind(which: np.ndarray, source: np.ndarray, value: np.ndarray, rounds: int) -> dict[str, tuple]:
    """Per kind of player (decision source), the mean and median guess of every round (NaN where none)."""
    out = {}
    for mind in sorted(set(source.tolist()), key=lambda m: list(MIND_LABELS).index(m) if m in MIND_LABELS else 9):
        mean, median = np.full(rounds, np.nan), np.full(rounds, np.nan)
        for r in np.unique(which[(source == mind) & (which < rounds)]):  # one call per round and mind
            v = value[(which == r) & (source == mind)]
            mean[r], median[r] = v.mean(), np.median(v)
        out[mind] = (mean, median)
    return out


def _mind_of(agent: int, tick: int, gtick: np.ndarray, gagent: np.ndarray, source: np.ndarray) -> str:
    """Which kind of player the agent was when it guessed at `tick`."""
    hit = np.flatnonzero((gtick == tick) & (gagent == agent))
    return MIND_LABELS.get(str(source[hit[0]]), str(source[hit[0]])) if len(hit) else "?"
