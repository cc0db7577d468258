"""How far news travels: the facts the Narrator told, and who heard them, first from the Narrator, then retold.

A fact is a distinct line the Narrator said (speaker -1 in the run store's
``messages``: a message to one agent, or an announcement to a zone, stored as
``"[zone] text"``; the ``[zone]`` prefix is stripped, so one text announced in
two zones is one fact). A listener is reached by a fact at the first tick it
hears a line that carries the fact, from the tick the Narrator first told it
on:

- the Narrator's line itself, or
- any line whose content words cover at least `COVER` (half) of the fact's
  content words. Content words are the lower-case words of `MIN_LETTERS` (4) or
  more letters, minus a short list of function words (`STOP_WORDS`); words the
  line adds do not count against it ("I heard the mayor hid gold under the
  oak" carries "The mayor hid a chest of gold coins under the old oak tree").

Only listeners count (saying a fact does not reach the speaker), and only
agents of the run (ids below its agent count). The share is of the run's whole
population, and the project's goal is `GOAL_SHARE` (30%) of the village within
`GOAL_TICKS` (600) ticks of the fact being told.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenworld.analysis.figures import Section, fmt, pyplot, save, skipped
from tokenworld.mind.memory import COVER, MIN_LETTERS, content_words
from tokenworld.mind.personas import NARRATOR, agent_name
from tokenworld.sim.run_folder import RunFolder

GOAL_SHARE = 0.30  # the project's goal: a fact reaches this share of the village ...
GOAL_TICKS = 600  # ... within this many ticks of being told
TOP_FACTS = 5  # facts plotted and described, by reach
RETELLINGS_SHOWN = 3  # retellings quoted per fact
_ZONE_PREFIX = re.compile(r"^\[([^\]]+)\] ")


@dataclass(frozen=True)
class FactReach:
    """Who heard one fact, and when.

    Attributes:
        text: the fact, as the Narrator said it (without an announcement's zone prefix).
        zones: the zones it was announced in (empty: only told to agents one by one).
        told: (k, 2) int64, the Narrator's tellings: tick, listener; in tick order.
        first_tick: per agent id (the run's population), the first tick it heard the fact; -1 never.
        retold: lines said by agents (not the Narrator) that carry the fact.
        retellings: the first RETELLINGS_SHOWN of them: (tick, speaker, listener, text).
    """

    text: str
    zones: tuple[str, ...]
    told: np.ndarray
    first_tick: np.ndarray
    retold: int
    retellings: tuple[tuple[int, int, int, str], ...]

    @property
    def told_tick(self) -> int:
        """The tick the Narrator first told it."""
        return int(self.told[0, 0])

    @property
    def population(self) -> int:
        return len(self.first_tick)

    @property
    def reached(self) -> int:
        """Agents that heard it (so far)."""
        return int((self.first_tick >= 0).sum())

    @property
    def share(self) -> float:
        """`reached` over the population."""
        return self.reached / max(self.population, 1)

    def reached_within(self, ticks: int) -> int:
        """Agents that heard it within `ticks` ticks of its first telling."""
        return int(((self.first_tick >= 0) & (self.first_tick - self.told_tick <= ticks)).sum())

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(ticks, reached): the cumulative count of agents reached at each tick someone was first reached."""
        ticks, new = np.unique(self.first_tick[self.first_tick >= 0], return_counts=True)
        return ticks, np.cumsum(new)

    def ticks_to(self, share: float) -> int | None:
        """Ticks after its first telling until it had reached `share` of the population (None: not yet)."""
        ticks, reached = self.curve()
        hit = np.flatnonzero(reached >= share * self.population)
        return int(ticks[hit[0]]) - self.told_tick if len(hit) else None


def fact_reach(run: RunFolder) -> list[FactReach]:
    """Every fact the Narrator told in `run`, in the order first told, with who heard it when (see the module doc)."""
    if "messages" not in run.tables:
        return []
    told_rows = run.q("SELECT tick, listener, text FROM messages WHERE speaker = ? ORDER BY tick, rowid", (NARRATOR,))
    if not told_rows:
        return []
    zone_names = set(run.zone_names)
    facts: dict[str, list] = {}  # text -> [zones, tellings]
    for tick, listener, text in told_rows:  # the Narrator's lines only: a handful
        fact, zone = _strip_zone(text, zone_names)
        entry = facts.setdefault(fact, [[], []])
        if zone is not None and zone not in entry[0]:
            entry[0].append(zone)
        entry[1].append((tick, listener))
    start = min(t[0][0] for _, t in facts.values())
    tick, speaker, listener, text = run.columns(
        "SELECT tick, speaker, listener, text FROM messages WHERE tick >= ? AND listener >= 0 AND listener < ? "
        "ORDER BY tick, rowid",
        (start, run.n_agents),
        (np.int64, np.int64, np.int64, object),
    )
    narrator = speaker == NARRATOR
    text[narrator] = [_strip_zone(t, zone_names)[0] for t in text[narrator]]
    lines, code = np.unique(text.astype(str), return_inverse=True)
    line_words = [content_words(line) for line in lines]  # once per distinct line, not per row
    out = []
    for fact, (zones, tellings) in facts.items():
        told = np.array(tellings, np.int64)
        want = content_words(fact)
        need = COVER * len(want)
        carrying = np.array(
            [
                line == fact or (bool(want) and len(want & w) >= need)
                for line, w in zip(lines, line_words, strict=False)
            ],
            bool,
        )
        rows = np.flatnonzero(carrying[code] & (tick >= told[0, 0]))
        first = np.full(run.n_agents, -1, np.int64)
        heard, at = np.unique(listener[rows], return_index=True)  # rows are in tick order: the first is the earliest
        first[heard] = tick[rows[at]]
        retold = rows[~narrator[rows]]
        shown = tuple(
            (int(tick[r]), int(speaker[r]), int(listener[r]), str(text[r])) for r in retold[:RETELLINGS_SHOWN]
        )
        out.append(FactReach(fact, tuple(zones), told, first, len(retold), shown))
    return out


def _strip_zone(text: str, zone_names: set[str]) -> tuple[str, str | None]:
    """(fact, zone): an announcement's '[zone] ' prefix taken off (only for zones of the run)."""
    m = _ZONE_PREFIX.match(text)
    if m and m.group(1) in zone_names:
        return text[m.end() :], m.group(1)
    return text, None


# ------------------------------------------------------------------ the report


def news_section(run: RunFolder, out_dir: Path) -> Section:
    """Plot: the share of the village each fact reached, against ticks since it was told, with the goal line."""
    key, title = "news", "How far news travels"
    about = (
        f"Each line is a fact the Narrator told (a message or an announcement): the share of the village that had "
        f"heard it, from the Narrator or retold by others, against the ticks since it was first told. A line carries "
        f"a fact when it holds at least {COVER:.0%} of the fact's content words (words of {MIN_LETTERS}+ letters). "
        f"The dashed line is the goal: {GOAL_SHARE:.0%} of the village within {GOAL_TICKS:,} ticks."
    )
    facts = fact_reach(run)
    if not facts:
        return skipped(
            key,
            title,
            about,
            (
                "the Narrator told nothing in this run (send a message to an agent or announce an event in a zone, "
                "from the viewer, with `Simulation.send_message` / `Simulation.announce`, or as `[[tell]]` lines in "
                "the scene, as `scenes/village_news.toml` does)."
            ),
        )
    top = sorted(facts, key=lambda f: (-f.reached, f.told_tick))[:TOP_FACTS]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    span = 0
    for i, f in enumerate(top):
        ticks, reached = f.curve()
        end = run.last_tick - f.told_tick
        x = np.concatenate([[0], ticks - f.told_tick, [end]])
        y = 100.0 * np.concatenate([[0], reached, reached[-1:] if len(reached) else [0]]) / max(run.n_agents, 1)
        ax.step(x, y, where="post", color=f"C{i}", label=f"{_short(f.text, 40)} (tick {f.told_tick:,})")
        span = max(span, end)
    goal = f"goal: {GOAL_SHARE:.0%} within {GOAL_TICKS:,} ticks"
    ax.axhline(100 * GOAL_SHARE, color="grey", linestyle="--", linewidth=1, label=goal)
    if span >= GOAL_TICKS:
        ax.axvline(GOAL_TICKS, color="grey", linestyle=":", linewidth=1)
    ax.set_xlim(0, max(span, 1))
    ax.set_ylim(0, 100)
    ax.set_xlabel("ticks since the fact was first told")
    ax.set_ylabel(f"share of the {run.n_agents:,} agents that heard it (%)")
    ax.legend(frameon=False, fontsize="small", loc="upper left")
    ax.set_title(title)
    notes = [_overview(facts, run)]
    for f in top:
        notes += [_fact_note(f), _retellings_note(f)]
    return Section(key, title, about, save(fig, out_dir, key), notes=notes)


def news_headline(run: RunFolder) -> tuple[str, str] | None:
    """The headline row for news, or None when the Narrator told nothing."""
    facts = fact_reach(run)
    return ("News reach", _overview(facts, run)) if facts else None


def _overview(facts: list[FactReach], run: RunFolder) -> str:
    """'2 facts told; the farthest reached 9 of 25 agents (36%) within 600 ticks of being told (goal 30%).'"""
    best = max(facts, key=lambda f: (f.reached_within(GOAL_TICKS), -f.told_tick))
    n = best.reached_within(GOAL_TICKS)
    seen = run.last_tick - best.told_tick
    short = f"; the run ends {seen:,} ticks after it was told" if seen < GOAL_TICKS else ""
    return (
        f"{len(facts):,} fact{'s' if len(facts) != 1 else ''} told by the Narrator; the farthest, "
        f"\u201c{_short(best.text)}\u201d, reached {n:,} of {run.n_agents:,} agents ({n / max(run.n_agents, 1):.0%}) "
        f"within {GOAL_TICKS:,} ticks of being told (goal {GOAL_SHARE:.0%}{short})."
    )


def _fact_note(f: FactReach) -> str:
    """Told to whom and when, reach so far, and whether (when) it met the goal."""
    listeners = np.unique(f.told[:, 1])
    more = f" and {len(listeners) - 5:,} more" if len(listeners) > 5 else ""
    who = ", ".join(_name(a) for a in listeners[:5]) + more
    how = f"announced in {', '.join(f.zones)} to" if f.zones else "told to"
    ticks, reached = f.curve()
    goal = f.ticks_to(GOAL_SHARE)
    if goal is None:
        met = f"{GOAL_SHARE:.0%} ({int(np.ceil(GOAL_SHARE * f.population)):,} agents) not reached"
    else:
        met = f"{GOAL_SHARE:.0%} reached " + (f"{goal:,} ticks after it was told" if goal else "by the telling itself")
    by = f" by tick {int(ticks[-1]):,}" if len(ticks) else ""
    return (
        f"\u201c{_short(f.text)}\u201d: {how} {who} at tick {f.told_tick:,}; reached {_agents(f.reached)} "
        f"({fmt(100 * f.share)}%){by}; {met}."
    )


def _retellings_note(f: FactReach) -> str:
    if not f.retold:
        return f"\u201c{_short(f.text, 40)}\u201d was not retold."
    lines = "; ".join(
        f"tick {t:,}, {_name(s)} -> {_name(li)}: \u201c{_short(text)}\u201d" for t, s, li, text in f.retellings
    )
    said = f"{f.retold:,} line{'s' if f.retold != 1 else ''}"
    return f"\u201c{_short(f.text, 40)}\u201d was retold in {said}; first: {lines}."


def _agents(n: int) -> str:
    return f"{n:,} agent{'s' if n != 1 else ''}"


def _name(agent: int) -> str:
    return f"{agent_name(int(agent))} ({int(agent)})"


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"
