"""World state: the agent table, zones and entities on top of the engine."""

from __future__ import annotations

from tokenworld.world.agents import AgentTable, spawn_agents
from tokenworld.world.world import World

__all__ = ["AgentTable", "World", "spawn_agents"]
