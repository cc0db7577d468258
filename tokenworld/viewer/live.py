"""A simulation stepping in its own thread, publishing frames the viewer reads.

The viewer never touches the simulation: it reads the latest published `Frame`,
feed lines, plot series and the card of the agent it inspects, and sends
commands (play, pause, step, speed, interventions) through a queue the sim
thread drains between ticks. Rendering therefore never waits for a tick or for
the language model; the simulation runs in realtime clock mode, so ticks never
wait for the model either.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
import traceback

import numpy as np

from tokenworld.mind.personas import NARRATOR
from tokenworld.scene.schema import ITEMS, TRAITS, Scene
from tokenworld.viewer.feed import (
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

TALK_SHOW_TICKS = 6  # an agent counts as talking this many ticks after a line
MAX_LINES = 2000
MAX_POINTS = 4000


class LiveFeed:
    """Runs `scene` in a background thread at `speed` times real time and publishes what the viewer shows.

    Args:
        scene: a validated scene (run with the realtime clock whatever it says).
        seed, arch: as for `Simulation`.
        store: a `RunStore` whose writer process is started (`start_writer()`,
            in the thread that created it), to record every tick into so the
            run can be replayed later; or None to record nothing.
        speed: simulated seconds per wall second (0 = as fast as it goes).
        playing: start playing at once.
    """

    def __init__(self, scene: Scene, *, seed: int | None = None, arch: str | None = None, store=None,
                 speed: float = 4.0, playing: bool = True):  # fmt: skip
        import dataclasses
        import os

        from tokenworld.sim.simulation import Simulation

        if scene.mind.threads == 0 and (os.cpu_count() or 1) > 1:  # leave a core for drawing
            scene = dataclasses.replace(scene, mind=dataclasses.replace(scene.mind, threads=(os.cpu_count() or 2) - 1))
        self.scene = scene
        self.sim = Simulation(scene, seed=seed, arch=arch, profile=False, clock="realtime")
        self.store = store
        self.manifest: dict | None = None  # the run folder's manifest, kept true at the end (with `store`)
        self.speed = float(speed)
        self.playing = playing
        self.status = "building"  # building | running | paused | finished | failed
        self.error: str | None = None
        self.frame: Frame | None = None
        self.card: dict | None = None  # the inspected agent's card, refreshed by the sim thread
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
        self._recorder = None
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

    def start(self) -> LiveFeed:
        self._thread.start()
        return self

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Block until the first frame is published (the scene is built), or raise what failed."""
        t_end = time.perf_counter() + timeout
        while self.frame is None and self.status != "failed" and time.perf_counter() < t_end:
            time.sleep(0.02)
        if self.status == "failed":
            from tokenworld.errors import TokenWorldError

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

    def recent_lines(self, limit: int = 200, *, agent: int | None = None, zone: int | None = None,
                     kinds: set[str] | None = None) -> list[FeedLine]:  # fmt: skip
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
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ------------------------------------------------------------ sim thread

    def _main(self) -> None:
        sim = self.sim
        try:
            sim.build()
            self.traits, self.archetype, self.arch = sim.world.agents.traits, sim.world.agents.archetype, sim.arch
            if sim.worker is not None:
                sim.worker.lower_priority()  # frames first: the model computes with the CPU time they leave
            if self.manifest is not None:
                self.manifest.update(arch=sim.arch, build_seconds=round(sim.build_seconds, 4))
                self.store.write_manifest(self.manifest)
            if self.store is not None:
                from tokenworld.sim.headless import tick_recorder

                self._recorder = tick_recorder(sim, self.store)
            self._last_spoke = np.full(sim.n_agents, -(10**9), np.int64)
            self._publish(None)
            self.status = "running" if self.playing else "paused"
            self._loop()
            if self.status != "failed":
                self.status = "finished" if sim.tick >= self.scene.sim.ticks else "stopped"
        except Exception as exc:  # shown in the Simulation panel and printed on exit
            self.status = "failed"
            self.error = f"{type(exc).__name__}: {exc}"
            self._trace = traceback.format_exc()
        finally:
            try:
                if self.store is not None:
                    self._finish_store()
            finally:
                sim.close()

    def _finish_store(self) -> None:
        """Commit what the writer holds and leave the manifest saying how the run ended."""
        import time as _time

        from tokenworld.errors import RunError

        store, manifest = self.store, self.manifest
        try:
            store.close()
        except RunError as exc:
            self.status, self.error = "failed", str(exc)
        if manifest is not None:
            manifest["status"] = {"failed": "failed", "finished": "finished"}.get(self.status, "stopped")
            manifest["ticks_done"] = store.conn_ticks()
            manifest["finished_at"] = _time.strftime("%Y-%m-%dT%H:%M:%S%z")
            if self.sim.worker is not None:
                manifest["inference"] = self.sim.mind_stats()
            store.write_manifest(manifest)

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
            result = sim.step()
            if self._recorder is not None:
                self._recorder(result)
            self.tick_ms = (time.perf_counter() - t0) * 1000.0
            self._steps_wanted = max(0, self._steps_wanted - 1)
            next_due = max(next_due + interval, t0) if interval > 0 else t0
            self._publish(result, interval=max(interval, self.tick_ms / 1000.0))

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
            elif kind == "announce":
                zone, text = arg
                n = sim.announce(zone, text)
                self._line(sim.tick, "intervention", NARRATOR, -1, zone, f"[{self.scene.zones[zone].name}] {' '.join(text.split())} ({n} hear it)")

    def _publish(self, result, interval: float = 0.0) -> None:
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
            tick=tick, sim_time=sim.sim_time, pos=snap["pos"], prev_pos=prev, heading=snap["heading"], state=state,
            zone=snap["zone"], entity_pos=w.entity_pos.copy(), entity_radius=w.entity_radius.copy(),
            entity_kind=list(w.entity_kind), entity_name=list(w.entity_name), wall=now, interval=interval,
        )  # fmt: skip
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
            for (_, s, a, text) in r.messages[:64]:
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
                self._line(tick, kind, agent, other, zone if zone is not None else -1, event_text(action, ok, reason, other, item, amount))
        if r.game_round is not None:
            g = r.game_round
            self._line(tick, "round", -2, g.winner, -1, f"round {g.round}: average {g.average:.2f}, target {g.target:.2f}, {g.winners} winner(s)")
        m = r.metrics
        if m is not None:
            for key in SERIES:
                if key in m:
                    self._point(key, tick, m[key])
            for item, total in zip(ITEMS, m.get("item_totals", [])):
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
        self.lines.append(FeedLine(int(tick), kind, int(agent), int(other if other is not None else -1), int(zone), text))

    def _card(self, agent: int) -> dict:
        """What the Inspector shows about `agent`, read in the sim thread (so never mid-tick)."""
        from tokenworld.mind.personas import agent_name, persona

        sim, w = self.sim, self.sim.world
        if not 0 <= agent < sim.n_agents:
            return {"id": agent, "name": f"no agent {agent}"}
        a = w.agents
        g = self.scene.groups[int(a.group[agent])]
        zone = int(w.engine.read("zone", np.array([agent], np.int32))[0])
        frame = self.frame
        state = STATE_NAMES[int(frame.state[agent])] if frame is not None else None
        eco = w.economy
        ties_ids, ties_w = w.social.ties_of(agent)
        order = np.argsort(-np.asarray(ties_w), kind="stable")[:6]
        card = {
            "id": agent, "name": agent_name(agent), "persona": persona(agent, int(a.archetype[agent]), a.traits[agent]),
            "archetype": g.archetype, "group": g.name, "mind": g.mind,
            "traits": {t: float(v) for t, v in zip(TRAITS, a.traits[agent])},
            "zone": self.scene.zones[zone].name if 0 <= zone < len(self.scene.zones) else "outside",
            "state": state, "needs": {"hunger": float(eco.hunger[agent]), "energy": float(eco.energy[agent])},
            "inventory": {it: float(v) for it, v in zip(ITEMS, eco.inventory[agent]) if v},
            "plan": None, "memories": None, "last_prompt": None, "last_answer": None,
            "ties": [(agent_name(int(ties_ids[i])), float(ties_w[i])) for i in order],
            "recent": [f"tick {line.tick}: {describe(line)}" for line in self.recent_lines(5, agent=agent)],
        }  # fmt: skip
        minds = sim.minds
        if minds is not None and minds.is_model[agent]:
            card["mind"] = f"model ({self.scene.mind.backend})"
            card["plan"] = minds.plan_text(agent) or None
            recent, _ = minds.memory.retrieve(agent, sim.tick, set(), working=8, k=0)
            card["memories"] = recent
            last = minds.last.get(agent)
            if last is not None:
                card["last_prompt"], card["last_answer"] = last
        elif g.mind == "model":
            card["mind"] = "rules (outside llm_fraction)" if self.scene.mind.backend != "rules" else "rules (backend rules)"
        return card
