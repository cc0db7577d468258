"""`FrameSource`: what the viewer (and the recorder and editor) read a run through, live or replayed.

Two sources implement it: `LiveSource` (tokenworld/sim/live_source.py, a
simulation stepping in its own thread) and `ReplaySource`
(tokenworld/sim/replay_source.py, a playhead over a recorded run folder).
Neither holds Panda3D or ImGui; readers only ever take their latest values and
send commands, so drawing never waits for a tick or for the language model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from tokenworld.scene.schema import Scene
from tokenworld.sim.cards import AgentCard
from tokenworld.sim.frames import FeedLine, Frame


class FrameSource(Protocol):
    """A run as the viewer sees it: the latest frame, feed lines, plot series, the inspected agent's card."""

    live: bool  # True: a simulation running now (interventions allowed); False: a recording (seek allowed)
    scene: Scene
    status: str  # building / running / paused / stepping / finished / stopped / failed; replays: replaying / ...
    error: str | None  # what failed, when status is 'failed'
    playing: bool
    speed: float  # simulated seconds per wall second
    card: AgentCard | None  # the inspected agent's card (see `inspect`)
    inference: dict | None  # the language model's figures (`Simulation.mind_stats()` keys), or None
    traits: np.ndarray | None  # (n, 5) Big Five per agent, once known
    archetype: np.ndarray | None  # (n,) index into ARCHETYPES, once known
    arch: str | None  # the engine's arch the run used

    @property
    def frame(self) -> Frame | None:
        """The newest frame (None until the first is published)."""

    @property
    def ticks_per_s(self) -> float: ...

    @property
    def tick_range(self) -> tuple[int, int]:
        """The first and last tick one can see."""

    @property
    def folder(self) -> Path | None:
        """The run folder being written or read, or None (a live run not recorded)."""

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Block until the first frame can be read, or raise what failed."""

    def advance(self, wall_seconds: float) -> None:
        """Called every drawn frame with the wall time since the last (a replay moves its playhead)."""

    def set_playing(self, playing: bool) -> None: ...

    def step_once(self, n: int = 1) -> None: ...

    def set_speed(self, speed: float) -> None: ...

    def inspect(self, agent: int | None) -> None:
        """Keep `card` up to date for `agent` (None: stop)."""

    def set_focus(self, agents: np.ndarray | None) -> None:
        """Agents on screen, whose model requests go first (live only; a replay ignores it)."""

    def recent_lines(
        self, limit: int = 200, *, agent: int | None = None, zone: int | None = None, kinds: set[str] | None = None
    ) -> list[FeedLine]:
        """The newest feed lines, oldest first, filtered by agent, zone and kind."""

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(ticks, values) per series name, for plots."""

    def last_said(self) -> dict[int, str]:
        """Agent -> the line it said in the last few ticks."""

    def send_message(self, agent: int, text: str) -> None:
        """The Narrator tells `agent` something (live only; a replay raises)."""

    def announce(self, zone: int, text: str) -> None:
        """The Narrator announces something in `zone` (live only; a replay raises)."""

    def apply_scene(self, scene: Scene, label: str = "", *, before: Scene | None = None):
        """Take an edited scene (live only, between ticks): returns a `LiveChange` (tokenworld/sim/live_edit.py)
        saying what applies and what needs a restart; a replay raises."""

    def close(self) -> None: ...
