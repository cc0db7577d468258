"""Episodic memory: bounded per agent, forgets the unimportant first, retrieves a bounded page, survives checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from tests.mind.mind_lab import events
from tokenworld.mind.memory import HEARD, IMPORTANCE, RECEIVED, Memory, words
from tokenworld.world.actions import ACTION_INDEX as A
from tokenworld.world.decisions import REASON_INDEX, REASONS
from tokenworld.world.items import ITEM_INDEX

ZONES = ["farm", "forest", "town hall"]
FOOD, WOOD = ITEM_INDEX["food"], ITEM_INDEX["wood"]
CAP = 8


def memory(n: int = 6, agents=(0, 2, 4), capacity: int = CAP) -> Memory:
    """Memories for `agents` of a world of `n` agents (the others have none)."""
    return Memory(n, np.array(agents), capacity, ZONES)


def lines(mem: Memory, agent: int) -> list[str]:
    """Every memory of `agent` as text, oldest first."""
    r = mem.row[agent]
    filled = np.flatnonzero(mem.tick[r] >= 0)
    return [mem.describe(r, s) for s in filled[np.argsort(mem.tick[r, filled], kind="stable")]]


def test_capacity_is_never_exceeded_one_event_a_tick():
    """Ten times the capacity of events, one a tick, leave exactly `capacity` memories, the newest among them."""
    mem = memory()
    for t in range(10 * CAP):
        mem.add(t, [0, 2], [A["gather"], A["rest"]], item=[WOOD, -1], amount=[1.0, 0.0], zone=[1, 0])
        assert mem.count(0) == min(t + 1, CAP) and mem.count(2) == min(t + 1, CAP)
    assert mem.tick.shape == (3, CAP)
    assert mem.tick[mem.row[0]].max() == 10 * CAP - 1  # the newest is kept
    assert mem.count(4) == 0


def test_capacity_is_never_exceeded_many_events_in_one_tick():
    """Ten times the capacity of events for one agent in a single tick still leave `capacity` memories."""
    mem = memory()
    k = 10 * CAP
    mem.add(
        5,
        np.zeros(k, np.int64),
        np.full(k, A["talk"]),
        other=np.full(k, 1),
        text=np.array([f"line {i}" for i in range(k)], object),
    )
    assert mem.count(0) == CAP
    assert mem.count(2) == mem.count(4) == 0
    assert all(line.startswith("I said to") for line in lines(mem, 0))


def test_agents_without_a_memory_are_skipped():
    """Events of agents the store does not hold change nothing (and do not fail)."""
    mem = memory()
    mem.add(1, [1, 3, 5], [A["eat"]] * 3)
    assert (mem.tick < 0).all()
    mem.add(1, [], [])
    assert (mem.tick < 0).all()


def test_eviction_keeps_important_memories_over_old_trivial_ones():
    """When full, a new memory replaces the least important and oldest, never a recent important one."""
    mem = memory(capacity=4)
    mem.add(0, [0, 0], [A["idle"], A["idle"]])  # old and trivial
    mem.add(0, [0, 0], [A["build"], A["trade"]], other=[-1, 1], item=[0, -1])  # old and important
    assert mem.count(0) == 4
    mem.add(10, [0], [A["gather"]], item=[WOOD], amount=[1.0])
    mem.add(11, [0], [A["gather"]], item=[FOOD], amount=[1.0])
    kinds = sorted(mem.kind[mem.row[0]].tolist())
    assert kinds == sorted([A["build"], A["trade"], A["gather"], A["gather"]])


def test_a_long_run_of_trivia_does_not_flush_a_recent_important_memory():
    """An important memory outlives a stream of ten times the capacity of trivial ones over a short span."""
    mem = memory()
    mem.add(0, [0], [A["build"]], item=[0])
    for t in range(1, 10 * CAP + 1):
        mem.add(t, [0], [A["idle"]])
    assert A["build"] in mem.kind[mem.row[0]].tolist()
    assert IMPORTANCE[A["build"]] > IMPORTANCE[A["idle"]]


def test_refusals_count_as_important():
    """A refused walk is kept over a gather of the same age: refusals weigh more than the action would."""
    assert IMPORTANCE[A["move_to"]] < IMPORTANCE[A["gather"]]
    mem = memory(capacity=2)
    mem.add(0, [0], [A["move_to"]], reason=[REASON_INDEX["already there"]], zone=[0])
    mem.add(0, [0], [A["gather"]], item=[WOOD], amount=[1.0])
    mem.add(1, [0], [A["idle"]])
    assert sorted(mem.kind[mem.row[0]].tolist()) == sorted([A["move_to"], A["idle"]])


@pytest.mark.parametrize("working, k", [(3, 3), (1, 0), (0, 2), (5, 10)])
def test_retrieve_returns_at_most_working_plus_k_lines(working, k):
    """`retrieve` gives at most `working` recent lines and `k` others, never the same memory twice."""
    mem = memory()
    for t in range(30):
        mem.add(t, [0], [A["gather"]], item=[WOOD if t % 2 else FOOD], amount=[float(t)], zone=[1])
    recent, relevant = mem.retrieve(0, 30, words("gather wood forest"), working=working, k=k)
    assert len(recent) == min(working, CAP)
    assert len(relevant) == min(k, CAP - len(recent))
    assert len(set(recent) | set(relevant)) == len(recent) + len(relevant)
    assert [int(s.split()[2]) for s in recent] == list(range(29, 29 - len(recent), -1))  # newest first


def test_retrieve_drops_repeated_lines():
    """The same line twice says nothing new: it is given once."""
    mem = memory()
    for t in range(5):
        mem.add(t, [0], [A["rest"]])
    recent, relevant = mem.retrieve(0, 5, set(), working=3, k=2)
    assert recent == ["I rested"] and relevant == []


def test_retrieve_prefers_relevant_memories():
    """Among older memories, those sharing words with the situation come first."""
    mem = memory(capacity=16)
    for t in range(10):
        mem.add(t, [0], [A["gather"]], item=[FOOD], amount=[1.0], zone=[0])
    mem.add(4, [0], [A["talk"]], other=[5], text=np.array(["the stone quarry is rich"], object))
    for t in range(11, 14):
        mem.add(t, [0], [A["rest"]])
    recent, relevant = mem.retrieve(0, 14, words("gather stone at the quarry"), working=3, k=1)
    assert all("rested" in r for r in recent)
    assert relevant == ['I said to Finn: "the stone quarry is rich"']


def test_retrieve_for_unknown_or_empty_agents_is_empty():
    """An agent without a memory, or with none yet, retrieves nothing."""
    mem = memory()
    assert mem.retrieve(1, 10, set()) == ([], [])
    assert mem.retrieve(0, 10, set()) == ([], [])


def test_add_events_records_refusals_with_their_reason():
    """A refused action becomes 'I tried to ... but failed: <reason>' in the agent's own memory."""
    mem = memory()
    mem.add_events(
        events(
            7,
            [
                (0, A["craft"], REASON_INDEX["not enough wood"], -1, 0, 0.0, 1, ""),
                (2, A["trade"], REASON_INDEX["partner refused"], 3, WOOD, 2.0, 0, ""),
                (4, A["gather"], REASON_INDEX["nothing to gather here"], -1, FOOD, 0.0, 2, ""),
            ],
        )
    )
    assert lines(mem, 0) == ["I tried to craft tools at forest but failed: not enough wood"]
    assert lines(mem, 2) == ["I tried to trade with Dan at farm but failed: partner refused"]
    assert lines(mem, 4) == ["I tried to gather food at town hall but failed: nothing to gather here"]
    for a in (0, 2, 4):
        r = mem.row[a]
        assert REASONS[int(mem.reason[r][mem.tick[r] >= 0][0])] in lines(mem, a)[0]


