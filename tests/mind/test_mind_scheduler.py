"""Who asks the model each tick (tokenworld.sim.scheduler): priorities, the cap, focus, waiting, reflections.

It lives with the mind tests because it decides which minds are asked.
"""

from __future__ import annotations

import numpy as np
import pytest

from tokenworld.sim.scheduler import EVENT, PLAN_DONE, REFLECT, SPOKEN_TO, TURN, Scheduler

N = 12
EVERY = 4  # decide_every: everyone's turn comes on ticks 0, 4, 8, ... (model turns fall together, to batch)
NEVER = -(10**9)
ALL = list(range(N))


def masks(*true_ids, n: int = N) -> np.ndarray:
    m = np.zeros(n, bool)
    m[list(true_ids)] = True
    return m


def pick(s: Scheduler, tick: int = 0, *, idle=None, spoken=(), event=(), plan_done=(), last_reflect=None):
    return s.pick(
        tick,
        np.ones(N, bool) if idle is None else idle,
        spoken_to=masks(*spoken),
        event=masks(*event),
        plan_done=masks(*plan_done),
        last_reflect=np.zeros(N, np.int64) if last_reflect is None else last_reflect,
    )


def sched(cap: int = 100, reflect_every: int = 0, model=None) -> Scheduler:
    return Scheduler(N, np.ones(N, bool) if model is None else model, cap, EVERY, reflect_every)


def priorities(due) -> dict[int, int]:
    ids = np.concatenate([due.decide, due.reflect]).tolist()
    return dict(zip(ids, due.priority.tolist(), strict=True))


def test_each_reason_gets_its_priority():
    """Spoken to, an event, a plan done, and a plain turn map to their priorities, in that order of urgency."""
    due = pick(sched(), 0, spoken=(1, 5), event=(2, 5), plan_done=(4, 3))
    expect = {a: TURN for a in ALL} | {3: PLAN_DONE, 4: PLAN_DONE, 2: EVENT, 1: SPOKEN_TO, 5: SPOKEN_TO}
    assert priorities(due) == expect
    assert due.decide.tolist() == ALL  # in id order
    assert len(due.reflect) == 0 and len(due.overflow) == 0
    assert SPOKEN_TO < EVENT < PLAN_DONE < TURN < REFLECT


def test_between_turns_only_being_spoken_to_or_an_event_calls_for_a_decision():
    """Off a turn tick, agents spoken to or with an event are due; the others are left alone."""
    due = pick(sched(), 1, spoken=(1,), event=(2, 7))
    assert priorities(due) == {1: SPOKEN_TO, 2: EVENT, 7: EVENT}


def test_turns_come_every_decide_every_ticks_for_everyone_at_once():
    """With nothing else going on, all agents are due together every `decide_every` ticks, and only then."""
    s = sched()
    seen = np.zeros(N, int)
    for tick in range(3 * EVERY):
        due = pick(s, tick)
        assert due.decide.tolist() == (ALL if tick % EVERY == 0 else [])
        seen[due.decide] += 1
    assert (seen == 3).all()


@pytest.mark.parametrize("cap", [0, 1, 2, 3, 4, 7, 12, 20])
def test_the_cap_takes_the_most_urgent_and_the_rest_overflow(cap):
    """At most `cap` requests go out, most urgent first (ties by id); everything else due overflows."""
    urgency = [1, 5, 2, 4, 0, 3, 6, 7, 8, 9, 10, 11]  # spoken: 1, 5; event: 2; plan done: 4; turn: the rest
    due = pick(sched(cap), 0, spoken=(1, 5), event=(2,), plan_done=(4,))
    assert len(due.decide) == min(cap, N)
    assert due.decide.tolist() == sorted(urgency[:cap])
    assert due.overflow.tolist() == sorted(urgency[cap:])
    assert [priorities(due)[a] for a in due.decide] == due.priority.tolist()


def test_focus_puts_agents_on_screen_first_within_a_priority():
    """Among equally urgent agents, those on screen go first; on-screen never beats a more urgent priority."""
    s = sched(cap=2)
    s.focus = masks(8, 9, 10)
    due = pick(s, 0)
    assert due.decide.tolist() == [8, 9]
    assert due.overflow.tolist() == [a for a in ALL if a not in (8, 9)]
    due = pick(s, 0, event=(3,))  # an event beats a turn on screen; then 10, not yet asked (8 and 9 were)
    assert due.decide.tolist() == [3, 10]
    s.focus = None
    assert pick(s, 0).decide.tolist() == [0, 1]


def test_waiting_busy_and_rule_minded_agents_are_not_asked():
    """Agents with a request in flight, agents not idle, and agents the model does not drive are skipped."""
    s = sched(model=~masks(8))
    s.waiting[0] = True
    due = pick(s, 1, idle=~masks(4), spoken=(0, 4, 8, 1))
    assert due.decide.tolist() == [1]
    assert len(due.overflow) == 0
    assert 0 not in pick(s, 0).decide.tolist()
    s.waiting[0] = False
    assert pick(s, 0).decide.tolist() == [a for a in ALL if a != 8]


