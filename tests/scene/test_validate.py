"""The validator: checks of meaning, each naming the key path and what was wrong."""

from __future__ import annotations

import dataclasses
import typing

import pytest
import tomli_w

from tokenworld.errors import SceneError
from tokenworld.scene.load import load_scene
from tokenworld.scene.options import Range
from tokenworld.scene.schema import (
    EconomyOptions,
    EngineOptions,
    GameOptions,
    MindOptions,
    SimOptions,
    StoreOptions,
    Terrain,
)

from .conftest import HEAD

HOME = """
[[zones]]
name = "home"
rect = [10.0, 10.0, 30.0, 30.0]
"""


def zone(geometry: str, name: str = "z") -> str:
    """A `[[zones]]` entry with the given geometry line(s)."""
    return f'\n[[zones]]\nname = "{name}"\n{geometry}\n'


def group(lines: str = 'spawn_zone = "home"', name: str = "folk", count: int = 5) -> str:
    """A `[[groups]]` entry with a name, a count and the given extra line(s)."""
    return f'\n[[groups]]\nname = "{name}"\ncount = {count}\n{lines}\n'


def test_valid_scene_has_no_problems(write):
    """A scene using zones, polygons, entities and groups together loads cleanly."""
    text = (
        HEAD
        + HOME
        + zone("polygon = [[40.0, 10.0], [90.0, 10.0], [90.0, 60.0], [60.0, 70.0]]", "wood")
        + '\n[[entities]]\nkind = "building"\npos = [20.0, 20.0]\nradius = 3.0\nsolid = true\n'
        + group('spawn_zone = "home"\ntraits = { openness = { mean = 0.9, std = 0.0 } }')
        + group("spawn_area = [0.0, 0.0, 100.0, 80.0]", "walkers", 0)
    )
    scene = load_scene(write(text))
    assert [z.name for z in scene.zones] == ["home", "wood"] and scene.agent_count == 5


@pytest.mark.parametrize("dt", ["0.0", "-0.1"])
def test_dt_must_be_positive(scene_error, dt):
    """A zero or negative tick length is rejected."""
    assert f"`sim.dt`: must be positive, found {float(dt)}." in scene_error(f'name = "t"\n[sim]\ndt = {dt}\n')


@pytest.mark.parametrize(
    "text, key, wrong",
    [
        ('name = "t"\n[sim]\nticks = -1\n', "sim.ticks", "must be 0 or more, found -1."),
        ('name = "t"\n[sim]\nmetrics_every = 0\n', "sim.metrics_every", "must be positive, found 0."),
        ('name = "t"\n[sim]\nseed = -3\n', "sim.seed", "must be in [0, 2^32), found -3."),
        ('name = "t"\n[world]\nsize = [0.0, 10.0]\n', "world.size", "each value must be positive, found [0.0, 10.0]."),
        ('name = "t"\n[world.terrain]\nheight = -1.0\n', "world.terrain.height", "must be 0 or more, found -1.0."),
        ('name = "t"\n[world.terrain]\nscale = 0.0\n', "world.terrain.scale", "must be positive, found 0.0."),
        ('name = "t"\n[engine]\nperception_radius = -2.0\n', "engine.perception_radius", "must be positive"),
        ('name = "t"\n[engine]\nneighbours = 0\n', "engine.neighbours", "must be between 1 and 32, found 0."),
        ('name = "t"\n[engine]\nentities_seen = 17\n', "engine.entities_seen", "must be between 1 and 16, found 17."),
        ('name = "t"\n[engine]\nresort_every = -1\n', "engine.resort_every", "must be 0 or more, found -1."),
        ('name = "t"\n[mind]\ndecide_every = 0\n', "mind.decide_every", "must be positive, found 0."),
        ('name = "t"\n[mind]\ntemperature = -0.5\n', "mind.temperature", "must be 0 or more, found -0.5."),
        ('name = "t"\n[mind]\nprior_weight = -1.0\n', "mind.prior_weight", "must be in [0, 100], found -1.0."),
        ('name = "t"\n[mind]\nbatch_size = 129\n', "mind.batch_size", "must be between 1 and 128, found 129."),
        (
            'name = "t"\n[mind]\nbackend = "ray"\nbatch_size = 4097\n',
            "mind.batch_size",
            "must be between 1 and 4096, found 4097.",
        ),
        ('name = "t"\n[mind]\nllm_fraction = 1.5\n', "mind.llm_fraction", "must be in [0, 1], found 1.5."),
        ('name = "t"\n[economy]\nregen_every = 0\n', "economy.regen_every", "must be positive, found 0."),
        ('name = "t"\n[store]\ntrack_every = -1\n', "store.track_every", "must be 0 or more, found -1."),
        ('name = "t"\n[game]\nfactor = 0.0\n', "game.factor", "must be positive, found 0.0."),
        ('name = "t"\n[sim]\nseed = 4294967296\n', "sim.seed", "must be in [0, 2^32), found 4294967296."),
        ('name = "  "\n', "name", "must not be empty."),
    ],
)
def test_option_ranges(scene_error, text, key, wrong):
    """Options outside their range (negative counts, zero periods, ...) name the key and the value."""
    assert f"`{key}`: {wrong}" in scene_error(text)


