"""Roaming: agents with nothing else to do walk from zone to zone.

Every roaming agent waits a while where it is, picks a zone (uniformly, or the
world at large when the scene has none), walks to a random point in it, and
waits again. Vectorized over agents: the only Python loop is over zones.
"""

from __future__ import annotations

import numpy as np

from tokenworld.engine import Engine
from tokenworld.scene.geometry import sample_in_rect, sample_in_zone
from tokenworld.scene.schema import Scene

DWELL_TICKS = (20, 120)


class Roaming:
    """Gives roaming agents new destinations when they have waited long enough.

    Args:
        scene: the scene (zones and world size).
        roams: bool per agent, True for agents this policy moves.
        rng: the policy's own random generator (seeded by the simulation).
    """

    def __init__(self, scene: Scene, roams: np.ndarray, rng: np.random.Generator):
        self.scene = scene
        self.rng = rng
        self.roams = np.asarray(roams, bool)
        n = len(self.roams)
        self.waiting = self.roams.copy()
        self.next_move = rng.integers(0, DWELL_TICKS[1], n).astype(np.int64)
        self.trips = 0  # walks started so far

    def update(self, engine: Engine, tick: int) -> int:
        """Start the walks due at `tick`; returns how many agents were sent."""
        if not self.roams.any():
            return 0
        arrived = engine.take_arrivals()
        fresh = arrived[self.roams[arrived]]
        if len(fresh):
            self.waiting[fresh] = True
            self.next_move[fresh] = tick + self.rng.integers(DWELL_TICKS[0], DWELL_TICKS[1], len(fresh))
        due = np.flatnonzero(self.waiting & (self.next_move <= tick)).astype(np.int32)
        if len(due) == 0:
            return 0
        engine.set_targets(due, self._destinations(len(due)))
        self.waiting[due] = False
        self.trips += len(due)
        return len(due)

    def _destinations(self, m: int) -> np.ndarray:
        zones = self.scene.zones
        if not zones:
            w, h = self.scene.world.size
            return sample_in_rect(self.rng, (0.0, 0.0, w, h), m)
        choice = self.rng.integers(0, len(zones), m)
        out = np.empty((m, 2), np.float32)
        for z in np.unique(choice):
            rows = np.flatnonzero(choice == z)
            out[rows] = sample_in_zone(self.rng, zones[z], len(rows))
        return out
