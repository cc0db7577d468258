"""Checks of meaning on a typed scene: every problem names its key path."""

from __future__ import annotations

import difflib

import numpy as np

from tokenworld.scene.geometry import polygon_area, polygon_self_intersects
from tokenworld.scene.schema import ITEMS, TRAITS, AgentGroup, Scene, Zone

MAX_AGENTS = 50_000_000


def validate_scene(scene: Scene) -> list[str]:
    """Return one message per problem in `scene` (empty when it is valid)."""
    problems: list[str] = []
    p = problems.append
    if not scene.name.strip():
        p("`name`: must not be empty.")
    w, h = scene.world.size
    if w <= 0 or h <= 0:
        p(f"`world.size`: both sides must be positive, found [{w}, {h}].")
    t = scene.world.terrain
    if t.height < 0:
        p(f"`world.terrain.height`: must be 0 or more, found {t.height}.")
    if t.scale <= 0:
        p(f"`world.terrain.scale`: must be positive, found {t.scale}.")
    _check_sim(scene, p)
    _check_engine(scene, p)
    _check_mind(scene, p)
    _check_economy(scene, p)
    names = set()
    for i, zone in enumerate(scene.zones):
        _check_zone(zone, f"zones[{i}]", (w, h), p)
        if zone.name in names:
            p(f"`zones[{i}].name`: {zone.name!r} is used by an earlier zone; zone names must be unique.")
        names.add(zone.name)
    for i, e in enumerate(scene.entities):
        path = f"entities[{i}]"
        x, y = e.pos
        if not (0 <= x < w and 0 <= y < h):
            p(f"`{path}.pos`: [{x}, {y}] lies outside the world [0, {w}) x [0, {h}).")
        if e.radius <= 0:
            p(f"`{path}.radius`: must be positive, found {e.radius}.")
        if e.kind == "resource":
            _check_node(e.properties, f"{path}.properties", p)
    group_names = set()
    for i, t in enumerate(scene.tell):
        _check_tell(t, f"tell[{i}]", scene, p)
    for i, g in enumerate(scene.groups):
        _check_group(g, f"groups[{i}]", scene, p)
        if g.name in group_names:
            p(f"`groups[{i}].name`: {g.name!r} is used by an earlier group; group names must be unique.")
        group_names.add(g.name)
    if scene.agent_count > MAX_AGENTS:
        p(f"`groups`: {scene.agent_count:,} agents in all; the most a scene may hold is {MAX_AGENTS:,}.")
    return problems


