"""Names and persona lines: how an agent is introduced to a language model.

Names are derived from the agent id (so they need no storage and survive
checkpoints); a persona line puts the archetype and the traits that stand out
into words. Both are only built for agents whose prompt is being written.
"""

from __future__ import annotations

import numpy as np

from tokenworld.scene.schema import ARCHETYPES, TRAITS

FIRST_NAMES = (
    "Ada",
    "Ben",
    "Cleo",
    "Dan",
    "Eva",
    "Finn",
    "Gia",
    "Hugo",
    "Ines",
    "Jon",
    "Kira",
    "Leo",
    "Mia",
    "Nils",
    "Olga",
    "Piet",
    "Quin",
    "Rosa",
    "Sam",
    "Tess",
    "Uma",
    "Vic",
    "Wren",
    "Xavi",
    "Yara",
    "Zeno",
)
_HIGH = {
    "openness": "curious",
    "conscientiousness": "diligent",
    "extraversion": "outgoing",
    "agreeableness": "kind",
    "neuroticism": "anxious",
}
_LOW = {
    "openness": "set in their ways",
    "conscientiousness": "easygoing",
    "extraversion": "quiet",
    "agreeableness": "blunt",
    "neuroticism": "calm",
}


NARRATOR = -1  # the speaker of what the viewer's user says or announces (interventions)


def agent_name(agent: int) -> str:
    """A short unique name: Ada, Ben, ..., Zeno, then Ada1, Ben1, ... (NARRATOR: 'the Narrator')."""
    if agent == NARRATOR:
        return "the Narrator"
    k, i = divmod(int(agent), len(FIRST_NAMES))
    return FIRST_NAMES[i] + (str(k) if k else "")


def agent_id(name: str) -> int | None:
    """The id `agent_name` gave `name`, or None if it is not such a name."""
    for i, first in enumerate(FIRST_NAMES):
        if name.startswith(first):
            rest = name[len(first) :]
            if rest == "":
                return i
            if rest.isdigit() and not rest.startswith("0"):
                return int(rest) * len(FIRST_NAMES) + i
    return None


def trait_words(traits: np.ndarray) -> list[str]:
    """Words for the traits far from the middle (above 0.65 or below 0.35), strongest first."""
    order = np.argsort(-np.abs(traits - 0.5), kind="stable")
    words = []
    for t in order:
        v = float(traits[t])
        if v >= 0.65:
            words.append(_HIGH[TRAITS[t]])
        elif v <= 0.35:
            words.append(_LOW[TRAITS[t]])
    return words


def persona(agent: int, archetype: int, traits: np.ndarray) -> str:
    """'Ada, a farmer; curious, quiet.'"""
    words = trait_words(traits)
    return f"{agent_name(agent)}, a {ARCHETYPES[archetype]}" + (f"; {', '.join(words[:3])}." if words else ".")
