"""Prompts: one shared part for every agent, a personal part within the token budget, two answer styles."""

from __future__ import annotations

import numpy as np
import pytest

from tests.mind.mind_lab import village, village_scene
from tokenworld.inference.rules import RulesBackend
from tokenworld.mind.minds import ModelMinds
from tokenworld.mind.prompts import Page, PromptBuilder, render, shared_prompt
from tokenworld.world.actions import ACTION_INDEX, ACTIONS

OPTIONS = ["rest", "gather wood", "talk Ben", "move_to town hall"]


def words(s: str) -> int:
    """A token counter: one token a word."""
    return len(s.split())


def full_page() -> Page:
    return Page(
        who="Ada, a farmer; curious, quiet.",
        needs="hungry, tired",
        has="2 food, 3 wood",
        at="farm",
        near="Ben, Cleo, Dan",
        heard=('Ben: "Fine day!"', 'Cleo: "Wood is cheap at the market today"'),
        recent=tuple(f"tick {t}: I gathered 1 food at farm" for t in (90, 80, 70)),
        relevant=tuple(f"tick {t}: I traded with Ben (wood for food) at market" for t in (40, 30, 20)),
        plan="find food, then eat",
        last="gather failed (nothing to gather here)",
    )


@pytest.fixture(scope="module")
def scene():
    return village_scene()


def builder(scene, style: str, budget: int, count=words) -> PromptBuilder:
    """A prompt builder whose personal part may take `budget` tokens."""
    return PromptBuilder(scene, style, count, max_tokens=count(shared_prompt(scene, style)) + budget)


@pytest.mark.parametrize("style", ["number", "label"])
def test_the_shared_part_is_the_same_for_every_agent(style):
    """Requests for all agents of a village start with one identical shared part holding nothing personal."""
    sim = village(12)
    try:
        w = sim.world
        mind = sim.scene.mind
        agents = np.arange(w.n_agents)
        minds = ModelMinds(w, sim.brain, agents, mind, style, RulesBackend().count_tokens)
        reqs = minds.requests(agents, np.zeros(0, np.int64), sim.tick, np.full(len(agents), 3, np.int8))
        assert len(reqs) == w.n_agents
        shared = {r.shared for r in reqs}
        assert shared == {shared_prompt(sim.scene, style)}
        personal = [r.personal for r in reqs]
        assert len(set(personal)) == len(personal)  # everyone's page is their own
        for r in reqs:
            assert r.prompt == r.shared + r.personal
            who = r.personal.splitlines()[0]
            assert who.startswith("Person: ") and who not in r.shared
    finally:
        sim.close()


def test_the_shared_part_describes_the_world_and_its_actions(scene):
    """The shared part names the scene's places and every offered action (numbered by the action table in number
    style, the digits decisions answer with); its worked example answers 'eat' in both styles."""
    eat = ACTION_INDEX["eat"]
    for style, answer in (("number", f"Choice: {eat}\n"), ("label", "Choice: eat\n")):
        s = shared_prompt(scene, style)
        assert s == shared_prompt(scene, style)  # deterministic
        for z in scene.zones:
            assert z.name in s
        lines = s.splitlines()
        for k, a in enumerate(ACTIONS):
            mark = f"{k}. " if style == "number" else "- "
            offered = [line for line in lines if line.startswith(f"{mark}{a.name}")]
            assert len(offered) == (0 if a.name in ("idle", "guess") else 1), a.name
        assert answer in s
        assert ("Options:" in s) == (style == "label")  # number style lists no options: the actions are numbered
        assert s.endswith("\n\n")


def test_number_style_ends_at_the_answer_and_numbers_only_plans():
    """Number style: a decision page lists no options (the answer is an action's number from the shared part)
    and ends with 'Choice: ' (the space belongs to the prompt); a reflection lists its plans '1. plan'."""
    text = render(full_page(), OPTIONS, "number")
    assert text.endswith(
        "\nAt: farm\nNear: Ben, Cleo, Dan\nLast: gather failed (nothing to gather here)\n"
        'Heard: Ben: "Fine day!"\nHeard: Cleo: "Wood is cheap at the market today"\nChoice: '
    )
    assert "Options" not in text and "|" not in text
    assert not any(o in text for o in ("gather wood", "talk Ben", "town hall"))
    plans = ["eat, then rest", "gather food", "rest"]
    reflect = render(full_page(), plans, "number", numbered=True, question="Plans", answer="Plan")
    lines = reflect.splitlines()
    k = lines.index("Plans:")
    assert lines[k + 1 :] == [f"{i + 1}. {o}" for i, o in enumerate(plans)] + ["Plan: "]
    assert reflect.endswith("\nPlan: ")


def test_label_style_lists_the_options_on_one_line():
    """Label style lists 'a | b | ...' and ends with 'Choice:' where the model writes the option."""
    text = render(full_page(), OPTIONS, "label")
    assert "\nOptions: rest | gather wood | talk Ben | move_to town hall\n" in text
    assert text.endswith("\nChoice:")
    reflect = render(full_page(), ["eat, then rest"], "label", question="Plans", answer="Plan")
    assert "\nPlans: eat, then rest\n" in reflect and reflect.endswith("\nPlan:")


def test_calibration_page_has_no_content_and_the_pages_form(scene):
    """The calibration page is content-free ('N/A') in the form of the pages it calibrates: a number-style
    decision page lists no options (its bias is taken over every action's digit, whatever the menu), a
    reflection lists as many plans as asked, a label-style page as many options."""
    pb = builder(scene, "number", 100)
    text = pb.calibration(4)
    assert text == "Person: N/A\nNeeds: N/A\nHas: N/A\nAt: N/A\nChoice: "
    assert pb.calibration(2) == pb.calibration(7) == text  # the same page for every menu
    plans = pb.calibration(4, numbered=True, question="Plans", answer="Plan")
    assert plans.count("N/A") == 4 + 4  # who, needs, has, at, and four plans
    assert "4. N/A" in plans and "5." not in plans and plans.endswith("\nPlan: ")
    label = builder(scene, "label", 100).calibration(3)
    assert "Options: N/A | N/A | N/A\n" in label and label.endswith("Choice:")


def test_an_unknown_style_is_refused(scene):
    """Only 'number' and 'label' are styles."""
    with pytest.raises(ValueError, match="style must be one of"):
        PromptBuilder(scene, "json", words, 100)
