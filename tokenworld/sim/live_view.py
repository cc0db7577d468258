"""The live terminal view of a headless run (`tokenworld run ... --live`).

A header of figures (tick, sim clock, ticks/s, agents, decisions/s, the model's
queue, latency, tokens and fallbacks) over a scrolling feed of notable events
and conversations. The view reads a `Simulation` and the `TickResult`s it gives;
the simulation never knows about it.

On a terminal it redraws in place a few times a second with `rich.live.Live`.
When the console is not a terminal (a pipe or a log file) or is a dumb one,
redrawing in place would write nothing useful until the end, so the view writes
plain lines instead: one at the start saying so, a status line and the feed
lines that are new every `log_every` seconds, and a final summary.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import numpy as np

from tokenworld.mind.personas import agent_name, trait_words
from tokenworld.sim.frames import event_text
from tokenworld.world.actions import ACTION_INDEX, ACTIONS, done_text
from tokenworld.world.decisions import REASONS, Events

if TYPE_CHECKING:
    from rich.console import Console

    from tokenworld.sim.simulation import Simulation, TickResult

# What the feed shows, most notable first; other actions (moves, rest, eat, guesses) and refusals are left out.
FEED_ACTIONS = ("talk", "trade", "give", "build", "craft", "gather")
_NOT_SHOWN = 99
FEED_RANK = np.full(len(ACTIONS), _NOT_SHOWN, np.int16)
FEED_RANK[[ACTION_INDEX[a] for a in FEED_ACTIONS]] = np.arange(len(FEED_ACTIONS))
_TALK = 0


@dataclass(frozen=True)
class LiveLine:
    """One line of the live feed: who did what where, and the agent's strongest traits."""

    tick: int
    agent: int  # -1: the world (a game round)
    zone: str
    text: str  # 'said to Ben: "Hello"', 'gathered 2 wood', 'round 3: average ...'
    tags: tuple[str, ...] = ()

    def plain(self) -> str:
        """'tick 195  Ada (farm) said to Ben: "Fair trades ..."  [curious, quiet]'."""
        who = f"{agent_name(self.agent)} ({self.zone}) " if self.agent >= 0 else ""
        tags = f"  [{', '.join(self.tags)}]" if self.tags else ""
        return f"tick {self.tick}  {who}{self.text}{tags}"


