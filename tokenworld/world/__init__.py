"""World state on top of the engine: agents, actions and rules, economy, social ties.

`World` is imported lazily: the vocabulary modules (actions, items, decisions)
are plain numpy and must not pull in Taichi, so the run store's writer process
can read them cheaply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["AgentTable", "World", "spawn_agents"]

if TYPE_CHECKING:  # pragma: no cover
    from tokenworld.world.agents import AgentTable, spawn_agents
    from tokenworld.world.world import World


def __getattr__(name: str) -> Any:
    if name == "World":
        from tokenworld.world.world import World

        return World
    if name in ("AgentTable", "spawn_agents"):
        from tokenworld.world import agents

        return getattr(agents, name)
    raise AttributeError(f"module 'tokenworld.world' has no attribute {name!r}")
