"""The model reads what the keyword parser cannot, through the same constrained menus the minds answer."""

from __future__ import annotations

import pytest

from tokenworld.assetgen import CATEGORIES, generate, parse
from tokenworld.assetgen.model_reader import KINDS, ModelReader
from tokenworld.assetgen.spec import MATERIALS


def test_every_category_is_in_exactly_one_kind():
    """The two-step menu reaches every category once, each menu within one digit."""
    listed = [c for _, cats in KINDS for c in cats]
    assert sorted(listed) == sorted(CATEGORIES)
    assert len(KINDS) <= 9 and all(len(cats) <= 9 for _, cats in KINDS)
    assert len(MATERIALS) + 1 <= 9


@pytest.fixture(scope="module")
def reader():
    r = ModelReader.embedded()
    yield r
    r.backend.close()


@pytest.mark.slow
def test_the_embedded_model_fills_what_no_word_named(reader):
    """Unknown words get a category and (unless a person) an answer for material from the model; the parser's
    readings stand and cost no question."""
    texts = ["a stone well", "ein kleines Haus", "a mighty oak", "a farmhand"]
    specs = reader.read_many(texts)
    assert specs[0] == parse("a stone well")
    for spec in specs[1:]:
        assert spec.category in CATEGORIES and not spec.guessed
    assert reader.questions > 3  # a kind for each unread text, then categories within kinds and materials
    asked = reader.questions
    assert reader.read("a small wooden footbridge with rails") == parse("a small wooden footbridge with rails")
    assert reader.questions == asked
    asset = generate("ein kleines Haus", reader=reader)
    assert asset.spec == specs[1] and len(asset.mesh.faces) > 0
