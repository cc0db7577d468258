"""A language model reads the descriptions the keyword parser cannot: the same menus the minds answer.

The parser's reading stands wherever a word named the attribute; where none
did (unknown words, another language), the model fills the category (a kind,
then the category within it: each a menu of at most nine options, so a
scoring backend answers with one digit) and the material. The questions are
`Request`s sent through any `Backend` (llama.cpp in-process, an
OpenAI-compatible server, vLLM), constrained like decisions: the model can
only answer with one of the options. A failed answer keeps the parser's
reading.
"""

from __future__ import annotations

from dataclasses import replace

from tokenworld.assetgen.spec import MATERIALS, AssetSpec, parse
from tokenworld.mind.prompts import question_lines
from tokenworld.mind.protocol import Request

# Kinds, and the categories in each (every category in exactly one).
KINDS = (
    ("a building", ("house", "hut", "storehouse", "hall", "tower", "well")),
    ("a structure outdoors", ("bridge", "fence", "stall", "cart", "bench")),
    ("a plant", ("tree", "bush", "crops", "stump")),
    ("a rock or a stone", ("rock",)),
    ("a small object", ("crate", "pot", "basket", "log", "tool")),
    ("a person", ("person",)),
)
NO_MATERIAL = "none of these"
INTRO = "Each line describes a thing in a village. Say what it is by choosing one of the options.\n"
EXAMPLES = {  # worked examples, part of the shared prefix: (description, answer)
    "kind": (("a wooden cottage", "a building"), ("an old oak", "a plant")),
    "material": (("a wooden cottage", "wood"), ("a red cart", NO_MATERIAL)),
}


class ModelReader:
    """A `SpecReader` that asks `backend` what the keyword parser could not tell. `questions` counts requests."""

    def __init__(self, backend):
        self.backend = backend
        self.questions = 0

    @classmethod
    def embedded(cls) -> ModelReader:
        """The embedded default model (Gemma 3 270M through llama.cpp, scoring options)."""
        from tokenworld.inference.llama_cpp import LlamaCppBackend

        return cls(LlamaCppBackend(mode="score", agent_cache_mb=0))

    def read(self, text: str) -> AssetSpec:
        return self.read_many([text])[0]

    def read_many(self, texts: list[str]) -> list[AssetSpec]:
        """Specs of `texts`: the parser's, with the model's answers where the parser found no word."""
        specs = [parse(t) for t in texts]
        unread = [i for i, s in enumerate(specs) if s.guessed and s.text]
        kinds = self._choose([specs[i].text for i in unread], "kind", [k for k, _ in KINDS])
        for i, k in zip(unread, kinds, strict=True):
            if k is not None and len(KINDS[k][1]) == 1:
                specs[i] = replace(specs[i], category=KINDS[k][1][0], guessed=False)
        for k, (_, categories) in enumerate(KINDS):
            asked = [i for i, kind in zip(unread, kinds, strict=True) if kind == k and len(categories) > 1]
            answers = self._choose([specs[i].text for i in asked], "category", list(categories))
            for i, c in zip(asked, answers, strict=True):
                if c is not None:
                    specs[i] = replace(specs[i], category=categories[c], guessed=False)
        bare = [i for i, s in enumerate(specs) if s.material is None and s.text and s.category != "person"]
        options = [*MATERIALS, NO_MATERIAL]
        for i, m in zip(bare, self._choose([specs[i].text for i in bare], "material", options), strict=True):
            if m is not None and options[m] != NO_MATERIAL:
                specs[i] = replace(specs[i], material=options[m])
        return specs

    def _choose(self, texts: list[str], question: str, options: list[str]) -> list[int | None]:
        """The option each text is answered with (None: the backend failed), one batch of requests."""
        if not texts:
            return []
        style = self.backend.answer_style
        word = question.capitalize()
        examples = EXAMPLES.get(question, ())
        if style == "number":  # the options numbered once in the shared part; the answer is a digit
            listed = question_lines(options, style, numbered=True, question="Options")[:-1]
            shown = [(d, str(options.index(a) + 1)) for d, a in examples if a in options]
        else:  # the options are written out; the answer is a label
            listed = question_lines(options, style)[:-1]
            shown = [(d, a) for d, a in examples if a in options]
        shared = INTRO + "\n".join(listed) + "\n\n" + "".join(f"Thing: {d}\n{word}: {a}\n\n" for d, a in shown)
        ending = question_lines(options, style, answer=word)[-1]
        batch = [
            Request(-1, 0, "decide", shared, f"Thing: {text}\n{ending}", list(options), [False] * len(options))
            for text in texts
        ]
        self.questions += len(batch)
        return [a.choice if a.ok else None for a in self.backend.decide(batch)]
