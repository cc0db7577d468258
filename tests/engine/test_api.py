"""Misuse of the engine's public API raises EngineError."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.engine_ref import make_engine, place
from tokenworld.errors import EngineError
from tokenworld.scene.schema import Zone


@pytest.mark.parametrize("ids", [[5], [-1], [0, 2, 5], [-3, 1], [100]])
def test_set_targets_rejects_out_of_range_ids(ids):
    """set_targets raises EngineError for ids outside [0, n) and changes nobody's target."""
    eng = make_engine(5, (20.0, 20.0))
    place(eng, np.arange(10, dtype=np.float32).reshape(5, 2))
    with pytest.raises(EngineError):
        eng.set_targets(np.array(ids), np.ones((len(ids), 2)))
    snap = eng.snapshot(("target", "flags"))
    assert np.array_equal(snap["target"], np.arange(10, dtype=np.float32).reshape(5, 2))
    assert (snap["flags"] == 0).all()


def test_set_targets_rejects_ids_that_overflow_int32():
    """An int64 id beyond int32 (2**32 + 1) is rejected, not wrapped round to agent 1."""
    eng = make_engine(5, (20.0, 20.0))
    place(eng, np.arange(10, dtype=np.float32).reshape(5, 2))
    with pytest.raises(EngineError):
        eng.set_targets(np.array([2**32 + 1], np.int64), np.ones((1, 2)))
    assert (eng.snapshot(("flags",))["flags"] == 0).all()


def test_set_targets_on_empty_engine_rejects_any_id():
    """With n=0 every id is out of range."""
    eng = make_engine(0, (20.0, 20.0))
    with pytest.raises(EngineError):
        eng.set_targets(np.array([0]), np.ones((1, 2)))


def test_bad_state_rejected():
    """set_state rejects NaN positions and group ids outside the group table."""
    eng = make_engine(2, (20.0, 20.0))
    with pytest.raises(EngineError):
        eng.set_state(np.array([[1.0, np.nan], [2.0, 2.0]]), np.ones(2), np.zeros(2, np.int32))
    with pytest.raises(EngineError):
        eng.set_state(np.ones((2, 2)), np.ones(2), np.array([0, 1], np.int32))


def test_negative_agent_count_rejected():
    """Engine(n < 0) raises EngineError."""
    with pytest.raises(EngineError):
        make_engine(-1)


def test_unknown_snapshot_field_rejected():
    """snapshot of an unknown array name raises EngineError."""
    eng = make_engine(2, (20.0, 20.0))
    with pytest.raises(EngineError):
        eng.snapshot(("nope",))


CALLS = {
    "step": lambda e: e.step(0.1),
    "snapshot": lambda e: e.snapshot(("pos",)),
    "set_state": lambda e: e.set_state(np.ones((3, 2)), np.ones(3), np.zeros(3, np.int32)),
    "set_targets": lambda e: e.set_targets(np.array([0]), np.ones((1, 2))),
    "set_zones": lambda e: e.set_zones([Zone(name="z", rect=(0.0, 0.0, 1.0, 1.0))]),
    "set_entities": lambda e: e.set_entities(np.ones((1, 2)), np.ones(1), np.ones(1, bool)),
    "metrics": lambda e: e.metrics(),
    "arrived": lambda e: e.arrived(),
    "take_arrivals": lambda e: e.take_arrivals(),
    "add_field": lambda e: e.add_field("mood"),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_closed_engine_raises(call):
    """Every public method of a closed engine raises EngineError (not AttributeError or a Taichi error)."""
    eng = make_engine(3, (20.0, 20.0))
    place(eng, [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    eng.step(0.1)
    eng.close()
    with pytest.raises(EngineError):
        CALLS[call](eng)


@pytest.mark.parametrize("bad", [[-0.5, 10.0], [10.0, 100.0], [100.0, 5.0]])
def test_set_state_rejects_positions_outside_the_world(bad):
    """Positions outside [0, w) x [0, h) are refused rather than clamped silently."""
    eng = make_engine(2, (100.0, 100.0))
    with pytest.raises(EngineError, match="inside the world"):
        place(eng, [[1.0, 1.0], bad])
