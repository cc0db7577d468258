"""The action grammar: labels, GBNF, JSON schema and the one parser, all from the action table.

A decision is written as the action's name followed by its arguments in the
table's order, separated by spaces, a spoken line last after a colon:

    eat                      move_to town hall        gather wood
    craft tools              trade Ben wood 2 food 1  talk Ben: Fine day!

`table_gbnf` turns the whole action table into a GBNF grammar (any action with
any names the scene has); `menu_gbnf` and `menu_json_schema` constrain one
agent to its own feasible options (see `tokenworld.mind.options`), which is
what backends use. `parse_answer` reads what any backend returned (plain text
or the JSON object of structured outputs) and checks it against the options.

`Constraint` holds all of these for one menu (options, talk flags, GBNF, JSON
schema, parser), each made once; `constraint_for` caches it per menu, and every
`Request` carries the one of its menu (`Request.constraint`), so backends read
what they need instead of rebuilding it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from tokenworld.errors import TokenWorldError
from tokenworld.world.actions import ACTION_INDEX, ACTIONS

SAY_MAX = 60  # characters of a spoken line
SAY_CHARS = r"[^\n\"\\]"  # what a spoken line may contain (no newline, quote or backslash)


class ParseError(TokenWorldError):
    """A model's answer is not one of the agent's options."""


@dataclass(frozen=True)
class Names:
    """The names a scene gives each argument kind (for the table grammar and labels)."""

    zones: tuple[str, ...]
    agents: tuple[str, ...]
    items: tuple[str, ...]
    craft: tuple[str, ...]
    build: tuple[str, ...]


def format_amount(x: float) -> str:
    """Amounts as the model writes them: 2, 0.5, 12.5."""
    return f"{float(x):g}"


def label(action: str, *args: str) -> str:
    """'trade' + ('Ben', 'wood', '2', 'food', '1') -> 'trade Ben wood 2 food 1'."""
    return " ".join((action, *args)) if args else action


def lit(s: str) -> str:
    """A GBNF string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def menu_gbnf(options: list[str], talk: list[bool], lead: str = "") -> str:
    """A GBNF grammar that admits exactly one of `options` (talk options followed by ': ' and a line), then a newline.

    `lead` is text the answer starts with (a space, where the prompt ends with a colon).
    """
    plain = [lit(o) for o, t in zip(options, talk, strict=False) if not t]
    spoken = [lit(o) for o, t in zip(options, talk, strict=False) if t]
    alts = list(plain)
    lines = []
    if spoken:
        alts.append("talk")
        lines.append(f'talk ::= ({" | ".join(spoken)}) ": " say')
        lines.append(f"say ::= {SAY_CHARS} {SAY_CHARS}{{0,{SAY_MAX - 1}}}")
    head = f"{lit(lead)} " if lead else ""
    return "\n".join([f'root ::= {head}({" | ".join(alts)}) "\\n"', *lines]) + "\n"


def menu_json_schema(options: list[str], talk: list[bool]) -> dict:
    """A JSON schema for structured outputs: {"do": one of the options, "say": a short line for talk}."""
    props = {"do": {"type": "string", "enum": list(options)}}
    if any(talk):
        props["say"] = {"type": "string", "maxLength": SAY_MAX}
    return {"type": "object", "properties": props, "required": ["do"], "additionalProperties": False}


def table_gbnf(names: Names) -> str:
    """GBNF for every action of the table with the scene's names (what any decision may look like)."""
    kinds = {
        "zone": names.zones,
        "agent": names.agents,
        "item": names.items,
        "craft-recipe": names.craft,
        "build-recipe": names.build,
    }
    rules, alts = [], []
    for action in ACTIONS:
        parts = [lit(action.name)]
        for arg in action.args:
            kind = arg.kind
            if kind == "recipe":
                kind = "craft-recipe" if action.name == "craft" else "build-recipe"
            if kind == "text":
                parts.append('": " say')
            elif kind == "amount":
                parts.append('" " amount')
            else:
                parts.append(f'" " {kind}')
        rules.append(f"{action.name.replace('_', '-')} ::= {' '.join(parts)}")
        alts.append(action.name.replace("_", "-"))
    for kind, values in kinds.items():
        alternatives = " | ".join(lit(v) for v in values) if values else r"[^ \n]+"
        rules.append(f"{kind} ::= {alternatives}")
    rules.append('amount ::= [0-9] [0-9]{0,3} ("." [0-9] [0-9]?)?')
    rules.append(f"say ::= {SAY_CHARS} {SAY_CHARS}{{0,{SAY_MAX - 1}}}")
    return "\n".join([f'root ::= ({" | ".join(alts)}) "\\n"', *rules]) + "\n"


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().strip("\"'`.")).lower()


