"""The loader: reading files, TOML errors, unknown keys, types and choices."""

from __future__ import annotations

import os

import pytest

from tokenworld.errors import SceneError
from tokenworld.scene import Scene
from tokenworld.scene.load import load_scene

from .conftest import HEAD

ZONE = """
[[zones]]
name = "home"
rect = [10.0, 10.0, 30.0, 30.0]
"""

GROUP = """
[[groups]]
name = "folk"
count = 5
spawn_zone = "home"
"""


def test_minimal_scene_loads_with_defaults(write):
    """A file with only a name loads, with every other option at its default."""
    scene = load_scene(write('name = "tiny"\n'))
    assert scene.name == "tiny"
    assert scene.world.size == (200.0, 200.0)
    assert scene.world.terrain.kind == "flat"
    assert scene.sim.dt == 0.1 and scene.sim.seed is None
    assert scene.zones == [] and scene.groups == [] and scene.entities == []


def test_loaded_values_have_schema_types(write):
    """Integers given for floats become floats and lists become tuples."""
    scene = load_scene(write(HEAD.replace("100.0", "100") + ZONE + GROUP))
    assert scene.world.size == (100.0, 80.0) and isinstance(scene.world.size[0], float)
    assert isinstance(scene.zones[0].rect, tuple)
    assert scene.groups[0].count == 5 and scene.agent_count == 5
    assert scene.source == str(write(HEAD + ZONE + GROUP))


def test_missing_file(tmp_path):
    """A path that does not exist says so and how to make a scene."""
    with pytest.raises(SceneError) as info:
        Scene.load(tmp_path / "nope.toml")
    assert "nope.toml: no such file" in str(info.value)
    assert "tokenworld scene new" in str(info.value)


def test_directory_is_unreadable(tmp_path):
    """A directory given as the scene file is reported as unreadable."""
    with pytest.raises(SceneError, match="cannot read the file"):
        load_scene(tmp_path)


