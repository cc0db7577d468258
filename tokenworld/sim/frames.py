"""What a `FrameSource` publishes: frames of agent state, feed lines and the plot series, and their wording.

Pure numpy: no Panda3D or ImGui, so sources are tested without a display.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tokenworld.mind.personas import agent_name as _agent_name
from tokenworld.world.actions import done_text, refused_text

# Agent states for colouring and labels (Frame.state).
IDLE, WALKING, BUSY, TALKING = 0, 1, 2, 3
STATE_NAMES = ("idle", "walking", "busy", "talking")

# Series every feed offers to the Plots panel (name -> label); a feed may add more.
SERIES = {
    "mean_hunger": "mean hunger",
    "mean_energy": "mean energy",
    "trades": "trades per tick",
    "talks": "talks per tick",
    "decisions": "decisions per tick",
    "ties": "social ties",
}


@dataclass
class Frame:
    """Agent state at one tick, copied out for readers (arrays are never written after publishing)."""

    tick: int
    sim_time: float
    pos: np.ndarray  # (n, 2) float32, ground-plane positions at `tick`
    prev_pos: np.ndarray  # (n, 2) float32, positions one tick earlier (== pos when not known)
    heading: np.ndarray  # (n,) float32, radians, 0 = +x, counter-clockwise
    state: np.ndarray  # (n,) int8, one of IDLE / WALKING / BUSY / TALKING
    zone: np.ndarray  # (n,) int32, zone index (-1 outside every zone)
    entity_pos: np.ndarray  # (m, 2) float32
    entity_radius: np.ndarray  # (m,) float32
    entity_kind: list[str] = field(default_factory=list)
    entity_name: list[str] = field(default_factory=list)
    wall: float = 0.0  # time.perf_counter() when the frame was published
    interval: float = 0.0  # wall seconds until the next frame is due; 0: do not interpolate
    # The text each entity's mesh is generated from (`tokenworld.world.looks`: a prompt, "tree", "hut", ...).
    entity_look: list[str] = field(default_factory=list)
    # (m,) float32: each entity's resource stock as a fraction of its maximum, in [0, 1]; 1.0 for entities that
    # are no resource nodes (built structures included). None when constructed: all 1.0.
    entity_stock: np.ndarray = None  # type: ignore[assignment]
    # (zones,) float32: what remains of each zone's resource pools, as a fraction of what the scene gave it;
    # 1.0 for zones without resources. Empty when the source does not know the zones (read it as all 1.0).
    zone_stock: np.ndarray = None  # type: ignore[assignment]
    # (n,) int8: the item each agent visibly carries, an index into `tokenworld.scene.schema.ITEMS` (the world's
    # item list, also `tokenworld.world.items.ITEM_INDEX`); -1 for nothing. None when constructed: all -1.
    carry: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.entity_stock is None:
            self.entity_stock = np.ones(len(self.entity_pos), np.float32)
        if self.zone_stock is None:
            self.zone_stock = np.zeros(0, np.float32)
        if self.carry is None:
            self.carry = np.full(len(self.pos), -1, np.int8)

    @property
    def n(self) -> int:
        return len(self.pos)

    def positions_at(self, now: float) -> np.ndarray:
        """Positions moved smoothly from the tick before towards this one, by wall time since publishing."""
        if self.interval <= 0:
            return self.pos
        alpha = np.float32(min(max((now - self.wall) / self.interval, 0.0), 1.0))
        return self.prev_pos + (self.pos - self.prev_pos) * alpha


@dataclass
class FeedLine:
    """One line of the Conversations and events panel.

    `text` is what was said for 'talk' and 'intervention' lines, a sentence
    without its subject for events ('gathered 2 wood'), and the whole line for
    'round'; `describe` makes the line a person reads.
    """

    tick: int
    kind: str  # 'talk', 'trade', 'gather', 'craft', 'build', 'give', 'refused', 'intervention', 'round', 'edit'
    agent: int  # -1 for the world or the viewer's user
    other: int  # listener / partner, -1 none
    zone: int  # -1 unknown
    text: str


def num(v) -> str:
    return "?" if v is None else f"{float(v):.4g}"


def event_text(kind: str, ok: int, reason: str, other: int, item, amount, item2=None, amount2=None) -> str:
    """What an event did, without its subject, in the action table's words: 'gathered 2 wood',
    'traded 2 wood for 1 food with Ben', 'tried to trade with Ben but failed: partner busy'."""
    partner = _agent_name(other) if other is not None and other >= 0 else "someone"
    if not ok:
        return refused_text(kind, reason, partner=partner, item=item)
    return done_text(kind, partner=partner, item=item, amount=amount, item2=item2, amount2=amount2)


def describe(line: FeedLine) -> str:
    """'Ada said to Ben: "Hello"', 'the Narrator said to everyone near: "[market] Fire! (3 hear it)"',
    'Ada gathered 2 wood'."""
    if line.kind in ("talk", "intervention"):
        to = _agent_name(line.other) if line.other >= 0 else "everyone near"
        return f"{_agent_name(line.agent)} {done_text('talk', partner=to, text=line.text)}"
    if line.kind == "round" or line.agent < -1:
        return line.text
    if line.kind == "edit":
        return f"the scene was edited: {line.text}"
    return f"{_agent_name(line.agent)} {line.text}"
