"""Turning decision, event, snapshot and track arrays into run-store rows (and tracks back into arrays).

SQLite takes rows as tuples, so this is where arrays become Python values:
column by column with `tolist()`, then zipped, never attribute by attribute.
"""

from __future__ import annotations

import json

import numpy as np

from tokenworld.scene.schema import ITEMS
from tokenworld.world.actions import ACTION_INDEX, ACTIONS
from tokenworld.world.decisions import REASONS, SOURCES, TARGET_KINDS, Decisions, Events

ACTION_NAMES = np.array([a.name for a in ACTIONS], dtype=object)
REASON_NAMES = np.array(REASONS, dtype=object)
SOURCE_NAMES = np.array(SOURCES, dtype=object)
TARGET_NAMES = np.array(TARGET_KINDS, dtype=object)


def decision_rows(tick: int, d: Decisions):
    """Rows for the `decisions` table (the prompt hash as 16 hex digits, NULL without a model call)."""
    m = len(d)
    return zip(
        [tick] * m,
        d.agent.tolist(),
        ACTION_NAMES[d.action].tolist(),
        TARGET_NAMES[d.target_kind].tolist(),
        d.target.tolist(),
        d.item.tolist(),
        d.amount.astype(float).round(4).tolist(),
        d.item2.tolist(),
        d.amount2.astype(float).round(4).tolist(),
        d.text.tolist(),
        SOURCE_NAMES[d.source].tolist(),
        [f"{h:016x}" if h else None for h in d.prompt_hash.tolist()],
        d.tokens_in.tolist(),
        d.tokens_out.tolist(),
        d.latency_ms.astype(float).round(2).tolist(),
        [None if r < 0 else r for r in d.replica.tolist()],
        [None if b < 0 else b for b in d.steer.tolist()],
        strict=False,
    )


NOTABLE = np.array([a.name in ("gather", "craft", "trade", "talk", "build", "give") for a in ACTIONS])


def event_rows(e: Events):
    """Rows for the `events` table: every refusal, and what notable actions did.

    Routine actions that went ahead (idle, rest, eat, move_to, guess) are in
    the decisions table already and add no row here.
    """
    keep = (e.reason != 0) | NOTABLE[e.action]
    m = int(keep.sum())
    return zip(
        [e.tick] * m,
        e.agent[keep].tolist(),
        ACTION_NAMES[e.action[keep]].tolist(),
        (e.reason[keep] == 0).astype(int).tolist(),
        REASON_NAMES[e.reason[keep]].tolist(),
        e.zone[keep].tolist(),
        e.other[keep].tolist(),
        e.item[keep].tolist(),
        e.amount[keep].astype(float).round(4).tolist(),
        e.text[keep].tolist(),
        strict=False,
    )


def snapshot_rows(tick: int, snap: dict):
    """Rows for the `snapshots` table: every agent's place, needs and inventory."""
    inv = [
        json.dumps(dict(zip(ITEMS, row, strict=False))) for row in np.round(snap["inventory"].astype(float), 3).tolist()
    ]
    n = len(snap["zone"])
    pos = snap["pos"].astype(float).round(3)
    return zip(
        [tick] * n,
        range(n),
        pos[:, 0].tolist(),
        pos[:, 1].tolist(),
        snap["zone"].tolist(),
        snap["hunger"].astype(float).round(4).tolist(),
        snap["energy"].astype(float).round(4).tolist(),
        inv,
        strict=False,
    )


TWO_PI = 2.0 * np.pi


def track_blobs(pos: np.ndarray, heading: np.ndarray, size) -> tuple[bytes, bytes]:
    """Blobs for the `tracks` table: x and y as uint16 over the world, heading as uint8 over [0, 2pi).

    Args:
        pos: (n, 2) positions in metres.
        heading: (n,) angles in radians (any range; 0 = +x, counter-clockwise).
        size: the world's (width, depth) in metres.

    Returns:
        (xy, heading): little-endian bytes, 4 and 1 per agent.
    """
    scale = np.float32(65535.0) / np.asarray(size, np.float32)
    xy = np.clip(np.rint(np.asarray(pos, np.float32) * scale), 0, 65535).astype("<u2")
    turns = np.mod(np.asarray(heading, np.float32) * np.float32(256.0 / TWO_PI), np.float32(256.0))
    h = np.rint(turns).astype(np.int32) & 255  # 255.6 rounds to 256, which is 0 again
    return xy.tobytes(), h.astype(np.uint8).tobytes()


def decode_track(xy_blob: bytes, heading_blob: bytes, size) -> tuple[np.ndarray, np.ndarray]:
    """Positions (n, 2) float32 in metres and headings (n,) float32 in radians [0, 2pi) from `track_blobs` output.

    Raises:
        ValueError: the blobs do not hold the same number of agents.
    """
    n = len(heading_blob)
    if len(xy_blob) != 4 * n:
        raise ValueError(f"a track frame of {n} headings has {len(xy_blob)} bytes of positions, expected {4 * n}.")
    q = np.frombuffer(xy_blob, "<u2").reshape(n, 2)
    pos = q.astype(np.float32) * (np.asarray(size, np.float32) / np.float32(65535.0))
    heading = np.frombuffer(heading_blob, np.uint8).astype(np.float32) * np.float32(TWO_PI / 256.0)
    return pos, heading


def tick_metrics(w, events: list[Events]) -> dict:
    """The `ticks` table's figures of a tick: the engine's metrics, needs, decisions, trades, talks, ties, items."""
    m = w.engine.metrics()
    eco = w.economy
    acts = np.concatenate([e.action for e in events]) if events else np.zeros(0, np.int16)
    reasons = np.concatenate([e.reason for e in events]) if events else np.zeros(0, np.int8)
    done = reasons == 0
    m.update(
        mean_hunger=round(float(eco.hunger.mean()), 6) if w.n_agents else 0.0,
        mean_energy=round(float(eco.energy.mean()), 6) if w.n_agents else 0.0,
        decisions=int(len(acts)),
        refused=int((~done).sum()),
        trades=int(((acts == ACTION_INDEX["trade"]) & done).sum()),
        talks=int(((acts == ACTION_INDEX["talk"]) & done).sum()),
        ties=w.social.edges,
        mean_degree=round(2 * w.social.edges / max(w.n_agents, 1), 6),
        item_totals=[round(float(v), 4) for v in eco.totals()],
        prices=eco.prices(),
    )
    return m