def _positive(p, path: str, value, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        p(f"`{path}`: must be {'0 or more' if allow_zero else 'positive'}, found {value}.")


def _check_sim(scene: Scene, p) -> None:
    s = scene.sim
    _positive(p, "sim.dt", s.dt)
    _positive(p, "sim.ticks", s.ticks, allow_zero=True)
    _positive(p, "sim.max_decisions_per_tick", s.max_decisions_per_tick, allow_zero=True)
    _positive(p, "sim.metrics_every", s.metrics_every)
    if s.seed is not None and not (0 <= s.seed < 2**32):
        p(f"`sim.seed`: must be in [0, 2^32), found {s.seed}.")


def _check_engine(scene: Scene, p) -> None:
    e = scene.engine
    for name in ("perception_radius", "entity_reach", "arrive_radius", "slow_radius", "max_force"):
        _positive(p, f"engine.{name}", getattr(e, name))
    _positive(p, "engine.boundary_margin", e.boundary_margin, allow_zero=True)
    _positive(p, "engine.resort_every", e.resort_every, allow_zero=True)
    if not 1 <= e.neighbours <= 32:
        p(f"`engine.neighbours`: must be between 1 and 32, found {e.neighbours}.")
    if not 1 <= e.entities_seen <= 16:
        p(f"`engine.entities_seen`: must be between 1 and 16, found {e.entities_seen}.")


def _check_mind(scene: Scene, p) -> None:
    m = scene.mind
    _positive(p, "mind.decide_every", m.decide_every)
    _positive(p, "mind.reflect_every", m.reflect_every, allow_zero=True)
    _positive(p, "mind.max_output_tokens", m.max_output_tokens)
    _positive(p, "mind.temperature", m.temperature, allow_zero=True)
    _positive(p, "mind.memory_size", m.memory_size)
    _positive(p, "mind.recall", m.recall, allow_zero=True)
    _positive(p, "mind.timeout_s", m.timeout_s)
    _positive(p, "mind.batch_wait_ms", m.batch_wait_ms, allow_zero=True)
    _positive(p, "mind.max_wait_s", m.max_wait_s)
    _positive(p, "mind.max_concurrency", m.max_concurrency)
    _positive(p, "mind.cache_size", m.cache_size, allow_zero=True)
    _positive(p, "mind.threads", m.threads, allow_zero=True)
    if not 0.0 <= m.prior_weight <= 100.0:
        p(f"`mind.prior_weight`: must be between 0 (the model alone) and 100, found {m.prior_weight}.")
    if not 0.0 <= m.llm_fraction <= 1.0:
        p(f"`mind.llm_fraction`: must be between 0 and 1, found {m.llm_fraction}.")
    if not 1 <= m.batch_size <= 128:
        p(f"`mind.batch_size`: must be between 1 and 128, found {m.batch_size}.")
    if not 128 <= m.max_prompt_tokens <= 8192:
        p(f"`mind.max_prompt_tokens`: must be between 128 and 8192, found {m.max_prompt_tokens}.")
    if m.backend == "openai":
        urls = [u.strip() for u in m.endpoint.split(",") if u.strip()]
        if not urls:
            p('`mind.endpoint`: the openai backend needs the base URL of a server, e.g. "http://127.0.0.1:8080/v1".')
        for u in urls:
            if not (u.startswith("http://") or u.startswith("https://")):
                p(f'`mind.endpoint`: {u!r} is not an http(s) URL; write it like "http://127.0.0.1:8080/v1".')


def _check_zone(zone: Zone, path: str, size, p) -> None:
    if not zone.name.strip():
        p(f"`{path}.name`: must not be empty.")
    if (zone.rect is None) == (zone.polygon is None):
        p(f"`{path}`: give exactly one of `rect` or `polygon`.")
        return
    if zone.rect is not None:
        x0, y0, x1, y1 = zone.rect
        if not (x1 > x0 and y1 > y0):
            p(f"`{path}.rect`: expected [x0, y0, x1, y1] with x1 > x0 and y1 > y0, found {list(zone.rect)}.")
            return
    else:
        poly = np.asarray(zone.polygon, dtype=np.float64)
        if len(poly) < 3:
            p(f"`{path}.polygon`: needs at least 3 vertices, found {len(poly)}.")
            return
        d = poly - poly[0]
        far = d[int(np.argmax((d * d).sum(axis=1)))]  # the direction of the line, if the vertices lie on one
        on_a_line = bool(
            np.all(np.abs(d[:, 0] * far[1] - d[:, 1] * far[0]) <= 1e-9 * max(float((far * far).sum()), 1.0))
        )
        if polygon_area(poly) <= 0 and on_a_line:
            p(f"`{path}.polygon`: has no area (its vertices lie on a line).")
            return
        if polygon_self_intersects(poly) or polygon_area(poly) <= 0:
            p(f"`{path}.polygon`: its edges cross; list the vertices in order around the outline.")
            return
    # Bounds in float64, like the world size (float32 could round past the edge).
    pts = np.asarray(zone.polygon if zone.rect is None else [zone.rect[:2], zone.rect[2:]], dtype=np.float64)
    x0, y0 = (float(v) for v in pts.min(axis=0))
    x1, y1 = (float(v) for v in pts.max(axis=0))
    w, h = size
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        key = "rect" if zone.rect is not None else "polygon"
        p(
            f"`{path}.{key}`: zone {zone.name!r} reaches outside the world [0, {w}] x [0, {h}] (its bounds are [{x0}, "
            f"{y0}, {x1}, {y1}])."
        )
    if zone.color is not None and not all(0 <= c <= 1 for c in zone.color):
        p(f"`{path}.color`: RGB values must be in [0, 1], found {list(zone.color)}.")
    _check_items(zone.resources, f"{path}.resources", p)


def _check_group(g: AgentGroup, path: str, scene: Scene, p) -> None:
    if g.count < 0:
        p(f"`{path}.count`: must be 0 or more, found {g.count}.")
    lo, hi = g.speed
    if not (0 < lo <= hi):
        p(f"`{path}.speed`: expected [min, max] with 0 < min <= max, found [{lo}, {hi}].")
    if (g.spawn_zone is None) == (g.spawn_area is None):
        p(f"`{path}`: give exactly one of `spawn_zone` or `spawn_area`.")
    elif g.spawn_zone is not None:
        names = [z.name for z in scene.zones]
        if g.spawn_zone not in names:
            close = difflib.get_close_matches(g.spawn_zone, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" Zones: {', '.join(names) or 'none'}."
            p(f"`{path}.spawn_zone`: there is no zone {g.spawn_zone!r}.{hint}")
    else:
        x0, y0, x1, y1 = g.spawn_area
        w, h = scene.world.size
        if not (x1 > x0 and y1 > y0):
            p(f"`{path}.spawn_area`: expected [x0, y0, x1, y1] with x1 > x0 and y1 > y0, found {list(g.spawn_area)}.")
        elif x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            p(f"`{path}.spawn_area`: reaches outside the world [0, {w}] x [0, {h}].")
    for trait, dist in g.traits.items():
        if trait not in TRAITS:
            close = difflib.get_close_matches(trait, TRAITS, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else f"; traits are {', '.join(TRAITS)}."
            p(f"Unrecognized key `{path}.traits.{trait}`{hint}")
            continue
        if dist is None:
            continue
        if not 0 <= dist.mean <= 1:
            p(f"`{path}.traits.{trait}.mean`: must be in [0, 1], found {dist.mean}.")
        if dist.std < 0:
            p(f"`{path}.traits.{trait}.std`: must be 0 or more, found {dist.std}.")
    _check_items(g.inventory, f"{path}.inventory", p)
    f = g.flocking
    for name in ("cohesion", "alignment", "separation", "wander"):
        _positive(p, f"{path}.flocking.{name}", getattr(f, name), allow_zero=True)
    _positive(p, f"{path}.flocking.personal_space", f.personal_space)


def _check_items(amounts: dict, path: str, p) -> None:
    for key, amount in amounts.items():
        if key not in ITEMS:
            close = difflib.get_close_matches(key, ITEMS, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else f"; items are {', '.join(ITEMS)}."
            p(f"Unrecognized item `{path}.{key}`{hint}")
        elif amount < 0:
            p(f"`{path}.{key}`: must be 0 or more, found {amount}.")


def _check_node(props: dict, path: str, p) -> None:
    """A resource entity names its item and stock: `{ resource = "wood", stock = 60, regen = 0.05 }`."""
    item = props.get("resource")
    if item not in ITEMS:
        close = difflib.get_close_matches(str(item), ITEMS, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else f" Items are {', '.join(ITEMS)}."
        p(f"`{path}.resource`: a resource entity needs one of the items, found {item!r}.{hint}")
    for key in ("stock", "regen", "max_stock"):
        value = props.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            p(f"`{path}.{key}`: must be a number, 0 or more, found {value!r}.")


def _check_economy(scene: Scene, p) -> None:
    e = scene.economy
    for name in ("hunger_rate", "energy_rate", "walk_energy_factor", "eat_relief", "rest_gain", "gather_amount"):
        _positive(p, f"economy.{name}", getattr(e, name), allow_zero=True)
    _positive(p, "economy.regen_every", e.regen_every)
    if not 0 <= e.price_memory <= 1:
        p(f"`economy.price_memory`: must be in [0, 1], found {e.price_memory}.")
    _positive(p, "store.checkpoint_every", scene.store.checkpoint_every, allow_zero=True)
    _positive(p, "store.snapshot_every", scene.store.snapshot_every, allow_zero=True)
    _positive(p, "store.track_every", scene.store.track_every, allow_zero=True)
    g = scene.game
    _positive(p, "game.rounds", g.rounds)
    _positive(p, "game.max_value", g.max_value)
    _positive(p, "game.factor", g.factor)
    _positive(p, "game.ticks_per_round", g.ticks_per_round)


def _check_tell(t, path: str, scene, p) -> None:
    """A scripted Narrator line: non-empty text, a tick from 1, and exactly one existing agent or zone."""
    if not str(t.text).strip():
        p(f"`{path}.text`: empty; write what the Narrator says.")
    if t.tick < 1:
        p(f"`{path}.tick`: {t.tick}; ticks start at 1.")
    if (t.agent is None) == (t.zone is None):
        p(f"`{path}`: give either `agent` (an agent id) or `zone` (a zone name), not both or neither.")
    if t.agent is not None and not 0 <= t.agent < scene.agent_count:
        p(f"`{path}.agent`: {t.agent}; agent ids run from 0 to {scene.agent_count - 1}.")
    if t.zone is not None and t.zone not in {z.name for z in scene.zones}:
        names = ", ".join(z.name for z in scene.zones) or "none"
        p(f"`{path}.zone`: no zone called {t.zone!r} (zones: {names}).")
