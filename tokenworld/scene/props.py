"""How many generated props a zone scatters: the kinds' default densities and the one rule that applies them.

Props (trees, crop rows, rocks, stalls, benches) are drawn by the viewer only; the simulation ignores them.
A zone's density is its own `props` option, or `PROP_DENSITY` of its kind when unset, times the scene's
`[props] density`; the count is that per 100 m² of the zone's area, capped at `[props] max_per_zone`.
"""

from __future__ import annotations

from tokenworld.scene.geometry import polygon_area, zone_polygon
from tokenworld.scene.schema import PropOptions, Zone

# Props per 100 m² of a zone of each kind whose `props` option is unset; other kinds scatter none.
PROP_DENSITY: dict[str, float] = {
    "forest": 2.0,
    "farm": 3.0,
    "quarry": 0.8,
    "market": 0.25,
    "commons": 0.03,
    "home": 0.1,
    "town_hall": 0.05,
    "well": 0.2,
}


def prop_density(zone: Zone, options: PropOptions) -> float:
    """Props per 100 m² of `zone`: its own `props`, else its kind's default, times `options.density` (0 when
    props are disabled)."""
    if not options.enabled:
        return 0.0
    own = zone.props if zone.props is not None else PROP_DENSITY.get(zone.kind, 0.0)
    return float(own) * float(options.density)


def prop_count(zone: Zone, options: PropOptions) -> int:
    """How many props `zone` scatters: its density over its area, rounded, capped at `options.max_per_zone`."""
    n = round(prop_density(zone, options) * polygon_area(zone_polygon(zone)) / 100.0)
    return int(min(max(n, 0), options.max_per_zone))
