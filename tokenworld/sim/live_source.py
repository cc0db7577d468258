"""A simulation stepping in its own thread, publishing frames the viewer reads.

The viewer never touches the simulation: it reads the latest published `Frame`,
feed lines, plot series and the card of the agent it inspects, and sends
commands (play, pause, step, speed, interventions) through a queue the sim
thread drains between ticks. Rendering therefore never waits for a tick or for
the language model; the simulation runs in realtime clock mode, so ticks never
wait for the model either.

A synchronous source (`synchronous=True`, for recordings) has no thread: it
runs the lockstep clock, and each `advance(seconds)` steps the ticks due in
those seconds in the caller's thread, so a recording never depends on the
wall clock.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from tokenworld.errors import RunError, SceneError, TokenWorldError
from tokenworld.mind.personas import NARRATOR
from tokenworld.scene.schema import ITEMS, Scene
from tokenworld.sim.cards import AgentCard
from tokenworld.sim.frames import (
    BUSY,
    IDLE,
    SERIES,
    STATE_NAMES,
    TALKING,
    WALKING,
    FeedLine,
    Frame,
    describe,
    event_text,
)
from tokenworld.sim.live_edit import LiveChange, plan_live_change, rebase
from tokenworld.sim.recording import Recording
from tokenworld.world.looks import carried_items

TALK_SHOW_TICKS = 6  # an agent counts as talking this many ticks after a line
MAX_LINES = 2000
MAX_POINTS = 4000


class LiveSource:
    """Runs `scene` in a background thread at `speed` times real time and publishes what the viewer shows.

    Args:
        scene: a validated scene (run with the realtime clock whatever it says).
        seed, arch: as for `Simulation`.
        speed: simulated seconds per wall second (0 = as fast as it goes).
        playing: start playing at once.
        synchronous: no thread and the lockstep clock: `start` builds in the caller's thread and `advance(s)`
            steps the ticks due in `s` seconds of the source's own clock (`now`), publishing frames stamped
            with that clock (a recorder's fixed step per frame; never the wall clock).
    """

    live = True  # a FrameSource that can be changed (interventions), not sought

    def __init__(
        self,
        scene: Scene,
        *,
        seed: int | None = None,
        arch: str | None = None,
        speed: float = 4.0,
        playing: bool = True,
        synchronous: bool = False,
    ):
        import dataclasses
        import os

        from tokenworld.sim.simulation import Simulation

        given = scene
        if scene.mind.threads == 0 and (os.cpu_count() or 1) > 1 and not synchronous:  # leave a core for drawing
            scene = dataclasses.replace(scene, mind=dataclasses.replace(scene.mind, threads=(os.cpu_count() or 2) - 1))
        self.scene = scene
        self._given_scene = given  # the scene as given (an editor's), before this source's own settings
        self._wanted_scene = scene  # the scene the last edit asked for (the simulation takes it between ticks)
        self.synchronous = synchronous
        self.now = 0.0  # synchronous: the source's clock, seconds of `advance`; frames are stamped with it
        self._next_due = 0.0  # synchronous: when the next tick is due on that clock
        clock = "lockstep" if synchronous else "realtime"
        self.sim = Simulation(scene, seed=seed, arch=arch, profile=False, clock=clock)
        self.recording: Recording | None = None  # see `record_into`
        self.speed = float(speed)
        self.playing = playing
        self.status = "building"  # building | running | paused | finished | failed
        self.error: str | None = None
        self.frame: Frame | None = None
        self.card: AgentCard | None = None  # the inspected agent's card, refreshed by the sim thread
        self.inference: dict | None = None
        self.tick_ms = 0.0
        self.ticks_per_s = 0.0
        self.lines: collections.deque[FeedLine] = collections.deque(maxlen=MAX_LINES)
        self._series: dict[str, collections.deque] = {}
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._inspect: int | None = None
        self._steps_wanted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="tokenworld-sim", daemon=True)
        self._last_spoke: np.ndarray | None = None
        self._prev_pos: np.ndarray | None = None
        self._tick_times: collections.deque[float] = collections.deque(maxlen=32)
        self._said: dict[int, tuple[int, str]] = {}  # speaker -> (tick, latest line)
        self._tokens_seen: tuple[float, int] | None = None  # (wall, tokens in + out) for tokens/s
        self.traits: np.ndarray | None = None  # (n, 5), set once built (trait colouring)
        self.archetype: np.ndarray | None = None
        self.arch: str | None = None

    # ------------------------------------------------------------ viewer side

    @property
    def n_agents(self) -> int:
        return self.scene.agent_count

    @property
    def ready(self) -> bool:
        return self.frame is not None

    @property
    def tick_range(self) -> tuple[int, int]:
        t = self.frame.tick if self.frame is not None else 0
        return 0, t

    @property
    def folder(self) -> Path | None:
        """The run folder the run is recorded into, or None."""
        return self.recording.folder if self.recording is not None else None

    def record_into(self, runs_dir: str | Path = "runs", name: str | None = None) -> Path:
        """Record every tick into a new run folder (so the run can be replayed later); call before `start`.

        Call `sim.preflight()` first, so that a missing GPU or model fails before any folder is made.
        Returns the folder.
        """
        if self._thread.is_alive():
            raise TokenWorldError("record_into must be called before start(): the run is already going.")
        self.recording = Recording.create(
            self.sim, runs_dir=runs_dir, name=name, ticks=self.scene.sim.ticks, recorded_by="viewer"
        )
        return self.recording.folder

    def start(self) -> LiveSource:
        """Start the sim thread (synchronous: build the world here and publish the first frame)."""
        if self.synchronous:
            try:
                self._begin()
            except BaseException:
                self.status = "failed"
                self._end()
                raise
            return self
        self._thread.start()
        return self

    def advance(self, wall_seconds: float) -> None:
        """Threaded: nothing to move (the simulation thread publishes frames as it goes).

        Synchronous: move the source's clock on by `wall_seconds` and step, here, every tick due by then
        (one every `dt / speed` seconds), each frame stamped with the time it was due.
        """
        if not self.synchronous or self.status in ("failed", "stopped", "building"):
            return
        self.now += wall_seconds
        self._drain_commands()
        interval = self.scene.sim.dt / self.speed if self.speed > 0 else 0.0
        stepped = 0
        while self._steps_wanted > 0 or (self.playing and self.sim.tick < self.scene.sim.ticks):
            if self._steps_wanted == 0 and (self._next_due > self.now + 1e-9 or (interval <= 0 and stepped)):
                break  # the next tick is not due yet (speed 0: one tick an advance)
            stepped += 1
            due = self._next_due
            self._step_and_publish(interval, wall=due)
            self._next_due = due + interval if self._steps_wanted == 0 and interval > 0 else self.now
        if self.sim.tick >= self.scene.sim.ticks:
            self.status = "finished"
        else:
            self.status = "running" if self.playing else "paused"

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Block until the first frame is published (the scene is built), or raise what failed."""
        t_end = time.perf_counter() + timeout
        while self.frame is None and self.status != "failed" and time.perf_counter() < t_end:
            time.sleep(0.02)
        if self.status == "failed":
            raise TokenWorldError(self.error or "the simulation failed to start.")

    def set_playing(self, playing: bool) -> None:
        self._commands.put(("play", bool(playing)))

    def step_once(self, n: int = 1) -> None:
        self._commands.put(("step", int(n)))

    def set_speed(self, speed: float) -> None:
        self._commands.put(("speed", max(0.0, float(speed))))

    def inspect(self, agent: int | None) -> None:
        """Ask for `agent`'s card (in `card`) after every tick; None stops (and clears it)."""
        self._inspect = agent
        if agent is None:
            self.card = None
        self._commands.put(("card", None))

    def set_focus(self, agents: np.ndarray | None) -> None:
        """Agents on screen: their model requests go first (see Simulation.set_focus)."""
        self._commands.put(("focus", agents))

    def send_message(self, agent: int, text: str) -> None:
        self._commands.put(("message", (int(agent), text)))

    def announce(self, zone: int, text: str) -> None:
        self._commands.put(("announce", (int(zone), text)))

    def apply_scene(self, scene: Scene, label: str = "", *, before: Scene | None = None) -> LiveChange:
        """Edit the running scene (the viewer's Edit mode): returns what applies live and what needs a restart.

        Only what changed from `before` (the scene `scene` was edited from; default: the last scene given here,
        or the one this source started with) is made to the running scene, so settings this run made its own
        stay. The simulation takes the edit at its next tick boundary, even while paused; `scene` and the next
        frame show it, and a recorded run stores it with that tick (a replay shows it there, a resume makes it
        again).
        """
        before = before if before is not None else self._given_scene
        try:
            wanted = rebase(self._wanted_scene, before, scene)
        except SceneError as exc:
            return LiveChange(self._wanted_scene, [], [f"the edit only fits a restarted world ({exc})"])
        change = plan_live_change(self._wanted_scene, wanted)
        self._given_scene, self._wanted_scene = scene, change.scene
        if change.any:
            self._commands.put(("edit", (change.scene, label)))
        return change

    def last_said(self) -> dict[int, str]:
        """Agent -> the line it said, for agents who spoke within the last few ticks."""
        tick = self.frame.tick if self.frame is not None else 0
        return {a: text for a, (t, text) in list(self._said.items()) if tick - t <= TALK_SHOW_TICKS}

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(ticks, values) per series name, for the Plots panel."""
        out = {}
        for name, points in list(self._series.items()):
            arr = np.array(points, np.float64).reshape(-1, 2)
            out[name] = (arr[:, 0].copy(), arr[:, 1].copy())
        return out

    def recent_lines(
        self, limit: int = 200, *, agent: int | None = None, zone: int | None = None, kinds: set[str] | None = None
    ) -> list[FeedLine]:
        """The newest feed lines (newest last), filtered by agent, zone and kind."""
        out = []
        for line in reversed(list(self.lines)):
            if agent is not None and agent not in (line.agent, line.other):
                continue
            if zone is not None and line.zone != zone:
                continue
            if kinds is not None and line.kind not in kinds:
                continue
            out.append(line)
            if len(out) >= limit:
                break
        return out[::-1]

    def close(self, timeout: float = 30.0) -> None:
        """Stop the sim thread, finish the run store and release the simulation."""
        if self.synchronous:
            if not self._stop.is_set():
                self._stop.set()
                if self.status not in ("failed", "finished"):
                    self.status = "stopped"
                self._end()
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ------------------------------------------------------------ sim thread

    def _main(self) -> None:
        sim = self.sim
        try:
            self._begin()
            self._loop()
            if self.status != "failed":
                self.status = "finished" if sim.tick >= self.scene.sim.ticks else "stopped"
        except Exception as exc:  # shown in the Simulation panel and printed on exit
            self.status = "failed"
            self.error = f"{type(exc).__name__}: {exc}"
            self._trace = traceback.format_exc()
        finally:
            self._end()

    def _begin(self) -> None:
        """Build the world and publish the first frame."""
        sim = self.sim
        sim.build()
        self.traits, self.archetype, self.arch = sim.world.agents.traits, sim.world.agents.archetype, sim.arch
        if sim.worker is not None and not self.synchronous:
            sim.worker.lower_priority()  # frames first: the model computes with the CPU time they leave
        if self.recording is not None:
            self.recording.started()
        self._last_spoke = np.full(sim.n_agents, -(10**9), np.int64)
        self._publish(None, wall=self.now if self.synchronous else None)
        self.status = "running" if self.playing else "paused"

    def _end(self) -> None:
        """Finish the run store (if recording) and release the simulation."""
        try:
            if self.recording is not None:
                self.recording.finish(self.status if self.status in ("failed", "finished") else "stopped")
        except RunError as exc:
            self.status, self.error = "failed", str(exc)
        finally:
            self.sim.close()

    def _loop(self) -> None:
        sim = self.sim
        next_due = time.perf_counter()
        while not self._stop.is_set():
            self._drain_commands()
            due = self._steps_wanted > 0 or (self.playing and sim.tick < self.scene.sim.ticks)
            if not due:
                self.status = "paused" if sim.tick < self.scene.sim.ticks else "finished"
                if self._inspect is not None:
                    self.card = self._card(self._inspect)
                self._stop.wait(0.05)
                next_due = time.perf_counter()
                continue
            self.status = "running" if self.playing else "stepping"
            interval = self.scene.sim.dt / self.speed if self.speed > 0 else 0.0
            wait = next_due - time.perf_counter()
            if wait > 0 and self._steps_wanted == 0:
                self._stop.wait(min(wait, 0.05))
                continue
            t0 = time.perf_counter()
            self._step_and_publish(interval)
            next_due = max(next_due + interval, t0) if interval > 0 else t0

    def _step_and_publish(self, interval: float, *, wall: float | None = None) -> None:
        """One tick: step, record, publish its frame (`wall`: the frame's time stamp; None: now, threaded)."""
        t0 = time.perf_counter()
        result = self.sim.step()
        if self.recording is not None:
            self.recording.record(result)
        self.tick_ms = (time.perf_counter() - t0) * 1000.0
        self._steps_wanted = max(0, self._steps_wanted - 1)
        interval = interval if wall is not None else max(interval, self.tick_ms / 1000.0)
        self._publish(result, interval=interval, wall=wall)

    def _drain_commands(self) -> None:
        sim = self.sim
        while True:
            try:
                kind, arg = self._commands.get_nowait()
            except queue.Empty:
                return
            if kind == "play":
                self.playing = arg
            elif kind == "step":
                self.playing = False
                self._steps_wanted += arg
            elif kind == "speed":
                self.speed = arg
            elif kind == "card" and self._inspect is not None:
                self.card = self._card(self._inspect)
            elif kind == "focus" and sim.uses_model:
                sim.set_focus(arg)
            elif kind == "message":
                agent, text = arg
                sim.send_message(agent, text)
                self._line(sim.tick, "intervention", NARRATOR, agent, -1, " ".join(text.split()))
            elif kind == "edit":
                self._edit(*arg)
            elif kind == "announce":
                zone, text = arg
                n = sim.announce(zone, text)
                self._line(
                    sim.tick,
                    "intervention",
                    NARRATOR,
                    -1,
                    zone,
                    f"[{self.scene.zones[zone].name}] {' '.join(text.split())} ({n} hear it)",
                )

    def _edit(self, scene: Scene, label: str) -> None:
        """Apply a live edit between ticks and show it at once (a new frame, a line in the feed)."""
        sim = self.sim
        n_before = sim.n_agents
        change = sim.apply_scene(scene, label)
        if not change.any:
            return
        self.scene = sim.scene
        if sim.n_agents > n_before:
            from tokenworld.world.agents import grown

            self._last_spoke = grown(self._last_spoke, sim.n_agents, -(10**9))
            self._prev_pos = None
            self.traits, self.archetype = sim.world.agents.traits, sim.world.agents.archetype
        self._line(sim.tick, "edit", -1, -1, -1, label or change.message())
        self._publish(None, wall=self.now if self.synchronous else None)

    def _publish(self, result, interval: float = 0.0, *, wall: float | None = None) -> None:
        sim, w = self.sim, self.sim.world
        snap = w.engine.snapshot(("pos", "heading", "zone"))
        tick = sim.tick
        if result is not None:
            self._note(result)
        state = np.full(sim.n_agents, IDLE, np.int8)
        state[w.busy_until > tick] = BUSY
        state[w.walking] = WALKING
        state[tick - self._last_spoke <= TALK_SHOW_TICKS] = TALKING
        prev = self._prev_pos if self._prev_pos is not None else snap["pos"]
        self._prev_pos = snap["pos"]
        now = time.perf_counter()
        self._tick_times.append(now)
        if len(self._tick_times) > 1:
            span = self._tick_times[-1] - self._tick_times[0]
            self.ticks_per_s = (len(self._tick_times) - 1) / span if span > 0 else 0.0
        self.frame = Frame(
            tick=tick,
            sim_time=sim.sim_time,
            pos=snap["pos"],
            prev_pos=prev,
            heading=snap["heading"],
            state=state,
            zone=snap["zone"],
            entity_pos=w.entity_pos.copy(),
            entity_radius=w.entity_radius.copy(),
            entity_kind=list(w.entity_kind),
            entity_name=list(w.entity_name),
            wall=now if wall is None else wall,
            interval=interval,
            entity_look=list(w.entity_look),
            entity_stock=w.economy.entity_stock(len(w.entity_pos)),
            zone_stock=w.economy.zone_stock(),
            carry=carried_items(w.economy.inventory, w.carrying),
        )
        if self._inspect is not None:
            self.card = self._card(self._inspect)

    def _note(self, r) -> None:
        """Feed lines and plot points from one tick's result."""
        from tokenworld.sim.records import event_rows

        tick = r.tick
        if r.messages:
            speakers = np.fromiter((m[1] for m in r.messages), np.int64, len(r.messages))
            listeners = np.fromiter((m[2] for m in r.messages), np.int64, len(r.messages))
            self._last_spoke[speakers[speakers >= 0]] = tick
            self._last_spoke[listeners] = tick
            zones = self.frame.zone if self.frame is not None else None
            for _, s, a, text in r.messages[:64]:
                if s < 0:
                    continue  # interventions were logged when sent
                self._said[s] = (tick, text)
                z = int(zones[s]) if zones is not None else -1
                self._line(tick, "talk", s, a, z, text)
        for ev in r.events:
            for row in list(event_rows(ev))[:64]:
                _, agent, action, ok, reason, zone, other, item, amount, text = row
                kind = action if ok else "refused"
                if action == "talk" and ok:
                    continue  # the message line says it
                self._line(
                    tick,
                    kind,
                    agent,
                    other,
                    zone if zone is not None else -1,
                    event_text(action, ok, reason, other, item, amount),
                )
        if r.game_round is not None:
            g = r.game_round
            self._line(
                tick,
                "round",
                -2,
                g.winner,
                -1,
                f"round {g.round}: average {g.average:.2f}, target {g.target:.2f}, {g.winners} winner(s)",
            )
        m = r.metrics
        if m is not None:
            for key in SERIES:
                if key in m:
                    self._point(key, tick, m[key])
            for item, total in zip(ITEMS, m.get("item_totals", []), strict=False):
                self._point(f"total_{item}", tick, total)
            for item, price in (m.get("prices") or {}).items():
                self._point(f"price_{item}", tick, price)
        inf = r.inference
        if inf is not None:
            self.inference = inf
            for key in ("decisions_per_s", "latency_p50_ms", "latency_p95_ms", "queue_depth"):
                if inf.get(key) is not None:
                    self._point(key, tick, inf[key])
            now, tokens = time.perf_counter(), inf.get("tokens_in", 0) + inf.get("tokens_out", 0)
            if self._tokens_seen is None or now - self._tokens_seen[0] >= 1.0:
                if self._tokens_seen is not None:
                    self._point("tokens_per_s", tick, (tokens - self._tokens_seen[1]) / (now - self._tokens_seen[0]))
                self._tokens_seen = (now, tokens)

    def _point(self, name: str, tick: int, value) -> None:
        self._series.setdefault(name, collections.deque(maxlen=MAX_POINTS)).append((tick, float(value)))

    def _line(self, tick, kind, agent, other, zone, text) -> None:
        self.lines.append(
            FeedLine(int(tick), kind, int(agent), int(other if other is not None else -1), int(zone), text)
        )

    def _card(self, agent: int):
        """What the Inspector shows about `agent`, read in the sim thread (so never mid-tick)."""
        frame = self.frame
        state = STATE_NAMES[int(frame.state[agent])] if frame is not None and 0 <= agent < frame.n else None
        recent = [f"tick {line.tick}: {describe(line)}" for line in self.recent_lines(5, agent=agent)]
        return self.sim.agent_card(agent, state=state, recent=recent)
