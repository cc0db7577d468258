"""Turning decision, event and snapshot arrays into run-store rows.

SQLite takes rows as tuples, so this is where arrays become Python values:
column by column with `tolist()`, then zipped, never attribute by attribute.
"""

from __future__ import annotations

import json

import numpy as np

from tokenworld.scene.schema import ITEMS
from tokenworld.world.actions import ACTIONS
from tokenworld.world.decisions import REASONS, SOURCES, TARGET_KINDS, Decisions, Events

ACTION_NAMES = np.array([a.name for a in ACTIONS], dtype=object)
REASON_NAMES = np.array(REASONS, dtype=object)
SOURCE_NAMES = np.array(SOURCES, dtype=object)
TARGET_NAMES = np.array(TARGET_KINDS, dtype=object)


def decision_rows(tick: int, d: Decisions):
    """Rows for the `decisions` table (without the model columns)."""
    m = len(d)
    return zip(
        [tick] * m, d.agent.tolist(), ACTION_NAMES[d.action].tolist(), TARGET_NAMES[d.target_kind].tolist(),
        d.target.tolist(), d.item.tolist(), d.amount.astype(float).round(4).tolist(), d.item2.tolist(),
        d.amount2.astype(float).round(4).tolist(), d.text.tolist(), SOURCE_NAMES[d.source].tolist(),
    )  # fmt: skip


def event_rows(e: Events):
    """Rows for the `events` table."""
    m = len(e)
    return zip(
        [e.tick] * m, e.agent.tolist(), ACTION_NAMES[e.action].tolist(), (e.reason == 0).astype(int).tolist(),
        REASON_NAMES[e.reason].tolist(), e.zone.tolist(), e.other.tolist(), e.item.tolist(),
        e.amount.astype(float).round(4).tolist(), e.text.tolist(),
    )  # fmt: skip


def snapshot_rows(sim):
    """Rows for the `snapshots` table: every agent's place, needs and inventory."""
    w = sim.world
    snap = w.engine.snapshot(("pos", "zone"))
    eco = w.economy
    inv = [json.dumps(dict(zip(ITEMS, row))) for row in np.round(eco.inventory.astype(float), 3).tolist()]
    n = w.n_agents
    return zip(
        [sim.tick] * n, range(n), snap["pos"][:, 0].astype(float).round(3).tolist(), snap["pos"][:, 1].astype(float).round(3).tolist(),
        snap["zone"].tolist(), eco.hunger.astype(float).round(4).tolist(), eco.energy.astype(float).round(4).tolist(), inv,
    )  # fmt: skip
