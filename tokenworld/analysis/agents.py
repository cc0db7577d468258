"""Who the agents of a run were, rebuilt exactly from its scene and seed (nothing per agent is stored for this).

`tokenworld.world.agents` rebuilds the agent table a World drew and the
`llm_fraction` split a Simulation drew from the run's seed; the replay's agent
cards use the same functions.
"""

from __future__ import annotations

import numpy as np

from tokenworld.scene.schema import Scene
from tokenworld.world.agents import AgentTable, llm_share
from tokenworld.world.agents import run_agents as rebuild


def run_agents(scene: Scene, seed: int | None) -> AgentTable | None:
    """The run's agent table (groups, archetypes, traits, speeds, spawn points) as its World drew it; None without a seed."""
    if seed is None:
        return None
    return rebuild(scene, seed)


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
    share = llm_share(seed, len(group), scene.mind.llm_fraction)
    return int((group & share).sum())