def test_add_events_records_gifts_for_the_receiver():
    """A done gift is remembered by giver ('I gave') and receiver ('gave me'); a refused one by the giver only."""
    mem = memory()
    mem.add_events(
        events(
            12,
            [
                (0, A["give"], 0, 2, FOOD, 1.0, 0, ""),
                (4, A["give"], REASON_INDEX["too far"], 2, WOOD, 3.0, 0, ""),
                (1, A["give"], 0, 4, WOOD, 2.0, 1, ""),  # a giver without a memory still gives to one with a memory
            ],
        )
    )
    assert lines(mem, 0) == ["I gave 1 food to Cleo at farm"]
    assert lines(mem, 2) == ["Ada gave me 1 food"]
    got = lines(mem, 4)
    assert "Ben gave me 2 wood" in got
    assert "I tried to give Cleo wood at farm but failed: too far" in got
    assert len(got) == 2
    assert RECEIVED in mem.kind[mem.row[2]].tolist()


def test_add_messages_records_what_was_heard():
    """Being spoken to becomes '<speaker> said to me: "<text>"' for the listener only."""
    mem = memory()
    mem.add_messages(3, [(3, 1, 0, "Fine day!"), (3, 0, 2, "Hello Cleo"), (3, 2, 5, "nobody keeps this")])
    assert lines(mem, 0) == ['Ben said to me: "Fine day!"']
    assert lines(mem, 2) == ['Ada said to me: "Hello Cleo"']
    assert HEARD in mem.kind[mem.row[0]].tolist()
    mem.add_messages(4, [])
    assert mem.count(0) == 1


def test_state_and_restore_round_trip():
    """A fresh store restored from `state()` holds the same memories and retrieves the same lines."""
    mem = memory()
    for t in range(3 * CAP):
        mem.add_events(
            events(t, [(0, A["gather"], 0, -1, WOOD, 1.0, 1, ""), (2, A["talk"], 0, 4, -1, 0.0, 0, f"hi {t}")])
        )
        mem.add_messages(t, [(t, 2, 4, f"hi {t}")])
    state = mem.state()
    assert set(state) == {f"memory_{c}" for c in (*Memory.COLUMNS, "text")}
    saved = {k: np.array(v, copy=True) for k, v in state.items()}  # as a checkpoint file would hold them
    other = memory()
    other.restore(saved)
    for a in (0, 2, 4):
        assert lines(other, a) == lines(mem, a)
        assert other.retrieve(a, 3 * CAP, words("wood hi"), working=3, k=3) == mem.retrieve(
            a, 3 * CAP, words("wood hi"), working=3, k=3
        )
    for c in Memory.COLUMNS:
        assert np.array_equal(getattr(other, c), getattr(mem, c)), c
    # the restored store goes on independently of the one it came from
    other.add(100, [0], [A["eat"]])
    assert lines(other, 0) != lines(mem, 0)