def test_non_utf8_file_is_unreadable(tmp_path):
    """Bytes that are not UTF-8 are reported as unreadable, not as a crash."""
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(SceneError, match="latin1.toml: cannot read the file"):
        load_scene(path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_file_without_read_permission(write):
    """A file without read permission is reported as unreadable."""
    path = write('name = "t"\n')
    path.chmod(0)
    try:
        with pytest.raises(SceneError, match="cannot read the file"):
            load_scene(path)
    finally:
        path.chmod(0o644)


def test_invalid_toml_syntax(scene_error):
    """A TOML syntax error names the file and the line."""
    message = scene_error('name = "t"\n[world\nsize = [1.0, 2.0]\n')
    assert "not valid TOML" in message
    assert "line 2" in message


@pytest.mark.parametrize(
    "text, key, suggestion",
    [
        (HEAD + ZONE + "colour = [1.0, 0.0, 0.0]\n", "zones[0].colour", "color"),
        (HEAD + "terain = { kind = 'hills' }\n", "world.terain", "terrain"),
        ('name = "t"\n[sim]\ntick = 5\n', "sim.tick", "ticks"),
        (HEAD + ZONE + GROUP + "[groups.flocking]\ncohesian = 1.0\n", "groups[0].flocking.cohesian", "cohesion"),
        (
            HEAD + ZONE + GROUP + "traits = { openness = { mean = 0.5, stdev = 0.1 } }\n",
            "groups[0].traits.openness.stdev",
            "std",
        ),
        ('name = "t"\ndescripton = "x"\n', "descripton", "description"),
    ],
)
def test_unknown_key_suggests_the_close_one(scene_error, text, key, suggestion):
    """An unknown key is named by its path with a "did you mean" of the nearest real key."""
    message = scene_error(text)
    assert f"Unrecognized key `{key}`; did you mean `{suggestion}`?" in message


def test_unknown_key_without_close_match_lists_known_keys(scene_error):
    """An unknown key like nothing real lists the keys that table accepts."""
    message = scene_error('name = "t"\n[mind]\nzzz = 1\n')
    assert "Unrecognized key `mind.zzz`; known keys: backend, model, endpoint" in message


@pytest.mark.parametrize(
    "text, key, wrong",
    [
        ('name = "t"\n[sim]\ndt = "fast"\n', "sim.dt", "expected a number, found a string ('fast')"),
        ('name = "t"\n[sim]\nticks = true\n', "sim.ticks", "expected a whole number, found a boolean (true)"),
        ('name = "t"\n[sim]\nticks = 10.0\n', "sim.ticks", "expected a whole number, found a number (10.0)"),
        ('name = "t"\n[world]\nsize = 3.0\n', "world.size", "expected a list of 2 numbers, found a number (3.0)"),
        (
            'name = "t"\n[world]\nsize = [1.0, 2.0, 3.0]\n',
            "world.size",
            "expected a list of 2 numbers, found a list of 3",
        ),
        ('name = "t"\n[world]\nsize = [1.0, true]\n', "world.size[1]", "expected a number, found a boolean (true)"),
        ("name = 3\n", "name", "expected a string, found a number (3)"),
        ('name = "t"\nworld = 5\n', "world", "expected a table, found a number (5)"),
        ('name = "t"\nzones = { name = "a" }\n', "zones", "expected a list, found a table"),
        ('name = "t"\nzones = [5]\n', "zones[0]", "expected a table, found a number (5)"),
        (
            HEAD + ZONE.replace("[10.0, 10.0, 30.0, 30.0]", "{ x0 = 1.0 }"),
            "zones[0].rect",
            "expected a list of 4 numbers, found a table",
        ),
        (
            HEAD + ZONE.replace("rect = [10.0, 10.0, 30.0, 30.0]", "polygon = [[1.0, 2.0, 3.0]]"),
            "zones[0].polygon[0]",
            "expected a list of 2 numbers, found a list of 3",
        ),
        (HEAD + ZONE + "resources = 5\n", "zones[0].resources", "expected a table, found a number (5)"),
        (
            HEAD + ZONE + 'resources = { food = "lots" }\n',
            "zones[0].resources.food",
            "expected a number, found a string",
        ),
        (
            HEAD + '[[entities]]\nkind = "item"\npos = [1.0, 1.0]\nsolid = "yes"\n',
            "entities[0].solid",
            "expected true or false, found a string ('yes')",
        ),
        (
            HEAD + ZONE + GROUP + "traits = { openness = 0.5 }\n",
            "groups[0].traits.openness",
            "expected a table, found a number (0.5)",
        ),
    ],
)
def test_wrong_type_names_key_and_what_was_found(scene_error, text, key, wrong):
    """A value of the wrong type names its key path, the expected type and what was found."""
    assert f"`{key}`: {wrong}" in scene_error(text)


@pytest.mark.parametrize(
    "text, key, value",
    [
        ('name = "t"\n[sim]\ndt = nan\n', "sim.dt", "nan"),
        ('name = "t"\n[world]\nsize = [inf, 100.0]\n', "world.size[0]", "inf"),
        ('name = "t"\n[world]\nsize = [100.0, -inf]\n', "world.size[1]", "-inf"),
        (HEAD + ZONE + "resources = { food = nan }\n", "zones[0].resources.food", "nan"),
        (HEAD + ZONE + "properties = { level = inf }\n", "zones[0].properties.level", "inf"),
        (HEAD + ZONE + "properties = { levels = [1.0, nan] }\n", "zones[0].properties.levels[1]", "nan"),
        (
            HEAD + '[[entities]]\nkind = "item"\npos = [1.0, 1.0]\nproperties = { a = { b = -inf } }\n',
            "entities[0].properties.a.b",
            "-inf",
        ),
    ],
)
def test_nan_and_inf_are_rejected(scene_error, text, key, value):
    """TOML's nan and inf literals are rejected wherever a number goes, even in free-form properties."""
    assert f"`{key}`: expected a finite number, found {value}." in scene_error(text)


@pytest.mark.parametrize(
    "text, key",
    [
        ('description = "no name"\n', "name"),
        (HEAD + "[[zones]]\nrect = [1.0, 1.0, 2.0, 2.0]\n", "zones[0].name"),
        (HEAD + '[[entities]]\nkind = "item"\n', "entities[0].pos"),
        (HEAD + "[[entities]]\npos = [1.0, 1.0]\n", "entities[0].kind"),
        (HEAD + '[[groups]]\nname = "g"\nspawn_area = [0.0, 0.0, 1.0, 1.0]\n', "groups[0].count"),
    ],
)
def test_missing_required_key(scene_error, text, key):
    """A required key that is absent is named by its path, with what it is for."""
    assert f"`{key}`: missing; " in scene_error(text)


@pytest.mark.parametrize(
    "text, key, value, suggestion",
    [
        (HEAD + ZONE + GROUP + 'archetype = "famer"\n', "groups[0].archetype", "famer", "farmer"),
        (HEAD + "terrain = { kind = 'hill' }\n", "world.terrain.kind", "hill", "hills"),
        ('name = "t"\n[mind]\nbackend = "llamacpp"\n', "mind.backend", "llamacpp", "llama_cpp"),
        ('name = "t"\n[sim]\nclock = "real-time"\n', "sim.clock", "real-time", "realtime"),
        (HEAD + '[[entities]]\nkind = "buildin"\npos = [1.0, 1.0]\n', "entities[0].kind", "buildin", "building"),
    ],
)
def test_invalid_choice_suggests_the_close_one(scene_error, text, key, value, suggestion):
    """A value outside a key's choices lists them and suggests the nearest."""
    message = scene_error(text)
    assert f"`{key}`: {value!r} is not one of " in message
    assert f"Did you mean `{suggestion}`?" in message


def test_invalid_choice_without_close_match(scene_error):
    """A choice like none of the allowed ones lists them without a suggestion."""
    message = scene_error(HEAD + '[[entities]]\nkind = "tree"\npos = [1.0, 1.0]\n')
    assert "`entities[0].kind`: 'tree' is not one of resource, building, item, asset, obstacle." in message
    assert "Did you mean" not in message


def test_every_problem_is_reported_at_once(scene_error):
    """Several problems in one file are all reported, one line each."""
    message = scene_error('name = "t"\n[sim]\ndt = "x"\nticks = 1.5\nfoo = 1\n')
    assert message.count("\n  - ") == 3
    assert "`sim.dt`" in message and "`sim.ticks`" in message and "`sim.foo`" in message


def test_from_dict_ignores_extends_key():
    """`Scene.from_dict` builds a scene from data and never keeps an `extends`."""
    scene = Scene.from_dict({"name": "d", "extends": "base.toml"}, source="mem")
    assert scene.extends is None and scene.source == "mem"


DEEP = 5000  # far past Python's recursion limit
PROPERTIES = HEAD + ZONE + "properties = {{ deep = {} }}\n"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x = " + "[" * DEEP + "]" * DEEP + "\n", id="arrays"),
        pytest.param("x = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n", id="inline-tables"),
        pytest.param("x = " + "[{a = " * DEEP + "1" + "}]" * DEEP + "\n", id="arrays-of-tables"),
        pytest.param("x." + ".".join(["a"] * DEEP) + " = 1\n", id="dotted-key"),
        pytest.param(HEAD + "[world." + ".".join(["a"] * DEEP) + "]\nb = 1\n", id="table-header"),
        pytest.param(PROPERTIES.format("[" * 40 + "]" * 40), id="free-form-40"),
        pytest.param(PROPERTIES.format("{a = " * 300 + "1" + "}" * 300), id="free-form-300"),
    ],
)
def test_deeply_nested_toml_is_a_clear_error(write, text):
    """Arrays or tables nested past what a scene needs (whether or not the TOML parser copes) give the usual
    "Scene is invalid" message naming the file, from the loader and from `tokenworld scene check`, never a
    RecursionError."""
    from tests.sim.runs_lab import tw

    path = write(text, "deep.toml")
    with pytest.raises(SceneError) as info:
        Scene.load(path)
    message = str(info.value)
    assert message.startswith("Scene is invalid") and f"{path}: not a usable scene" in message
    assert "nested too deeply" in message and "check the file" in message
    r = tw("scene", "check", str(path), timeout=60)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert "Scene is invalid" in r.stderr and str(path) in r.stderr, r.stderr


