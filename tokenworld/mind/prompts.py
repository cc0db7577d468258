"""Prompts: what every agent shares first, what is personal last, within a token budget.

The embedded model is a base (pretrained) model, so prompts are completion
style: a description of the world and its actions, one worked example, then
the agent's own page ending where its answer starts. The shared part is the
same text for every agent of a scene (backends evaluate it once and copy its KV
cache); the personal part holds the persona, needs, inventory, place,
neighbours, what was said to it, memories, plan and the options. When the
personal part is over budget, memories go first, then what was heard, then
neighbours; the persona, needs and options always stay.

Two answer styles: `number` (the options are numbered and the answer is a
digit: scored by log-likelihood in one pass) and `label` (the answer is the
option written out: generated under a grammar, or by an OpenAI-compatible server).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tokenworld.mind.grammar import format_amount
from tokenworld.mind.personas import agent_name, persona
from tokenworld.scene.schema import ITEMS, Scene
from tokenworld.world.actions import ACTIONS
from tokenworld.world.items import BUILD_RECIPES, CRAFT_RECIPES

STYLES = ("number", "label")
_ARG_WORD = {"zone": "PLACE", "agent": "NAME", "item": "ITEM", "amount": "N", "recipe": "RECIPE", "text": "WORDS"}
_SKIP = {"idle", "guess"}  # not offered in the village prompt


@dataclass
class Page:
    """One agent's situation, in words (each field one line or a few)."""

    who: str
    needs: str
    has: str
    at: str
    near: str = ""
    news: str = ""  # what it has to tell others: news it heard, or its plan and needs
    heard: tuple[str, ...] = ()
    recent: tuple[str, ...] = ()
    relevant: tuple[str, ...] = ()
    plan: str = ""
    last: str = ""


def action_line(action) -> str:
    """'trade NAME ITEM N ITEM N: offer items ...' from the action table."""
    args = []
    for arg in action.args:
        if arg.kind == "text":
            continue
        args.append(_ARG_WORD.get(arg.kind, arg.name.upper()))
    head = " ".join([action.name, *args])
    if any(a.kind == "text" for a in action.args):
        head += ": WORDS"
    return f"- {head}: {action.doc}"


def shared_prompt(scene: Scene, style: str) -> str:
    """The part every agent's prompt starts with: world, places, items, recipes, actions, one worked example."""
    places = []
    for z in scene.zones:
        has = [k for k, v in z.resources.items() if v > 0]
        places.append(f"{z.name} ({z.kind}{'; ' + ', '.join(has) if has else ''})")
    recipes = [
        f"{r.name} = " + " + ".join(f"{format_amount(q)} {i}" for i, q in r.inputs.items()) for r in CRAFT_RECIPES
    ]
    builds = [
        f"{r.name} = " + " + ".join(f"{format_amount(q)} {i}" for i, q in r.inputs.items()) for r in BUILD_RECIPES
    ]
    lines = [
        f"Token World: {scene.description or scene.name}",
        "Places: " + "; ".join(places) + "." if places else "Places: none.",
        "Items: " + ", ".join(ITEMS) + ".",
        "Craft: " + "; ".join(recipes) + ". Build: " + "; ".join(builds) + ".",
        "Actions:",
        *(action_line(a) for a in ACTIONS if a.name not in _SKIP),
        "Each turn a person picks one of their options. Hungry people eat or find food; tired people rest;",
        "people gather, craft, trade and talk to get on with their lives and neighbours.",
        "When people talk they pass on their News in a short sentence of their own.",
        render(_EXAMPLE_PAGE, _EXAMPLE_OPTIONS, style) + ("3" if style == "number" else " eat"),
        "",
        *(
            render(page, _EXAMPLE_TALK_OPTIONS, style)
            + (f'2\n{lead}: "' if style == "number" else " talk Tess: ")
            + line
            + ('"' if style == "number" else "")
            + "\n"
            for page, lead, line in _EXAMPLE_TALKS
        ),
        "",
    ]
    return "\n".join(lines)


def render(page: Page, options: list[str], style: str, *, question: str = "Options", answer: str = "Choice") -> str:
    """The personal part: the page, then the options, ending where the answer starts."""
    lines = [f"Person: {page.who}", f"Needs: {page.needs}", f"Has: {page.has}", f"At: {page.at}"]
    if page.near:
        lines.append(f"Near: {page.near}")
    lines += [f"Heard: {h}" for h in page.heard]
    if page.news:
        lines.append(f"News: {page.news}")
    if page.recent or page.relevant:
        lines.append("Remembers:")
        lines += [f"- {m}" for m in (*page.relevant, *page.recent)]
    if page.last:
        lines.append(f"Last: {page.last}")
    if page.plan:
        lines.append(f"Plan: {page.plan}")
    if style == "number":
        lines.append(f"{question}:")
        lines += [f"{i + 1}. {o}" for i, o in enumerate(options)]
        lines.append(f"{answer}: ")  # the space is a token of its own before a digit (Gemma's tokenizer)
    else:
        lines.append(f"{question}: " + " | ".join(options))
        lines.append(f"{answer}:")
    return "\n".join(lines)


