"""The action grammar: labels, the parser, the JSON schema, and GBNF that llama.cpp itself accepts."""

from __future__ import annotations

import ctypes
import json
import math

import numpy as np
import pytest

from tests.paths import ROOT
from tokenworld.mind.grammar import (
    SAY_MAX,
    Names,
    ParseError,
    constraint_for,
    label,
    menu_gbnf,
    menu_json_schema,
    parse_answer,
    table_gbnf,
)
from tokenworld.mind.personas import agent_name
from tokenworld.scene.schema import ITEMS, Scene
from tokenworld.world.actions import ACTION_INDEX, ACTIONS
from tokenworld.world.items import BUILD_RECIPES, CRAFT_RECIPES

# One value per argument kind, as a scene would name them (a zone with a space on purpose).
VALUE = {"zone": "town hall", "agent": "Ben", "item": "wood", "amount": "2", "entity": "oak"}
RECIPE = {"craft": CRAFT_RECIPES[0].name, "build": BUILD_RECIPES[0].name}


def table_label(action) -> tuple[str, bool]:
    """The label of `action` built from the table's argument kinds, and whether it takes a spoken line."""
    args, talk = [], False
    for arg in action.args:
        if arg.kind == "text":
            talk = True
        elif arg.kind == "recipe":
            args.append(RECIPE[action.name])
        else:
            args.append(VALUE[arg.kind])
    return label(action.name, *args), talk


ALL = [table_label(a) for a in ACTIONS]
ALL_LABELS = [lab for lab, _ in ALL]
ALL_TALK = [t for _, t in ALL]


def written(lab: str, talk: bool, say: str = "Fine day!") -> str:
    """What a model writes for the option `lab` (with a spoken line for talk)."""
    return f"{lab}: {say}" if talk else lab


# ---------------------------------------------------------------- labels and parsing


def test_label_joins_the_action_and_its_arguments_in_table_order():
    """Labels are the action name then its arguments, space-separated; a bare action is its name."""
    assert label("eat") == "eat"
    assert label("trade", "Ben", "wood", "2", "food", "1") == "trade Ben wood 2 food 1"
    assert label("move_to", "town hall") == "move_to town hall"


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_every_action_label_parses_back_as_plain_text(action):
    """For every action of the table, its label (with a line for talk) parses to its own option."""
    lab, talk = table_label(action)
    i = ALL_LABELS.index(lab)
    choice, say = parse_answer(written(lab, talk), ALL_LABELS, ALL_TALK)
    assert choice == i
    assert say == ("Fine day!" if talk else "")


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_every_action_label_parses_back_as_json(action):
    """The structured-output form {"do": ..., "say": ...} parses to the same option for every action."""
    lab, talk = table_label(action)
    obj = {"do": lab, "say": "Fine day!"} if talk else {"do": lab}
    choice, say = parse_answer(json.dumps(obj), ALL_LABELS, ALL_TALK)
    assert choice == ALL_LABELS.index(lab)
    assert say == ("Fine day!" if talk else "")


def test_a_spoken_line_on_a_silent_option_is_dropped():
    """Only talk options carry a line: 'eat: yum' and {"do": "eat", "say": "yum"} give no line."""
    i = ALL_LABELS.index("eat")
    assert parse_answer("eat: yum", ALL_LABELS, ALL_TALK) == (i, "")
    assert parse_answer('{"do": "eat", "say": "yum"}', ALL_LABELS, ALL_TALK) == (i, "")


@pytest.mark.parametrize(
    "answer",
    ["talk Ben", "talk Ben:", "talk Ben:    ", 'talk Ben: ""', '{"do": "talk Ben"}', '{"do": "talk Ben", "say": ""}'],
)
def test_talk_without_a_line_is_an_error_that_shows_the_form(answer):
    """Talk needs text after the colon; the error names the option and shows how to write it."""
    with pytest.raises(ParseError, match=r"'talk Ben' needs something to say after a colon.*talk Ben: Hello!"):
        parse_answer(answer, ALL_LABELS, ALL_TALK)


def test_an_unknown_verb_is_named_with_the_known_actions():
    """An answer whose first word is no action says which word and lists the actions."""
    with pytest.raises(ParseError, match=r"unknown action 'fly' in 'fly away'") as e:
        parse_answer("fly away", ALL_LABELS, ALL_TALK)
    assert all(a.name in str(e.value) for a in ACTIONS)


