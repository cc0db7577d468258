"""Who the agents of a run were, rebuilt exactly from its scene and seed (nothing per agent is stored for this).

The World draws its agent table with ``default_rng([seed, 1])`` and the
Simulation picks the model-driven agents with ``default_rng([seed, 4])``; the
same draws here give the same traits and the same split. The replay's agent
cards (`tokenworld.viewer.replay`) do the same; analysis does not import the viewer.
"""

from __future__ import annotations

import numpy as np

from tokenworld.scene.schema import Scene
from tokenworld.world.agents import AgentTable, spawn_agents


def run_agents(scene: Scene, seed: int | None) -> AgentTable | None:
    """The run's agent table (groups, archetypes, traits, speeds, spawn points) as its World drew it; None without a seed."""
    if seed is None:
        return None
    return spawn_agents(scene, np.random.default_rng([int(seed), 1]))


def run_traits(scene: Scene, seed: int | None) -> np.ndarray | None:
    """(n, 5) Big Five traits in `TRAITS` order, as the run drew them; None when the run has no seed."""
    agents = run_agents(scene, seed)
    return None if agents is None else agents.traits


def model_agents(scene: Scene, seed: int | None) -> int:
    """How many agents the language model decided for (0 for a rules-only run).

    Agents of groups with ``mind = "model"``, thinned by ``mind.llm_fraction``
    as the Simulation draws it; without a seed, the expected number.
    """
    counts = np.array([g.count for g in scene.groups], np.int64)
    is_model = np.array([g.mind == "model" for g in scene.groups], bool)
    if scene.mind.backend == "rules" or not is_model.any():
        return 0
    if seed is None:
        return round(float(counts[is_model].sum()) * scene.mind.llm_fraction)
    group = np.repeat(is_model, counts)
    share = np.random.default_rng([int(seed), 4]).random(len(group)) < scene.mind.llm_fraction
    return int((group & share).sum())
