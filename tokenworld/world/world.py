"""World state on top of the engine: the agent table, zones and entities."""

from __future__ import annotations

import numpy as np

from tokenworld.engine import Engine
from tokenworld.engine.kernels import GROUP_COLUMNS
from tokenworld.scene.schema import Scene
from tokenworld.world.agents import AgentTable, spawn_agents
from tokenworld.world.terrain import heights


def group_params(scene: Scene) -> np.ndarray:
    """The engine's per-group flocking table from the scene's groups."""
    rows = [[g.flocking.cohesion, g.flocking.alignment, g.flocking.separation, g.flocking.personal_space, g.flocking.wander] for g in scene.groups]
    if not rows:
        rows = [[0.0, 0.0, 0.0, 1.0, 0.0]]
    params = np.asarray(rows, np.float32)
    assert params.shape[1] == GROUP_COLUMNS
    return params


class World:
    """Everything that exists in a running scene.

    Args:
        scene: a validated scene.
        seed: seed for spawning (positions, speeds, traits).
        arch: Taichi arch for the engine.
        profile: time the engine's stages.
    """

    def __init__(self, scene: Scene, *, seed: int, arch: str | None = None, profile: bool = False):
        self.scene = scene
        self.rng = np.random.default_rng([seed, 1])
        self.agents: AgentTable = spawn_agents(scene, self.rng)
        self.engine = Engine(
            self.agents.n, scene.world.size, scene.engine, group_params(scene), seed=seed, arch=arch, profile=profile
        )
        self.engine.set_zones(scene.zones)
        ents = scene.entities
        self.engine.set_entities(
            np.array([e.pos for e in ents], np.float32).reshape(-1, 2),
            np.array([e.radius for e in ents], np.float32),
            np.array([e.solid for e in ents], bool),
        )
        self.engine.set_state(self.agents.spawn, self.agents.max_speed, self.agents.group)

    @property
    def n_agents(self) -> int:
        return self.agents.n

    def ground_height(self, xy: np.ndarray) -> np.ndarray:
        """Terrain height at ground-plane points, for placing things in 3D."""
        return heights(self.scene.world.terrain, xy)

    def close(self) -> None:
        """Release the engine."""
        self.engine.close()