def test_a_known_action_not_on_the_menu_lists_the_options():
    """A real action that is not one of this agent's options is refused, naming it and the options."""
    options, talk = ["eat", "rest", "talk Ben"], [False, False, True]
    with pytest.raises(
        ParseError, match=r"'gather wood' is not one of this agent's options now: eat \| rest \| talk Ben"
    ):
        parse_answer("gather wood", options, talk)
    with pytest.raises(ParseError, match=r"'talk Cleo' is not one of"):
        parse_answer("talk Cleo: hi", options, talk)
    with pytest.raises(ParseError, match="is not one of"):
        parse_answer('{"do": "move_to farm"}', options, talk)


@pytest.mark.parametrize(
    "answer, why",
    [
        ("", "answer is empty"),
        ("   \n  ", "answer is empty"),
        ('{"do": "eat"', "not valid JSON"),
        ('{"say": "hi"}', 'must be an object with a "do" string'),
        ('{"do": 3}', 'must be an object with a "do" string'),
        ('{"do": "talk Ben", "say": 5}', '"say" must be a string'),
    ],
)
def test_malformed_answers_say_what_is_wrong(answer, why):
    """Empty answers, broken JSON and JSON of the wrong shape each get their own message."""
    with pytest.raises(ParseError, match=why):
        parse_answer(answer, ALL_LABELS, ALL_TALK)


@pytest.mark.parametrize(
    "answer",
    [
        "  MOVE_TO   Town  Hall  ",
        "move_to town hall.",
        '"move_to town hall"',
        "`move_to town hall`",
        "move_to town hall\ngather wood",
        "\n  move_to\ttown hall  ",
    ],
)
def test_case_whitespace_quotes_and_later_lines_are_tolerated(answer):
    """Case, runs of whitespace, surrounding quotes or a full stop, and lines after the first do not matter."""
    assert parse_answer(answer, ALL_LABELS, ALL_TALK) == (ALL_LABELS.index("move_to town hall"), "")


def test_only_the_first_line_counts():
    """A plain answer is read from its first line: a valid option on line two does not rescue it."""
    with pytest.raises(ParseError, match="unknown action 'hmm'"):
        parse_answer("hmm\neat", ALL_LABELS, ALL_TALK)


def test_a_spoken_line_is_trimmed_and_cleaned():
    """The line loses quotes, backslashes and newlines, surrounding blanks, and is cut to SAY_MAX characters."""
    i = ALL_LABELS.index("talk Ben")
    assert parse_answer('  talk  ben :   "Hi there"  ', ALL_LABELS, ALL_TALK) == (i, "Hi there")
    _, say = parse_answer(json.dumps({"do": "talk Ben", "say": 'He said "no"\nthen\\left'}), ALL_LABELS, ALL_TALK)
    assert not set('"\n\\') & set(say)
    assert say.startswith("He said  no") and "then left" in say
    _, say = parse_answer("talk Ben: " + "x" * (3 * SAY_MAX), ALL_LABELS, ALL_TALK)
    assert say == "x" * SAY_MAX
    _, say = parse_answer(json.dumps({"do": "talk Ben", "say": "y" * 500}), ALL_LABELS, ALL_TALK)
    assert say == "y" * SAY_MAX
    _, say = parse_answer("talk Ben: time: noon", ALL_LABELS, ALL_TALK)
    assert say == "time: noon"  # only the first colon separates the option from the line


# ---------------------------------------------------------------- JSON schema


