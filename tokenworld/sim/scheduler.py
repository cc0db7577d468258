"""Who asks the model this tick, and in which order.

Model-driven agents that are idle ask for a decision when something calls for
one: they were spoken to (most urgent), something happened to them (an action
refused, a gift received), their plan ran out, or their regular turn came
(every `mind.decide_every` ticks; unlike the rules brain's turns, which are
staggered by id, model turns fall on the same ticks, so that the worker gets
whole batches to decode together). A reflection is due every
`mind.reflect_every` ticks after the agent's last one (first reflections are
spread over that span by `ModelMinds`, so they never come in a burst). At most
`sim.max_decisions_per_tick` requests go out per tick (in realtime, fewer: as
many as the `Pacer` says the backend answers within `mind.max_wait_s`): the most
urgent first (spoken to, an event, a plan done, a turn, a reflection), agents on
screen before the others when the viewer says which are (`focus`), then the
agents asked least recently, then by id. Agents due beyond the cap carry on
without the model (their plan, or the rules brain). Agents with a request in
flight (realtime mode) are not asked again.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from tokenworld.world.agents import grown

SPOKEN_TO, EVENT, PLAN_DONE, TURN, REFLECT = range(5)  # priorities, most urgent first


@dataclass
class Due:
    """This tick's schedule (agent ids; `priority` follows `decide` then `reflect`)."""

    decide: np.ndarray
    reflect: np.ndarray
    priority: np.ndarray
    overflow: np.ndarray  # due, but over the cap: decide without the model


class Scheduler:
    def __init__(self, n_agents: int, model: np.ndarray, cap: int, decide_every: int, reflect_every: int):
        self.model = model  # bool mask of model-driven agents
        self.cap = int(cap)
        self.decide_every = int(decide_every)
        self.reflect_every = int(reflect_every)
        self.waiting = np.zeros(n_agents, bool)  # a request is in flight
        self.last_asked = np.full(n_agents, -1, np.int64)  # tick of each agent's latest request (fair turns)
        self.focus: np.ndarray | None = None  # bool mask set by the viewer: agents on screen

    def grow(self, model: np.ndarray) -> None:
        """Agents joined: `model` is the new mask of model-driven agents (everyone, old and new)."""
        n = len(model)
        self.model = model
        self.waiting = grown(self.waiting, n, False)
        self.last_asked = grown(self.last_asked, n, -1)
        self.focus = None

    def pick(
        self,
        tick: int,
        idle: np.ndarray,
        *,
        spoken_to: np.ndarray,
        event: np.ndarray,
        plan_done: np.ndarray,
        last_reflect: np.ndarray,
        room: int | None = None,
    ) -> Due:
        """Masks in, the schedule out (vectorized over all agents).

        `room`: the most requests that may go out now (realtime: what the pacer allows), besides the cap.
        """
        ready = self.model & idle & ~self.waiting
        turn = tick % self.decide_every == 0
        pri = np.full(len(ready), 99, np.int8)
        pri[ready & turn] = TURN
        pri[ready & plan_done & turn] = PLAN_DONE
        pri[ready & event] = EVENT
        pri[ready & spoken_to] = SPOKEN_TO
        reflect = np.zeros(len(ready), bool)
        if self.reflect_every:
            reflect = ready & (tick - last_reflect >= self.reflect_every) & (pri > SPOKEN_TO)
            pri[reflect] = REFLECT
        due = np.flatnonzero(pri < 99)
        if not len(due):
            empty = np.zeros(0, np.int64)
            return Due(empty, empty, np.zeros(0, np.int8), empty)
        off_screen = np.zeros(len(due), bool) if self.focus is None else ~self.focus[due]
        order = np.lexsort((due, self.last_asked[due], off_screen, pri[due]))
        cap = self.cap if room is None else max(0, min(self.cap, int(room)))
        chosen, over = due[order[:cap]], due[order[cap:]]
        self.last_asked[chosen] = tick
        is_reflect = reflect[chosen]
        decide, reflecting = np.sort(chosen[~is_reflect]), np.sort(chosen[is_reflect])
        priority = np.concatenate([pri[decide], pri[reflecting]])
        over = np.sort(over[~reflect[over]])  # a reflection over the cap just waits for the next tick
        return Due(decide, reflecting, priority, over)


class Pacer:
    """Keeps the model requests in flight (realtime) to what the backend answers within `max_wait_s`.

    It measures the backend's throughput as answers landed per second of wall time during which
    something was in flight (so a busy CPU, a slow server or a viewer drawing frames all count), and
    allows `rate * max_wait_s` requests in flight; agents it cannot serve in time carry on without the
    model. It also keeps each request's wait (submitted to landed, wall time) for the p50/p95 figures.
    """

    WINDOW_S = 20.0  # throughput is measured over this sliding window

    def __init__(self, max_wait_s: float, *, initial_rate: float = 2.0, clock=time.monotonic):
        self.max_wait_s = float(max_wait_s)
        self.rate = float(initial_rate)  # answers per busy second; a guess until the first answers land
        self._clock = clock
        self._sent: dict[int, float] = {}  # ticket -> when it was submitted
        self._busy: deque[tuple[float, float, int]] = deque()  # (time, busy seconds, answers landed) per update
        self._last = clock()
        self.waits_ms: deque[float] = deque(maxlen=2000)

    def room(self, in_flight: int) -> int:
        """How many new requests may go out now."""
        self._account(0)
        allowed = max(1, int(self.rate * self.max_wait_s))
        return max(0, allowed - int(in_flight))

    def sent(self, tickets: list[int]) -> None:
        now = self._clock()
        self._account(0)
        for t in tickets:
            self._sent[t] = now

    def landed(self, tickets: list[int]) -> None:
        """Answers for `tickets` arrived now: their waits are recorded and the throughput updated."""
        self._account(len(tickets))  # busy until now: they were in flight
        now = self._last
        for t in tickets:
            t0 = self._sent.pop(t, None)
            if t0 is not None:
                self.waits_ms.append((now - t0) * 1000.0)

    def _account(self, answers: int) -> None:
        now = self._clock()
        busy = (now - self._last) if self._sent else 0.0
        self._last = now
        self._busy.append((now, busy, answers))
        while self._busy and self._busy[0][0] < now - self.WINDOW_S:
            self._busy.popleft()
        seconds = sum(b for _, b, _ in self._busy)
        landed = sum(n for _, _, n in self._busy)
        if landed and seconds > 0.2:
            self.rate = landed / seconds

    def stats(self) -> dict:
        waits = np.array(self.waits_ms, np.float64)
        return {
            "wait_p50_ms": float(np.percentile(waits, 50)) if len(waits) else 0.0,
            "wait_p95_ms": float(np.percentile(waits, 95)) if len(waits) else 0.0,
            "answers_per_s": round(self.rate, 3),
            "in_flight_cap": max(1, int(self.rate * self.max_wait_s)),
        }
