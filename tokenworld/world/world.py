"""World state on top of the engine: agents, economy, social ties, entities."""

from __future__ import annotations

import collections

import numpy as np

from tokenworld.engine import Engine
from tokenworld.engine.kernels import ARRIVED, GROUP_COLUMNS, HAS_TARGET, HOLD, REPORTED
from tokenworld.scene.schema import Scene
from tokenworld.world.agents import AgentTable, grown, spawn_agents, world_rng
from tokenworld.world.decisions import Decisions, Events
from tokenworld.world.economy import Economy
from tokenworld.world.items import Recipe
from tokenworld.world.looks import entity_look, look_from_name, structure_look, structure_name
from tokenworld.world.social import SocialGraph
from tokenworld.world.terrain import heights


def group_params(scene: Scene) -> np.ndarray:
    """The engine's per-group flocking table from the scene's groups."""
    rows = [
        [g.flocking.cohesion, g.flocking.alignment, g.flocking.separation, g.flocking.personal_space, g.flocking.wander]
        for g in scene.groups
    ]
    if not rows:
        rows = [[0.0, 0.0, 0.0, 1.0, 0.0]]
    params = np.asarray(rows, np.float32)
    assert params.shape[1] == GROUP_COLUMNS
    return params


def index_map(old: list, new: list) -> np.ndarray:
    """Where each of `old` (zones or entities) is in `new` (-1: removed): the same item first, then the same
    name (when it names one item in each), then the same place in the list among the rest of the same kind."""
    out = np.full(len(old), -1, np.int64)
    taken = np.zeros(len(new), bool)
    alike: dict[str, list[int]] = {}
    for j, item in enumerate(new):
        alike.setdefault(repr(item), []).append(j)
    for i, item in enumerate(old):  # unchanged (the same row first)
        js = alike.get(repr(item), [])
        if js:
            j = i if i in js else js[0]
            js.remove(j)
            out[i], taken[j] = j, True

    def unique_names(items):
        names = [getattr(x, "name", "") for x in items]
        counts = collections.Counter(names)
        return {n: k for k, n in enumerate(names) if n and counts[n] == 1}

    new_names = unique_names(new)
    for name, i in unique_names(old).items():  # edited, found by name
        j = new_names.get(name)
        if out[i] < 0 and j is not None and not taken[j]:
            out[i], taken[j] = j, True
    for i in np.flatnonzero(out < 0).tolist():  # edited and renamed: the same row, if it is free and alike
        if i < len(new) and not taken[i] and getattr(new[i], "kind", None) == getattr(old[i], "kind", None):
            out[i], taken[i] = i, True
    return out


STALL_TICKS = 30
STALL_PROGRESS = 0.01  # m


