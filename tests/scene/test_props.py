"""Prop settings: a zone's `props` density and the `[props]` section load, validate, save and round-trip."""

from __future__ import annotations

import dataclasses

import pytest

from tokenworld.editor import Editor, SetOption, SetZone
from tokenworld.errors import SceneError
from tokenworld.scene.load import load_scene
from tokenworld.scene.props import PROP_DENSITY, prop_count, prop_density
from tokenworld.scene.schema import PropOptions, Scene
from tokenworld.sim.live_edit import plan_live_change

BASE = {
    "name": "props",
    "world": {"size": [100.0, 100.0]},
    "zones": [
        {"name": "wood", "kind": "forest", "rect": [0.0, 0.0, 20.0, 10.0]},
        {"name": "plot", "kind": "farm", "rect": [20.0, 0.0, 40.0, 10.0], "props": 0.5},
        {"name": "lot", "rect": [40.0, 0.0, 60.0, 10.0]},
    ],
}


def _scene(**top) -> Scene:
    return Scene.from_dict({**BASE, **top})


def test_props_round_trip_through_dict_and_file(tmp_path):
    """A zone's `props` and the `[props]` section survive to_dict/from_dict and save/load unchanged."""
    sc = _scene(props={"enabled": False, "density": 2.5, "max_per_zone": 40})
    assert sc.props == PropOptions(enabled=False, density=2.5, max_per_zone=40)
    assert [z.props for z in sc.zones] == [None, 0.5, None]
    assert Scene.from_dict(sc.to_dict()) == sc
    assert "props" not in sc.to_dict()["zones"][0]  # unset stays unset
    sc.save(tmp_path / "p.toml")
    assert load_scene(tmp_path / "p.toml") == sc
    assert _scene().props == PropOptions()  # defaults: enabled, density 1, at most 1500 a zone


@pytest.mark.parametrize(
    "change, message",
    [
        ({"props": {"densty": 2.0}}, "Unrecognized key `props.densty`; did you mean `density`?"),
        ({"props": {"density": -1.0}}, "`props.density`: must be 0 or more"),
        ({"props": {"max_per_zone": 0}}, "`props.max_per_zone`: must be positive"),
        ({"zones": [{**BASE["zones"][0], "props": -0.1}]}, "`zones[0].props`: must be 0 or more"),
        ({"zones": [{**BASE["zones"][0], "prop": 1.0}]}, "Unrecognized key `zones[0].prop`; did you mean `props`?"),
    ],
)
def test_bad_prop_options_are_errors(change, message):
    """Unknown keys and out-of-range values in the prop options are errors that name the key."""
    with pytest.raises(SceneError) as exc:
        _scene(**change)
    assert message in str(exc.value)


def test_density_and_count_follow_zone_kind_option_and_section():
    """A zone's own `props` wins over its kind's default; `[props]` scales, caps and disables them all."""
    wood, plot, lot = _scene().zones
    on = PropOptions()
    assert prop_density(wood, on) == PROP_DENSITY["forest"] == 2.0
    assert prop_density(plot, on) == 0.5 and prop_density(lot, on) == 0.0
    assert prop_count(wood, on) == 4  # 200 m² at 2 per 100 m²
    assert prop_count(wood, PropOptions(density=10.0)) == 40
    assert prop_count(wood, PropOptions(density=10.0, max_per_zone=7)) == 7
    assert prop_count(wood, PropOptions(enabled=False)) == 0


def test_editor_saves_a_zone_props_and_the_props_section(tmp_path):
    """The editor's tomlkit save writes a zone's `props` and `[props]` options, and they load back equal."""
    path = tmp_path / "s.toml"
    _scene().save(path)
    editor = Editor.open(path)
    editor.apply(SetZone(0, {"props": 1.25}))
    editor.apply(SetOption("props", "density", 0.5))
    editor.save()
    back = load_scene(path)
    assert back == editor.scene and back.zones[0].props == 1.25 and back.props.density == 0.5
    editor.apply(SetZone(0, {"props": None}))  # unset again: the kind's default
    editor.save()
    assert load_scene(path).zones[0].props is None


def test_prop_edits_apply_to_a_running_scene():
    """Changing `[props]` or a zone's `props` applies live (the simulation ignores props; the viewer redraws)."""
    sc = _scene()
    change = plan_live_change(sc, dataclasses.replace(sc, props=PropOptions(density=3.0)))
    assert change.applied == ["props"] and not change.restart_needed and change.scene.props.density == 3.0
    zones = [dataclasses.replace(sc.zones[0], props=0.0), *sc.zones[1:]]
    assert plan_live_change(sc, dataclasses.replace(sc, zones=zones)).applied == ["zones"]