@pytest.mark.parametrize(
    "geometry, key",
    [
        ("rect = [90.0, 10.0, 110.0, 20.0]", "rect"),
        ("rect = [-1.0, 10.0, 10.0, 20.0]", "rect"),
        ("rect = [10.0, 70.0, 20.0, 80.5]", "rect"),
        ("polygon = [[10.0, 10.0], [50.0, 10.0], [30.0, 95.0]]", "polygon"),
    ],
)
def test_zone_outside_world(scene_error, geometry, key):
    """A zone reaching past the world's edge is rejected with its bounds."""
    message = scene_error(HEAD + HOME + zone(geometry, "far"))
    assert f"`zones[1].{key}`: zone 'far' reaches outside the world [0, 100.0] x [0, 80.0]" in message


def test_zone_may_fill_the_world_exactly(write):
    """Rectangles are half-open, so a zone may end exactly on the world's edge."""
    scene = load_scene(write(HEAD + zone("rect = [0.0, 0.0, 100.0, 80.0]")))
    assert scene.zones[0].rect == (0.0, 0.0, 100.0, 80.0)


def test_zone_edge_is_compared_in_full_precision(write):
    """Regression: a zone ending on a world edge like 200.3 is not rejected by float32 rounding."""
    text = 'name = "t"\n[world]\nsize = [200.3, 0.1]\n' + zone("rect = [0.0, 0.0, 200.3, 0.1]")
    assert load_scene(write(text)).zones[0].rect == (0.0, 0.0, 200.3, 0.1)


@pytest.mark.parametrize("rect", ["[30.0, 10.0, 30.0, 20.0]", "[30.0, 10.0, 20.0, 20.0]", "[10.0, 20.0, 30.0, 5.0]"])
def test_rect_needs_positive_extent(scene_error, rect):
    """A rectangle with x1 <= x0 or y1 <= y0 is rejected."""
    message = scene_error(HEAD + HOME + HOME.replace("home", "b") + zone(f"rect = {rect}"))
    assert "`zones[2].rect`: expected [x0, y0, x1, y1] with x1 > x0 and y1 > y0, found" in message


@pytest.mark.parametrize(
    "polygon, wrong",
    [
        ("[[1.0, 1.0], [5.0, 5.0]]", "needs at least 3 vertices, found 2."),
        ("[]", "needs at least 3 vertices, found 0."),
        ("[[1.0, 1.0], [2.0, 2.0], [4.0, 4.0]]", "has no area (its vertices lie on a line)."),
        ("[[3.0, 3.0], [3.0, 3.0], [3.0, 3.0], [3.0, 3.0]]", "has no area"),
        ("[[10.0, 10.0], [40.0, 40.0], [20.0, 20.0]]", "has no area (its vertices lie on a line)."),  # back, forth
        ("[[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [5.0, 5.0]]", "its edges cross; list the vertices in order"),
        ("[[50.0, 60.0], [61.8, 23.8], [30.9, 46.2], [69.1, 46.2], [38.2, 23.8]]", "its edges cross"),
        ("[[10.0, 10.0], [20.0, 20.0], [20.0, 10.0], [10.0, 20.0]]", "its edges cross"),  # a bow-tie: zero net area
    ],
)
def test_bad_polygon(scene_error, polygon, wrong):
    """Polygons with fewer than 3 vertices, no area, or crossing edges are rejected."""
    assert f"`zones[0].polygon`: {wrong}" in scene_error(HEAD + zone(f"polygon = {polygon}"))


