"""Changing a scene's population size while keeping its group proportions."""

from __future__ import annotations

import copy

import numpy as np

from tokenworld.errors import TokenWorldError
from tokenworld.scene.schema import Scene
from tokenworld.scene.validate import MAX_AGENTS


def with_agents(scene: Scene, n: int) -> Scene:
    """A copy of `scene` with `n` agents in all, split over its groups in proportion.

    Counts are rounded by largest remainder, so they add up to exactly `n`.
    """
    if not 0 <= n <= MAX_AGENTS:
        raise TokenWorldError(f"--agents must be between 0 and {MAX_AGENTS:,}, found {n}.")
    if not scene.groups:
        raise TokenWorldError(f"scene {scene.name!r} has no agent groups to resize; add a [[groups]] entry.")
    out = copy.deepcopy(scene)
    weights = np.array([max(g.count, 0) for g in scene.groups], dtype=np.float64)
    if weights.sum() == 0:
        weights[:] = 1.0
    exact = weights / weights.sum() * n
    counts = np.floor(exact).astype(np.int64)
    short = n - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    for g, c in zip(out.groups, counts, strict=False):
        g.count = int(c)
    return out