def test_reflections_are_due_every_reflect_every_ticks():
    """An agent reflects once `reflect_every` ticks have passed since its last reflection, at the lowest priority."""
    s = sched(reflect_every=100)
    last = np.full(N, 50, np.int64)
    last[[1, 2]] = 0
    last[3] = NEVER
    due = pick(s, 101, last_reflect=last)  # not a turn tick
    assert due.reflect.tolist() == [1, 2, 3] and len(due.decide) == 0
    due = pick(s, 100, last_reflect=last)  # a turn tick: the others decide
    assert due.reflect.tolist() == [1, 2, 3]
    assert due.decide.tolist() == [a for a in ALL if a not in (1, 2, 3)]
    assert due.priority.tolist() == [TURN] * (N - 3) + [REFLECT] * 3  # decide first, then reflect
    due = pick(s, 149, last_reflect=last)
    assert due.reflect.tolist() == [1, 2, 3]
    due = pick(s, 150, last_reflect=last)  # now everyone is due
    assert due.reflect.tolist() == ALL


def test_being_spoken_to_comes_before_reflecting():
    """An agent spoken to answers first and reflects later; an agent with an event reflects (instead of deciding)."""
    s = sched(reflect_every=10)
    due = pick(s, 10, spoken=(1,), event=(2,))
    assert due.decide.tolist() == [1]
    assert 2 in due.reflect.tolist() and 1 not in due.reflect.tolist()


def test_no_reflections_when_reflect_every_is_zero():
    """reflect_every = 0 turns reflections off."""
    due = pick(sched(reflect_every=0), 10**6, last_reflect=np.full(N, NEVER, np.int64))
    assert len(due.reflect) == 0


def test_reflections_over_the_cap_wait_instead_of_overflowing():
    """Reflections beyond the cap are not told to decide without the model: they simply wait for a later tick."""
    s = sched(cap=3, reflect_every=10)
    due = pick(s, 20, spoken=(5,), last_reflect=np.zeros(N, np.int64))  # a turn tick, but everyone else reflects
    assert due.decide.tolist() == [5]
    assert due.reflect.tolist() == [0, 1]
    assert len(due.overflow) == 0


def test_overflow_holds_exactly_the_due_decisions_beyond_the_cap():
    """Every agent due is either asked or in overflow, never both, never lost."""
    rng = np.random.default_rng(3)
    s = sched(cap=4)
    for tick in range(40):
        spoken = tuple(np.flatnonzero(rng.random(N) < 0.2))
        event = tuple(np.flatnonzero(rng.random(N) < 0.2))
        idle = rng.random(N) < 0.8
        due = pick(s, tick, idle=idle, spoken=spoken, event=event)
        expect = idle & (masks(*spoken) | masks(*event) | (tick % EVERY == 0))
        got = np.concatenate([due.decide, due.overflow])
        assert sorted(got.tolist()) == np.flatnonzero(expect).tolist()
        assert len(due.decide) == min(4, int(expect.sum()))
        assert len(due.priority) == len(due.decide)


def test_nothing_due_gives_an_empty_schedule():
    """With no agent due, every part of the schedule is empty."""
    due = pick(sched(), 1, idle=np.zeros(N, bool), spoken=(1,))
    assert len(due.decide) == len(due.reflect) == len(due.priority) == len(due.overflow) == 0


def test_equally_urgent_agents_take_turns_under_a_cap():
    """With room for few requests, turns rotate: the agents asked least recently go first, so nobody is left out."""
    s = sched(cap=4)
    asked = [pick(s, t * EVERY).decide.tolist() for t in range(3)]
    assert asked == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_room_limits_requests_below_the_cap_and_the_rest_carry_on():
    """The pacer's room (realtime) caps this tick's requests; the other due agents follow their plans."""
    due = sched(cap=100).pick(
        0,
        np.ones(N, bool),
        spoken_to=masks(5),
        event=masks(),
        plan_done=masks(),
        last_reflect=np.zeros(N, np.int64),
        room=2,
    )
    assert due.decide.tolist() == [0, 5]  # the one spoken to first, then by id
    assert len(due.overflow) == N - 2


def test_pacer_allows_what_the_backend_answers_within_the_target_wait():
    """The pacer measures answers per busy second and allows rate x max_wait_s requests in flight."""
    from tokenworld.sim.scheduler import Pacer

    now = [0.0]
    p = Pacer(2.0, initial_rate=1.0, clock=lambda: now[0])
    assert p.room(0) == 2  # a guess of 1 answer/s before anything landed
    p.sent([1, 2, 3, 4])
    now[0] = 1.0
    p.landed([1, 2, 3, 4])  # four answers in one busy second
    assert p.rate == 4.0 and p.room(0) == 8 and p.room(3) == 5
    assert p.stats()["wait_p50_ms"] == 1000.0
    now[0] = 30.0  # idle time does not count against the backend
    p.sent([5])
    now[0] = 30.5
    p.landed([5])
    assert p.rate == 2.0  # the window dropped the first second; one answer in half a second
