"""The agent table: one numpy array per attribute, agent id = row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenworld.scene.geometry import sample_in_rect, sample_in_zone
from tokenworld.scene.schema import ARCHETYPES, TRAITS, Scene, TraitDistribution


@dataclass
class AgentTable:
    """Per-agent attributes that do not move every frame (those live in the engine)."""

    group: np.ndarray  # int32, row of scene.groups
    archetype: np.ndarray  # int8, index into ARCHETYPES
    traits: np.ndarray  # float32 (n, 5), columns in TRAITS order, each in [0, 1]
    max_speed: np.ndarray  # float32, m/s
    spawn: np.ndarray  # float32 (n, 2), starting position

    @property
    def n(self) -> int:
        return len(self.group)

    def extended(self, more: AgentTable) -> AgentTable:
        """This table with `more` agents after its rows (their ids follow on)."""
        return AgentTable(**{k: np.concatenate([getattr(self, k), getattr(more, k)]) for k in vars(self)})


def spawn_agents(scene: Scene, rng: np.random.Generator, counts: list[int] | None = None) -> AgentTable:
    """Draw every agent's start position, speed and traits from the scene's groups.

    `counts`: how many agents of each group to draw (default: each group's count); agents that join a running
    world are drawn this way, group by group, and appended to its table (`AgentTable.extended`).
    """
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("group", "archetype", "traits", "max_speed", "spawn")}
    for g_index, g in enumerate(scene.groups):
        n = g.count if counts is None else int(counts[g_index])
        if g.spawn_zone is not None:
            pts = sample_in_zone(rng, scene.zones[scene.zone_index(g.spawn_zone)], n)
        else:
            pts = sample_in_rect(rng, g.spawn_area, n)
        traits = np.empty((n, len(TRAITS)), np.float32)
        for t, name in enumerate(TRAITS):
            dist = g.traits.get(name) or TraitDistribution()
            traits[:, t] = np.clip(rng.normal(dist.mean, dist.std, n), 0.0, 1.0) if dist.std > 0 else dist.mean
        parts["group"].append(np.full(n, g_index, np.int32))
        parts["archetype"].append(np.full(n, ARCHETYPES.index(g.archetype), np.int8))
        parts["traits"].append(traits)
        parts["max_speed"].append(rng.uniform(g.speed[0], g.speed[1], n).astype(np.float32))
        parts["spawn"].append(pts.astype(np.float32))
    empty = {"traits": (0, len(TRAITS)), "spawn": (0, 2)}
    cols = {k: np.concatenate(v) if v else np.zeros(empty.get(k, (0,)), dtype=np.float32) for k, v in parts.items()}
    return AgentTable(
        group=cols["group"].astype(np.int32),
        archetype=cols["archetype"].astype(np.int8),
        traits=cols["traits"].astype(np.float32),
        max_speed=cols["max_speed"].astype(np.float32),
        spawn=cols["spawn"].astype(np.float32),
    )


def grown(values: np.ndarray, n: int, fill) -> np.ndarray:
    """`values` (rows = agents) with rows up to `n`, the new ones set to `fill`."""
    out = np.full((n, *values.shape[1:]), fill, values.dtype)
    out[: len(values)] = values
    return out


def world_rng(seed: int) -> np.random.Generator:
    """The generator a World seeded `seed` draws with; spawning the agents is its first use."""
    return np.random.default_rng([int(seed), 1])


def llm_share(seed: int, n: int, fraction: float) -> np.ndarray:
    """Mask of the agents inside `mind.llm_fraction`, as the run seeded `seed` draws it (model groups only count)."""
    return np.random.default_rng([int(seed), 4]).random(n) < fraction
