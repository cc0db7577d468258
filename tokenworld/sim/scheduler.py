"""Who asks the model this tick, and in which order.

Model-driven agents that are idle ask for a decision when something calls for
one: they were spoken to (most urgent), something happened to them (an action
refused, a gift received), their plan ran out, or their regular turn came
(every `mind.decide_every` ticks; unlike the rules brain's turns, which are
staggered by id, model turns fall on the same ticks, so that the worker gets
whole batches to decode together). A reflection is due every
`mind.reflect_every` ticks. At most `sim.max_decisions_per_tick` requests go
out per tick: the most urgent first, agents on screen before the others when
the viewer says which are (`focus`), then by id. Agents due beyond the cap are
told to carry on without the model (their plan, or the rules brain). Agents
with a request in flight (realtime mode) are not asked again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
        self.focus: np.ndarray | None = None  # bool mask set by the viewer: agents on screen

    def pick(self, tick: int, idle: np.ndarray, *, spoken_to: np.ndarray, event: np.ndarray,
             plan_done: np.ndarray, last_reflect: np.ndarray) -> Due:  # fmt: skip
        """Masks in, the schedule out (vectorized over all agents)."""
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
        order = np.lexsort((due, off_screen, pri[due]))
        chosen, over = due[order[: self.cap]], due[order[self.cap :]]
        is_reflect = reflect[chosen]
        decide, reflecting = np.sort(chosen[~is_reflect]), np.sort(chosen[is_reflect])
        priority = np.concatenate([pri[decide], pri[reflecting]])
        over = np.sort(over[~reflect[over]])  # a reflection over the cap just waits for the next tick
        return Due(decide, reflecting, priority, over)