class World:
    """Everything that exists in a running scene.

    Per-agent state lives in arrays indexed by agent id: the agent table
    (traits, archetype), the economy (needs, inventories), `busy_until`,
    `walking`, and the last action and refusal reason fed back to minds.

    Args:
        scene: a validated scene.
        seed: seed for spawning and for the world's own random choices.
        arch: Taichi arch for the engine.
        profile: time the engine's stages.
    """

    def __init__(self, scene: Scene, *, seed: int, arch: str | None = None, profile: bool = False):
        self.scene = scene
        self.rng = world_rng(seed)
        self.agents: AgentTable = spawn_agents(scene, self.rng)
        n = self.agents.n
        self._engine_args = {"seed": seed, "arch": arch, "profile": profile}
        self.engine = Engine(n, scene.world.size, scene.engine, group_params(scene), **self._engine_args)
        self.engine.set_zones(scene.zones)
        ents = scene.entities
        self.entity_pos = np.array([e.pos for e in ents], np.float32).reshape(-1, 2)
        self.entity_radius = np.array([e.radius for e in ents], np.float32)
        self.entity_solid = np.array([e.solid for e in ents], bool)
        self.entity_kind = [e.kind for e in ents]
        self.entity_name = [e.name for e in ents]
        self.entity_look = [entity_look(e) for e in ents]  # the text each entity's mesh is generated from
        self.engine.set_entities(self.entity_pos, self.entity_radius, self.entity_solid)
        self.engine.set_state(self.agents.spawn, self.agents.max_speed, self.agents.group)
        self.economy = Economy(scene, self.agents, self.rng)
        self.social = SocialGraph(n)
        self.busy_until = np.zeros(n, np.int64)
        self.walking = np.zeros(n, bool)
        self.walk_best = np.full(n, np.inf, np.float32)  # closest a walker has come to its target
        self.walk_stall = np.zeros(n, np.int32)  # ticks since it last came closer
        self.last_action = np.zeros(n, np.int16)
        self.last_reason = np.zeros(n, np.int8)
        self.carrying = np.full(n, -1, np.int16)  # what an agent gathered and carries while it walks, -1 none
        self.inbox: list[tuple[int, int, int, str]] = []  # (tick, speaker, listener, text) heard this tick
        self.game = None  # set by the simulation when the scene plays a game

    @property
    def n_agents(self) -> int:
        return self.agents.n

    # -------------------------------------------------------------- tick

    def advance(self, tick: int, dt: float) -> None:
        """Bookkeeping after the engine moved everyone: arrivals, needs, regrowth, finished actions."""
        arrived = self.engine.take_arrivals()
        self.walking[arrived] = False
        self._give_up_stalled_walks()
        self.economy.update_needs(dt, self.walking)
        every = self.scene.economy.regen_every
        if tick % every == 0:
            self.economy.regenerate(every * dt)
        done = np.flatnonzero((self.busy_until == tick) & (tick > 0))
        self.engine.change_flags(done.astype(np.int32), clear_bits=HOLD)
        self.inbox = []

    def start_walks(self, agents: np.ndarray, dest: np.ndarray) -> None:
        """Send `agents` walking to `dest` (rows of x, y)."""
        self.engine.set_targets(agents, dest)
        self.walking[agents] = True
        self.walk_best[agents] = np.inf
        self.walk_stall[agents] = 0

    def _give_up_stalled_walks(self) -> None:
        """A walker that has not come closer for STALL_TICKS ticks (a crowd, a wall) stops and decides anew."""
        walkers = np.flatnonzero(self.walking).astype(np.int32)
        if not len(walkers):
            return
        dist = np.linalg.norm(self.engine.read("pos", walkers) - self.engine.read("target", walkers), axis=1)
        closer = dist < self.walk_best[walkers] - STALL_PROGRESS
        self.walk_best[walkers] = np.where(closer, dist, self.walk_best[walkers])
        self.walk_stall[walkers] = np.where(closer, 0, self.walk_stall[walkers] + 1)
        stuck = walkers[self.walk_stall[walkers] >= STALL_TICKS]
        if len(stuck):
            self.engine.change_flags(stuck, set_bits=ARRIVED | REPORTED, clear_bits=HAS_TARGET)
            self.walking[stuck] = False

    def idle(self, tick: int) -> np.ndarray:
        """Mask of agents neither busy with an action nor walking."""
        return (self.busy_until <= tick) & ~self.walking

    def apply(self, decisions: Decisions, tick: int) -> Events:
        """Apply decisions at a tick boundary (see `tokenworld.world.rules`)."""
        from tokenworld.world.rules import apply_decisions

        return apply_decisions(self, decisions, tick)

    def set_busy(self, agents: np.ndarray, until: np.ndarray) -> None:
        """Keep `agents` busy (standing still) until the given ticks."""
        if len(agents):
            self.busy_until[agents] = until
            self.engine.change_flags(agents.astype(np.int32), set_bits=HOLD)
            self.walking[agents] = False

    def hear(self, speakers: np.ndarray, listeners: np.ndarray, texts: np.ndarray, tick: int) -> None:
        """Deliver what was said; minds read `inbox`, the recorder writes it to the message log."""
        self.inbox.extend(zip([tick] * len(texts), speakers.tolist(), listeners.tolist(), texts.tolist(), strict=False))

    def add_structures(self, recipe: Recipe, pos: np.ndarray, builders: np.ndarray, tick: int) -> np.ndarray:
        """New entities built from `recipe` at `pos` (one per builder); returns their ids."""
        first = len(self.entity_pos)
        k = len(pos)
        w, h = self.scene.world.size
        pos = np.clip(pos, 0, np.nextafter(np.float32([w, h]), np.float32(0)))
        self.entity_pos = np.concatenate([self.entity_pos, pos.astype(np.float32)])
        self.entity_radius = np.concatenate([self.entity_radius, np.full(k, recipe.radius, np.float32)])
        self.entity_solid = np.concatenate([self.entity_solid, np.zeros(k, bool)])  # builders stand on it
        self.entity_kind += [recipe.builds] * k
        self.entity_name += [structure_name(recipe.name, b) for b in builders.tolist()]
        self.entity_look += [structure_look(recipe.name)] * k
        self.economy.node_of_entity = np.concatenate([self.economy.node_of_entity, np.full(k, -1, np.int32)])
        self.engine.set_entities(self.entity_pos, self.entity_radius, self.entity_solid)
        return np.arange(first, first + k, dtype=np.int32)

    # -------------------------------------------------------- live edits

    def apply_scene(self, scene: Scene, more: AgentTable | None = None) -> dict[str, np.ndarray]:
        """Take an edited scene while running (what `tokenworld.sim.live_edit` found to apply live).

        Zones and entities are replaced (built structures stay, after the scene's entities; resource stocks and
        zone pools carry over by name unless their starting amounts were edited), economy rates and flocking
        weights take effect, and `more` agents (their groups' rows of the edited scene) join after the others:
        the engine is rebuilt at the new size with everyone else's state kept. Returns `zones` and `entities`,
        maps from old indices to new ones (-1: removed), for those who hold indices.
        """
        old = self.scene
        zone_map = index_map(old.zones, scene.zones)
        entity_map = np.arange(len(self.entity_pos), dtype=np.int64)
        self.scene = scene
        self.economy.options = scene.economy
        if scene.zones != old.zones:
            self.economy.set_zones(old.zones, scene.zones, zone_map)
            self.engine.set_zones(scene.zones)
        if scene.entities != old.entities:
            entity_map = self._set_scene_entities(old.entities, scene.entities)
        if more is not None and more.n:
            self._grow(more)
        elif group_params(scene).tolist() != group_params(old).tolist():
            self.engine.set_group_params(group_params(scene))
        return {"zones": zone_map, "entities": entity_map}

    def _set_scene_entities(self, old: list, new: list) -> np.ndarray:
        """The scene's entities become `new` (built structures kept after them); returns old row -> new row."""
        m_old, m_new = len(old), len(new)
        built = slice(m_old, None)
        scene_map = index_map(old, new)
        entity_map = np.concatenate([scene_map, np.arange(m_new, m_new + len(self.entity_pos) - m_old)])
        self.entity_pos = np.concatenate(
            [np.array([e.pos for e in new], np.float32).reshape(-1, 2), self.entity_pos[built]]
        )
        self.entity_radius = np.concatenate([np.array([e.radius for e in new], np.float32), self.entity_radius[built]])
        self.entity_solid = np.concatenate([np.array([e.solid for e in new], bool), self.entity_solid[built]])
        self.entity_kind = [e.kind for e in new] + self.entity_kind[m_old:]
        self.entity_name = [e.name for e in new] + self.entity_name[m_old:]
        self.entity_look = [entity_look(e) for e in new] + self.entity_look[m_old:]
        self.economy.set_nodes(old, new, scene_map, built=len(self.entity_pos) - m_new)
        self.engine.set_entities(self.entity_pos, self.entity_radius, self.entity_solid)
        return entity_map

    def _grow(self, more: AgentTable) -> None:
        """`more` agents join: every per-agent array grows, the engine is rebuilt at the new size."""
        n_old = self.agents.n
        self.agents = self.agents.extended(more)
        n = self.agents.n
        self.economy.grow(self.scene, more, n_old, self.rng)
        self.social.n = n
        for name, fill in (
            ("busy_until", 0),
            ("walking", False),
            ("walk_best", np.inf),
            ("walk_stall", 0),
            ("last_action", 0),
            ("last_reason", 0),
            ("carrying", -1),
        ):
            setattr(self, name, grown(getattr(self, name), n, fill))
        before = self.engine.export_state()
        engine = Engine(n, self.scene.world.size, self.scene.engine, group_params(self.scene), **self._engine_args)
        try:
            engine.set_zones(self.scene.zones)
            engine.set_entities(self.entity_pos, self.entity_radius, self.entity_solid)
            engine.set_state(self.agents.spawn, self.agents.max_speed, self.agents.group)
            state = engine.export_state()
            for key, value in before.items():
                if key != "tick" and len(value) >= n_old:
                    state[key][:n_old] = value[:n_old]
            state["tick"] = before["tick"]
            engine.restore_state(state)
        except BaseException:
            engine.close()
            raise
        self.engine.close()
        self.engine = engine

    def ground_height(self, xy: np.ndarray) -> np.ndarray:
        """Terrain height at ground-plane points, for placing things in 3D."""
        return heights(self.scene.world.terrain, xy)

    # -------------------------------------------------------- checkpoints

    def state(self) -> dict[str, np.ndarray]:
        """Every array a continued run depends on (engine included), for a checkpoint."""
        eco = self.economy
        out = {f"engine_{k}": v for k, v in self.engine.export_state().items()}
        out.update(
            inventory=eco.inventory,
            hunger=eco.hunger,
            energy=eco.energy,
            node_stock=eco.node_stock,
            pool=eco.pool,
            log_price=eco.log_price,
            busy_until=self.busy_until,
            walking=self.walking,
            walk_best=self.walk_best,
            walk_stall=self.walk_stall,
            last_action=self.last_action,
            last_reason=self.last_reason,
            carrying=self.carrying,
            entity_pos=self.entity_pos,
            entity_radius=self.entity_radius,
            entity_solid=self.entity_solid,
            entity_kind=np.array(self.entity_kind, dtype=str),
            entity_name=np.array(self.entity_name, dtype=str),
            entity_look=np.array(self.entity_look, dtype=str),
            node_of_entity=eco.node_of_entity,
            **{f"ledger_{k}": v for k, v in eco.ledger.items()},
            **self.social.state(),
        )
        return out

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Put back a `state()`; continuing then equals the run that wrote it."""
        eco = self.economy
        for name in ("inventory", "hunger", "energy", "node_stock", "pool", "log_price", "node_of_entity"):
            setattr(eco, name, np.array(state[name]))
        for name in (
            "busy_until",
            "walking",
            "walk_best",
            "walk_stall",
            "last_action",
            "last_reason",
            "entity_pos",
            "entity_radius",
            "entity_solid",
        ):
            setattr(self, name, np.array(state[name]))
        self.carrying = np.array(state["carrying"]) if "carrying" in state else np.full(self.n_agents, -1, np.int16)
        self.entity_kind = [str(k) for k in state["entity_kind"]]
        self.entity_name = [str(k) for k in state["entity_name"]]
        if "entity_look" in state:
            self.entity_look = [str(k) for k in state["entity_look"]]
        else:  # a checkpoint written before looks: the scene's entities, then built structures by their names
            ents = self.scene.entities
            self.entity_look = [entity_look(e) for e in ents[: len(self.entity_name)]]
            self.entity_look += [look_from_name(name) for name in self.entity_name[len(self.entity_look) :]]
        for k in eco.ledger:
            eco.ledger[k] = np.array(state[f"ledger_{k}"])
        self.social.restore(state)
        self.engine.set_entities(self.entity_pos, self.entity_radius, self.entity_solid)
        self.engine.restore_state({k[len("engine_") :]: v for k, v in state.items() if k.startswith("engine_")})

    def close(self) -> None:
        """Release the engine."""
        self.engine.close()
