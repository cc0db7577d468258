"""docs/scene-format.md is generated from the schema and stays in step with it."""

from __future__ import annotations

import dataclasses
import inspect

from tests.paths import ROOT
from tokenworld.scene import schema
from tokenworld.scene.docs import render_scene_docs

DOC = ROOT / "docs" / "scene-format.md"


def test_docs_file_is_up_to_date():
    """The committed docs/scene-format.md equals what the schema renders."""
    assert DOC.is_file(), "docs/scene-format.md is missing: run `python tools/gen_scene_docs.py`"
    stale = "docs/scene-format.md is stale: run `python tools/gen_scene_docs.py`"
    assert DOC.read_text(encoding="utf-8") == render_scene_docs(), stale


def test_every_schema_field_is_documented():
    """Every field of every schema dataclass appears in the rendered docs."""
    text = render_scene_docs()
    classes = [c for _, c in inspect.getmembers(schema, inspect.isclass) if dataclasses.is_dataclass(c)]
    assert len(classes) >= 11
    fields = [(c.__name__, f.name) for c in classes for f in dataclasses.fields(c)]
    missing = [f"{cls}.{name}" for cls, name in fields if f"| `{name}` |" not in text]
    assert not missing, f"fields missing from the docs: {missing}"


def test_docs_have_one_section_per_table():
    """Each TOML table of the format has its own section, in schema order."""
    text = render_scene_docs()
    headers = [
        "[world]",
        "[world.terrain]",
        "[sim]",
        "[engine]",
        "[mind]",
        "[[zones]]",
        "[[entities]]",
        "[[groups]]",
        "[groups.traits.<trait>]",
        "[groups.flocking]",
    ]
    positions = [text.index(f"## `{h}`") for h in headers]
    assert positions == sorted(positions)


def test_docs_show_required_defaults_units_and_choices():
    """Rows show REQUIRED fields, TOML defaults, units, ranges and the allowed choices."""
    text = render_scene_docs()
    assert "| `name` | string | **REQUIRED** |" in text
    assert "| `dt` | float | `0.1` | `s` | > 0 |" in text
    assert "| `neighbours` | integer | `8` |  | [1, 32] |" in text
    assert "| `seed` | integer, optional | unset |  | [0, 2^32) |" in text
    assert "| `size` | [float, float] | `[200.0, 200.0]` | `m` | each > 0 |" in text
    assert "One of: `flat`, `hills`." in text
    assert "`citizen`, `farmer`" in text
    assert text.rstrip().endswith("```")
