"""The starter scene of `tokenworld scene new` and the summary of `scene check`."""

from __future__ import annotations

import re

from tokenworld.errors import TokenWorldError
from tokenworld.scene.geometry import polygon_area, zone_polygon
from tokenworld.scene.schema import Scene

STARTER = """# {name}: a starter scene. Every key is documented in docs/scene-format.md.
name = "{name}"
description = "A small square with a field, a wood and a meeting place."

[world]
size = [120.0, 120.0]          # metres, x by y
terrain = {{ kind = "hills", height = 3.0, scale = 50.0 }}

[sim]
dt = 0.1                       # seconds per tick
ticks = 600
seed = 1

# Zones: later ones win where they overlap.
[[zones]]
name = "field"
kind = "farm"
rect = [10.0, 10.0, 55.0, 50.0]
resources = {{ food = 200.0 }}

[[zones]]
name = "wood"
kind = "forest"
polygon = [[70.0, 15.0], [110.0, 20.0], [105.0, 60.0], [75.0, 55.0]]
resources = {{ wood = 300.0 }}

[[zones]]
name = "square"
kind = "market"
rect = [45.0, 70.0, 80.0, 100.0]

[[entities]]
kind = "building"
name = "hall"
pos = [62.0, 85.0]
radius = 4.0
solid = true

[[groups]]
name = "folk"
count = 20
archetype = "citizen"
spawn_zone = "square"
speed = [1.0, 1.5]             # m/s
traits = {{ extraversion = {{ mean = 0.6, std = 0.2 }} }}
"""


def starter_scene_text(name: str) -> str:
    """TOML text of a small valid scene called `name`, with comments."""
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", name):
        raise TokenWorldError(
            f"scene name {name!r} must start with an ASCII letter or digit and use only ASCII letters, digits, '_' "
            f"and '-', "
            "at most 64 characters (it becomes the file name)."
        )
    return STARTER.format(name=name)


def summary(scene: Scene) -> str:
    """A few lines describing a valid scene, for `tokenworld scene check`."""
    w, h = scene.world.size
    lines = [
        f"{scene.source}: valid scene {scene.name!r}",
        f"  world    {w:g} x {h:g} m, terrain {scene.world.terrain.kind}",
        f"  agents   {scene.agent_count:,} in {len(scene.groups)} group(s): "
        + ", ".join(f"{g.name} ({g.count:,} {g.archetype})" for g in scene.groups),
        f"  zones    {len(scene.zones)}: "
        + ", ".join(f"{z.name} ({polygon_area(zone_polygon(z)):,.0f} m2)" for z in scene.zones[:12])
        + (" ..." if len(scene.zones) > 12 else ""),
        f"  entities {len(scene.entities)}",
        f"  sim      dt {scene.sim.dt} s, {scene.sim.ticks} ticks, seed "
        + (str(scene.sim.seed) if scene.sim.seed is not None else "none (will not reproduce)"),
        f"  mind     {scene.mind.backend}",
    ]
    return "\n".join(lines)
