"""The action vocabulary: one table from which everything else is derived.

Each action names its arguments and their kinds, how long it keeps the agent
busy, its preconditions and its effects (as text, for prompts and docs; the
vectorized code that checks and applies them is in `tokenworld.world.rules`,
one function per action, and a test keeps the two in step). Later layers build
the prompt's action list, the grammar and the parser from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

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


ACTIONS: tuple[Action, ...] = (
    Action("idle", (), 10, "do nothing for a while", (), ("nothing changes",)),
    Action(
        "move_to",
        (Arg("target", "zone", "a zone, entity or agent to walk to"),),
        0,
        "walk to a zone, an entity or another agent",
        ("the target exists", "the agent is not already there"),
        ("the agent walks until it arrives",),
    ),
    Action(
        "gather",
        (Arg("item", "item", "the resource to gather"),),
        20,
        "gather a resource from a node within reach or from the zone's pool",
        ("a resource node with stock of the item is within reach, or the current zone's pool holds it",),
        ("the node's stock (or the pool) falls and the inventory rises by the gathered amount (doubled with tools)",),
    ),
    Action(
        "craft",
        (Arg("recipe", "recipe", "what to make"),),
        30,
        "make an item from a recipe",
        ("the inventory holds the recipe's inputs",),
        ("the inputs are consumed and the outputs added",),
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
    ),
    Action(
        "talk",
        (Arg("partner", "agent", "a nearby agent"), Arg("text", "text", "what to say (short)")),
        10,
        "say something short to a nearby agent",
        ("the partner is within perception range",),
        ("the listener hears it (memory and message log); ties strengthen a little",),
    ),
    Action(
        "build",
        (Arg("recipe", "recipe", "what to build"),),
        60,
        "build a structure where the agent stands",
        ("the agent stands in a zone", "the inventory holds the recipe's inputs"),
        ("the inputs are consumed and a new entity stands there",),
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
    ),
    Action("eat", (), 10, "eat one food", ("the inventory holds food",), ("one food is consumed; hunger falls",)),
    Action("rest", (), 40, "rest to recover energy", (), ("energy rises",)),
    Action(
        "guess",
        (Arg("value", "amount", "the number guessed"),),
        0,
        "guess a number in a guessing game round",
        ("a round is open", "the value lies in the game's range"),
        ("the guess is recorded for the round",),
    ),
)

ACTION_INDEX = {a.name: i for i, a in enumerate(ACTIONS)}


def action_id(name: str) -> int:
    """Index of the action called `name` (KeyError if there is none)."""
    return ACTION_INDEX[name]
