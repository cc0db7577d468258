"""Which changes of a scene a running simulation can take without a restart, and the scene it then runs.

A live edit (the viewer's Edit mode over a running simulation) hands the
simulation a whole edited scene. `plan_live_change` compares it with the scene
running now and splits the differences:

- applied live: zones (added, moved, renamed, recoloured, removed), entities
  (placed, moved, changed, removed; resource stocks included), economy rates,
  the description, the Narrator's scripted lines, `sim.ticks`, more agents (a
  group's count raised, or a new group: they join at the end of the agent
  table, ids never change) and a group's flocking weights;
- restart needed: the world (size, terrain), engine, mind, store and game
  settings, the rest of `sim`, and changes to agents already spawned (fewer
  agents, a removed group, a group's archetype, traits, spawn place, speed,
  inventory or mind), the first model-driven group of a scene without one, and
  more agents in a scene that plays a game.

The scene that runs after the edit (`LiveChange.scene`) is the edited scene
with every part that needs a restart kept as it was; it is validated like any
scene, and when it is not valid nothing applies live.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from tokenworld.errors import SceneError
from tokenworld.scene.schema import AgentGroup, Scene

# Option tables a running simulation cannot change (what they set was built in at the start).
RESTART_TABLES = {
    "world": "the world's size or terrain",
    "engine": "the engine's settings",
    "mind": "the mind settings",
    "store": "the run store's settings",
    "game": "the game",
}
LIVE_GROUP_FIELDS = {"count", "flocking"}  # a group's fields that apply to a running world (count: only up)


@dataclass
class LiveChange:
    """What an edited scene changes in a running simulation.

    Attributes:
        scene: the scene the simulation runs after the edit (the edit, less what needs a restart).
        applied: what applies live, in words ('zones', 'entities', '3 more agents', ...).
        restart_needed: what cannot apply live, one sentence each (empty: the whole edit applies).
        added_agents: agents that join (ids from the current count on).
    """

    scene: Scene
    applied: list[str] = field(default_factory=list)
    restart_needed: list[str] = field(default_factory=list)
    added_agents: int = 0

    @property
    def zones_changed(self) -> bool:
        return "zones" in self.applied

    @property
    def entities_changed(self) -> bool:
        return "entities" in self.applied

    @property
    def groups_changed(self) -> bool:
        return "groups" in self.applied

    @property
    def any(self) -> bool:
        """Whether anything applies live."""
        return bool(self.applied)

    def message(self) -> str:
        """One line for a person: what applied and what waits for a restart."""
        parts = []
        if self.applied:
            parts.append("applied live: " + ", ".join(self.applied))
        if self.restart_needed:
            parts.append("needs a restart from the edited scene: " + "; ".join(self.restart_needed))
        return ". ".join(parts) + "." if parts else "nothing changed."


@dataclass
class SceneEdit:
    """A live edit as the run store records it: before tick `tick` the simulation took `scene`.

    Attributes:
        tick: the first tick that ran with the edited scene.
        label: what the edit did, in words.
        scene: the scene that ran from then on (the edit less what needed a restart).
        agents_before, agents_after: the population before and after (agents only ever join).
    """

    tick: int
    label: str
    scene: Scene
    agents_before: int
    agents_after: int

    def scene_json(self) -> str:
        import json

        return json.dumps(self.scene.to_dict(), sort_keys=True)


def _group_change(old: AgentGroup, new: AgentGroup) -> tuple[AgentGroup, str | None]:
    """The group to run and, if part of the change needs a restart, why."""
    if old == new:
        return old, None
    changed = {f.name for f in dataclasses.fields(AgentGroup) if getattr(old, f.name) != getattr(new, f.name)}
    if new.count < old.count:
        return old, f"group {old.name!r}: fewer agents ({old.count} -> {new.count}); agents are never removed live"
    if not changed <= LIVE_GROUP_FIELDS:
        fields = ", ".join(sorted(changed - LIVE_GROUP_FIELDS))
        return old, f"group {old.name!r}: {fields} of agents already in the world"
    return new, None


def plan_live_change(old: Scene, new: Scene) -> LiveChange:
    """Split the change from `old` (running) to `new` (edited) into what applies live and what needs a restart."""
    restart: list[str] = []
    keep: dict = {}
    for table, words in RESTART_TABLES.items():
        if getattr(old, table) != getattr(new, table):
            restart.append(f"{words} ([{table}])")
            keep[table] = getattr(old, table)
    if old.sim != new.sim:
        live_sim = dataclasses.replace(old.sim, ticks=new.sim.ticks)
        if live_sim != new.sim:
            restart.append("the simulation's settings other than ticks ([sim])")
        keep["sim"] = live_sim
    groups = []
    for i in range(max(len(old.groups), len(new.groups))):
        if i >= len(new.groups):
            groups.append(old.groups[i])
            restart.append(f"group {old.groups[i].name!r} removed; agents are never removed live")
        elif i >= len(old.groups):
            groups.append(new.groups[i])
        else:
            group, why = _group_change(old.groups[i], new.groups[i])
            groups.append(group)
            if why:
                restart.append(why)
    if (
        not old.uses_model
        and any(g.mind == "model" for g in groups)
        and (keep.get("mind") or new.mind).backend != "rules"
    ):
        groups = [g if i < len(old.groups) else dataclasses.replace(g, mind="rules") for i, g in enumerate(groups)]
        restart.append("the first model-driven group (the language model starts with the run)")
    added = sum(g.count for g in groups) - old.agent_count
    if added and old.game.kind != "none":
        groups = list(old.groups)
        added = 0
        restart.append("more agents in a scene that plays a game")
    merged = dataclasses.replace(new, groups=groups, **keep)
    if merged != new:
        try:  # the parts kept must fit the parts edited (a zone a kept group spawns in, a kept world size)
            merged = Scene.from_dict(merged.to_dict(), source=new.source)
        except SceneError as exc:
            return LiveChange(old, [], [f"the edit only fits a restarted world ({exc})"], 0)
    merged.source = new.source
    applied = []
    if merged.zones != old.zones:
        applied.append("zones")
    if merged.entities != old.entities:
        applied.append("entities")
    if merged.economy != old.economy:
        applied.append("economy")
    if merged.groups != old.groups:
        applied.append("groups")
    for name in ("name", "description", "tell", "sim", "props"):  # props: the viewer's only
        if getattr(merged, name) != getattr(old, name):
            applied.append(name)
    return LiveChange(merged, applied, restart, added)


def apply_change(sim, change: LiveChange) -> None:
    """Make `change` (planned by `plan_live_change` against `sim.scene`) in the built simulation `sim`, between
    ticks: the world takes the scene (zones, entities, economy, joining agents), the rules brain and the minds
    read it again, decisions on their way follow their zone or entity, and the simulation's per-agent arrays
    grow with the population."""
    from tokenworld.world.agents import spawn_agents
    from tokenworld.world.decisions import TARGET_KINDS

    old, new = sim.scene, change.scene
    n_old = sim.world.n_agents
    more = None
    if change.added_agents:
        counts = [g.count - (old.groups[i].count if i < len(old.groups) else 0) for i, g in enumerate(new.groups)]
        more = spawn_agents(new, np.random.default_rng([sim.seed, 5, sim.tick, sim.edit_count]), counts)
    moved = sim.world.apply_scene(new, more)
    sim.scene = new
    sim.brain.scene_changed()
    p = sim.pending  # decisions on their way go where their zone or entity went (removed: no such target)
    for kind, key in (("zone", "zones"), ("entity", "entities")):
        rows = np.flatnonzero((p.target_kind == TARGET_KINDS.index(kind)) & (p.target >= 0))
        target = p.target[rows]
        known = target < len(moved[key])
        target[known] = moved[key][target[known]]
        target[~known] = -1
        p.target[rows] = target
    if sim.minds is not None and (change.zones_changed or old.description != new.description):
        sim.minds.scene_changed(moved["zones"])
    if more is not None:
        _grow(sim, n_old)


def _grow(sim, n_old: int) -> None:
    """Agents joined the world (rows from `n_old` on): the simulation's own per-agent arrays follow."""
    from tokenworld.world.agents import grown

    n = sim.world.n_agents
    sim.random_minded = sim._minded("random")
    sim._ids = np.arange(n)
    sim._spoken = grown(sim._spoken, n, False)
    sim._event = grown(sim._event, n, False)
    if sim.minds is not None:
        model = sim._model_agents(sim._minded("model"))
        sim.minds.grow(np.flatnonzero(model[n_old:]) + n_old, sim.tick)
        sim.scheduler.grow(model)
        sim._asked_at = grown(sim._asked_at, n, np.inf)
        sim._carried = grown(sim._carried, n, False)


