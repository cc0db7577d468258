"""Decisions and events as arrays: one row per decision or per event.

A `Decisions` batch is what minds produce and `Rules.apply` consumes: the agent,
the action (row of the action table) and its arguments in fixed columns.
`target` holds a zone, entity or agent id depending on the action; `item` and
`item2` are item columns; `amount`/`amount2` numbers; `text` is only filled for
talk. `source` says who decided (rules, model, fallback, random); the last four
columns describe the model call behind a model decision (zeros otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tokenworld.scene.schema import ITEMS

SOURCES = ("rules", "model", "fallback", "random", "plan")  # plan: a step of a plan the model chose
TARGET_KINDS = ("none", "zone", "entity", "agent")

# Why an action was refused; index 0 means it went ahead.
REASONS = (
    "ok",
    "busy with another action",
    "too far",
    *(f"not enough {item}" for item in ITEMS),
    "nothing to gather here",
    "partner refused",
    "partner busy",
    "partner has not enough",
    "not in a zone",
    "no such target",
    "already there",
    "no round is open",
    "value out of range",
)
REASON_INDEX = {r: i for i, r in enumerate(REASONS)}


@dataclass
class Decisions:
    """A batch of decisions, struct-of-arrays. Build with `Decisions.empty(m)`."""

    agent: np.ndarray  # int32
    action: np.ndarray  # int16, row of ACTIONS
    target_kind: np.ndarray  # int8, index into TARGET_KINDS
    target: np.ndarray  # int32, zone / entity / agent id, -1 for none
    item: np.ndarray  # int16, item column, -1 for none; recipe row for craft/build
    amount: np.ndarray  # float32
    item2: np.ndarray  # int16
    amount2: np.ndarray  # float32
    source: np.ndarray  # int8, index into SOURCES
    text: np.ndarray  # object (str), one per row, "" for none
    prompt_hash: np.ndarray  # int64, hash of the model prompt (0: no model was asked)
    tokens_in: np.ndarray  # int32, prompt tokens the model evaluated
    tokens_out: np.ndarray  # int32, tokens the model wrote
    latency_ms: np.ndarray  # float32, from request to answer
    replica: np.ndarray  # int16, which replica or Ray actor answered (-1: none, or the backend has one)
    steer: np.ndarray  # int16, the steering profile (bucket) the model decided under (-1: none)

    @classmethod
    def empty(cls, m: int = 0) -> "Decisions":
        """A batch of `m` idle-shaped rows to fill in."""
        return cls(
            agent=np.zeros(m, np.int32),
            action=np.zeros(m, np.int16),
            target_kind=np.zeros(m, np.int8),
            target=np.full(m, -1, np.int32),
            item=np.full(m, -1, np.int16),
            amount=np.zeros(m, np.float32),
            item2=np.full(m, -1, np.int16),
            amount2=np.zeros(m, np.float32),
            source=np.zeros(m, np.int8),
            text=np.full(m, "", dtype=object),
            prompt_hash=np.zeros(m, np.int64),
            tokens_in=np.zeros(m, np.int32),
            tokens_out=np.zeros(m, np.int32),
            latency_ms=np.zeros(m, np.float32),
            replica=np.full(m, -1, np.int16),
            steer=np.full(m, -1, np.int16),
        )

    def __len__(self) -> int:
        return len(self.agent)

    def take(self, rows: np.ndarray) -> "Decisions":
        """The rows at `rows` (indices or a boolean mask), as a new batch."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, np.int64)
        return Decisions(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    @staticmethod
    def concat(batches: list["Decisions"]) -> "Decisions":
        """One batch from several."""
        batches = [b for b in batches if len(b)]
        if not batches:
            return Decisions.empty(0)
        return Decisions(**{f.name: np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(Decisions)})

    def in_agent_order(self) -> "Decisions":
        """Sorted by agent id; of several decisions for one agent the last one given wins."""
        if len(self) == 0:
            return self
        order = np.argsort(self.agent, kind="stable")
        agents = self.agent[order]
        last = np.ones(len(order), bool)
        last[:-1] = agents[1:] != agents[:-1]
        return self.take(order[last])


@dataclass
class Events:
    """What happened in a tick, one row per event (accepted or refused actions, game results)."""

    tick: int
    agent: np.ndarray  # int32
    action: np.ndarray  # int16
    reason: np.ndarray  # int8, index into REASONS (0 = done)
    zone: np.ndarray  # int32, where the agent stood
    other: np.ndarray  # int32, partner / entity / target, -1
    item: np.ndarray  # int16
    amount: np.ndarray  # float32
    text: np.ndarray  # object (str), "" for none

    def __len__(self) -> int:
        return len(self.agent)
