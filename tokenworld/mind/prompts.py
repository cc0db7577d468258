"""Prompts: what every agent shares first, what is personal last, within a token budget.

The embedded model is a base (pretrained) model, so prompts are completion
style: a description of the world and its actions, one worked example, then
the agent's own page ending where its answer starts. The shared part is the
same text for every agent of a scene (backends evaluate it once and copy its KV
cache); the personal part holds the persona, needs, inventory, place,
neighbours, what was said to it, memories, plan and the options; over the
budget, a decision page begins with fewer memories.

The personal part comes in named blocks, the most stable first, so that a
backend keeping each agent's KV cache (`tokenworld.inference.agent_cache`)
evaluates only what changed since the agent's last decision: who it is and
its plan (the same for hundreds of ticks), what it remembers (one block per
line, oldest first: a new memory is a new last line), its news, its state
(needs, goods, place, neighbours), what it heard, and the question.

Two answer styles: `number` (the answer is a digit, scored by log-likelihood in
one pass: decisions answer with the action's number in the shared part's
action list, and only the numbers of the agent's feasible actions are listed
and scored; reflections number their options) and `label` (the answer is the
option written out: generated under a grammar, or by an OpenAI-compatible
server).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tokenworld.mind.grammar import format_amount
from tokenworld.mind.personas import agent_name, persona
from tokenworld.scene.schema import ITEMS, Scene
from tokenworld.world.actions import ACTION_INDEX, ACTIONS
from tokenworld.world.items import BUILD_RECIPES, CRAFT_RECIPES

STYLES = ("number", "label")
_ARG_WORD = {"zone": "PLACE", "agent": "NAME", "item": "ITEM", "amount": "N", "recipe": "RECIPE", "text": "WORDS"}
_SKIP = {"idle", "guess"}  # not offered in the village prompt (idle: only when nothing else is possible)


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


def action_line(action, number: int | None = None) -> str:
    """'trade NAME ITEM N ITEM N: offer items ...' from the action table ('4. trade ...' with its number)."""
    args = []
    for arg in action.args:
        if arg.kind == "text":
            continue
        args.append(_ARG_WORD.get(arg.kind, arg.name.upper()))
    head = " ".join([action.name, *args])
    if any(a.kind == "text" for a in action.args):
        head += ": WORDS"
    return f"{'-' if number is None else f'{number}.'} {head}: {action.doc}"


def action_keys(labels: list[str]) -> list[int]:
    """The answer digit of each option in number style: its action's number in the action table."""
    return [ACTION_INDEX[text.split(" ", 1)[0]] for text in labels]


def shared_prompt(scene: Scene, style: str) -> str:
    """The part every agent's prompt starts with: world, places, items, recipes, actions, worked examples."""
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
    numbered = style == "number"
    lines = [
        f"Token World: {scene.description or scene.name}",
        "Places: " + "; ".join(places) + "." if places else "Places: none.",
        "Items: " + ", ".join(ITEMS) + ".",
        "Craft: " + "; ".join(recipes) + ". Build: " + "; ".join(builds) + ".",
        "Actions:",
        *(action_line(a, k if numbered else None) for k, a in enumerate(ACTIONS) if a.name not in _SKIP),
        "Each turn a person picks one of the actions they can do"
        + (" (its number)." if numbered else ".")
        + " Hungry people eat or find food; tired people rest;",
        "people gather, craft, trade and talk to get on with their lives and neighbours.",
        "When people talk they pass on their News in a short sentence of their own.",
        render(_EXAMPLE_PAGE, _EXAMPLE_OPTIONS, style) + (_key("eat") if numbered else " eat"),
        "",
        *(
            render(page, _EXAMPLE_TALK_OPTIONS, style)
            + (f'{_key("talk")}\n{lead}: "' if numbered else " talk Tess: ")
            + line
            + ('"' if numbered else "")
            + "\n"
            for page, lead, line in _EXAMPLE_TALKS
        ),
        "",
    ]
    return "\n".join(lines)


def _key(action: str) -> str:
    return str(ACTION_INDEX[action])


def blocks(
    page: Page,
    options: list[str],
    style: str,
    *,
    numbered: bool = False,
    question: str = "Options",
    answer: str = "Choice",
) -> list[tuple[str, str]]:
    """The personal part in named blocks, the most stable first, ending where the answer starts: the head
    (`head_blocks`), then the situation and the question in one block ('now').

    In number style a decision answers with an action's number from the shared part's list (only those of
    the agent's options are scored), and `numbered` lists the options numbered from 1 (reflections: their
    options are plans, not actions). Label style lists the options on one line."""
    now = [line for _, line in state_lines(page)] + [f"Heard: {h}" for h in page.heard]
    now += question_lines(options, style, numbered=numbered, question=question, answer=answer)
    return [*head_blocks(page), ("now", "\n".join(now))]


def head_blocks(page: Page) -> list[tuple[str, str]]:
    """Who the agent is, its plan, its news and what it remembers: the blocks that stay for many decisions
    (the memory header with the lines before the last, then each later line a block of its own)."""
    out = [("who", f"Person: {page.who}\n")]
    if page.plan:
        out.append(("plan", f"Plan: {page.plan}\n"))
    if page.news:
        out.append(("news", f"News: {page.news}\n"))
    if page.recent or page.relevant:
        first = (*page.relevant, *page.recent[:1])
        out.append(("memory", "Remembers:\n" + "".join(f"- {m}\n" for m in first)))
        out += [("memory", f"- {m}\n") for m in page.recent[1:]]
    return out


def state_lines(page: Page) -> list[tuple[str, str]]:
    """(field, line) of the agent's situation: needs, goods, place, neighbours, a failed last action."""
    out = [("needs", f"Needs: {page.needs}"), ("has", f"Has: {page.has}"), ("at", f"At: {page.at}")]
    if page.near:
        out.append(("near", f"Near: {page.near}"))
    if page.last:
        out.append(("last", f"Last: {page.last}"))
    return out


def question_lines(
    options: list[str], style: str, *, numbered: bool = False, question: str = "Options", answer: str = "Choice"
) -> list[str]:
    """The lines that end a page where the answer starts (see `blocks`)."""
    if style == "number" and numbered:
        return [f"{question}:", *(f"{i + 1}. {o}" for i, o in enumerate(options)), f"{answer}: "]
    if style == "number":  # the answer is an action's number; those the agent cannot do are not scored
        return [f"{answer}: "]  # the space is a token of its own before a digit (Gemma's tokenizer)
    return [f"{question}: " + " | ".join(options), f"{answer}:"]


def render(page: Page, options: list[str], style: str, **kw) -> str:
    """The personal part as one text (see `blocks`)."""
    return "".join(text for _, text in blocks(page, options, style, **kw))


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
            news="I plan to trade, then eat; I have wood to spare",
        ),
        "You say to Tess",
        "I have wood to spare.",
    ),
    (
        Page(
            who="Ben, a merchant; talkative.",
            needs="fed, rested",
            has="3 wood",
            at="market",
            near="Tess",
            recent=('Ada said to me: "the orchard has ripe apples"',),
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
    """The shared part of a scene's prompts, and the tokens left of `max_tokens` for a personal part (which
    `tokenworld.mind.transcript.Transcripts` keeps within them).

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

    def calibration(self, n_options: int = 0, **kw) -> str:
        """A content-free page (Zhao et al. 2021): scoring backends subtract its answer bias. A decision in
        number style lists no options (the same page for every menu: the bias is read over every action's
        digit); otherwise the page lists `n_options` options."""
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
