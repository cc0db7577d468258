"""Each model agent's decision page as a transcript that only grows at its end.

A decision's page starts with the agent's head: who it is, its plan, its news
and what it remembered when the transcript began. Then comes one turn per
decision: what it remembers since the last one (new memory lines: what it did
and what was said to it), the lines of its situation that changed (plan,
news, needs, goods, place, neighbours) and the question. The answers are not
repeated (the memories tell what was done): a small model shown its earlier
answers copies them (measured: three times as many talk choices). Each turn is a block of its own
(`tokenworld.mind.protocol.Request.blocks`), so a backend that keeps the
agent's KV cache (`tokenworld.inference.agent_cache`) evaluates the newest turn
only, about 20-30 tokens, instead of the whole page.

A changed plan or news is a line of the turn, like the situation. The
transcript begins again (a new head, the situation in full) after `MAX_TURNS`
turns, when the page would pass the token budget, or when the memory store
replaced a line it showed. A turn
joins the transcript when its answer comes (`commit`); a request whose answer
never came leaves the transcript as it was, and the next turn says all that
happened since.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np

from tokenworld.mind.prompts import Page, head_blocks, state_lines

MAX_TURNS = 8  # turns after the head before the transcript begins again
WORKING = 2  # the most recent memories a new head lists (working memory)


@dataclass(frozen=True)
class Transcript:
    """One agent's page so far."""

    head: tuple[tuple[str, str], ...]  # (name, text) blocks: who, plan, news, memories
    since: int  # memories from this tick on are new to the transcript (but the first `shown` of them)
    shown: tuple[str, ...] = ()  # memory lines from `since` already in a turn, oldest first
    state: tuple[tuple[str, str], ...] = ()  # (field, line) of the situation as last shown
    turns: tuple[str, ...] = ()  # the committed turns' blocks


@dataclass
class Turn:
    """A request's turn, kept until its answer commits it."""

    agent: int
    base: Transcript  # the transcript it extends (a new one when it began again)
    text: str
    shown: tuple[str, ...]
    state: tuple[tuple[str, str], ...]


@dataclass
class Transcripts:
    """The transcripts of a world's model agents.

    Args:
        memory: the agents' `Memory`.
        count: the backend's token counter; `budget`: tokens the personal part may take.
        skip: memory kinds a turn does not list when they succeeded (`Memory.log`).
        recall: relevant older memories a new head lists.
    """

    memory: object
    count: object
    budget: int
    skip: tuple[int, ...] = ()
    recall: int = 2
    _by_agent: dict[int, Transcript] = field(default_factory=dict)

    def page(self, agent: int, tick: int, page: Page, question: list[str], query: set[str]):
        """(blocks, turn): the agent's decision page, its newest turn last, ending where the answer starts."""
        fixed = tuple(head_blocks(Page(page.who, "", "", "", plan=page.plan, news=page.news)))
        t = self._by_agent.get(agent)
        if t is not None and t.head[0] == fixed[0] and len(t.turns) < MAX_TURNS:
            log = [line for _, line in self.memory.log(agent, t.since, self.skip)]
            if tuple(log[: len(t.shown)]) == t.shown:
                state = _tracked(page)
                before = dict(t.state)
                changed = [line for f, line in state if before.get(f) != line]
                if "near" in before and not page.near:
                    changed.append("Near: nobody")
                text = (
                    "\n"
                    + "".join(f"- {m}\n" for m in log[len(t.shown) :])
                    + "".join(f"{line}\n" for line in changed)
                    + "\n".join(question)
                )
                blocks = (*t.head, *(("turn", x) for x in t.turns), ("turn", text))
                if self._fits(blocks):
                    return blocks, Turn(agent, t, text, tuple(log), state)
        return self._begin(agent, tick, page, question, query, fixed)

    def _begin(self, agent, tick, page, question, query, fixed):
        recent, relevant = self.memory.retrieve(agent, tick, query, working=WORKING, k=self.recall)
        lines = [*relevant, *reversed(recent)]  # the relevant, then the latest oldest first
        state = _tracked(page)
        text = "\n".join([*(line for f, line in state if f not in ("plan", "news")), *question])
        while True:
            memory = (("memory", "Remembers:\n" + "".join(f"- {m}\n" for m in lines)),) if lines else ()
            head = (*fixed, *memory)
            blocks = (*head, ("turn", text))
            if not lines or self._fits(blocks):
                break
            lines = lines[1:]  # over the budget: the oldest memories go first
        shown = tuple(line for _, line in self.memory.log(agent, tick, self.skip))
        return blocks, Turn(agent, Transcript(head, tick), text, shown, state)

    def _fits(self, blocks) -> bool:
        return self.count("".join(text for _, text in blocks)) <= self.budget

    def commit(self, turn: Turn) -> None:
        """The turn was answered: it joins the transcript, unless the transcript moved on meanwhile (another
        request's turn was committed first)."""
        now = self._by_agent.get(turn.agent)
        if now is not None and now is not turn.base and turn.base.turns:
            return
        self._by_agent[turn.agent] = replace(
            turn.base, shown=turn.shown, state=turn.state, turns=(*turn.base.turns, turn.text)
        )

    def clear(self) -> None:
        """Every transcript begins again (the scene was edited: places and their names may have changed)."""
        self._by_agent.clear()

    # ------------------------------------------------------------ checkpoints

    def state(self, n_agents: int) -> np.ndarray:
        """One JSON text per agent ('' without a transcript), for a checkpoint."""
        out = np.full(n_agents, "", dtype=object)
        for a, t in self._by_agent.items():
            out[a] = json.dumps([t.head, t.since, t.shown, t.state, t.turns])
        return out.astype(str)

    def restore(self, texts: np.ndarray) -> None:
        self._by_agent = {}
        for a in np.flatnonzero(texts != ""):
            head, since, shown, state, turns = json.loads(str(texts[a]))
            self._by_agent[int(a)] = Transcript(
                tuple(map(tuple, head)), int(since), tuple(shown), tuple(map(tuple, state)), tuple(turns)
            )


def _tracked(page: Page) -> tuple[tuple[str, str], ...]:
    """(field, line) of what a turn repeats when it changed: the plan, the news and the situation."""
    out = [("plan", f"Plan: {page.plan}")] if page.plan else []
    out += [("news", f"News: {page.news}")] if page.news else []
    return (*out, *state_lines(page))
