"""A fixed, hand-labelled set of village situations, each with one clearly right option.

`situations.toml` (shipped with the package) describes each situation: which
villager, where it stands, its needs and inventory, who stands next to it
(and what they hold or said), its plan, and the right option written as an
action label (`eat`, `talk Ben`, `move_to forest`; a trade's label may stop
after the partner's name, `trade Ben`). The labels are common sense written by
hand, not the rules brain's choices, so the rules backend is scored like any
other.

`SituationSet` builds the shipped village once (the rules brain deciding, as
`village_requests` does), and for each situation puts the world in that state
through the engine's and the economy's own arrays: everyone else stands far
off, the agent and its neighbours where the file says, perception runs once,
then the request is written by `ModelMinds.requests` exactly as a model-driven
run writes it. A situation whose right option is not in the built menu is an
error naming it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from tokenworld.errors import TokenWorldError

SITUATIONS_FILE = "situations.toml"
NEIGHBOUR_GAP = 1.5  # m between the agent and its nearest neighbour; the next ones 1 m further each
PARK_Y = 197.0  # m: everyone not in the situation stands on a row along the world's northern edge
_KEYS = {
    "name",
    "agent",
    "right",
    "at",
    "pos",
    "hunger",
    "energy",
    "has",
    "near",
    "near_has",
    "near_hunger",
    "heard",
    "plan",
}


@dataclass(frozen=True)
class Situation:
    """One hand-labelled situation (see the module docstring and `situations.toml`)."""

    name: str
    agent: int
    right: str  # the right option's label, or its start (`trade Ben`)
    at: str = ""  # a zone: the agent stands at its centre
    pos: tuple[float, float] | None = None  # or a point
    hunger: float = 0.0
    energy: float = 1.0
    has: dict[str, float] = field(default_factory=dict)
    near: tuple[int, ...] = ()  # neighbours (ids), nearest first
    near_has: dict[str, float] = field(default_factory=dict)  # the nearest neighbour's inventory
    near_hunger: float = 0.0  # the nearest neighbour's hunger
    heard: tuple[str, ...] = ()  # lines the nearest neighbour said to the agent just now
    plan: tuple[str, ...] = ()  # the agent's plan: intents of the rules brain (`wood`, `craft`, ...)

    @property
    def kind(self) -> str:
        """The right option's action (`eat`, `talk`, `move_to`, ...): the set's categories."""
        return self.right.split(" ", 1)[0]


def load_situations(text: str | None = None) -> list[Situation]:
    """The situations of `text` (TOML), by default the shipped `situations.toml`; bad entries raise
    `TokenWorldError` naming the situation and the key."""
    from tokenworld.mind.rules_brain import INTENTS
    from tokenworld.scene.schema import ITEMS

    if text is None:
        text = resources.files("tokenworld.bench").joinpath(SITUATIONS_FILE).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TokenWorldError(f"{SITUATIONS_FILE}: {e}") from None
    except RecursionError:
        raise TokenWorldError(f"{SITUATIONS_FILE}: arrays or tables nested too deeply to read.") from None
    out, names = [], set()
    for i, entry in enumerate(data.get("situation", [])):
        where = f"{SITUATIONS_FILE}, situation {i + 1} ({entry.get('name', 'unnamed')!r})"
        unknown = set(entry) - _KEYS
        if unknown:
            raise TokenWorldError(
                f"{where}: unknown key {sorted(unknown)[0]!r}; the keys are {', '.join(sorted(_KEYS))}."
            )
        for key in ("name", "agent", "right"):
            if key not in entry:
                raise TokenWorldError(f"{where}: `{key}` is missing.")
        if ("at" in entry) == ("pos" in entry):
            raise TokenWorldError(f"{where}: give exactly one of `at` (a zone) or `pos` ([x, y]).")
        for key in ("hunger", "energy", "near_hunger"):
            if not 0.0 <= entry.get(key, 0.0) <= 1.0:
                raise TokenWorldError(f"{where}: `{key}` must be in [0, 1], found {entry[key]}.")
        for key in ("has", "near_has"):
            bad = [k for k in entry.get(key, {}) if k not in ITEMS]
            if bad:
                raise TokenWorldError(f"{where}: `{key}.{bad[0]}` is no item; items are {', '.join(ITEMS)}.")
        bad = [s for s in entry.get("plan", []) if s not in INTENTS]
        if bad:
            raise TokenWorldError(f"{where}: plan step {bad[0]!r} is no intent; intents are {', '.join(INTENTS)}.")
        if entry.get("heard") and not entry.get("near"):
            raise TokenWorldError(f"{where}: `heard` lines are said by the nearest neighbour; give `near`.")
        if entry["name"] in names:
            raise TokenWorldError(f"{where}: the name is used by an earlier situation.")
        names.add(entry["name"])
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
        out.append(Situation(**fields))
    if not out:
        raise TokenWorldError(f"{SITUATIONS_FILE} holds no [[situation]].")
    return out


def spread(situations: list[Situation], n: int | None) -> list[Situation]:
    """`n` situations evenly spaced through the set (so a few cover several kinds); all of them for None."""
    if n is None or n >= len(situations):
        return list(situations)
    return [situations[i] for i in np.linspace(0, len(situations) - 1, max(n, 1)).round().astype(int)]


def right_index(situation: Situation, options: list[str]) -> int:
    """The index of the situation's right option in `options`; `TokenWorldError` when it is not there once."""
    hits = [i for i, o in enumerate(options) if o == situation.right or o.startswith(situation.right + " ")]
    if len(hits) != 1:
        found = "is not in" if not hits else "matches several options of"
        raise TokenWorldError(
            f"{SITUATIONS_FILE}: situation {situation.name!r}: the right option {situation.right!r} {found} the built "
            f"menu ({' | '.join(options)}); change the situation's state or its `right`."
        )
    return hits[0]


