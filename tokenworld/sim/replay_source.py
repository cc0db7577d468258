"""`ReplaySource`: a recorded run folder as a `FrameSource`, a playhead over `RunReplay`.

The playhead is a fractional tick that advances with wall time at `speed`
simulated seconds per second while playing; `seek` jumps anywhere in the
recorded range (which grows if the run is still being written).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tokenworld.sim.cards import AgentCard
from tokenworld.sim.frames import FeedLine, Frame
from tokenworld.sim.replay import RunReplay

TALK_LOOKBACK = 6  # ticks a spoken line stays over the speaker's head


class ReplaySource:
    """A replayed run, read like a `LiveSource` (no interventions: the past is fixed; `seek` goes anywhere)."""

    live = False  # a FrameSource that can be sought, not changed

    def __init__(self, folder: str | Path, *, speed: float = 4.0, playing: bool = True):
        self.replay = RunReplay(folder)
        self.scene = self.replay.scene
        self.dt = self.scene.sim.dt
        self.speed = float(speed)
        self.playing = playing
        self.error: str | None = None
        self.playhead = float(self.replay.first_tick)
        self.card: AgentCard | None = None
        self._inspect: int | None = None
        self._frame: Frame | None = None
        self._frame_at: float | None = None
        self._card_at: tuple | None = None
        self._closed = False
        manifest = self.replay.manifest()
        self.arch = manifest.get("arch")
        self.inference = self.replay.inference_stats()
        self.traits = self.replay.traits
        self.archetype = self.replay.archetype

    # ------------------------------------------------------------ the source interface

    @property
    def status(self) -> str:
        if self._closed:
            return "closed"
        if self.playhead >= self.replay.last_tick:
            return "end of recording"
        return "replaying" if self.playing else "paused"

    @property
    def folder(self) -> Path:
        return self.replay.folder

    def wait_ready(self, timeout: float = 300.0) -> None:
        """A replay is ready once opened."""

    @property
    def ticks_per_s(self) -> float:
        return self.speed / self.dt if self.playing else 0.0

    @property
    def tick_range(self) -> tuple[int, int]:
        return self.replay.first_tick, self.replay.last_tick

    @property
    def frame(self) -> Frame:
        if self._frame is None or self._frame_at != self.playhead:
            self._frame = self.replay.frame(self.playhead)
            self._frame_at = self.playhead
            self.scene = self.replay.scene_at(self.playhead)  # live edits show at their tick
        return self._frame

    def advance(self, wall_seconds: float) -> None:
        """Move the playhead by `wall_seconds` of playing (the viewer calls this every frame)."""
        if self.playing:
            self.seek(self.playhead + wall_seconds * self.speed / self.dt, keep_playing=True)
        self._refresh_card()

    def seek(self, tick: float, *, keep_playing: bool = False) -> None:
        lo, hi = self.tick_range
        self.playhead = float(min(max(tick, lo), hi))
        if not keep_playing and self.playhead >= hi:
            self.playing = False

    def set_playing(self, playing: bool) -> None:
        if playing and self.playhead >= self.tick_range[1]:
            self.playhead = float(self.tick_range[0])  # play again from the start
        self.playing = bool(playing)

    def step_once(self, n: int = 1) -> None:
        self.playing = False
        self.seek(np.floor(self.playhead) + n)

    def set_speed(self, speed: float) -> None:
        self.speed = max(float(speed), 0.0)

    def inspect(self, agent: int | None) -> None:
        self._inspect = agent
        self._card_at = None
        self._refresh_card()

    def _refresh_card(self) -> None:
        if self._inspect is None:
            self.card = None
            return
        key = (self._inspect, int(self.playhead))
        if key != self._card_at:
            self.card = self.replay.agent_card(self._inspect, self.playhead)
            self._card_at = key

    def set_focus(self, agents) -> None:
        """Nothing to prioritise in a replay (the live feed asks on-screen agents' models first)."""

    def recent_lines(
        self, limit: int = 200, *, agent: int | None = None, zone: int | None = None, kinds: set[str] | None = None
    ) -> list[FeedLine]:
        return self.replay.lines(self.playhead, limit=limit, agent=agent, zone=zone, kinds=kinds)

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return self.replay.series(self.playhead)

    def last_said(self) -> dict[int, str]:
        """Speaker -> line, for lines said in the last few ticks before the playhead."""
        now = int(self.playhead)
        lines = self.replay.lines(self.playhead, limit=64, kinds={"talk"})
        return {line.agent: line.text for line in lines if now - line.tick <= TALK_LOOKBACK}

    def send_message(self, *args, **kwargs) -> None:
        raise RuntimeError("a replay cannot be changed; open the scene live to intervene")

    announce = apply_scene = send_message

    def close(self) -> None:
        self._closed = True
        self.replay.close()
