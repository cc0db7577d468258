"""How participants guess in guess-the-average, vectorized over participants.

- random: uniform in [0, max_value];
- rules: level-k reasoning from the last round's target (or the middle of the
  range in the first round): an agent of level k guesses that times factor^k;
  open agents think more levels ahead (k from 0 to 3), neurotic ones add noise.
"""

from __future__ import annotations

import numpy as np

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
