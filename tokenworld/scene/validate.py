"""Checks of meaning on a typed scene: every problem names its key path.

Numeric ranges are data in the schema (`opt(..., min=..., max=...)`, a `Range` in each field's metadata) and are
checked here by one walk over every table (`_check_ranges`); what is left below are the checks a range cannot
say: names, geometry, references between parts and sums over them.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import typing

import numpy as np

from tokenworld.scene.geometry import polygon_area, polygon_self_intersects
from tokenworld.scene.options import Range
from tokenworld.scene.schema import ITEMS, MAX_BATCH, RAY_MAX_BATCH, TRAITS, AgentGroup, Scene, Zone

MAX_AGENTS = 50_000_000
MAX_PROMPT = 500  # characters of a generated asset's description (`properties.prompt`) read


def validate_scene(scene: Scene) -> list[str]:
    """Return one message per problem in `scene` (empty when it is valid)."""
    problems: list[str] = []
    p = problems.append
    _check_ranges(scene, "", p)
    if not scene.name.strip():
        p("`name`: must not be empty.")
    w, h = scene.world.size
    _check_endpoint(scene, p)
    _check_steering(scene, p)
    _check_adapters(scene, p)
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
        if e.kind == "resource":
            _check_node(e.properties, f"{path}.properties", p)
        _check_look(e.properties, f"{path}.properties", p)
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


@functools.cache
def _ranged_fields(cls: type) -> tuple[tuple[str, Range, bool], ...]:
    """`(name, range, whole)` of the fields of schema class `cls` that carry a range (`whole`: int-typed)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        rng = f.metadata.get("range")
        if rng is not None:
            tp = hints[f.name]
            args = typing.get_args(tp)
            out.append((f.name, rng, tp is int or (typing.get_origin(tp) is typing.Union and int in args)))
    return tuple(out)


def _check_ranges(obj, path: str, p) -> None:
    """Check every number of `obj` (a schema dataclass) and of the tables inside it against its field's range.

    A list-like value (`[w, h]`, a colour) is checked value by value and named whole; a table of numbers
    (`resources`) entry by entry, each under its own key.
    """
    for name, rng, whole in _ranged_fields(type(obj)):
        value = getattr(obj, name)
        sub = f"{path}.{name}" if path else name
        if value is None:
            continue
        if isinstance(value, tuple):
            if not all(rng.contains(v) for v in value):
                p(f"`{sub}`: each value must be {rng.words(whole=whole)}, found {list(value)}.")
        elif isinstance(value, dict):
            for key, v in value.items():
                if isinstance(v, (int, float)) and not rng.contains(v):
                    p(f"`{sub}.{key}`: must be {rng.words(whole=whole)}, found {v}.")
        elif not rng.contains(value):
            p(f"`{sub}`: must be {rng.words(whole=whole)}, found {value}.")
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        sub = f"{path}.{f.name}" if path else f.name
        if dataclasses.is_dataclass(value):
            _check_ranges(value, sub, p)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    _check_ranges(item, f"{sub}[{i}]", p)
        elif isinstance(value, dict):
            for key, item in value.items():
                if dataclasses.is_dataclass(item):
                    _check_ranges(item, f"{sub}.{key}", p)


def _check_steering(scene: Scene, p) -> None:
    """Steering vectors act inside llama.cpp: other backends take traits through the prompt only."""
    m = scene.mind
    if not m.steering.vectors:
        return
    inner = m.ray_backend if m.backend == "ray" else m.backend
    if inner not in ("llama_cpp", "rules"):
        p(
            f"`mind.steering.vectors`: steering adds control vectors inside llama.cpp; the {inner} backend takes an "
            'agent\'s traits through its prompt only. Use backend = "llama_cpp" (or ray with ray_backend = '
            '"llama_cpp"), or leave `mind.steering.vectors` empty.'
        )
    if not m.steering.layers:
        p("`mind.steering.layers`: give at least one layer to add the vectors at, e.g. [3, 4, 5, 6, 7, 8].")


def _check_adapters(scene: Scene, p) -> None:
    """An adapter belongs to a model-driven group, and the in-process vLLM backend does not load adapters."""
    m = scene.mind
    inner = m.ray_backend if m.backend == "ray" else m.backend
    for i, g in enumerate(scene.groups):
        if not g.adapter:
            continue
        if g.mind != "model":
            p(f'`groups[{i}].adapter`: only model-driven groups use an adapter; this group has mind = "{g.mind}".')
        elif inner == "vllm":
            p(
                f"`groups[{i}].adapter`: the in-process vllm backend does not load adapters; serve them with `vllm "
                'serve MODEL --enable-lora --lora-modules NAME=PATH` and use backend = "openai" with adapter = NAME.'
            )


def _check_endpoint(scene: Scene, p) -> None:
    """The openai backend needs http(s) base URLs; batches above MAX_BATCH are for the ray backend only."""
    m = scene.mind
    if m.backend != "ray" and m.batch_size > MAX_BATCH:
        p(
            f"`mind.batch_size`: must be between 1 and {MAX_BATCH}, found {m.batch_size}. (Only the ray backend, "
            f"which splits a batch over its actors, takes up to {RAY_MAX_BATCH}.)"
        )
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
    _check_items(zone.resources, f"{path}.resources", p)


def _check_group(g: AgentGroup, path: str, scene: Scene, p) -> None:
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
    for trait in g.traits:
        if trait not in TRAITS:
            close = difflib.get_close_matches(trait, TRAITS, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else f"; traits are {', '.join(TRAITS)}."
            p(f"Unrecognized key `{path}.traits.{trait}`{hint}")
    _check_items(g.inventory, f"{path}.inventory", p)


def _check_items(amounts: dict, path: str, p) -> None:
    for key in amounts:
        if key not in ITEMS:
            close = difflib.get_close_matches(key, ITEMS, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else f"; items are {', '.join(ITEMS)}."
            p(f"Unrecognized item `{path}.{key}`{hint}")


def _check_look(props: dict, path: str, p) -> None:
    """What an entity's generated mesh is made from: `prompt` (text) and `seed` (a whole number)."""
    prompt = props.get("prompt", "")
    if not isinstance(prompt, str):
        p(f'`{path}.prompt`: must be text describing the thing (such as "a stone well"), found {prompt!r}.')
    elif len(prompt) > MAX_PROMPT:
        p(f"`{path}.prompt`: {len(prompt):,} characters; a description may have at most {MAX_PROMPT}.")
    seed = props.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        p(f"`{path}.seed`: must be a whole number from 0 to {2**32 - 1} (it varies the mesh), found {seed!r}.")


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


def _check_tell(t, path: str, scene, p) -> None:
    """A scripted Narrator line: non-empty text, a tick from 1, and exactly one existing agent or zone."""
    if not str(t.text).strip():
        p(f"`{path}.text`: empty; write what the Narrator says.")
    if (t.agent is None) == (t.zone is None):
        p(f"`{path}`: give either `agent` (an agent id) or `zone` (a zone name), not both or neither.")
    if t.agent is not None and not 0 <= t.agent < scene.agent_count:
        p(f"`{path}.agent`: {t.agent}; agent ids run from 0 to {scene.agent_count - 1}.")
    if t.zone is not None and t.zone not in {z.name for z in scene.zones}:
        names = ", ".join(z.name for z in scene.zones) or "none"
        p(f"`{path}.zone`: no zone called {t.zone!r} (zones: {names}).")
