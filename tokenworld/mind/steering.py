"""Agents' steering profiles: each model agent's Big Five traits, centred and scaled to [-1, 1] and rounded to
`mind.steering.levels` steps, are the coefficients of its trait vectors (`tokenworld.inference.steering`). Agents
with the same rounded profile share one control vector, so a backend groups their requests (one group per
profile, a profile's coefficients joining the requests' cache key)."""

from __future__ import annotations

import numpy as np

# The action each trait should move (extraversion: agents talk more, ...): what the report's Steering section
# measures and what `tokenworld steer learn` trains a direction towards.
TRAIT_ACTIONS = {
    "openness": "move_to",
    "conscientiousness": "gather",
    "extraversion": "talk",
    "agreeableness": "give",
    "neuroticism": "rest",
}


def profiles(traits: np.ndarray, levels: int) -> np.ndarray:
    """float32 (n, traits): each trait t in [0, 1] as 2 t - 1, rounded to `levels` evenly spaced steps in [-1, 1]."""
    step = 2.0 / (levels - 1)
    centred = np.clip(np.asarray(traits, np.float64) * 2.0 - 1.0, -1.0, 1.0)
    return (np.round(centred / step) * step).astype(np.float32)


def profile_ids(coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bucket of each agent, the distinct profiles in first-seen order): agents sharing a profile share a bucket."""
    _, first, inverse = np.unique(coefficients, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # buckets numbered by the first agent holding each profile
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse.reshape(-1)].astype(np.int32), coefficients[np.sort(first)]
