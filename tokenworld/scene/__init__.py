"""Scene files: the typed schema, TOML loading with `extends`, validation, saving."""

from __future__ import annotations

from tokenworld.scene.schema import (
    ARCHETYPES,
    TRAITS,
    AgentGroup,
    EngineOptions,
    Entity,
    Flocking,
    MindOptions,
    Scene,
    SimOptions,
    Terrain,
    TraitDistribution,
    WorldOptions,
    Zone,
)

__all__ = [
    "ARCHETYPES",
    "TRAITS",
    "AgentGroup",
    "EngineOptions",
    "Entity",
    "Flocking",
    "MindOptions",
    "Scene",
    "SimOptions",
    "Terrain",
    "TraitDistribution",
    "WorldOptions",
    "Zone",
]
