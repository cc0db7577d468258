"""The simulation loop: one object a user builds, steps and runs."""

from __future__ import annotations

import json
import secrets
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tokenworld.errors import TokenWorldError
from tokenworld.mind.personas import NARRATOR
from tokenworld.scene.schema import MINDS, Scene
from tokenworld.sim.game_round import game_decisions
from tokenworld.sim.records import tick_metrics
from tokenworld.world.actions import ACTION_INDEX, ACTIONS
from tokenworld.world.decisions import SOURCES, Decisions, Events

LONGEST_ACTION = max(a.duration for a in ACTIONS)  # ticks a landed answer may wait for its agent to be free
# backends whose answers a lockstep tick waits for without a wall-clock bound: those computing in this process, and
# Ray pools of them (a dead actor is replaced and its batch sent again; a server inside an actor has its own timeout)
UNBOUNDED = ("llama_cpp", "vllm", "rules", "ray")


@dataclass
class TickResult:
    """What one tick did: its number, metrics, decisions applied, events and timings."""

    tick: int
    metrics: dict | None
    step_ms: float
    stage_ms: dict = field(default_factory=dict)
    decisions: Decisions | None = None
    events: list[Events] = field(default_factory=list)
    messages: list[tuple[int, int, int, str]] = field(default_factory=list)
    game_round: object | None = None
    inference: dict | None = None  # the inference worker's counters (model-driven scenes)
    edits: list = field(default_factory=list)  # live edits of the scene made before this tick (SceneEdit)


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    if not text:
        raise TokenWorldError("nothing to say: the text is empty.")
    return text[:300]


