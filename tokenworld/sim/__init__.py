"""The simulation loop, the run folder and the headless runner."""

from __future__ import annotations

from tokenworld.sim.simulation import Simulation, TickResult
from tokenworld.sim.store import RunStore

__all__ = ["RunStore", "Simulation", "TickResult"]