def test_deep_nesting_is_refused_before_extends_merges(write):
    """A parent and child both nested thousands of tables deep are refused, not merged (the merge recurses)."""
    deep = "[world." + ".".join(["a"] * DEEP) + "]\nb = 1\n"
    write('name = "p"\n' + deep, "parent.toml")
    child = write('extends = "parent.toml"\n' + deep, "child.toml")
    with pytest.raises(SceneError, match="nested too deeply"):
        load_scene(child)


def test_deep_nesting_from_data_is_a_clear_error():
    """`Scene.from_dict` refuses data nested too deeply, naming its source."""
    data: dict = {"name": "d"}
    inner = data
    for _ in range(DEEP):
        inner["x"] = inner = {}
    with pytest.raises(SceneError, match="^Scene is invalid:\n  - mem: not a usable scene: .*nested too deeply"):
        Scene.from_dict(data, source="mem")
    from tokenworld.scene.docs import render_scene_docs
    from tokenworld.scene.load import MAX_NESTING

    assert f"at most {MAX_NESTING} levels" in render_scene_docs()  # the scene format says where the limit is


def test_moderately_nested_properties_load_and_save(write, tmp_path):
    """Free-form `properties` nested a few levels (well within the limit) load and save as before."""
    path = write(PROPERTIES.format("{ recipe = { inputs = [[1, 2], [3, [4, 5]]], out = { bread = 1 } } }"))
    scene = load_scene(path)
    scene.save(tmp_path / "copy.toml")
    assert load_scene(tmp_path / "copy.toml").zones[0].properties == scene.zones[0].properties