def parse_answer(text: str, options: list[str], talk: list[bool]) -> tuple[int, str]:
    """(option index, spoken line) from what a backend wrote; `ParseError` says what is wrong.

    Accepts the plain form ('talk Ben: hello') and the structured-output form
    ('{"do": "talk Ben", "say": "hello"}'); only the first line of plain text counts.
    """
    return _parse(text, options, talk, {_norm(o): i for i, o in enumerate(options)})


def _parse(text: str, options, talk, lookup: dict[str, int]) -> tuple[int, str]:
    raw = text.strip()
    say = ""
    if raw.startswith("{"):
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ParseError(f"answer is not valid JSON ({e.msg} at character {e.pos}): {raw[:80]!r}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("do"), str):
            raise ParseError(f'answer must be an object with a "do" string, found {raw[:80]!r}')
        choice_text, say = obj["do"], obj.get("say") or ""
        if not isinstance(say, str):
            raise ParseError(f'"say" must be a string, found {type(say).__name__}')
    else:
        first = raw.splitlines()[0] if raw else ""
        choice_text, sep, say = first.partition(":")
        if not sep:
            say = ""
    key = _norm(choice_text)
    if not key:
        raise ParseError("answer is empty; write one of the options")
    i = lookup.get(key)
    if i is None:
        verb = key.split(" ", 1)[0]
        if verb not in ACTION_INDEX:
            raise ParseError(
                f"unknown action {verb!r} in {choice_text.strip()!r}; actions are {', '.join(ACTION_INDEX)}"
            )
        raise ParseError(f"{choice_text.strip()!r} is not one of this agent's options now: {' | '.join(options)}")
    say = re.sub(r"[\n\"\\]", " ", say).strip()[:SAY_MAX]
    if talk[i] and not say:
        raise ParseError(f"{options[i]!r} needs something to say after a colon, as in '{options[i]}: Hello!'")
    return i, say if talk[i] else ""


@dataclass(frozen=True, eq=False)
class Constraint:
    """One menu's output constraint in every form a backend reads, all from the action table's labels.

    Backends take what they need: `options` and `talk` (scoring), `gbnf` (llama.cpp grammars),
    `json_schema` (vLLM and OpenAI structured outputs) and `parse` (any written answer). Each form is made
    once, when first asked for; get one through `constraint_for` (cached per menu), not by constructing it.
    """

    options: tuple[str, ...]
    talk: tuple[bool, ...]
    _grammars: dict = field(default_factory=dict, repr=False)  # lead -> GBNF

    def gbnf(self, lead: str = "") -> str:
        """The GBNF grammar of `menu_gbnf` (`lead`: text the answer starts with, such as a space after a colon)."""
        g = self._grammars.get(lead)
        if g is None:
            g = self._grammars[lead] = menu_gbnf(list(self.options), list(self.talk), lead=lead)
        return g

    @cached_property
    def json_schema(self) -> dict:
        """The JSON schema of `menu_json_schema` (shared by every request of the menu: read it, do not change it)."""
        return menu_json_schema(list(self.options), list(self.talk))

    @cached_property
    def _lookup(self) -> dict[str, int]:
        return {_norm(o): i for i, o in enumerate(self.options)}

    def parse(self, text: str) -> tuple[int, str]:
        """(option index, spoken line) of an answer, as `parse_answer`; `ParseError` says what is wrong."""
        return _parse(text, self.options, self.talk, self._lookup)


def constraint_for(options, talk) -> Constraint:
    """The `Constraint` of a menu (its option labels and talk flags); menus seen before share one object."""
    return _constraint(tuple(options), tuple(bool(t) for t in talk))


@lru_cache(maxsize=4096)
def _constraint(options: tuple[str, ...], talk: tuple[bool, ...]) -> Constraint:
    return Constraint(options, talk)