@pytest.mark.parametrize(
    "options, talk",
    [
        (["eat", "rest"], [False, False]),
        (["eat", "talk Ben", "talk Cleo"], [False, True, True]),
        (ALL_LABELS, ALL_TALK),
        (["idle"], [False]),
    ],
)
def test_the_json_schema_admits_exactly_the_options(options, talk):
    """The "do" enum equals the options; "say" (at most SAY_MAX) exists only with a talk option."""
    schema = menu_json_schema(options, talk)
    json.dumps(schema)  # serialisable as sent to a server
    assert schema["type"] == "object"
    assert schema["required"] == ["do"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["do"] == {"type": "string", "enum": list(options)}
    if any(talk):
        assert set(schema["properties"]) == {"do", "say"}
        assert schema["properties"]["say"] == {"type": "string", "maxLength": SAY_MAX}
    else:
        assert set(schema["properties"]) == {"do"}


def test_one_constraint_per_menu_holds_every_form():
    """A menu's constraint is made once and shared (requests carry it); its forms equal the menu functions'."""
    from tokenworld.mind.protocol import Request

    options, talk = ["eat", "talk Ben", "move_to town hall"], [False, True, False]
    c = constraint_for(options, talk)
    assert constraint_for(list(options), [0, 1, 0]) is c
    assert Request(3, 1, "decide", "", "", list(options), list(talk)).constraint is c
    assert constraint_for(options, [False, False, False]) is not c
    assert c.gbnf(" ") == menu_gbnf(options, talk, lead=" ") and c.gbnf() == menu_gbnf(options, talk)
    assert c.gbnf(" ") is c.gbnf(" ")  # made once
    assert c.json_schema == menu_json_schema(options, talk) and c.json_schema is c.json_schema
    for text in ("talk Ben: Hi!", '{"do": "move_to town hall"}', "eat"):
        assert c.parse(text) == parse_answer(text, options, talk)
    with pytest.raises(ParseError, match="not one of this agent's options"):
        c.parse("gather wood")


def test_the_json_schema_enum_is_a_copy():
    """Changing the options list afterwards does not change a schema already made."""
    options = ["eat", "rest"]
    schema = menu_json_schema(options, [False, False])
    options.append("idle")
    assert schema["properties"]["do"]["enum"] == ["eat", "rest"]


# ---------------------------------------------------------------- GBNF, read by llama.cpp's own grammar parser


class Gbnf:
    """llama.cpp's grammar sampler over the packaged Gemma vocabulary: does a grammar parse, does it admit a text."""

    def __init__(self):
        from tokenworld.inference.llama_cpp import _llama
        from tokenworld.inference.models import resolve_model

        self.L = L = _llama()
        params = L.llama_model_default_params()
        params.vocab_only = True  # the vocabulary is all a grammar needs
        self.model = L.llama_model_load_from_file(str(resolve_model("gemma3-270m")).encode(), params)
        assert self.model, "the packaged Gemma model did not load"
        self.vocab = L.llama_model_get_vocab(self.model)
        self.eos = L.llama_vocab_eos(self.vocab)

    def close(self) -> None:
        self.L.llama_model_free(self.model)

    def parses(self, gbnf: str) -> bool:
        """Whether llama.cpp builds a grammar sampler from `gbnf` (NULL means its parser rejected it)."""
        s = self.L.llama_sampler_init_grammar(self.vocab, gbnf.encode(), b"root")
        if not s:
            return False
        self.L.llama_sampler_free(s)
        return True

    def admits(self, gbnf: str, text: str) -> bool:
        """Whether the grammar lets a model write exactly `text` (token by token) and then stop."""
        L = self.L
        s = L.llama_sampler_init_grammar(self.vocab, gbnf.encode(), b"root")
        assert s, f"llama.cpp rejected the grammar:\n{gbnf}"
        try:
            for tok in self.tokens(text):
                if not self._allowed(s, tok):
                    return False
                L.llama_sampler_accept(s, tok)
            return self._allowed(s, self.eos)  # end of generation only once the grammar is complete
        finally:
            L.llama_sampler_free(s)

    def tokens(self, text: str) -> list[int]:
        data = text.encode()
        cap = len(data) + 8
        buf = (self.L.llama_token * cap)()
        n = self.L.llama_tokenize(self.vocab, data, len(data), buf, cap, False, False)
        assert n >= 0
        return list(buf[:n])

    def _allowed(self, sampler, tok: int) -> bool:
        data = np.zeros(1, np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")]))
        data["id"] = tok
        arr = self.L.llama_token_data_array(
            data=data.ctypes.data_as(ctypes.POINTER(self.L.llama_token_data)), size=1, selected=-1, sorted=False
        )
        self.L.llama_sampler_apply(sampler, ctypes.byref(arr))
        return data["logit"][0] != -math.inf


@pytest.fixture(scope="module")
def gbnf():
    g = Gbnf()
    yield g
    g.close()


@pytest.fixture(scope="module")
def village_names() -> Names:
    scene = Scene.load(ROOT / "scenes" / "village.toml")
    return Names(
        zones=tuple(z.name for z in scene.zones),
        agents=tuple(agent_name(i) for i in range(scene.agent_count)),
        items=tuple(ITEMS),
        craft=tuple(r.name for r in CRAFT_RECIPES),
        build=tuple(r.name for r in BUILD_RECIPES),
    )


def test_the_grammar_checker_can_say_no(gbnf):
    """The checker itself: a broken grammar is rejected and a grammar does not admit other text."""
    assert not gbnf.parses('root ::= ("a" | ')
    assert not gbnf.parses("root ::= undefined-rule\n")
    assert gbnf.parses('root ::= "a"\n')
    assert gbnf.admits('root ::= "eat\\n"\n', "eat\n")
    assert not gbnf.admits('root ::= "eat\\n"\n', "rest\n")
    assert not gbnf.admits('root ::= "eat\\n"\n', "eat")  # stopping early is not allowed


@pytest.mark.parametrize("lead", ["", " "])
@pytest.mark.parametrize(
    "options, talk",
    [
        (ALL_LABELS, ALL_TALK),
        (["eat"], [False]),
        (["talk Ben"], [True]),
        (["rest", "talk Ben", "talk Cleo", "move_to town hall", 'say "hi"\\'], [False, True, True, False, False]),
    ],
)
def test_menu_grammars_parse_in_llama_cpp_and_admit_exactly_the_options(gbnf, options, talk, lead):
    """llama.cpp builds every menu grammar; it admits each option (talk with a line) then a newline, nothing else."""
    g = menu_gbnf(options, talk, lead=lead)
    assert gbnf.parses(g)
    for o, t in zip(options, talk, strict=True):
        assert gbnf.admits(g, lead + written(o, t, "Good day to you") + "\n"), o
        assert not gbnf.admits(g, lead + written(o, t, "Good day to you")), o  # the newline ends it
        if t:
            assert not gbnf.admits(g, lead + o + "\n"), o  # talk needs a line
            assert not gbnf.admits(g, lead + o + ": \n"), o
    if lead:
        assert not gbnf.admits(g, written(options[0], talk[0], "hi") + "\n")
    assert not gbnf.admits(g, lead + "fly away\n")
    assert not gbnf.admits(g, lead + "gather stone\n")


def test_a_menu_grammar_bounds_the_spoken_line(gbnf):
    """A spoken line holds 1 to SAY_MAX characters, and no quote or newline."""
    g = menu_gbnf(["eat", "talk Ben"], [False, True])
    assert gbnf.admits(g, "talk Ben: " + "a" * SAY_MAX + "\n")
    assert not gbnf.admits(g, "talk Ben: " + "a" * (SAY_MAX + 1) + "\n")
    assert not gbnf.admits(g, 'talk Ben: say "x"\n')


def test_what_a_menu_grammar_admits_parses_back(gbnf):
    """Every answer the menu grammar lets through is read back by `parse_answer` as the same option and line."""
    g = menu_gbnf(ALL_LABELS, ALL_TALK, lead=" ")
    for i, (o, t) in enumerate(zip(ALL_LABELS, ALL_TALK, strict=True)):
        text = " " + written(o, t, "See you at the well") + "\n"
        assert gbnf.admits(g, text)
        assert parse_answer(text, ALL_LABELS, ALL_TALK) == (i, "See you at the well" if t else "")


def test_the_table_grammar_parses_in_llama_cpp(gbnf, village_names):
    """The whole-table grammar with the village's names is a grammar llama.cpp accepts."""
    assert gbnf.parses(table_gbnf(village_names))
    assert gbnf.parses(table_gbnf(Names((), (), (), (), ())))  # a scene without names: any word


def _table_decisions():
    out = []
    for action in ACTIONS:
        lab, talk = table_label(action)
        out.append(pytest.param(written(lab, talk), id=action.name))
    return out


@pytest.mark.parametrize("decision", _table_decisions())
def test_the_table_grammar_admits_every_action_with_the_scenes_names(gbnf, village_names, decision):
    """For every action of the table, its label with the village's names (and a line for talk) is admitted."""
    assert gbnf.admits(table_gbnf(village_names), decision + "\n")


def test_the_table_grammar_refuses_a_bare_recipe_name(gbnf, village_names):
    """A recipe name alone ('tools', 'hut') is not a decision."""
    g = table_gbnf(village_names)
    assert not gbnf.admits(g, "tools\n")
    assert not gbnf.admits(g, "hut\n")


@pytest.mark.parametrize(
    "text",
    [
        "fly\n",
        "move_to mars\n",
        "gather gold\n",
        "talk Nobody: hi\n",
        "talk Ben\n",
        "eat",
        "trade Ben wood two food 1\n",
        "give Ben wood 12345\n",
    ],
)
def test_the_table_grammar_refuses_what_no_scene_name_allows(gbnf, village_names, text):
    """Unknown actions, names the scene lacks, missing lines, words for numbers and no final newline are refused."""
    assert not gbnf.admits(table_gbnf(village_names), text)


def test_every_table_action_appears_in_the_table_grammar():
    """Each action of the table is an alternative of the root rule."""
    g = table_gbnf(Names(("farm",), ("Ada",), ("food",), ("tools",), ("hut",)))
    root = g.splitlines()[0]
    for action in ACTIONS:
        assert action.name.replace("_", "-") in root
    assert len(ACTION_INDEX) == len(ACTIONS)