class Simulation:
    """Advances a scene tick by tick.

    Args:
        scene: a validated `Scene`.
        seed: random seed; None takes `scene.sim.seed`, and without one picks a
            seed, records it and warns that the run will not reproduce.
        arch: Taichi arch ('auto', 'cpu', 'cuda', 'vulkan'); None reads `TOKENWORLD_ARCH`.
        profile: time each engine stage (synchronising after each).
        clock: 'lockstep' (a tick waits for the model decisions it asked for) or
            'realtime' (ticks never wait); None reads `scene.sim.clock`.
        backend: a ready `Backend` for the model-driven agents (the simulation closes it); None builds the
            one `scene.mind` names.

    Call `build()` before `step()` or `run()`, and `close()` at the end (it
    stops the inference thread when the scene has model-driven agents).
    """

    def __init__(
        self,
        scene: Scene,
        *,
        seed: int | None = None,
        arch: str | None = None,
        profile: bool = True,
        clock: str | None = None,
        backend=None,
    ):
        self.scene = scene
        if seed is None:
            seed = scene.sim.seed
        self.seed_was_given = seed is not None
        if seed is None:
            seed = secrets.randbelow(2**31)
            warnings.warn(
                f"No seed given (scene `sim.seed` or --seed); using {seed}. "
                "This run will not reproduce unless you pass it.",
                stacklevel=2,
            )
        if not 0 <= seed < 2**32:
            raise TokenWorldError(f"seed must be in [0, 2^32), found {seed}.")
        self.seed = int(seed)
        self.requested_arch = arch
        self.profile = profile
        self.tick = 0
        self.world = None
        self.build_seconds = 0.0
        self.clock = clock or scene.sim.clock
        if self.clock not in ("lockstep", "realtime"):
            raise TokenWorldError(f"clock must be 'lockstep' or 'realtime', found {self.clock!r}.")
        self._interventions: list[tuple[int, int, int, str]] = []  # said by the Narrator, heard next tick
        self.minds = None  # ModelMinds, when a model drives some agents
        self.worker = None  # InferenceWorker
        self.scheduler = None
        self._backend = backend
        self._edits: list = []  # live edits made since the last tick (SceneEdit), recorded with the next one
        self.edit_count = 0  # live edits made in this run (agents that join are drawn with it)

    # ------------------------------------------------------------------ life

    def preflight(self) -> None:
        """Check, before anything is made, that this simulation can start: the engine's arch (a missing GPU fails
        here) and, when a language model decides, the model file or extra it needs."""
        from tokenworld.engine import arch as engine_arch

        engine_arch.init(self.requested_arch, seed=self.seed)
        if self.uses_model and self._backend is None:
            from tokenworld.inference import preflight

            adapters = {g.name: g.adapter for g in self.scene.groups if g.mind == "model" and g.adapter}
            preflight(self.scene.mind, adapters)

    def build(self) -> "Simulation":
        """Spawn the agents and start the engine (compiles kernels the first time)."""
        from tokenworld.mind.rules_brain import RulesBrain
        from tokenworld.world import World
        from tokenworld.world.game import GuessAverage

        t0 = time.perf_counter()
        self.world = World(self.scene, seed=self.seed, arch=self.requested_arch, profile=self.profile)
        self.brain = RulesBrain(self.world, np.random.default_rng([self.seed, 2]))
        self.game_rng = np.random.default_rng([self.seed, 3])
        if self.scene.game.kind == "guess_average":
            self.world.game = GuessAverage(self.scene.game, self.world.n_agents)
        self.random_minded = self._minded("random")
        self.pending = Decisions.empty(0)
        self._ids = np.arange(self.world.n_agents)
        self._spoken = np.zeros(self.world.n_agents, bool)
        self._event = np.zeros(self.world.n_agents, bool)
        self._in_flight: dict[int, object] = {}  # ticket -> request (realtime mode)
        model = self._minded("model")
        if (self.scene.mind.backend != "rules" or self._backend is not None) and model.any():
            try:
                self._start_minds(model)
            except BaseException:
                self.close()
                raise
        self.build_seconds = time.perf_counter() - t0
        return self

    def _minded(self, mind: str) -> np.ndarray:
        """Mask of the agents whose group's `mind` is `mind`."""
        group_mind = np.array([MINDS.index(g.mind) for g in self.scene.groups] or [0], np.int8)
        return group_mind[self.world.agents.group] == MINDS.index(mind)

    def _model_agents(self, model_group: np.ndarray) -> np.ndarray:
        """Mask of the agents a language model decides for: in a model-minded group, within `llm_fraction`."""
        from tokenworld.world.agents import llm_share

        return model_group & llm_share(self.seed, self.world.n_agents, self.scene.mind.llm_fraction)

    def _start_minds(self, model_group: np.ndarray) -> None:
        """Backend (a missing model or extra fails here, before any tick), worker thread, minds, scheduler."""
        from tokenworld.inference import make_backend
        from tokenworld.inference.worker import InferenceWorker
        from tokenworld.mind.minds import ModelMinds
        from tokenworld.sim.scheduler import Pacer, Scheduler

        m = self.scene.mind
        model = self._model_agents(model_group)
        if self.world.game is not None and model.any():  # model players answer from a menu of whole numbers
            from tokenworld.mind.guessing import guess_options

            guess_options(self.scene.game)
        # lockstep: batched answers equal one-at-a-time answers; realtime: decode batches together, faster
        backend = self._backend or make_backend(m, seed=self.seed, batch_invariant=self.clock == "lockstep")
        self.worker = InferenceWorker(
            backend, batch_size=m.batch_size, max_wait_ms=m.batch_wait_ms, cache_size=m.cache_size
        )
        style = backend.answer_style
        self.minds = ModelMinds(self.world, self.brain, np.flatnonzero(model), m, style, backend.count_tokens)
        self.minds.first_plans(self.tick)
        # players of a game only play it: the village's prompt and calibrations would never be asked for
        self.worker.start(warmup=self.minds.warmup() if self.world.game is None else None)
        self.scheduler = Scheduler(
            self.world.n_agents, model, self.scene.sim.max_decisions_per_tick, m.decide_every, m.reflect_every
        )
        self.pacer = Pacer(m.max_wait_s)
        # lockstep waits for its answers: in-process backends answer (or fail) however loaded the machine is, so
        # a wall-clock limit would only make a run depend on it; a server gets a bound beyond its request timeout
        self._wait_s = None if backend.name in UNBOUNDED else max(120.0, 4 * m.timeout_s)
        self._ready: dict[int, tuple] = {}  # agent -> (request, answer, tick it landed): realtime, held while busy
        self.mind_counts = np.zeros(len(SOURCES), np.int64)  # decisions of model-driven agents, by source
        self.stale = 0  # realtime answers that landed when their option was gone
        self._asked_at = np.full(self.world.n_agents, np.inf)  # realtime: when each agent's request went out
        self._carried = np.zeros(self.world.n_agents, bool)  # realtime: acted without its overdue answer

    def set_focus(self, agents: np.ndarray | None) -> None:
        """Agents the viewer shows (ids or a boolean mask; None for no preference): among model requests of equal
        urgency, theirs go first."""
        if self.scheduler is None:
            return
        if agents is None:
            self.scheduler.focus = None
            return
        agents = np.asarray(agents)
        mask = agents.astype(bool) if agents.dtype == bool else np.zeros(self.world.n_agents, bool)
        if agents.dtype != bool:
            mask[agents] = True
        self.scheduler.focus = mask

    def send_message(self, agent: int, text: str) -> None:
        """The Narrator says `text` to `agent`; it hears it at the next tick.

        Model minds remember the message and are asked first.
        """
        self._require_built()
        if not 0 <= int(agent) < self.n_agents:
            raise TokenWorldError(f"no agent {agent}: ids run from 0 to {self.n_agents - 1}.")
        text = _one_line(text)
        self._interventions.append((self.tick, NARRATOR, int(agent), text))

    def announce(self, zone: int, text: str) -> int:
        """An event in `zone` (index into scene.zones): everyone in it hears `text` from the Narrator next tick.

        Returns how many agents were in the zone. Model minds remember it and are
        asked first; the rules brain does not read text, so rules-driven agents
        carry on (the event is still recorded in the run's messages).
        """
        self._require_built()
        if not 0 <= int(zone) < len(self.scene.zones):
            raise TokenWorldError(
                f"no zone {zone}: the scene has {len(self.scene.zones)} zones (0 to {len(self.scene.zones) - 1})."
            )
        text = _one_line(text)
        inside = np.flatnonzero(self.world.engine.snapshot(("zone",))["zone"] == int(zone))
        label = f"[{self.scene.zones[int(zone)].name}] {text}"
        self._interventions.extend((self.tick, NARRATOR, int(a), label) for a in inside.tolist())
        return len(inside)

    # ------------------------------------------------------------------ live edits

    def apply_scene(self, scene: Scene, label: str = ""):
        """Take an edited scene between ticks, as far as a running world can without a restart.

        Zones, entities, resource stocks, economy rates and more agents apply at once (see
        `tokenworld.sim.live_edit` for what needs a restart); model-driven agents' prompts describe the edited
        world from their next request. The edit is recorded with the next tick (`TickResult.edits`), so a
        replay shows it there and a resumed run makes it again. Returns the `LiveChange`.
        """
        from tokenworld.sim.live_edit import SceneEdit, apply_change, plan_live_change

        self._require_built()
        change = plan_live_change(self.scene, scene)
        if not change.any:
            return change
        n_before = self.world.n_agents
        apply_change(self, change)
        self.edit_count += 1
        self._edits.append(SceneEdit(self.tick + 1, label or change.message(), change.scene, n_before, self.n_agents))
        return change

    def take_edits(self) -> list:
        """The live edits made since the last tick (`SceneEdit`s), which the next tick would record; they are
        handed over and forgotten here."""
        edits, self._edits = self._edits, []
        return edits

    def _tell(self, line) -> None:
        """Say a scripted `[[tell]]` line now, as `send_message` or `announce` would (heard in this tick)."""
        if line.agent is not None:
            self.send_message(line.agent, line.text)
        else:
            self.announce(self.scene.zone_index(line.zone), line.text)

    def agent_card(self, agent: int, *, state: str | None = None, recent: list[str] | None = None):
        """What the Inspector shows about `agent` now (an `AgentCard`); call it between ticks.

        `state` (idle / walking / busy / talking) and `recent` (lines of what it did lately) are what the
        caller's frames and feed know; the simulation knows the rest.
        """
        from tokenworld.sim.cards import live_card

        self._require_built()
        return live_card(self, int(agent), state=state, recent=recent)

    @property
    def uses_model(self) -> bool:
        """Whether a language-model backend decides for some agents."""
        return self.scene.uses_model

    @property
    def built(self) -> bool:
        return self.world is not None

    def _require_built(self) -> None:
        if self.world is None:
            raise TokenWorldError("Simulation is not built. Call `sim.build()` first.")

    @property
    def arch(self) -> str:
        """The Taichi arch the engine runs on."""
        self._require_built()
        return self.world.engine.arch

    @property
    def n_agents(self) -> int:
        return self.scene.agent_count

    @property
    def sim_time(self) -> float:
        """Simulated seconds since the start."""
        return self.tick * self.scene.sim.dt

    # ------------------------------------------------------------------ step

    def step(self) -> TickResult:
        """Advance one tick (the numbered steps are the order that makes runs reproducible)."""
        self._require_built()
        w, dt = self.world, self.scene.sim.dt
        t0 = time.perf_counter()
        # 1. The engine: hash, perception, steering and motion, zones.
        timings = w.engine.step(dt)
        self.tick += 1
        tick = self.tick
        for line in self.scene.tell:  # the scene's scripted Narrator lines, heard at their tick
            if line.tick == tick:
                self._tell(line)
        t1 = time.perf_counter()
        # 2. World bookkeeping: arrivals, needs, regrowth, actions that finished.
        w.advance(tick, dt)
        t2 = time.perf_counter()
        # 3. The decisions made last tick take effect now, in agent-id order.
        applied = self.pending
        events = [w.apply(applied, tick)] if len(applied) else []
        messages = list(w.inbox) + [(tick, s, a, text) for _, s, a, text in self._interventions]
        self._interventions = []
        if self.minds is not None:
            self._observe(tick, events, messages)
        t3 = time.perf_counter()
        # 4. A game round, if one is due: everyone guesses, the moderator scores.
        game_round = None
        if w.game is not None and w.game.due(tick):
            guesses = game_decisions(self)
            w.game.open_round(tick)
            events.append(w.apply(guesses, tick))
            game_round = w.game.close_round(tick)
            applied = Decisions.concat([applied, guesses])
        t4 = time.perf_counter()
        # 5. Who decides now; their decisions wait for the next tick boundary.
        self.pending = self._decide(tick)
        if self.minds is not None and len(applied):
            model_rows = self.minds.is_model[applied.agent]
            self.mind_counts += np.bincount(applied.source[model_rows], minlength=len(SOURCES))
        t5 = time.perf_counter()
        # 6. Metrics for readers (every `metrics_every` ticks).
        metrics = tick_metrics(self.world, events) if tick % self.scene.sim.metrics_every == 0 else None
        t6 = time.perf_counter()
        step_ms = (t6 - t0) * 1000.0
        stages = {
            "hash_ms": timings.hash_ms,
            "perception_ms": timings.perception_ms,
            "motion_ms": timings.motion_ms,
            "zones_ms": timings.zones_ms,
            "engine_ms": (t1 - t0) * 1000.0,
            "world_ms": (t2 - t1) * 1000.0,
            "rules_ms": (t3 - t2) * 1000.0,
            "game_ms": (t4 - t3) * 1000.0,
            "brain_ms": (t5 - t4) * 1000.0,
            "metrics_ms": (t6 - t5) * 1000.0,
        }
        inference = self.mind_stats() if self.worker is not None else None
        edits = self.take_edits()
        return TickResult(tick, metrics, step_ms, stages, applied, events, messages, game_round, inference, edits)

    def _decide(self, tick: int) -> Decisions:
        """Idle agents whose turn it is (staggered by id over `decide_every` ticks) decide.

        Model-driven agents go through the scheduler and the inference worker instead; in realtime, those
        with a request in flight carry on with their plan (or the rules brain's routine) on their turn.
        """
        w = self.world
        if w.game is not None:  # players of a game only play it
            return Decisions.empty(0)
        every = self.scene.mind.decide_every
        turn = w.idle(tick) & ((self._ids + tick) % every == 0)
        if self.minds is None:
            due = np.flatnonzero(turn)
            return self.brain.decide(due, random_choice=self.random_minded[due])
        due = np.flatnonzero(turn & ~self.minds.is_model)
        asked = self._ask_model(tick)
        # realtime: an agent whose request has been in flight longer than `max_wait_s` acts without it, once
        overdue = (
            self.scheduler.waiting & ~self._carried & (time.monotonic() - self._asked_at > self.scene.mind.max_wait_s)
        )
        carry = overdue & w.idle(tick)
        carry[asked.agent] = False
        self._carried |= carry
        return Decisions.concat(
            [
                self.brain.decide(due, random_choice=self.random_minded[due]),
                asked,
                self._follow_plans(np.flatnonzero(carry)),
            ]
        )

    def _observe(self, tick: int, events: list[Events], messages: list) -> None:
        """Model-driven agents remember the tick; who was spoken to or had something happen is asked first."""
        self.minds.observe(tick, events, messages)
        self._spoken[:] = False
        self._event[:] = False
        if messages:
            self._spoken[np.fromiter((m[2] for m in messages), np.int64, len(messages))] = True
        for ev in events:
            self._event[ev.agent[ev.reason > 0]] = True
            self._event[ev.other[(ev.reason == 0) & (ev.action == ACTION_INDEX["give"]) & (ev.other >= 0)]] = True

    def _ask_model(self, tick: int) -> Decisions:
        """Schedule, ask, and turn answers (this tick's in lockstep, whatever has landed in realtime) into decisions."""
        minds, sched = self.minds, self.scheduler
        realtime = self.clock == "realtime"
        idle = self.world.idle(tick)
        landed: tuple[list, list] = ([], [])
        if realtime:  # 1. what landed since the last tick and is still feasible (those agents are not asked again)
            landed = self._land(tick)
            idle[[r.agent for r in landed[0]]] = False
        # 2. who is asked: the most urgent first, within the cap (and, realtime, what the backend answers in time)
        # (realtime: nothing is sent before the backend has warmed up; meanwhile agents follow their plans)
        room = (self.pacer.room(int(sched.waiting.sum())) if self.worker.ready else 0) if realtime else None
        due = sched.pick(
            tick,
            idle,
            spoken_to=self._spoken,
            event=self._event,
            plan_done=minds.plan_done(),
            last_reflect=minds.last_reflect,
            room=room,
        )
        requests = minds.requests(due.decide, due.reflect, tick, due.priority)
        parts = [self._follow_plans(due.overflow)]  # over the cap: their plan, or the rules brain
        # 3. ask; lockstep waits for exactly these answers, realtime takes what landed
        tickets = self.worker.submit(requests, flush=not realtime)
        self.pacer.sent(tickets)
        if realtime:
            agents = [r.agent for r in requests]
            sched.waiting[agents] = True
            self._asked_at[agents] = time.monotonic()
            self._carried[agents] = False
            self._in_flight.update(zip(tickets, requests, strict=False))
            requests, answers = landed
        else:
            answers = self.worker.wait(tickets, timeout=self._wait_s)
            self.pacer.landed(tickets)
        # 4. answers into decisions; failed requests fall back to the rules brain
        decided, failed = minds.resolve(requests, answers, tick)
        parts.append(decided)
        if len(failed):  # the backend failed them: the rules brain decides, recorded as a fallback
            d = self.brain.decide(failed)
            d.source[:] = SOURCES.index("fallback")
            parts.append(d)
        planned = np.array(
            sorted({r.agent for r, a in zip(requests, answers, strict=False) if r.kind == "reflect" and a.ok}), np.int32
        )
        if len(planned):  # a fresh plan starts at once (for those free and not deciding otherwise)
            planned = planned[
                self.world.idle(tick)[planned] & ~np.isin(planned, decided.agent) & ~sched.waiting[planned]
            ]
        if len(planned):
            parts.append(self._follow_plans(planned))
        return Decisions.concat(parts)

    def _land(self, tick: int) -> tuple[list, list]:
        """Realtime: answers that arrived since the last tick. Reflections and failures go through as they are;
        a decision applies if its option is still on the agent's menu (once the agent is free of a timed action it
        took meanwhile); otherwise it is stale: counted, and the agent is asked again."""
        sched = self.scheduler
        arrived = [(t, self._in_flight.pop(t), a) for t, a in self.worker.take() if t in self._in_flight]
        self.pacer.landed([t for t, _, _ in arrived])
        sched.waiting[[r.agent for _, r, _ in arrived]] = False
        requests, answers = [], []
        for _, req, ans in arrived:
            if req.kind == "decide" and ans.ok:
                self._ready[req.agent] = (req, ans, tick)
            else:
                requests.append(req)
                answers.append(ans)
        if not self._ready:
            return requests, answers
        busy = self.world.busy_until > tick
        hold = LONGEST_ACTION
        free = [v for a, v in self._ready.items() if not busy[a]]
        expired = [v for a, v in self._ready.items() if busy[a] and tick - v[2] > hold]
        for req, _, _ in free + expired:
            del self._ready[req.agent]
        keep_r, keep_a, stale = self.minds.recheck([v[0] for v in free], [v[1] for v in free])
        for req, _, _ in expired:
            self.minds.forget(req)
            stale.append(req.agent)
        if stale:
            self.stale += len(stale)
            self._event[stale] = True  # asked again now, before plain turns
        return requests + keep_r, answers + keep_a

    def mind_stats(self) -> dict:
        """The inference worker's counters, plus how the minds fared: the share of model-driven agents' decisions
        the model made (`model_share`; the rest followed plans or fell back), request waits (submitted to landed,
        p50/p95), stale answers, and the pacer's throughput and cap on requests in flight."""
        stats = self.worker.stats()
        counts = self.mind_counts
        stats.update(self.pacer.stats())
        stats.update(
            model_share=float(counts[SOURCES.index("model")] / counts.sum()) if counts.sum() else 0.0,
            by_source={s: int(c) for s, c in zip(SOURCES, counts, strict=False) if c},
            stale=self.stale,
            in_flight=int(self.scheduler.waiting.sum()),
        )
        return stats

    def _follow_plans(self, agents: np.ndarray) -> Decisions:
        """The rules brain carries out each agent's current plan step (source `plan`), or decides itself; who
        talks tells its news."""
        d = self.brain.decide(agents, follow=self.minds.follow(agents))
        for row in np.flatnonzero(d.action == ACTION_INDEX["talk"]).tolist():
            d.text[row] = self.minds.news(int(d.agent[row]), self.tick) or d.text[row]
        return d

    def run(self, ticks: int, *, on_tick: Callable[[TickResult], None] | None = None) -> TickResult | None:
        """Advance `ticks` ticks, calling `on_tick` after each; returns the last tick's result."""
        if ticks < 0:
            raise TokenWorldError(f"ticks must be 0 or more, found {ticks}.")
        self._require_built()
        result = None
        for _ in range(ticks):
            result = self.step()
            if on_tick is not None:
                on_tick(result)
        return result

    def snapshot(self) -> dict[str, np.ndarray]:
        """Numpy copies of agent state for readers (positions, velocities, zones, ...)."""
        self._require_built()
        return self.world.engine.snapshot()

    # ------------------------------------------------------------ checkpoints

    def checkpoint(self) -> tuple[dict[str, np.ndarray], str]:
        """Arrays and JSON that `restore` turns back into exactly this simulation state."""
        self._require_built()
        state = self.world.state()
        for name, value in vars(self.pending).items():
            state[f"pending_{name}"] = value.astype(str) if name == "text" else value
        if self.world.game is not None:
            state.update(self.world.game.state())
        if self.minds is not None:
            state.update(self.minds.state())
            state["sched_last_asked"] = self.scheduler.last_asked  # fair turns when more are due than the cap
            state["sim_mind_counts"] = self.mind_counts  # the model's share goes on counting after a resume
            state.update(self.worker.cache_state())
        meta = {
            "tick": self.tick,
            "rng": {
                "world": self.world.rng.bit_generator.state,
                "brain": self.brain.rng.bit_generator.state,
                "game": self.game_rng.bit_generator.state,
            },
        }
        return state, json.dumps(meta)

    def restore(self, state: dict[str, np.ndarray], meta_json: str) -> None:
        """Continue from a `checkpoint()`; the run goes on as the original would have."""
        self._require_built()
        meta = json.loads(meta_json)
        self.world.restore(state)
        pending = {k[len("pending_") :]: state[k] for k in state if k.startswith("pending_")}
        pending["text"] = np.asarray(pending["text"], dtype=object)
        blank = Decisions.empty(len(pending["agent"]))  # columns a checkpoint of an older version lacks
        self.pending = Decisions(**{**vars(blank), **pending})
        if self.minds is not None and "mind_plan" in state:
            self.minds.restore(state)
            if "sched_last_asked" in state:
                self.scheduler.last_asked[...] = state["sched_last_asked"]
            if "sim_mind_counts" in state:
                self.mind_counts[...] = state["sim_mind_counts"]
            self.worker.restore_cache(state)
        if self.world.game is not None:
            self.world.game.restore(state)
        self.world.rng.bit_generator.state = meta["rng"]["world"]
        self.brain.rng.bit_generator.state = meta["rng"]["brain"]
        self.game_rng.bit_generator.state = meta["rng"]["game"]
        self.tick = int(meta["tick"])

    def close(self) -> None:
        """Stop the inference thread and release the engine."""
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        if self.world is not None:
            self.world.close()
            self.world = None
