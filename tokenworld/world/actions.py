"""The action vocabulary: one table from which everything else is derived.

Each action names its arguments and their kinds, how long it keeps the agent
busy, its preconditions and its effects (as text, for prompts and docs; the
vectorized code that checks and applies them is in `tokenworld.world.rules`,
one function per action, and a test keeps the two in step). Later layers build
the prompt's action list, the grammar and the parser from this table.

Each action also carries its wording: `done`, what it did in the past tense
without a subject ('gathered {amount} {item}'), and `attempt`, what was tried
('gather {item}'). `done_text` and `attempt_text` fill them in; every place that
words an action (the viewer's feed, a replayed run, an agent's memories, the
live terminal view) derives its sentence from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenworld.scene.schema import ITEMS
from tokenworld.world.items import BUILD_RECIPES, CRAFT_RECIPES

ARG_KINDS = ("zone", "entity", "agent", "item", "amount", "text", "recipe")


@dataclass(frozen=True)
class Arg:
    """One argument of an action."""

    name: str
    kind: str  # one of ARG_KINDS
    doc: str
    optional: bool = False


@dataclass(frozen=True)
class Action:
    """One thing an agent can do."""

    name: str
    args: tuple[Arg, ...]
    duration: int  # ticks the agent is busy (0: the engine decides, as for walking)
    doc: str
    preconditions: tuple[str, ...]
    effects: tuple[str, ...]
    done: str  # past tense, no subject: fields {amount} {item} {partner} {recipe} {text} {goods_back}
    attempt: str  # what was tried, as after "tried to": same fields


ACTIONS: tuple[Action, ...] = (
    Action("idle", (), 10, "do nothing for a while", (), ("nothing changes",), done="waited", attempt="wait"),
    Action(
        "move_to",
        (Arg("target", "zone", "a zone, entity or agent to walk to"),),
        0,
        "walk to a zone, an entity or another agent",
        ("the target exists", "the agent is not already there"),
        ("the agent walks until it arrives",),
        done="walked",
        attempt="move to",
    ),
    Action(
        "gather",
        (Arg("item", "item", "the resource to gather"),),
        20,
        "gather a resource from a node within reach or from the zone's pool",
        ("a resource node with stock of the item is within reach, or the current zone's pool holds it",),
        ("the node's stock (or the pool) falls and the inventory rises by the gathered amount (doubled with tools)",),
        done="gathered {amount} {item}",
        attempt="gather {item}",
    ),
    Action(
        "craft",
        (Arg("recipe", "recipe", "what to make"),),
        30,
        "make an item from a recipe",
        ("the inventory holds the recipe's inputs",),
        ("the inputs are consumed and the outputs added",),
        done="crafted {amount} {item}",
        attempt="craft {recipe}",
    ),
    Action(
        "trade",
        (
            Arg("partner", "agent", "a nearby agent"),
            Arg("give", "item", "item offered"),
            Arg("give_amount", "amount", "how much is offered"),
            Arg("want", "item", "item asked for"),
            Arg("want_amount", "amount", "how much is asked for"),
        ),
        10,
        "offer items to a nearby agent for other items; the partner accepts or refuses",
        ("the partner is within perception range", "both hold what they would give", "the partner accepts"),
        ("items change hands; both remember the deal; ties strengthen; market prices move",),
        done="traded {amount} {item}{goods_back} with {partner}",
        attempt="trade with {partner}",
    ),
    Action(
        "talk",
        (Arg("partner", "agent", "a nearby agent"), Arg("text", "text", "what to say (short)")),
        10,
        "say something short to a nearby agent",
        ("the partner is within perception range",),
        ("the listener hears it (memory and message log); ties strengthen a little",),
        done='said to {partner}: "{text}"',
        attempt="talk with {partner}",
    ),
    Action(
        "build",
        (Arg("recipe", "recipe", "what to build"),),
        60,
        "build a structure where the agent stands",
        ("the agent stands in a zone", "the inventory holds the recipe's inputs"),
        ("the inputs are consumed and a new entity stands there",),
        done="built a {recipe}",
        attempt="build {recipe}",
    ),
    Action(
        "give",
        (
            Arg("partner", "agent", "a nearby agent"),
            Arg("item", "item", "what to give"),
            Arg("amount", "amount", "how much"),
        ),
        10,
        "give items to a nearby agent who needs them (help)",
        ("the partner is within perception range", "the inventory holds the items"),
        ("the items change hands; the tie between the two grows strongly",),
        done="gave {amount} {item} to {partner}",
        attempt="give {partner} {item}",
    ),
    Action(
        "eat",
        (),
        10,
        "eat one food",
        ("the inventory holds food",),
        ("one food is consumed; hunger falls",),
        done="ate",
        attempt="eat",
    ),
    Action("rest", (), 40, "rest to recover energy", (), ("energy rises",), done="rested", attempt="rest"),
    Action(
        "guess",
        (Arg("value", "amount", "the number guessed"),),
        0,
        "guess a number in a guessing game round",
        ("a round is open", "the value lies in the game's range"),
        ("the guess is recorded for the round",),
        done="guessed {amount}",
        attempt="guess",
    ),
)

ACTION_INDEX = {a.name: i for i, a in enumerate(ACTIONS)}


def action_id(name: str) -> int:
    """Index of the action called `name` (KeyError if there is none)."""
    return ACTION_INDEX[name]


def _item(i) -> str:
    return ITEMS[i] if i is not None and 0 <= i < len(ITEMS) else "something"


def _recipe(action: str, i) -> str:
    recipes = CRAFT_RECIPES if action == "craft" else BUILD_RECIPES
    return recipes[i].name if i is not None and 0 <= i < len(recipes) else "something"


def _fields(action: str, partner: str, item, amount, item2, amount2, text: str) -> dict[str, str]:
    back = f" for {amount2:g} {_item(item2)}" if item2 is not None and amount2 is not None else ""
    return {
        "amount": "?" if amount is None else f"{float(amount):g}",
        "item": _item(item),
        "partner": partner,
        "recipe": _recipe(action, item),
        "text": text,
        "goods_back": back,
    }


def done_text(
    action: str, *, partner: str = "", item=None, amount=None, item2=None, amount2=None, text: str = ""
) -> str:
    """What `action` did, past tense, without its subject: 'gathered 2 wood', 'gave 1 food to Ben'.

    Args:
        action: an action's name.
        partner: the other agent's name (talk, trade, give).
        item: the item (gather, give, trade, and what a craft made) or recipe (build) index; None if unknown.
        amount: how much of `item`.
        item2, amount2: what came back in a trade, when known.
        text: what was said (talk).
    """
    a = ACTIONS[ACTION_INDEX[action]] if action in ACTION_INDEX else None
    if a is None:
        return action
    return a.done.format(**_fields(action, partner, item, amount, item2, amount2, text))


def attempt_text(action: str, *, partner: str = "", item=None) -> str:
    """What was tried, as after 'tried to': 'gather wood', 'trade with Ben', 'build hut'."""
    a = ACTIONS[ACTION_INDEX[action]] if action in ACTION_INDEX else None
    if a is None:
        return action.replace("_", " ")
    return a.attempt.format(**_fields(action, partner, item, None, None, None, ""))


def refused_text(action: str, reason: str, *, partner: str = "", item=None) -> str:
    """A refusal, without its subject: 'tried to trade with Ben but failed: partner busy'."""
    return f"tried to {attempt_text(action, partner=partner, item=item)} but failed: {reason}"
