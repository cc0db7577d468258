"""Language-model minds: memory, plans and requests for the agents a model drives.

`ModelMinds` turns the agents the scheduler picked into `Request`s (menu of
feasible options, page within budget, memories, plan) and the
backend's `Answer`s back into decisions. It keeps, per model-driven agent:

- its memory (`tokenworld.mind.memory.Memory`);
- its decision page, a transcript that grows by a turn per answered decision
  (`tokenworld.mind.transcript`), so that a backend keeping its KV cache
  evaluates only the newest turn;
- its plan: up to three intents of the rules brain's vocabulary ("find food,
  then eat"), chosen by the model in a reflection every `mind.reflect_every`
  ticks from candidates ranked by the agent's needs; between reflections the
  plan is reused (lazy reflection), shown in every prompt, and carried out step
  by step by the rules brain when the model is not asked (over the per-tick cap);
- its last prompt and answer (for the viewer's inspector).

Nobody waits for the model to begin: `first_plans` gives every agent a plan
from its persona (the rules brain's noise-free utilities, shaped by archetype
and traits) and spreads the first reflections over `reflect_every` by id.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tokenworld.mind.memory import PLANNED, Memory, words
from tokenworld.mind.options import MAX_TALK, Menu, MenuBuilder
from tokenworld.mind.personas import agent_name
from tokenworld.mind.prompts import PromptBuilder, action_keys, page_for, question_lines
from tokenworld.mind.protocol import Answer, Request
from tokenworld.mind.rules_brain import INTENTS, RulesBrain
from tokenworld.mind.steering import profile_ids, profiles
from tokenworld.mind.transcript import Transcripts, Turn
from tokenworld.scene.schema import ITEMS
from tokenworld.world.actions import ACTION_INDEX
from tokenworld.world.agents import grown
from tokenworld.world.decisions import SOURCES, Decisions
from tokenworld.world.items import ITEM_INDEX

PLAN_STEPS = 3
LOG_SKIP = (ACTION_INDEX["move_to"], ACTION_INDEX["idle"], PLANNED)  # a turn leaves out walks, waits and the plan
STEP_WORDS = {
    "eat": "eat",
    "forage": "find food",
    "rest": "rest",
    "wood": "gather wood",
    "stone": "gather stone",
    "craft": "craft tools",
    "build": "build a hut",
    "talk": "talk with neighbours",
    "trade": "trade",
    "help": "help the hungry",
    "explore": "explore",
    "idle": "take it easy",
}
MODEL = SOURCES.index("model")
NEWS_WORTH = 0.9  # heard lines this important (the Narrator's news, and its retellings) are worth passing on
NEWS_TALK = 1.0  # added to the rules utility (the prior) of talking while one holds such news


class ModelMinds:
    """Minds of the agents `agents` (ids) of `world`.

    Args:
        world: the world (read; never written here).
        brain: the rules brain (utilities for option priors and plan candidates).
        mind: the scene's `[mind]` options.
        style: the backend's answer style ('number' or 'label').
        count_tokens: the backend's token counter (for the prompt budget).
    """

    def __init__(self, world, brain: RulesBrain, agents: np.ndarray, mind, style: str, count_tokens):
        self.world = world
        self.brain = brain
        self.opts = mind
        self.agents = np.asarray(agents, np.int64)
        n = world.n_agents
        self.is_model = np.zeros(n, bool)
        self.is_model[self.agents] = True
        self.zone_names = [z.name for z in world.scene.zones]
        self.memory = Memory(n, self.agents, mind.memory_size, self.zone_names)
        self.menus = MenuBuilder(world, brain)
        self.prompts = PromptBuilder(world.scene, style, count_tokens, mind.max_prompt_tokens)
        self.transcripts = Transcripts(self.memory, count_tokens, self.prompts.budget, LOG_SKIP, mind.recall)
        self._turns: dict[int, Turn] = {}  # request id -> its transcript turn, until answered
        self.plan = np.full((n, PLAN_STEPS), -1, np.int8)  # intents; full-size rows: cheap and id-indexed
        self.plan_step = np.zeros(n, np.int8)
        self.last_reflect = np.full(n, -(10**9), np.int64)
        self.heard: dict[int, list[str]] = {}  # agent -> lines heard since its last decision
        self.last: dict[int, tuple[str, str]] = {}  # agent -> (prompt, answer) of its latest model call
        self._menus: dict[int, Menu] = {}  # request seq -> menu, until answered
        self._plans: dict[int, list[np.ndarray]] = {}  # request seq -> candidate plans
        self.steer = self.bucket = self.bucket_profiles = None  # without steering
        self._profiles()

    def _profiles(self) -> None:
        """Every agent's steering coefficients (n, traits), its profile's bucket and the distinct profiles."""
        steering = self.opts.steering
        if steering.vectors:
            self.steer = profiles(self.world.agents.traits, steering.levels)
            self.bucket, self.bucket_profiles = profile_ids(self.steer)

    def adapter(self, agent: int) -> str:
        """The LoRA adapter of the agent's group ("" none)."""
        return self.world.scene.groups[int(self.world.agents.group[agent])].adapter

    def profile(self, agent: int) -> tuple[float, ...]:
        """The agent's steering coefficients (`tokenworld.mind.steering`), or () without steering."""
        return () if self.steer is None else tuple(self.steer[agent].tolist())

    def warmup(self) -> tuple[str, list[tuple[str, int]]]:
        """What the first decisions reuse: the shared prompt, and the content-free calibration pages of decisions
        (2 to 9 options; the commonest first) with their option counts, for `Backend.prepare`. Reflections,
        spread over `reflect_every`, calibrate when the first one comes."""
        if self.prompts.style == "number":  # one page: every action's number
            return self.prompts.shared, [(self.prompts.calibration(), 9)]
        return self.prompts.shared, [(self.prompts.calibration(k), k) for k in (6, 7, 5, 8, 9, 4, 3, 2)]

    def first_plans(self, tick: int = 0, agents: np.ndarray | None = None) -> None:
        """Plans from each persona, without the model, and first reflections spread over `reflect_every`
        (`agents`: these only, e.g. those who just joined; default: all)."""
        a = self.agents if agents is None else np.asarray(agents, np.int64)
        if not len(a):
            return
        u, feasible, _ = self.brain.utilities(a.astype(np.int32))
        u = np.where(feasible, u, u - 10.0)
        self.plan[a] = np.argsort(-u, axis=1, kind="stable")[:, :PLAN_STEPS].astype(np.int8)
        self.plan_step[a] = 0
        texts = np.array([self._plan_words(p) for p in self.plan[a]], object)
        self.memory.add(tick, a, np.full(len(a), PLANNED), text=texts)
        every = self.opts.reflect_every
        if every:  # agent k of m first reflects at tick + (k + 1) * every // m
            self.last_reflect[a] = tick + (np.arange(1, len(a) + 1) * every) // len(a) - every

    # ------------------------------------------------------------ live edits

    def scene_changed(self, zones_moved: np.ndarray) -> None:
        """The world's scene was edited: prompts describe the new places (the shared prompt changes, so backends
        evaluate it anew once), memories name them (`zones_moved`: old zone index -> new, -1 removed)."""
        scene = self.world.scene
        self.zone_names = [z.name for z in scene.zones]
        self.memory.zones_changed(zones_moved, self.zone_names)
        p = self.prompts
        self.prompts = PromptBuilder(scene, p.style, p.count, self.opts.max_prompt_tokens)
        self.transcripts.budget = self.prompts.budget
        self.transcripts.clear()

    def grow(self, agents: np.ndarray, tick: int) -> None:
        """`agents` (new ids, after everyone else's) join as model-driven agents, with first plans."""
        agents = np.asarray(agents, np.int64)
        n = self.world.n_agents
        self.is_model = grown(self.is_model, n, False)
        self.is_model[agents] = True
        self.agents = np.concatenate([self.agents, agents])
        self.memory.grow(n, agents)
        self.plan = grown(self.plan, n, -1)
        self.plan_step = grown(self.plan_step, n, 0)
        self.last_reflect = grown(self.last_reflect, n, -(10**9))
        self._profiles()  # buckets of the agents before keep their numbers: new profiles come after
        self.first_plans(tick, agents)

    # ------------------------------------------------------------ what happened

    def observe(self, tick: int, events: list, messages: list[tuple[int, int, int, str]]) -> None:
        """Remember this tick's events and messages (model-driven agents only)."""
        for ev in events:
            self.memory.add_events(ev)
        self.memory.add_messages(tick, messages)
        for _, speaker, listener, text in messages:
            if self.is_model[listener]:
                lines = self.heard.setdefault(listener, [])
                lines.append(f'{agent_name(speaker)}: "{text}"')
                del lines[:-2]  # the last two

    def plan_done(self) -> np.ndarray:
        """Mask of agents whose plan has no step left (or who never planned)."""
        step = np.minimum(self.plan_step, PLAN_STEPS - 1).astype(np.int64)
        current = self.plan[np.arange(len(self.plan)), step]
        return (self.plan_step >= PLAN_STEPS) | (current < 0)

    def follow(self, agents: np.ndarray) -> np.ndarray:
        """The current plan step (intent, -1 none) of each of `agents`, advancing their plans."""
        agents = np.asarray(agents, np.int64)
        step = self.plan_step[agents].astype(np.int64)
        live = step < PLAN_STEPS
        intent = np.where(live, self.plan[agents, np.minimum(step, PLAN_STEPS - 1)], -1).astype(np.int64)
        self.plan_step[agents[live]] += 1
        return intent

    # ------------------------------------------------------------ asking

    def requests(self, decide: np.ndarray, reflect: np.ndarray, tick: int, priority: np.ndarray) -> list[Request]:
        """Requests for agents that decide and agents that reflect (ids), with their priorities (same order)."""
        out = []
        decide = np.asarray(decide, np.int64)
        news = {a: self.news(a, tick) for a in decide.tolist()}
        menus = self.menus.build(decide, wanted={a: self._places_in(text) for a, text in news.items()})
        for menu in menus:  # fresh news is worth telling to whoever has not heard it: talking to them weighs more
            heard, weight = self.memory.news(menu.agent, tick)
            if weight >= NEWS_WORTH:
                knows = self.memory.shared_with(menu.agent, heard)
                fresh = np.asarray(menu.talk) & ~np.isin(menu.rows.target, list(knows))
                menu.prior = menu.prior + NEWS_TALK * fresh.astype(np.float32)
        pri = dict(zip(np.concatenate([decide, reflect]).tolist(), priority.tolist(), strict=False))
        number = self.prompts.style == "number"
        for menu in menus:
            a = menu.agent
            query = set().union(*(words(o) for o in menu.labels))
            self.heard.pop(a, None)  # what was said to it is among its memories
            if number:  # answered by the action's number: the best option of each action
                menu = menu.by_action()
            page = page_for(
                self.world,
                a,
                menu.zone,
                menu.near[:MAX_TALK],
                plan=self._plan_words(self.plan[a]),
                news=news[a],
                zone_names=self.zone_names,
                options=() if number else menu.labels,
            )
            question = question_lines(menu.labels, self.prompts.style)
            blocks, turn = self.transcripts.page(a, tick, page, question, query)
            req = Request(
                a,
                tick,
                "decide",
                self.prompts.shared,
                "".join(text for _, text in blocks),
                menu.labels,
                menu.talk,
                menu.prior,
                calibration=self.prompts.calibration(len(menu.labels)),
                priority=pri[a],
                news=news[a],
                news_heard=bool(self.memory.news(a, tick)[0]),
                blocks=blocks,
                keys=tuple(action_keys(menu.labels)) if number else (),
                steer=self.profile(a),
                adapter=self.adapter(a),
            )
            out.append(req)
            self._menus[id(req)] = menu
            self._turns[id(req)] = turn
        if len(reflect):
            out.extend(self._reflections(np.asarray(reflect, np.int64), tick, pri))
        return out

    def news(self, agent: int, tick: int) -> str:
        """What the agent would tell a neighbour: the news it heard lately, else its plan and what it needs or
        has to spare (so that talk carries what agents know). Words that change seldom (the whole plan, no
        amounts): the line sits before the memories on a decision's page, and a changed line is evaluated anew
        with everything after it."""
        heard, _ = self.memory.news(agent, tick)
        if heard:
            return heard
        parts = []
        plan = self._plan_words(self.plan[agent])
        if plan:
            parts.append(f"I plan to {plan}")
        inv = self.world.economy.inventory[agent]
        if self.world.economy.hunger[agent] > 0.5 and inv[ITEM_INDEX["food"]] < 1:
            parts.append("I need food")
        spare = int(np.argmax(inv))
        if inv[spare] >= 4:
            parts.append(f"I have {ITEMS[spare]} to spare")
        return "; ".join(parts)

    def _places_in(self, text: str) -> list[int]:
        """Zones named in `text` (an announced gathering draws people there)."""
        said = words(text)
        return [z for z, name in enumerate(self.zone_names) if set(words(name)) <= said] if said else []

    def _reflections(self, agents: np.ndarray, tick: int, pri: dict) -> list[Request]:
        u, feasible, ctx = self.brain.utilities(agents.astype(np.int32))
        u = np.where(feasible, u, u - 10.0)
        nearest = self.world.engine.read("nbr", agents.astype(np.int32))[:, :3]
        out = []
        for r, a in enumerate(agents.tolist()):
            top = np.argsort(-u[r], kind="stable")[:4].tolist()
            shapes = ((0, 1, 2), (1, 0, 2), (0, 2), (2, 0, 1), (3, 0), (1, 3))
            cands, seen = [], set()
            for shape in shapes:
                plan = tuple(top[i] for i in shape if i < len(top))
                if plan and plan not in seen:
                    seen.add(plan)
                    cands.append(np.array(plan + (-1,) * (PLAN_STEPS - len(plan)), np.int8))
            labels = [self._plan_words(p) for p in cands]
            near = tuple(int(b) for b in nearest[r] if b >= 0)
            page = page_for(
                self.world,
                a,
                int(ctx["zone"][r]),
                near[:MAX_TALK],
                plan=self._plan_words(self.plan[a]),
                news=self.news(a, tick),
                zone_names=self.zone_names,
            )
            kw = {"question": "Plans", "answer": "Plan", "numbered": True}
            question = question_lines(labels, self.prompts.style, **kw)
            blocks, _ = self.transcripts.page(a, tick, page, question, set())  # its decisions' page, then the plans
            req = Request(
                a,
                tick,
                "reflect",
                self.prompts.shared,
                "".join(text for _, text in blocks),
                labels,
                [False] * len(labels),
                u[r, [int(p[0]) for p in cands]].astype(np.float32),
                calibration=self.prompts.calibration(len(labels), **kw),
                priority=pri[a],
                blocks=blocks,
                steer=self.profile(a),
                adapter=self.adapter(a),
            )
            out.append(req)
            self._plans[id(req)] = cands
        return out

    @staticmethod
    def _plan_words(plan: np.ndarray) -> str:
        return ", then ".join(STEP_WORDS[INTENTS[int(i)]] for i in plan if i >= 0)

    def plan_text(self, agent: int) -> str:
        """The rest of the agent's plan in words ('' without one)."""
        step = int(self.plan_step[agent])
        rest = self.plan[agent, step:] if step < PLAN_STEPS else self.plan[agent, :0]
        return self._plan_words(rest)

    # ------------------------------------------------------------ the guessing game

    def guess_requests(self, agents: np.ndarray, tick: int, rules_values: np.ndarray) -> list[Request]:
        """One 'guess' request per player in `agents` (ids): the rules and rounds so far shared, the persona
        personal, the answers the whole numbers of the range; `rules_values` (the rules guess of each) is the
        prior, so the rules backend answers with it."""
        from tokenworld.mind.guessing import guess_options, guess_personal, guess_shared
        from tokenworld.mind.personas import persona

        game, a = self.world.game, self.world.agents
        shared = guess_shared(game.options, game.history)
        labels = guess_options(game.options)
        values = np.arange(len(labels), dtype=np.float64)
        talk = [False] * len(labels)
        out = []
        for agent, rv in zip(np.asarray(agents, np.int64).tolist(), np.asarray(rules_values).tolist(), strict=True):
            page = guess_personal(persona(agent, int(a.archetype[agent]), a.traits[agent]))
            prior = (-np.abs(values - rv)).astype(np.float32)
            req = Request(
                agent,
                tick,
                "guess",
                shared,
                page,
                labels,
                talk,
                prior,
                priority=0,
                steer=self.profile(agent),
                adapter=self.adapter(agent),
            )
            out.append(req)
        return out

    def guess_values(self, requests: list[Request], answers: list[Answer]) -> tuple[np.ndarray, np.ndarray]:
        """The numbers the answered 'guess' requests chose (nan where the backend failed) and a mask of answers."""
        ok = np.array([ans.ok for ans in answers], bool)
        values = np.array(
            [float(r.options[x.choice]) if x.ok else np.nan for r, x in zip(requests, answers, strict=True)]
        )
        for req, ans in zip(requests, answers, strict=True):
            self.last[req.agent] = (req.prompt, ans.raw if ans.ok else f"(failed: {ans.error})")
        return values, ok

    # ------------------------------------------------------------ answers

    def resolve(self, requests: list[Request], answers: list[Answer], tick: int) -> tuple[Decisions, np.ndarray]:
        """Decisions from the answered decide requests, and the agents whose request (decision or reflection)
        failed, for the rules brain.

        Reflection answers set plans (and are remembered); they make no decision.
        """
        rows, failed = [], []
        for req, ans in zip(requests, answers, strict=False):
            menu = self._menus.pop(id(req), None)
            plans = self._plans.pop(id(req), None)
            self.last[req.agent] = (req.prompt, ans.raw if ans.ok else f"(failed: {ans.error})")
            if req.kind == "reflect":
                if not ans.ok:
                    failed.append(req.agent)
                if ans.ok and plans is not None:
                    self.plan[req.agent] = plans[ans.choice]
                    self.plan_step[req.agent] = 0
                    self.memory.add(tick, [req.agent], [PLANNED], text=np.array([req.options[ans.choice]], object))
                self.last_reflect[req.agent] = tick
                continue
            if not ans.ok or menu is None:
                failed.append(req.agent)
                continue
            turn = self._turns.pop(id(req), None)
            if turn is not None:
                self.transcripts.commit(turn)
            d = menu.decision(ans.choice, ans.say)
            d.source[:] = MODEL
            d.prompt_hash[:] = req.prompt_hash()
            d.tokens_in[:], d.tokens_out[:], d.latency_ms[:] = ans.tokens_in, ans.tokens_out, ans.latency_ms
            d.replica[:] = ans.replica
            d.steer[:] = -1 if self.bucket is None else self.bucket[req.agent]
            rows.append(d)
        return Decisions.concat(rows), np.asarray(failed, np.int32)

    def recheck(self, requests: list[Request], answers: list[Answer]) -> tuple[list[Request], list[Answer], list[int]]:
        """Answers that landed later than asked (realtime): those whose choice is still on the agent's menu now,
        rebound to that menu, and the agents whose answer went stale (the option is gone; they are asked again)."""
        if not requests:
            return [], [], []
        menus = self.menus.build(np.array([r.agent for r in requests], np.int64))
        keep_r, keep_a, stale = [], [], []
        for req, ans, menu in zip(requests, answers, menus, strict=False):
            label = req.options[ans.choice]
            if label in menu.labels:
                self._menus[id(req)] = menu
                keep_r.append(req)
                keep_a.append(dataclasses.replace(ans, choice=menu.labels.index(label)))
            else:
                self._menus.pop(id(req), None)
                stale.append(req.agent)
        return keep_r, keep_a, stale

    def forget(self, request: Request) -> None:
        """Drop what was kept for a request whose answer will not be used."""
        self._menus.pop(id(request), None)
        self._plans.pop(id(request), None)
        self._turns.pop(id(request), None)

    def menu(self, request: Request) -> Menu | None:
        """The menu a pending decide request was built from (until it is resolved)."""
        return self._menus.get(id(request))

    # ------------------------------------------------------------ checkpoints

    def state(self) -> dict[str, np.ndarray]:
        """Every array the minds' next prompts depend on, for a checkpoint (strings as numpy string arrays)."""
        out = self.memory.state()
        out.update(mind_plan=self.plan, mind_plan_step=self.plan_step, mind_last_reflect=self.last_reflect)
        width = max((len(lines) for lines in self.heard.values()), default=0)
        heard = np.full((len(self.plan), width), "", dtype=object)  # row = agent, lines oldest first, "" after
        for a, lines in self.heard.items():
            heard[a, : len(lines)] = lines
        out["mind_heard"] = heard.astype(str)
        out["mind_transcripts"] = self.transcripts.state(len(self.plan))
        return out

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Put back a `state()`."""
        self.memory.restore(state)
        self.plan[...] = state["mind_plan"]
        self.plan_step[...] = state["mind_plan_step"]
        self.last_reflect[...] = state["mind_last_reflect"]
        heard = state.get("mind_heard", np.zeros((0, 0), str))  # older checkpoints lack it
        self.heard = {int(a): [str(x) for x in heard[a] if x] for a in np.flatnonzero((heard != "").any(axis=1))}
        self.transcripts.restore(state.get("mind_transcripts", np.zeros(0, str)))  # older checkpoints: begin anew