def test_concave_polygon_with_collinear_edges_is_valid(write):
    """Regression: a U-shaped zone, whose top edges lie on one line apart, is a simple polygon."""
    u = "[[10.0, 10.0], [40.0, 10.0], [40.0, 40.0], [30.0, 40.0], [30.0, 20.0], [20.0, 20.0], [20.0, 40.0], "
    u += "[10.0, 40.0]]"
    assert len(load_scene(write(HEAD + zone(f"polygon = {u}"))).zones[0].polygon) == 8


@pytest.mark.parametrize(
    "geometry",
    ["", 'kind = "home"', "rect = [1.0, 1.0, 5.0, 5.0]\npolygon = [[1.0, 1.0], [5.0, 1.0], [1.0, 5.0]]"],
)
def test_zone_needs_exactly_one_shape(scene_error, geometry):
    """A zone with both or neither of `rect` and `polygon` is rejected."""
    assert "`zones[0]`: give exactly one of `rect` or `polygon`." in scene_error(HEAD + zone(geometry))


@pytest.mark.parametrize(
    "extra, key, wrong",
    [
        ("color = [1.0, 0.5, 1.5]", "color", "each value must be in [0, 1], found [1.0, 0.5, 1.5]."),
        ("resources = { food = -5.0 }", "resources.food", "must be 0 or more, found -5.0."),
        ('name = ""', "name", "must not be empty."),
    ],
)
def test_zone_values(scene_error, extra, key, wrong):
    """Zone colours outside [0, 1], negative resources and empty names are rejected."""
    name = "" if "name" in extra else '\nname = "z"'
    text = HEAD + "\n[[zones]]\nrect = [1.0, 1.0, 5.0, 5.0]\n" + extra + name + "\n"
    assert f"`zones[0].{key}`: {wrong}" in scene_error(text)


def test_duplicate_zone_names(scene_error):
    """Two zones with one name are rejected at the second."""
    message = scene_error(HEAD + HOME + zone("rect = [50.0, 50.0, 60.0, 60.0]", "home"))
    assert "`zones[1].name`: 'home' is used by an earlier zone; zone names must be unique." in message


def test_duplicate_group_names(scene_error):
    """Two groups with one name are rejected at the second."""
    message = scene_error(HEAD + HOME + group() + group())
    assert "`groups[1].name`: 'folk' is used by an earlier group; group names must be unique." in message


def test_spawn_zone_that_does_not_exist_suggests_one(scene_error):
    """A misspelt spawn zone is named with a suggestion of the nearest zone."""
    message = scene_error(HEAD + HOME + group('spawn_zone = "hoem"'))
    assert "`groups[0].spawn_zone`: there is no zone 'hoem'. Did you mean 'home'?" in message


def test_spawn_zone_without_close_match_lists_zones(scene_error):
    """A spawn zone like no real zone lists the zones there are."""
    message = scene_error(HEAD + HOME + zone("rect = [50.0, 50.0, 60.0, 60.0]", "field") + group('spawn_zone = "xyz"'))
    assert "`groups[0].spawn_zone`: there is no zone 'xyz'. Zones: home, field." in message


def test_spawn_zone_with_no_zones(scene_error):
    """A spawn zone in a scene without zones says there are none."""
    assert "there is no zone 'home'. Zones: none." in scene_error(HEAD + group())


@pytest.mark.parametrize("lines", ["", 'spawn_zone = "home"\nspawn_area = [0.0, 0.0, 5.0, 5.0]'])
def test_group_needs_exactly_one_spawn(scene_error, lines):
    """A group with both or neither of `spawn_zone` and `spawn_area` is rejected."""
    assert "`groups[0]`: give exactly one of `spawn_zone` or `spawn_area`." in scene_error(HEAD + HOME + group(lines))


def test_spawn_area_outside_world(scene_error):
    """A spawn area reaching past the world's edge is rejected."""
    message = scene_error(HEAD + group("spawn_area = [50.0, 50.0, 150.0, 60.0]"))
    assert "`groups[0].spawn_area`: reaches outside the world [0, 100.0] x [0, 80.0]." in message