class SituationSet:
    """The shipped village, built once, turning situations into requests.

    Args:
        situations: the set (default: the shipped file).
        seed: the village's seed (traits and names of the agents come from it).
    """

    def __init__(self, situations: list[Situation] | None = None, *, seed: int = 1):
        from tokenworld.bench.inference import village_scene
        from tokenworld.sim.simulation import Simulation

        self.situations = load_situations() if situations is None else list(situations)
        scene = village_scene()
        scene.mind.backend = "rules"  # the village is built without a model; requests are written as a model run's
        self.sim = Simulation(scene, seed=seed).build()
        self._start = self.sim.checkpoint()
        n = self.sim.n_agents
        bad = [s for s in self.situations if not all(0 <= a < n for a in (s.agent, *s.near)) or s.agent in s.near]
        if bad:
            raise TokenWorldError(
                f"{SITUATIONS_FILE}: situation {bad[0].name!r}: agents are ids 0-{n - 1}, "
                "the agent not among its neighbours."
            )

    def requests(self, style: str, count_tokens) -> tuple[list, list[int]]:
        """(requests, index of the right option in each) for a backend's answer style and token counter."""
        reqs, right = [], []
        for s in self.situations:
            req = self.request(s, style, count_tokens)
            reqs.append(req)
            right.append(right_index(s, req.options))
        return reqs, right

    def request(self, s: Situation, style: str, count_tokens):
        """The request of situation `s`, written by `ModelMinds` from the world put in its state."""
        from tokenworld.mind.minds import ModelMinds
        from tokenworld.mind.rules_brain import I as INTENT
        from tokenworld.scene.schema import ITEMS

        sim = self.sim
        sim.restore(*self._start)
        w, eco = sim.world, sim.world.economy
        n = w.n_agents
        zones = [z.name for z in w.scene.zones]
        if s.at and s.at not in zones:
            raise TokenWorldError(
                f"{SITUATIONS_FILE}: situation {s.name!r}: no zone {s.at!r}; zones: {', '.join(zones)}."
            )
        here = np.asarray(s.pos if s.pos is not None else sim.brain.zone_centre[zones.index(s.at)], np.float32)
        pos = np.stack([4.0 + 7.9 * np.arange(n), np.full(n, PARK_Y)], axis=1).astype(np.float32)
        pos[s.agent] = here
        for k, b in enumerate(s.near):
            pos[b] = here + np.float32([NEIGHBOUR_GAP + k, 0.0])
        w.engine.set_state(pos, w.agents.max_speed, w.agents.group)
        w.engine.step(0.0)  # perception (zones, neighbours, entities within reach) where everyone now stands
        eco.hunger[s.agent], eco.energy[s.agent] = s.hunger, s.energy
        eco.inventory[s.agent] = [s.has.get(item, 0.0) for item in ITEMS]
        if s.near:
            eco.inventory[s.near[0]] = [s.near_has.get(item, 0.0) for item in ITEMS]
            eco.hunger[s.near[0]] = s.near_hunger
        zone = int(w.engine.read("zone", np.array([s.agent]))[0])
        if s.at and zones[zone] != s.at:
            raise TokenWorldError(
                f"{SITUATIONS_FILE}: situation {s.name!r}: the centre of {s.at!r} lies in "
                f"{zones[zone]!r}; give `pos` instead."
            )
        minds = ModelMinds(w, sim.brain, np.arange(n), w.scene.mind, style, count_tokens)
        if s.heard:
            minds.observe(sim.tick, [], [(sim.tick, s.near[0], s.agent, line) for line in s.heard])
        minds.plan[s.agent, : len(s.plan)] = [INTENT[p] for p in s.plan]
        (req,) = minds.requests(np.array([s.agent]), np.zeros(0, np.int64), sim.tick, np.array([3], np.int8))
        return req

    def close(self) -> None:
        """Release the village's engine."""
        self.sim.close()
