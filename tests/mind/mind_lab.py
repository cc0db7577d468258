"""Shared helpers for the mind tests: the shipped village decided by the rules brain, state copies, events.

Everything here builds real components (scene loader, Simulation, World); nothing is mocked.
"""

from __future__ import annotations

import io

import numpy as np

from tests.paths import ROOT
from tokenworld import Scene, Simulation
from tokenworld.world.decisions import Events

VILLAGE = ROOT / "scenes" / "village.toml"


def village_scene() -> Scene:
    """The shipped village (25 agents) with every group decided by the rules brain (no model is loaded)."""
    scene = Scene.load(VILLAGE)
    scene.mind.backend = "rules"
    for group in scene.groups:
        group.mind = "rules"
    return scene


def village(ticks: int = 0, *, seed: int = 1) -> Simulation:
    """A built village simulation advanced `ticks` ticks; the caller closes it."""
    sim = Simulation(village_scene(), seed=seed, profile=False).build()
    if ticks:
        sim.run(ticks)
    return sim


def frozen(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A deep copy of a checkpoint (`World.state()` hands out the live arrays)."""
    return {k: np.array(v, copy=True) for k, v in state.items()}


def events(tick: int, rows: list[tuple]) -> Events:
    """Events from (agent, action, reason, other, item, amount, zone, text) rows."""
    agent, action, reason, other, item, amount, zone, text = (list(c) for c in zip(*rows, strict=True))
    return Events(
        tick,
        np.array(agent, np.int32),
        np.array(action, np.int16),
        np.array(reason, np.int8),
        np.array(zone, np.int32),
        np.array(other, np.int32),
        np.array(item, np.int16),
        np.array(amount, np.float32),
        np.array(text, dtype=object),
    )


def through_npz(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`state` saved and loaded as the run store does (compressed npz, no pickles)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **state)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}