def rebase(running: Scene, before: Scene, after: Scene) -> Scene:
    """`running` with the change from `before` to `after` made to it.

    What the change leaves alone stays as it runs: settings the runner made its own (the viewer's thread
    count, an editor preview's rules mind, `--agents`), key by key in option tables and group by group.
    Raises `SceneError` when the result is not a valid scene (it is checked when it mixes groups or a world
    that `after` does not have; otherwise `after`, valid already, vouches for it).
    """
    changes = {}
    for f in dataclasses.fields(Scene):
        bv, av, rv = getattr(before, f.name), getattr(after, f.name), getattr(running, f.name)
        if bv == av or rv == av:
            continue
        if dataclasses.is_dataclass(av) and dataclasses.is_dataclass(rv) and type(av) is type(rv):
            changes[f.name] = dataclasses.replace(
                rv,
                **{
                    k.name: getattr(av, k.name)
                    for k in dataclasses.fields(av)
                    if getattr(bv, k.name) != getattr(av, k.name)
                },
            )
        elif f.name == "groups":
            changes[f.name] = [rv[i] if i < len(bv) and i < len(rv) and bv[i] == g else g for i, g in enumerate(av)]
        else:
            changes[f.name] = av
    scene = dataclasses.replace(running, **changes)
    if scene.groups != after.groups or scene.world != after.world:
        scene = Scene.from_dict(scene.to_dict(), source=after.source)
    scene.source = after.source
    return scene
