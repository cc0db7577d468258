"""How participants guess in guess-the-average, vectorized over participants.

- random: uniform in [0, max_value];
- rules: level-k reasoning from the last round's target (or the middle of the
  range in the first round): an agent of level k guesses that times factor^k;
  open agents think more levels ahead (k from 0 to 3), neurotic ones add noise.
"""

from __future__ import annotations

import numpy as np

from tokenworld.errors import TokenWorldError
from tokenworld.scene.schema import GameOptions


def random_guesses(rng: np.random.Generator, m: int, options: GameOptions) -> np.ndarray:
    """Uniform guesses for `m` participants."""
    return rng.uniform(0.0, options.max_value, m)


def rules_guesses(
    rng: np.random.Generator, traits: np.ndarray, last_target: float | None, options: GameOptions
) -> np.ndarray:
    """Level-k guesses for participants with the given trait rows (openness col 0, neuroticism col 4)."""
    anchor = options.max_value / 2 if last_target is None else last_target
    level = np.rint(traits[:, 0] * 3).astype(np.int64)
    noise = rng.normal(0.0, 1.0, len(traits)) * (0.02 + 0.1 * traits[:, 4]) * options.max_value
    return np.clip(anchor * options.factor**level + noise, 0.0, options.max_value)


# ------------------------------------------------------------ language-model players
#
# Prompt order: the rules and the rounds so far come first (`guess_shared`: the same text for every player,
# so a backend evaluates it once per round), the player's persona last (`guess_personal`: 8 to 15 tokens).
# The other order (persona first) would let each player keep its persona's cache, but then the history,
# which grows every round, would be evaluated once per player: 1,000 players x (63 + 25 per round) tokens
# instead of 63 + 25 per round once (docs/design/llm-players.md).


def guess_shared(options: GameOptions, history: list) -> str:
    """The rules of the game and the rounds played so far (`RoundResult`s): the part every player shares."""
    top = int(options.max_value)
    lines = [
        f"Game: guess the average. Every player writes a whole number from 0 to {top}. "
        f"The target is {options.factor:.3g} times the average of all the numbers. "
        "The number closest to the target wins.",
    ]
    if history:
        lines.append("Rounds so far:")
        lines.extend(
            f"Round {r.round}: average {r.average:.1f}, target {r.target:.1f}, winning number {r.winning_guess:.0f}."
            for r in history
        )
    else:
        lines.append("This is the first round.")
    lines.append(f"Round {len(history) + 1} now.\nPlayer:")
    return "\n".join(lines)


def guess_personal(persona_text: str) -> str:
    """A player's part: its persona, then where its number starts (11 tokens for 'Ada, a citizen; blunt.')."""
    return f" {persona_text}\nGuess: "


MAX_ANSWERS = 1001  # model players answer whole numbers from a menu: 0 .. 1000 at most


def guess_options(options: GameOptions) -> list[str]:
    """The answers a player may write: whole numbers 0 .. max_value."""
    if options.max_value >= MAX_ANSWERS:
        raise TokenWorldError(
            f"game.max_value = {options.max_value:g} is too large for language-model players, who write a whole "
            f"number from a menu of 0 .. {MAX_ANSWERS - 1}; set game.max_value to {MAX_ANSWERS - 1} or less, or make "
            'the players\' groups `mind = "rules"`.'
        )
    return [str(v) for v in range(int(options.max_value) + 1)]
