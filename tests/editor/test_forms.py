"""Forms from the schema: every table's keys with their types, units, ranges, choices and defaults."""

from __future__ import annotations

import dataclasses

import pytest

from tokenworld.editor import Editor, FieldSpec, SetOption, fields_of
from tokenworld.editor.forms import tables
from tokenworld.errors import TokenWorldError
from tokenworld.scene import schema


def _spec(table: str, name: str) -> FieldSpec:
    return next(f for f in fields_of(table) if f.name == name)


def test_every_table_has_a_form_of_its_keys():
    """One builder covers every options table and the zone, entity and group panels, in schema order."""
    for table in ("world", "world.terrain", "sim", "engine", "mind", "economy", "store", "game"):
        cls = type(getattr(schema.Scene(name="x"), table.split(".")[0]))
        if "." in table:
            cls = schema.Terrain
        assert [f.name for f in fields_of(table)] == [f.name for f in dataclasses.fields(cls)]
    assert [f.name for f in fields_of("zones")][:4] == ["name", "kind", "rect", "polygon"]
    assert {"kind", "pos", "radius"} <= {f.name for f in fields_of("entities")}
    assert {"count", "spawn_zone", "flocking"} <= {f.name for f in fields_of("groups")}
    assert set(tables()) >= {"", "world.terrain", "zones", "groups.flocking", "groups.traits", "tell"}


def test_field_specs_carry_types_units_ranges_and_choices():
    """A spec tells a widget what it needs: kind of value, unit, bounds, choices, default."""
    dt = _spec("sim", "dt")
    assert (dt.type, dt.unit, dt.min, dt.min_exclusive, dt.max, dt.default) == ("float", "s", 0, True, None, 0.1)
    neighbours = _spec("engine", "neighbours")
    assert (neighbours.type, neighbours.min, neighbours.max, neighbours.default) == ("int", 1, 32, 8)
    backend = _spec("mind", "backend")
    assert backend.type == "choice" and backend.choices == schema.BACKENDS
    seed = _spec("sim", "seed")
    assert seed.optional and seed.default is None and seed.max == 2**32 and seed.max_exclusive
    rect = _spec("zones", "rect")
    assert (rect.type, rect.item, rect.length, rect.unit) == ("list", "float", 4, "m")
    assert _spec("zones", "name").required and _spec("zones", "color").max == 1
    flocking = _spec("groups", "flocking")
    assert flocking.type == "table" and flocking.table == "groups.flocking"
    assert flocking.default == dataclasses.asdict(schema.Flocking())
    assert _spec("world", "terrain").table == "world.terrain"


def test_unknown_table_is_an_error_listing_the_tables():
    """Asking for a table that does not exist names the ones that do."""
    with pytest.raises(TokenWorldError, match="no scene table 'simm'; tables are world, world.terrain, sim"):
        fields_of("simm")
    with pytest.raises(TokenWorldError, match="`sim.dt` is a value, not a table"):
        fields_of("sim.dt")


def test_every_bounded_field_refuses_its_bound_through_the_editor(tmp_path):
    """The bounds a form shows are the ones the editor enforces: a value past each is refused."""
    editor = Editor.new("bounds", tmp_path)
    checked = 0
    for table in ("world.terrain", "sim", "engine", "mind", "economy", "store", "game"):
        for spec in fields_of(table):
            if spec.min is None or spec.type not in ("int", "float"):
                continue
            bad = spec.min if spec.min_exclusive else spec.min - 1
            with pytest.raises(TokenWorldError, match=f"`{table}.{spec.name}`: must be"):
                editor.apply(SetOption(table, spec.name, bad if spec.type == "int" else float(bad)))
            checked += 1
    assert checked > 30 and not editor.history
