"""Reading descriptions: categories, attributes, and any text (hostile, empty, foreign) read safely."""

from __future__ import annotations

import pytest

from tokenworld.assetgen import generate, parse
from tokenworld.assetgen.spec import DEFAULT_CATEGORY, MAX_TEXT, clean_text


@pytest.mark.parametrize(
    ("text", "category", "material", "size", "parts"),
    [
        ("a small wooden footbridge with rails", "bridge", "wood", "small", {"rails"}),
        ("a market stall with a striped awning", "stall", None, "medium", {"awning", "striped"}),
        ("A Stone Well", "well", "stone", "medium", set()),
        ("a tall brick house with a chimney", "house", "brick", "large", {"chimney"}),
        ("a log cabin", "hut", "wood", "medium", set()),
        ("a big pine tree", "tree", None, "large", {"pine"}),
        ("a stone", "rock", "stone", "medium", set()),
        ("a tree stump", "stump", None, "medium", set()),
        ("a farmer", "person", None, "medium", set()),
    ],
)
def test_keyword_parser(text, category, material, size, parts):
    """Words name the category (the more specific word wins), the material, the size and parts."""
    spec = parse(text)
    assert (spec.category, spec.material, spec.size, set(spec.parts)) == (category, material, size, parts)
    assert not spec.guessed


def test_colour_words():
    assert parse("a blue cart").color == "blue"
    assert parse("a cart").color is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 100_000,
        "../../../etc/passwd",
        "C:\\Windows\\system32\\evil.glb",
        "\x00\x01\x1b[31mred\x07",
        "qwzx blorp frobnicate",
        "ein kleines Haus am See",
        "一座石桥",
        "🏠🌲",
    ],
)
def test_any_text_gives_a_default_asset(text):
    """Empty, huge, path-like, control-character, unknown and foreign text all give a mesh, never a crash."""
    spec = parse(text)
    assert len(spec.text) <= MAX_TEXT
    assert not any(ord(c) < 32 for c in spec.text)
    asset = generate(text)
    assert len(asset.mesh.faces) > 0
    if spec.guessed:
        assert spec.category == DEFAULT_CATEGORY


def test_clean_text_rejects_non_text():
    with pytest.raises(TypeError, match="must be text"):
        clean_text(None)
