"""The simulation loop: one object a user builds, steps and runs."""

from __future__ import annotations

import secrets
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tokenworld.errors import TokenWorldError
from tokenworld.scene.schema import Scene


@dataclass
class TickResult:
    """What one tick did: its number, its metrics and how long it took."""

    tick: int
    metrics: dict | None
    step_ms: float
    stage_ms: dict = field(default_factory=dict)


class Simulation:
    """Advances a scene tick by tick.

    Args:
        scene: a validated `Scene`.
        seed: random seed; None takes `scene.sim.seed`, and without one picks a
            seed, records it and warns that the run will not reproduce.
        arch: Taichi arch ('auto', 'cpu', 'cuda', 'vulkan'); None reads `TOKENWORLD_ARCH`.
        profile: time each engine stage (synchronising after each).

    Call `build()` before `step()` or `run()`.
    """

    def __init__(self, scene: Scene, *, seed: int | None = None, arch: str | None = None, profile: bool = True):
        self.scene = scene
        if seed is None:
            seed = scene.sim.seed
        self.seed_was_given = seed is not None
        if seed is None:
            seed = secrets.randbelow(2**31)
            warnings.warn(
                f"No seed given (scene `sim.seed` or --seed); using {seed}. This run will not reproduce unless you pass it.",
                stacklevel=2,
            )
        if not 0 <= seed < 2**32:
            raise TokenWorldError(f"seed must be in [0, 2^32), found {seed}.")
        self.seed = int(seed)
        self.requested_arch = arch
        self.profile = profile
        self.tick = 0
        self.world = None
        self.build_seconds = 0.0

    # ------------------------------------------------------------------ life

    def build(self) -> "Simulation":
        """Spawn the agents and start the engine (compiles kernels the first time)."""
        from tokenworld.mind import Roaming
        from tokenworld.world import World

        t0 = time.perf_counter()
        self.world = World(self.scene, seed=self.seed, arch=self.requested_arch, profile=self.profile)
        self.roaming = Roaming(self.scene, self.world.agents.roams, np.random.default_rng([self.seed, 2]))
        self.build_seconds = time.perf_counter() - t0
        return self

    @property
    def built(self) -> bool:
        return self.world is not None

    def _require_built(self) -> None:
        if self.world is None:
            raise TokenWorldError("Simulation is not built. Call `sim.build()` first.")

    @property
    def arch(self) -> str:
        """The Taichi arch the engine runs on."""
        self._require_built()
        return self.world.engine.arch

    @property
    def n_agents(self) -> int:
        return self.scene.agent_count

    @property
    def sim_time(self) -> float:
        """Simulated seconds since the start."""
        return self.tick * self.scene.sim.dt

    # ------------------------------------------------------------------ step

    def step(self) -> TickResult:
        """Advance one tick: move everyone, then hand out new destinations."""
        self._require_built()
        t0 = time.perf_counter()
        # 1. The engine: hash, perception, steering and motion, zones.
        timings = self.world.engine.step(self.scene.sim.dt)
        self.tick += 1
        # 2. Minds: agents that are due get new orders (applied next tick).
        self.roaming.update(self.world.engine, self.tick)
        # 3. Metrics for readers (every `metrics_every` ticks).
        metrics = self.world.engine.metrics() if self.tick % self.scene.sim.metrics_every == 0 else None
        step_ms = (time.perf_counter() - t0) * 1000.0
        stages = {
            "hash_ms": timings.hash_ms,
            "perception_ms": timings.perception_ms,
            "motion_ms": timings.motion_ms,
            "zones_ms": timings.zones_ms,
        }
        return TickResult(self.tick, metrics, step_ms, stages)

    def run(self, ticks: int, *, on_tick: Callable[[TickResult], None] | None = None) -> TickResult | None:
        """Advance `ticks` ticks, calling `on_tick` after each; returns the last tick's result."""
        if ticks < 0:
            raise TokenWorldError(f"ticks must be 0 or more, found {ticks}.")
        self._require_built()
        result = None
        for _ in range(ticks):
            result = self.step()
            if on_tick is not None:
                on_tick(result)
        return result

    def snapshot(self) -> dict[str, np.ndarray]:
        """Numpy copies of agent state for readers (positions, velocities, zones, ...)."""
        self._require_built()
        return self.world.engine.snapshot()

    def close(self) -> None:
        """Release the engine."""
        if self.world is not None:
            self.world.close()
            self.world = None