_EXAMPLE_PAGE = Page(
    who="Tess, a farmer; diligent, kind.",
    needs="hungry, rested",
    has="2 food, 1 wood",
    at="farm",
    near="Ben",
    recent=("I gathered 1 food at farm",),
    plan="find food, then eat",
)
_EXAMPLE_OPTIONS = ["rest", "gather food", "eat", "talk Ben", "move_to market"]  # the answer is not the first
_EXAMPLE_TALK_OPTIONS = ["rest", "talk Tess", "move_to farm"]
_EXAMPLE_TALKS = (  # (page, lead, what is said): one's own plans and wares; heard news, passed on as heard
    (
        Page(
            who="Ben, a merchant; talkative.",
            needs="hungry, rested",
            has="6 wood",
            at="market",
            near="Tess",
            news="I plan to trade, then eat; I have 6 wood to spare",
        ),
        "You say to Tess",
        "I have 6 wood to spare.",
    ),
    (
        Page(
            who="Ben, a merchant; talkative.",
            needs="fed, rested",
            has="3 wood",
            at="market",
            near="Tess",
            heard=('Ada: "the orchard has ripe apples"',),
            news="the orchard has ripe apples",
        ),
        "You tell Tess the news",
        "The orchard has ripe apples!",
    ),
)


def needs_words(hunger: float, energy: float) -> str:
    """'hungry, tired': needs in two words (numbers cost tokens and a small model reads words better)."""
    h = "starving" if hunger > 0.85 else "hungry" if hunger > 0.5 else "peckish" if hunger > 0.25 else "fed"
    e = "exhausted" if energy < 0.2 else "tired" if energy < 0.5 else "rested"
    return f"{h}, {e}"


def inventory_words(inv: np.ndarray) -> str:
    parts = [f"{format_amount(round(float(q), 1))} {ITEMS[i]}" for i, q in enumerate(inv) if q >= 0.05]
    return ", ".join(parts) if parts else "nothing"


class PromptBuilder:
    """Writes the personal part of each deciding agent's prompt, within `max_tokens` in all.

    Args:
        scene: for the shared part.
        style: 'number' or 'label' (what the backend reads back).
        count_tokens: the backend's token counter.
        max_tokens: budget for the whole prompt (shared + personal).
    """

    def __init__(self, scene: Scene, style: str, count_tokens: Callable[[str], int], max_tokens: int):
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}")
        self.style = style
        self.count = count_tokens
        self.shared = shared_prompt(scene, style)
        self.shared_tokens = count_tokens(self.shared)
        self.budget = max_tokens - self.shared_tokens
        self.over_budget = 0  # pages that had to drop something

    def personal(self, page: Page, menu_labels: list[str], **kw) -> str:
        """The page in words, trimmed (memories, then heard lines, then neighbours) until it fits the budget."""
        text = render(page, menu_labels, self.style, **kw)
        if self.count(text) <= self.budget:
            return text
        self.over_budget += 1
        trims = [
            ("relevant", ()),
            ("recent", ()),
            ("heard", ()),
            ("last", ""),
            ("plan", ""),
            ("near", ""),
            ("news", ""),
        ]
        fields = dict(vars(page))
        for name, empty in trims:
            seq = fields[name]
            while seq:
                seq = seq[:-1] if isinstance(seq, tuple) else empty
                fields[name] = seq
                text = render(Page(**fields), menu_labels, self.style, **kw)
                if self.count(text) <= self.budget:
                    return text
        return text  # persona, needs and options alone: always sent, even over budget

    def calibration(self, n_options: int, **kw) -> str:
        """A content-free page of `n_options` options: scoring backends subtract its answer bias (Zhao et al. 2021)."""
        blank = Page(who="N/A", needs="N/A", has="N/A", at="N/A")
        return render(blank, ["N/A"] * n_options, self.style, **kw)


def page_for(
    world,
    agent: int,
    zone: int,
    near,
    *,
    heard=(),
    recent=(),
    relevant=(),
    plan: str = "",
    news: str = "",
    zone_names,
    options=(),
) -> Page:
    """The page of `agent` standing in `zone` with neighbours `near` (ids, nearest first), from the world's
    arrays; neighbours its options already name are not listed again."""
    eco = world.economy
    named = {w for o in options for w in o.split()}
    names = [n for n in (agent_name(int(b)) for b in near) if n not in named]
    last = ""
    if world.last_reason[agent] > 0:
        from tokenworld.world.decisions import REASONS

        last = f"{ACTIONS[int(world.last_action[agent])].name} failed ({REASONS[int(world.last_reason[agent])]})"
    return Page(
        who=persona(agent, int(world.agents.archetype[agent]), world.agents.traits[agent]),
        needs=needs_words(float(eco.hunger[agent]), float(eco.energy[agent])),
        has=inventory_words(eco.inventory[agent]),
        at=zone_names[zone] if zone >= 0 else "open country",
        near=", ".join(names),
        news=news,
        heard=tuple(heard),
        recent=tuple(recent),
        relevant=tuple(relevant),
        plan=plan,
        last=last,
    )