def test_spawn_area_needs_positive_extent(scene_error):
    """A spawn area with x1 <= x0 is rejected."""
    message = scene_error(HEAD + group("spawn_area = [50.0, 50.0, 40.0, 60.0]"))
    assert "`groups[0].spawn_area`: expected [x0, y0, x1, y1] with x1 > x0 and y1 > y0" in message


def test_negative_group_count(scene_error):
    """A negative number of agents is rejected."""
    assert "`groups[0].count`: must be 0 or more, found -2." in scene_error(HEAD + HOME + group(count=-2))


@pytest.mark.parametrize("speed", ["[0.0, 1.0]", "[2.0, 1.0]", "[-1.0, 1.0]"])
def test_bad_speed_range(scene_error, speed):
    """A speed range must have 0 < min <= max."""
    message = scene_error(HEAD + HOME + group(f'spawn_zone = "home"\nspeed = {speed}'))
    assert "`groups[0].speed`: expected [min, max] with 0 < min <= max" in message


@pytest.mark.parametrize("trait, suggestion", [("opennes", "openness"), ("extroversion", "extraversion")])
def test_unknown_trait_suggests_the_close_one(scene_error, trait, suggestion):
    """A misspelt trait is an unknown key with a suggestion."""
    message = scene_error(HEAD + HOME + group(f'spawn_zone = "home"\ntraits = {{ {trait} = {{ mean = 0.5 }} }}'))
    assert f"Unrecognized key `groups[0].traits.{trait}`; did you mean `{suggestion}`?" in message


def test_unknown_trait_without_close_match_lists_traits(scene_error):
    """A trait like no real one lists the Big Five traits."""
    message = scene_error(HEAD + HOME + group('spawn_zone = "home"\ntraits = { luck = {} }'))
    assert "Unrecognized key `groups[0].traits.luck`; traits are openness, conscientiousness" in message


@pytest.mark.parametrize("mean", ["1.5", "-0.1"])
def test_trait_mean_outside_unit_interval(scene_error, mean):
    """A trait mean outside [0, 1] is rejected."""
    message = scene_error(HEAD + HOME + group(f'spawn_zone = "home"\n[groups.traits.neuroticism]\nmean = {mean}'))
    assert f"`groups[0].traits.neuroticism.mean`: must be in [0, 1], found {float(mean)}." in message


def test_negative_trait_std(scene_error):
    """A negative trait standard deviation is rejected."""
    message = scene_error(HEAD + HOME + group('spawn_zone = "home"\ntraits = { openness = { std = -0.1 } }'))
    assert "`groups[0].traits.openness.std`: must be 0 or more, found -0.1." in message


def test_negative_flocking_weight(scene_error):
    """Flocking weights must be 0 or more and personal space positive."""
    flocking = 'spawn_zone = "home"\n[groups.flocking]\ncohesion = -1.0\npersonal_space = 0.0'
    message = scene_error(HEAD + HOME + group(flocking))
    assert "`groups[0].flocking.cohesion`: must be 0 or more, found -1.0." in message
    assert "`groups[0].flocking.personal_space`: must be positive, found 0.0." in message


@pytest.mark.parametrize("pos", ["[100.0, 10.0]", "[-0.5, 10.0]", "[10.0, 80.0]", "[10.0, 500.0]"])
def test_entity_outside_world(scene_error, pos):
    """An entity outside the half-open world [0, w) x [0, h) is rejected."""
    message = scene_error(HEAD + f'\n[[entities]]\nkind = "item"\npos = {pos}\n')
    assert "`entities[0].pos`:" in message and "lies outside the world [0, 100.0) x [0, 80.0)." in message


def test_entity_radius_must_be_positive(scene_error):
    """An entity with a zero radius is rejected."""
    message = scene_error(HEAD + '\n[[entities]]\nkind = "item"\npos = [1.0, 1.0]\nradius = 0.0\n')
    assert "`entities[0].radius`: must be positive, found 0.0." in message


def test_too_many_agents(scene_error):
    """More agents than MAX_AGENTS in all is rejected at `groups`."""
    message = scene_error(HEAD + HOME + group(count=30_000_000) + group(name="more", count=30_000_000))
    assert "`groups`: 60,000,000 agents in all; the most a scene may hold is 50,000,000." in message