def pick_notable(e: Events, k: int, tick: int) -> np.ndarray:
    """Indices of at most `k` notable events of `e` that went ahead, without a Python loop over them.

    Talks take at most half of the places when other notable events compete for
    them; the rest go by `FEED_ACTIONS` order. Within an action, a hash of agent
    and tick picks who, so the feed does not always show the lowest ids.
    """
    rank = FEED_RANK[e.action]
    idx = np.flatnonzero((e.reason == 0) & (rank < _NOT_SHOWN))
    if len(idx) <= k:
        return idx[np.argsort(rank[idx], kind="stable")]
    mix = _mix(e.agent[idx], tick)
    talk = rank[idx] == _TALK
    n_other = int((~talk).sum())
    n_talk = min(int(talk.sum()), max(k - n_other, (k + 1) // 2))
    talks = idx[talk][np.argsort(mix[talk], kind="stable")[:n_talk]]
    others = idx[~talk][np.lexsort((mix[~talk], rank[idx][~talk]))[: k - n_talk]]
    return np.concatenate([talks, others])


def _mix(agent: np.ndarray, tick: int) -> np.ndarray:
    """A hash of (agent, tick) that orders agents differently every tick (uint64 arithmetic wraps, on purpose)."""
    x = agent.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(tick * 0x632BE5AB % 2**64)
    x ^= x >> np.uint64(29)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    return x ^ (x >> np.uint64(32))


def clock(seconds: float) -> str:
    """Simulated seconds as h:mm:ss."""
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class LiveView:
    """A live display of a running simulation: figures in a header and a feed of notable events.

    Use it around `Simulation.run`, feeding it every tick's result:

        with LiveView(sim, total=600, console=console) as view:
            sim.run(600 - sim.tick, on_tick=view.update)

    Args:
        sim: a built `Simulation`; the view reads its scene, agents' traits and tick.
        total: the tick the run goes to (for "tick 120 / 600").
        console: a rich `Console` to draw on (default: standard error). A console
            that is not a terminal gets plain lines (see the module docstring).
        refresh_per_second: redraws per second on a terminal (not one per tick).
        log_every: seconds between plain status lines when not on a terminal.
        feed_lines: most lines the feed keeps and shows.
        per_tick: most feed lines taken from one tick.
    """

    def __init__(
        self,
        sim: Simulation,
        *,
        total: int,
        console: Console | None = None,
        refresh_per_second: float = 4.0,
        log_every: float = 10.0,
        feed_lines: int = 15,
        per_tick: int = 3,
    ):
        from rich.console import Console

        if not sim.built:
            from tokenworld.errors import TokenWorldError

            raise TokenWorldError("Simulation is not built. Call `sim.build()` before making a LiveView.")
        self.sim = sim
        self.total = int(total)
        self.console = console if console is not None else Console(stderr=True)
        self.interactive = self.console.is_terminal and not self.console.is_dumb_terminal
        self.per_tick = per_tick
        self.lines: collections.deque[LiveLine] = collections.deque(maxlen=feed_lines)
        self._zones = [z.name for z in sim.scene.zones]
        self._traits = sim.world.agents.traits
        self._dt = sim.scene.sim.dt
        self.tick = sim.tick
        self.inference: dict | None = None
        self._decisions = 0  # applied since the view started, every source
        self._lines_added = 0
        self._lines_logged = 0
        self._draw_every = 1.0 / refresh_per_second
        self._log_every = log_every
        self._samples: collections.deque = collections.deque(maxlen=max(2, int(2.0 * refresh_per_second) + 1))
        self._live = None
        self._t0 = time.perf_counter()
        self._next_draw = self._t0
        self._next_log = self._t0 + log_every

    # ------------------------------------------------------------------ life

    def start(self) -> LiveView:
        """Start drawing (on a terminal) or say that plain lines will follow (otherwise)."""
        self._t0 = time.perf_counter()
        self._samples.append((self._t0, self.tick, self._decisions))
        if self.interactive:
            from rich.live import Live

            self._live = Live(self, console=self.console, auto_refresh=False, transient=False)
            self._live.start(refresh=True)
        else:
            self._print(
                f"live view: the output is not a terminal, so a status line every {self._log_every:g} s "
                "and a summary at the end"
            )
        self._next_draw = self._t0 + self._draw_every
        self._next_log = self._t0 + self._log_every
        return self

    def stop(self) -> None:
        """Draw the last state and leave it on screen (terminal), or print a final summary (plain)."""
        self._sample(time.perf_counter())
        if self._live is not None:
            self._live.stop()  # draws the final state once more
            self._live = None
        else:
            self._print(f"final: {self.status()}")
            for line in self._unlogged(len(self.lines)):
                self._print(f"  {line.plain()}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ per tick

    def update(self, r: TickResult) -> None:
        """Take one tick's result: counts and at most `per_tick` feed lines; redraw or log when due."""
        self.tick = r.tick
        if r.decisions is not None:
            self._decisions += len(r.decisions)
        if r.inference is not None:
            self.inference = r.inference
        budget = self.per_tick
        for ev in r.events:
            if budget <= 0:
                break
            for i in pick_notable(ev, budget, r.tick).tolist():
                self._add(self._event_line(ev, i))
                budget -= 1
        g = r.game_round
        if g is not None:
            text = f"round {g.round}: average {g.average:.2f}, target {g.target:.2f}, {g.winners} winner(s)"
            self._add(LiveLine(r.tick, -1, "", text))
        now = time.perf_counter()
        if now >= self._next_draw:
            self._next_draw = now + self._draw_every
            self._sample(now)
            if self._live is not None:
                self._live.refresh()
        if self._live is None and now >= self._next_log:
            self._next_log = now + self._log_every
            self._log()

    def _event_line(self, e: Events, i: int) -> LiveLine:
        agent, zone, other = int(e.agent[i]), int(e.zone[i]), int(e.other[i])
        action = ACTIONS[int(e.action[i])].name
        if action == "talk":
            to = agent_name(other) if other >= 0 else "everyone near"
            text = done_text("talk", partner=to, text=str(e.text[i]))
        else:
            item = int(e.item[i])
            text = event_text(action, 1, REASONS[0], other, item if item >= 0 else None, float(e.amount[i]))
        zone_name = self._zones[zone] if 0 <= zone < len(self._zones) else "outside"
        tags = tuple(trait_words(self._traits[agent])[:2]) if 0 <= agent < len(self._traits) else ()
        return LiveLine(int(e.tick), agent, zone_name, text, tags)

    def _add(self, line: LiveLine) -> None:
        self.lines.append(line)
        self._lines_added += 1

    def _sample(self, now: float) -> None:
        self._samples.append((now, self.tick, self._decisions))

    # ------------------------------------------------------------------ figures

    def rates(self) -> tuple[float, float]:
        """Ticks/s and decisions/s (every source) over the last two seconds or so."""
        if not self._samples:
            return 0.0, 0.0
        t0, k0, d0 = self._samples[0]
        span = time.perf_counter() - t0
        return ((self.tick - k0) / span, (self._decisions - d0) / span) if span > 0 else (0.0, 0.0)

    def figures(self) -> dict:
        """What the header shows, as numbers (model figures None without a model)."""
        tps, dps = self.rates()
        inf = self.inference or {}
        return {
            "scene": self.sim.scene.name,
            "tick": self.tick,
            "total": self.total,
            "clock": clock(self.tick * self._dt),
            "ticks_per_s": tps,
            "agents": self.sim.n_agents,
            "decisions_per_s": dps,
            "model_decisions_per_s": inf.get("decisions_per_s"),
            "queue_depth": inf.get("queue_depth"),
            "latency_p50_ms": inf.get("latency_p50_ms"),
            "latency_p95_ms": inf.get("latency_p95_ms"),
            "tokens_in": inf.get("tokens_in"),
            "tokens_out": inf.get("tokens_out"),
            "fallbacks": inf.get("fallbacks"),
            "cache_hits": inf.get("cache_hits"),
            "backend": inf.get("backend"),
            "model_share": inf.get("model_share"),
            "wait_p50_ms": inf.get("wait_p50_ms"),
            "wait_p95_ms": inf.get("wait_p95_ms"),
        }

    @staticmethod
    def _model_parts(f: dict) -> list[str]:
        """The model's figures as short phrases (one without a model)."""
        if f["model_decisions_per_s"] is None:
            return ["model: none (rules brain)"]
        return [
            f"model {f['model_decisions_per_s']:.1f} decisions/s ({f['backend']})",
            f"queue {f['queue_depth']}",
            f"latency p50 {f['latency_p50_ms']:.0f} ms, p95 {f['latency_p95_ms']:.0f} ms",
            f"model made {100 * (f['model_share'] or 0):.0f}% of decisions, wait p50 {f['wait_p50_ms'] or 0:.0f} ms, "
            f"p95 {f['wait_p95_ms'] or 0:.0f} ms",
            f"tokens {f['tokens_in']:,} in, {f['tokens_out']:,} out",
            f"fallbacks {f['fallbacks']:,}",
            f"cache hits {f['cache_hits']:,}",
        ]

    def status(self) -> str:
        """The header as one plain line."""
        f = self.figures()
        parts = [
            f"{f['scene']}: tick {f['tick']:,} / {f['total']:,}",
            f"clock {f['clock']}",
            f"{f['ticks_per_s']:.1f} ticks/s",
            f"{f['agents']:,} agents",
            f"decisions {f['decisions_per_s']:.1f}/s (all sources)",
            *self._model_parts(f),
        ]
        return " | ".join(parts)

    # ------------------------------------------------------------------ drawing

    def __rich__(self):
        return self.render()

    def render(self):
        """The header panel over the feed panel, as one rich renderable."""
        from rich.console import Group
        from rich.panel import Panel
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        f = self.figures()
        model = self._model_parts(f)
        done = f"{100 * f['tick'] / f['total']:.0f}%" if f["total"] else ""
        top = Table.grid(padding=(0, 2), expand=True)
        top.add_column(no_wrap=True)
        top.add_column(ratio=1)
        top.add_row(
            Text.assemble(("tick ", "dim"), (f"{f['tick']:,}", "bold"), f" / {f['total']:,}  {done}"),
            ProgressBar(total=max(f["total"], 1), completed=min(f["tick"], f["total"])),
        )
        rates = Text.assemble(
            ("clock ", "dim"),
            (f["clock"], "bold"),
            "   ",
            (f"{f['ticks_per_s']:.1f}", "bold"),
            " ticks/s   ",
            (f"{f['agents']:,}", "bold"),
            " agents   decisions ",
            (f"{f['decisions_per_s']:.1f}", "bold"),
            "/s (all sources)",
        )
        head = Group(top, rates, *(Text("   ".join(p), style="cyan") for p in (model[:3], model[3:]) if p))
        feed = Table(box=None, padding=(0, 1), expand=True, header_style="dim", show_edge=False)
        feed.add_column("tick", justify="right", style="dim", no_wrap=True)
        feed.add_column("agent", style="bold", no_wrap=True)
        feed.add_column("zone", style="green", no_wrap=True)
        feed.add_column("what", ratio=1, no_wrap=True, overflow="ellipsis")
        feed.add_column("traits", style="magenta", no_wrap=True, max_width=32, overflow="ellipsis")
        room = max(3, min(self.lines.maxlen or 15, self.console.size.height - 11))
        for line in list(self.lines)[-room:]:
            feed.add_row(
                Text(str(line.tick)),
                Text(agent_name(line.agent) if line.agent >= 0 else ""),
                Text(line.zone),
                Text(line.text),
                Text(f"[{', '.join(line.tags)}]" if line.tags else ""),
            )
        if not self.lines:
            feed.add_row(Text(""), Text(""), Text(""), Text("nothing notable yet", style="dim"), Text(""))
        return Group(
            Panel(head, title=Text(f["scene"], style="bold"), title_align="left"),
            Panel(feed, title="events and conversations", title_align="left"),
        )

    def _print(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def _log(self) -> None:
        self._print(self.status())
        for line in self._unlogged(5):
            self._print(f"  {line.plain()}")

    def _unlogged(self, most: int) -> list[LiveLine]:
        """The newest feed lines not printed yet (at most `most`); later ones count as printed."""
        new = min(self._lines_added - self._lines_logged, most, len(self.lines))
        self._lines_logged = self._lines_added
        return list(self.lines)[len(self.lines) - new :] if new > 0 else []
