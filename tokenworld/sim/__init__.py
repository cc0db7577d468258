"""The simulation loop, the run folder and the headless runner."""

from __future__ import annotations

from tokenworld.sim.recording import Recording
from tokenworld.sim.run_folder import RunFolder
from tokenworld.sim.simulation import Simulation, TickResult
from tokenworld.sim.store import RunStore

__all__ = ["Recording", "RunFolder", "RunStore", "Simulation", "TickResult"]