@pytest.mark.parametrize(
    "entry, message",
    [
        ('text = ""\nagent = 0', "`tell[0].text`: empty"),
        ('text = "hi"\nagent = 5', "`tell[0].agent`: 5; agent ids run from 0 to 4."),
        ('text = "hi"\nzone = "moon"', "`tell[0].zone`: no zone called 'moon' (zones: home)."),
        ('text = "hi"', "give either `agent` (an agent id) or `zone` (a zone name)"),
        ('text = "hi"\nagent = 1\nzone = "home"', "give either `agent`"),
        ('text = "hi"\nagent = 1\ntick = 0', "`tell[0].tick`: must be 1 or more, found 0."),
    ],
)
def test_scripted_narrator_lines_name_an_agent_or_a_zone(scene_error, entry, message):
    """A `[[tell]]` line needs words, a tick from 1, and exactly one existing agent or zone."""
    assert message in scene_error(HEAD + HOME + group() + f"\n[[tell]]\n{entry}\n")


def _outside(rng: Range, whole: bool):
    """A value just outside `rng`: below its lower bound, or above its upper one when it has none below."""
    step = 1 if whole else 0.5
    if rng.min is not None:
        return rng.min if rng.min_exclusive else rng.min - step
    return rng.max if rng.max_exclusive else rng.max + step


@pytest.mark.parametrize(
    "table, cls",
    [
        ("world.terrain", Terrain),
        ("sim", SimOptions),
        ("engine", EngineOptions),
        ("mind", MindOptions),
        ("economy", EconomyOptions),
        ("store", StoreOptions),
        ("game", GameOptions),
    ],
)
def test_every_ranged_option_is_checked(write, table, cls):
    """Each option with a range in the schema is refused just outside it, with the range in words."""
    hints = typing.get_type_hints(cls)
    ranged = [f for f in dataclasses.fields(cls) if f.metadata["range"] is not None]
    assert ranged
    for f in ranged:
        rng = f.metadata["range"]
        whole = int in (hints[f.name], *typing.get_args(hints[f.name]))
        value = _outside(rng, whole)
        text = tomli_w.dumps({"name": "t", **_nest(table, {f.name: value})})
        with pytest.raises(SceneError) as info:
            load_scene(write(text))
        assert f"`{table}.{f.name}`: must be {rng.words(whole=whole)}, found {value}." in str(info.value)


def _nest(dotted: str, leaf: dict) -> dict:
    """`{"a": {"b": leaf}}` for "a.b"."""
    for key in reversed(dotted.split(".")):
        leaf = {key: leaf}
    return leaf


@pytest.mark.parametrize(
    "rng, whole, words",
    [
        (Range(0, min_exclusive=True), False, "positive"),
        (Range(0), True, "0 or more"),
        (Range(1), True, "1 or more"),
        (Range(1, 32), True, "between 1 and 32"),
        (Range(0, 1), False, "in [0, 1]"),
        (Range(0, 2**32, max_exclusive=True), True, "in [0, 2^32)"),
        (Range(max=5, max_exclusive=True), False, "less than 5"),
    ],
)
def test_range_words(rng, whole, words):
    """A range reads as the messages say it, and holds exactly the values it names."""
    assert rng.words(whole=whole) == words
    if rng.min is not None:
        assert rng.contains(rng.min) != rng.min_exclusive and not rng.contains(rng.min - 1)
    if rng.max is not None:
        assert rng.contains(rng.max) != rng.max_exclusive and not rng.contains(rng.max + 1)


@pytest.mark.parametrize(
    "props, message",
    [
        ("{ prompt = 5 }", "`entities[0].properties.prompt`: must be text"),
        (f'{{ prompt = "{"x" * 501}" }}', "501 characters; a description may have at most 500"),
        ('{ prompt = "a well", seed = -1 }', "`entities[0].properties.seed`: must be a whole number from 0"),
        ('{ prompt = "a well", seed = "3" }', "found '3'"),
    ],
)
def test_generated_asset_prompt_and_seed(scene_error, props, message):
    """An entity's generated mesh is described by text and varied by a whole-number seed; anything else is named."""
    text = f'name = "t"\n[[entities]]\nkind = "asset"\npos = [5.0, 5.0]\nproperties = {props}\n'
    assert message in scene_error(text)
