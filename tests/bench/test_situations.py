"""The hand-labelled situations: the shipped set loads, right options are in their menus, bad entries say so."""

from __future__ import annotations

import numpy as np
import pytest

from tokenworld.bench.situations import SituationSet, load_situations, right_index, spread
from tokenworld.bench.situations_score import action_of, variety
from tokenworld.errors import TokenWorldError
from tokenworld.inference.base import approx_tokens


@pytest.fixture(scope="module")
def built():
    """The shipped set on the village, with every situation's request (label style) and right option."""
    sset = SituationSet()
    reqs, right = sset.requests("label", approx_tokens)
    yield sset, reqs, right
    sset.close()


def test_the_shipped_set_is_large_and_covers_the_kinds_of_need():
    """At least 60 situations with unique names, covering eating, resting, answering, walking, gathering and trading."""
    sits = load_situations()
    assert len(sits) >= 60 and len({s.name for s in sits}) == len(sits)
    kinds = {s.kind for s in sits}
    assert {"eat", "rest", "talk", "move_to", "gather", "trade"} <= kinds
    assert all(sum(s.kind == k for s in sits) >= 3 for k in kinds)


def test_every_right_option_is_in_the_menu_a_model_run_would_build(built):
    """Each situation's request is built by ModelMinds from the world in its state and holds its right option once."""
    sset, reqs, right = built
    assert len(reqs) == len(sset.situations)
    for s, req, k in zip(sset.situations, reqs, right, strict=True):
        assert req.agent == s.agent and req.kind == "decide"
        assert req.options[k] == s.right or req.options[k].startswith(s.right + " "), s.name
        assert len(req.prior) == len(req.options)
    by_name = {s.name: r for s, r in zip(sset.situations, reqs, strict=True)}
    heard = by_name["a neighbour asks about the family"]
    said = 'Dan said to me: "Good morning, Cleo! How is your family?"'
    assert f"- {said}" in heard.personal  # what was said reaches the prompt, among the memories
    assert "Plan: gather wood, then craft tools" in by_name["wants tools, has stone, west meadow"].personal
    assert "starving" in by_name["starving farmer at home with food"].personal


def test_the_labels_are_not_the_rules_brains_choices_nor_the_menus_order(built):
    """The rules brain's best option is right on most situations but not all (the labels were written apart from
    it), and the right option is listed first in under half, so a first-option bias does not score."""
    _, reqs, right = built
    agrees = np.mean([int(np.argmax(r.prior)) == k for r, k in zip(reqs, right, strict=True)])
    assert 0.5 < agrees < 1.0
    assert np.mean([k == 0 for k in right]) < 0.5


def test_a_right_option_missing_from_the_menu_names_the_situation(built):
    """A situation whose right option the world does not offer is an error naming it and the menu it got."""
    sset = built[0]
    (bad,) = load_situations('[[situation]]\nname = "fed farmer told to eat"\nagent = 0\nat = "homes"\nright = "eat"\n')
    with pytest.raises(TokenWorldError, match="'fed farmer told to eat'.*'eat' is not in the built menu"):
        right_index(bad, sset.request(bad, "label", approx_tokens).options)


@pytest.mark.parametrize(
    "entry, message",
    [
        ('name = "x"\nagent = 0\nat = "homes"\nright = "eat"\nhungry = 0.9\n', "unknown key 'hungry'"),
        ('name = "x"\nagent = 0\nright = "eat"\n', "exactly one of `at`"),
        ('name = "x"\nagent = 0\nat = "homes"\nright = "eat"\nhas = { bread = 1 }\n', "`has.bread` is no item"),
        ('name = "x"\nagent = 0\nat = "homes"\nright = "eat"\nhunger = 1.5\n', "`hunger` must be in"),
        ('name = "x"\nagent = 0\nat = "homes"\nright = "eat"\nplan = ["sleep"]\n', "'sleep' is no intent"),
        ('name = "x"\nagent = 0\nat = "homes"\nright = "talk Ben"\nheard = ["Hi"]\n', "give `near`"),
    ],
)
def test_bad_entries_are_clear_errors(entry, message):
    """Unknown keys, missing places, unknown items, needs out of range and unknown plan steps name the situation."""
    with pytest.raises(TokenWorldError, match="situation 1 \\('x'\\)"):
        load_situations("[[situation]]\n" + entry)
    with pytest.raises(TokenWorldError, match=message):
        load_situations("[[situation]]\n" + entry)


def test_a_quick_subset_spreads_over_kinds():
    """A few situations taken for quick runs come from across the set, not only its first kind."""
    sits = load_situations()
    assert len({s.kind for s in spread(sits, 4)}) >= 3 and spread(sits, None) == sits


def test_variety_measures_spread_between_archetypes_and_traits():
    """Entropy of the chosen actions, 0 spread when everyone chooses alike, full spread when archetypes split."""
    traits = np.array([[0.2] * 5, [0.8] * 5, [0.2] * 5, [0.8] * 5])
    alike = variety(["eat"] * 4, np.array([0, 1, 0, 1]), traits)
    assert alike["action_entropy_bits"] == 0 and alike["archetype_spread"] == 0 and alike["trait_spread"] == 0
    split = variety(["eat", "talk", "eat", "talk"], np.array([0, 1, 0, 1]), traits)
    assert split["action_entropy_bits"] == 1.0 and split["archetype_spread"] == 0.5 and split["trait_spread"] == 1.0
    assert action_of("move_to town hall") == "move_to"
