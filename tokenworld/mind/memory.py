"""What language-model agents remember: a bounded episodic store per agent.

Every event that touches an agent (its own actions, done or refused, and what
others said to it or gave it) becomes a memory: a row of fixed columns (tick,
action, outcome, partner, item, amount, zone, importance, spoken text). Each
agent holds at most `capacity` memories; when full, a new memory replaces the
one with the lowest retention (importance plus recency), so a run of any
length keeps the store, and the prompts built from it, bounded.

Retrieval for a prompt takes the `working` most recent memories (working
memory) and the `k` best of the rest by recency + importance + relevance
(Park et al.'s generative agents). Relevance is lexical: the overlap between a
memory's words (its action, item, partner, zone, what was said) and the words of
the agent's situation (its options, neighbours, zone, needs). That measured
better than embeddings for this vocabulary (BENCHMARKS.md, "memory relevance").

Arrays throughout; inserting is vectorized over the tick's events. Only
retrieval, done for the few agents whose prompt is being written, is per agent.
"""

from __future__ import annotations

import re

import numpy as np

from tokenworld.mind.personas import agent_name
from tokenworld.scene.schema import ITEMS
from tokenworld.world.actions import ACTION_INDEX, ACTIONS, attempt_text, done_text
from tokenworld.world.decisions import REASONS, Events

HEARD = len(ACTIONS)  # kind of a memory of being spoken to
RECEIVED = len(ACTIONS) + 1  # kind of a memory of being given something
PLANNED = len(ACTIONS) + 2  # kind of a memory of a plan made in a reflection
RECENCY_HALF_LIFE = 200.0  # ticks
_IMPORTANCE = {
    "idle": 0.05,
    "move_to": 0.1,
    "gather": 0.3,
    "craft": 0.6,
    "trade": 0.8,
    "talk": 0.5,
    "build": 0.9,
    "give": 0.7,
    "eat": 0.3,
    "rest": 0.2,
    "guess": 0.3,
}
IMPORTANCE = np.array([_IMPORTANCE.get(a.name, 0.3) for a in ACTIONS] + [0.7, 0.9, 0.6], np.float32)
REFUSED_IMPORTANCE = 0.5
NEWS_IMPORTANCE = 1.0  # what the Narrator says: kept longest, retold first
NEWS_SPAN = 800  # ticks a heard line stays news worth retelling
NEWS_FADE = 0.02  # importance a piece of news loses each time it is retold
NARRATOR_ID = -1  # tokenworld.mind.personas.NARRATOR
_WORD = re.compile(r"[a-z0-9]+")
# Whether a line carries a piece of news (retold news keeps its weight; `tokenworld analyze` traces how far it goes):
COVER = 0.5  # share of a fact's content words a line must hold to carry the fact
MIN_LETTERS = 4  # shorter words are not content words
STOP_WORDS = frozenset(
    "about also been being could does doing done from have having here heard hear into just know like more most "
    "much only over said says should some such tell tells than that their them then there these they this those "
    "told very want were what when where which while will with would your yours".split()
)


def words(text: str) -> set[str]:
    """Lower-case word set of `text` (for lexical relevance)."""
    return set(_WORD.findall(text.lower()))


def content_words(text: str) -> frozenset[str]:
    """The content words of `text`: lower-case words of MIN_LETTERS or more letters, minus STOP_WORDS."""
    return frozenset(w for w in words(text) if len(w) >= MIN_LETTERS and w.isalpha() and w not in STOP_WORDS)


def cover(line: str, fact: str) -> float:
    """Share of the content words of `fact` that `line` holds (0 when the fact has none)."""
    want = content_words(fact)
    return len(want & content_words(line)) / len(want) if want else 0.0


def carries(line: str, fact: str) -> bool:
    """Whether `line` carries `fact`: it is the fact, or covers at least COVER of its content words."""
    return line == fact or cover(line, fact) >= COVER


class Memory:
    """Episodic memories of the agents `agents` (ids), `capacity` each.

    Args:
        n_agents: agents in the world (ids index a row map).
        agents: the ids that have a memory (language-model-driven agents).
        capacity: memories kept per agent.
        zone_names: to put places into words.
    """

    COLUMNS = ("tick", "kind", "reason", "other", "item", "amount", "zone", "importance")

    def __init__(self, n_agents: int, agents: np.ndarray, capacity: int, zone_names: list[str]):
        self.capacity = int(capacity)
        self.zone_names = list(zone_names)
        self.row = np.full(n_agents, -1, np.int64)
        self.agents = np.asarray(agents, np.int64)
        self.row[self.agents] = np.arange(len(self.agents))
        m = (len(self.agents), self.capacity)
        self.tick = np.full(m, -1, np.int64)  # -1: empty slot
        self.kind = np.zeros(m, np.int16)
        self.reason = np.zeros(m, np.int8)
        self.other = np.full(m, -1, np.int32)
        self.item = np.full(m, -1, np.int16)
        self.amount = np.zeros(m, np.float32)
        self.zone = np.full(m, -1, np.int32)
        self.importance = np.zeros(m, np.float32)
        self.text = np.full(m, "", dtype=object)

    # ------------------------------------------------------------ writing

    def add(
        self,
        tick: int,
        agent,
        kind,
        reason=None,
        other=None,
        item=None,
        amount=None,
        zone=None,
        text=None,
        importance=None,
    ):
        """Remember one event per row (arrays of equal length); rows of agents without a memory are skipped.

        Importance comes from the kind (and refusals), unless given per row."""
        agent = np.asarray(agent, np.int64)
        n = len(agent)
        if not n:
            return
        row = self.row[agent]
        keep = row >= 0
        if not keep.any():
            return

        def col(x, fill, dtype):
            return (np.full(n, fill, dtype) if x is None else np.asarray(x).astype(dtype, copy=False))[keep]

        kind = col(kind, 0, np.int16)
        reason = col(reason, 0, np.int8)
        cols = {
            "kind": kind,
            "reason": reason,
            "other": col(other, -1, np.int32),
            "item": col(item, -1, np.int16),
            "amount": col(amount, 0.0, np.float32),
            "zone": col(zone, -1, np.int32),
            "text": col(text, "", object),
            "importance": (
                np.where(reason > 0, REFUSED_IMPORTANCE, IMPORTANCE[kind]).astype(np.float32)
                if importance is None
                else col(importance, 0.0, np.float32)
            ),
        }
        row = row[keep]
        # Several memories for one agent in a tick: place them one rank at a time.
        order = np.argsort(row, kind="stable")
        row = row[order]
        cols = {k: v[order] for k, v in cols.items()}
        first = np.r_[True, row[1:] != row[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(row)), 0))
        rank = np.arange(len(row)) - start
        for r in range(int(rank.max()) + 1):
            sel = rank == r
            rows = row[sel]
            slot = self._victims(rows, tick)
            self.tick[rows, slot] = tick
            for name, values in cols.items():
                getattr(self, name)[rows, slot] = values[sel]

    def add_events(self, events: Events) -> None:
        """Remember what the agents did (done and refused) and what others did to them."""
        if not len(events):
            return
        self.add(
            events.tick,
            events.agent,
            events.action,
            events.reason,
            events.other,
            events.item,
            events.amount,
            events.zone,
            events.text,
        )
        done = events.reason == 0
        gave = done & (events.action == ACTION_INDEX["give"]) & (events.other >= 0)
        if gave.any():
            self.add(
                events.tick,
                events.other[gave],
                np.full(int(gave.sum()), RECEIVED),
                None,
                events.agent[gave],
                events.item[gave],
                events.amount[gave],
                events.zone[gave],
            )

    def add_messages(self, tick: int, messages: list[tuple[int, int, int, str]]) -> None:
        """Remember being spoken to: (tick, speaker, listener, text) rows."""
        if not messages:
            return
        _, speaker, listener, text = zip(*messages, strict=False)
        weight = [self._weight_of(int(spk), str(txt), tick) for spk, txt in zip(speaker, text, strict=False)]
        self.add(
            tick,
            np.asarray(listener),
            np.full(len(listener), HEARD),
            None,
            np.asarray(speaker),
            text=np.asarray(text, object),
            importance=np.asarray(weight, np.float32),
        )

    def _weight_of(self, speaker: int, text: str, tick: int) -> float:
        """Importance of hearing `text` from `speaker`: the Narrator's news weighs most; a line retelling news
        the speaker holds keeps that news's weight, a little less each retelling; other talk weighs as usual."""
        if speaker == NARRATOR_ID:
            return NEWS_IMPORTANCE
        known, weight = self.news(speaker, tick)
        if known and carries(text, known):
            return max(float(IMPORTANCE[HEARD]), weight - NEWS_FADE)
        return float(IMPORTANCE[HEARD])

    def _victims(self, rows: np.ndarray, tick: int) -> np.ndarray:
        """Per row, the slot to overwrite: an empty one, else the lowest retention (importance + recency)."""
        ticks = self.tick[rows]
        retention = self.importance[rows] + recency(ticks, tick)
        retention = np.where(ticks < 0, -np.inf, retention)
        return retention.argmin(axis=1)

    # ------------------------------------------------------------ reading

    def count(self, agent: int) -> int:
        r = self.row[agent]
        return 0 if r < 0 else int((self.tick[r] >= 0).sum())

    def retrieve(
        self, agent: int, tick: int, query: set[str], *, working: int = 3, k: int = 3
    ) -> tuple[list[str], list[str]]:
        """(recent, relevant): the `working` latest memories, and the `k` best others by score, as text lines."""
        r = self.row[agent]
        if r < 0:
            return [], []
        filled = np.flatnonzero(self.tick[r] >= 0)
        if not len(filled):
            return [], []
        latest = filled[np.argsort(-self.tick[r, filled], kind="stable")]
        recent = latest[:working]
        rest = latest[working:]
        best = []
        if len(rest) and k > 0:
            rel = np.array([self._relevance(r, s, query) for s in rest], np.float32)
            score = recency(self.tick[r, rest], tick) + self.importance[r, rest] + rel
            best = rest[np.argsort(-score, kind="stable")[:k]]
        recent_lines = list(dict.fromkeys(self.describe(r, s) for s in recent))  # a repeated line says nothing new
        best_lines = [line for line in dict.fromkeys(self.describe(r, s) for s in best) if line not in recent_lines]
        return recent_lines, best_lines

    def log(self, agent: int, since: int, skip: tuple[int, ...] = ()) -> list[tuple[int, str]]:
        """(tick, line) of the agent's memories from tick `since` on, oldest first, but those of the kinds
        `skip` that succeeded; a line equal to the one before it is left out (it says nothing new). A memory
        keeps its place: the list only grows at its end until the store replaces one of its memories."""
        r = self.row[agent]
        if r < 0:
            return []
        slots = np.flatnonzero((self.tick[r] >= max(since, 0)) & ~(np.isin(self.kind[r], skip) & (self.reason[r] == 0)))
        slots = slots[np.lexsort((slots, self.tick[r, slots]))]
        out: list[tuple[int, str]] = []
        for s in slots.tolist():
            line = self.describe(r, s)
            if not out or out[-1][1] != line:
                out.append((int(self.tick[r, s]), line))
        return out

    def news(self, agent: int, tick: int) -> tuple[str, float]:
        """What the agent heard lately that is worth telling others, and its importance (('', 0) if nothing):
        the heard line of highest importance and recency within NEWS_SPAN ticks."""
        r = self.row[agent]
        if r < 0:
            return "", 0.0
        heard = np.flatnonzero((self.kind[r] == HEARD) & (self.tick[r] >= 0) & (tick - self.tick[r] <= NEWS_SPAN))
        if not len(heard):
            return "", 0.0
        score = self.importance[r, heard] + recency(self.tick[r, heard], tick)
        best = heard[int(np.argmax(score))]
        return str(self.text[r, best]), float(self.importance[r, best])

    def shared_with(self, agent: int, news: str) -> set[int]:
        """Who the agent knows to have `news` already: whoever told it, and whoever it told."""
        r = self.row[agent]
        if r < 0 or not news:
            return set()
        slots = np.flatnonzero(((self.kind[r] == HEARD) | (self.kind[r] == ACTION_INDEX["talk"])) & (self.tick[r] >= 0))
        return {int(self.other[r, s]) for s in slots.tolist() if carries(str(self.text[r, s]), news)}

    def _relevance(self, r: int, s: int, query: set[str]) -> float:
        if not query:
            return 0.0
        mine = words(self.describe(r, s))
        return len(mine & query) / max(len(mine | query), 1) * 3.0  # Jaccard, scaled to weigh like the others

    def describe(self, r: int, s: int) -> str:
        """One memory as a short line: 'I gathered 2 wood at forest' (no tick: every digit costs a token, and
        prompts list memories newest first)."""
        kind, reason = int(self.kind[r, s]), int(self.reason[r, s])
        other, item, amount = int(self.other[r, s]), int(self.item[r, s]), float(self.amount[r, s])
        zone = int(self.zone[r, s])
        where = f" at {self.zone_names[zone]}" if 0 <= zone < len(self.zone_names) else ""
        who = agent_name(other) if other >= 0 or kind == HEARD else ""  # HEARD from -1: the Narrator
        head = ""
        if kind == HEARD:
            return head + f'{who} said to me: "{self.text[r, s]}"'
        if kind == RECEIVED:
            return head + f"{who} gave me {amount:g} {_item(item)}"
        if kind == PLANNED:
            return head + f"I planned: {self.text[r, s]}"
        name = ACTIONS[kind].name
        item = item if item >= 0 else None
        if reason > 0:
            return (
                head + f"I tried to {attempt_text(name, partner=who, item=item)}{where} but failed: {REASONS[reason]}"
            )
        return (
            head
            + "I "
            + done_text(name, partner=who, item=item, amount=amount, text=str(self.text[r, s] or ""))
            + where
        )

    # ------------------------------------------------------------ live edits

    def grow(self, n_agents: int, agents: np.ndarray) -> None:
        """The world has `n_agents` agents now; `agents` (new ids) get an empty memory each."""
        agents = np.asarray(agents, np.int64)
        row = np.full(n_agents, -1, np.int64)
        row[: len(self.row)] = self.row
        row[agents] = len(self.agents) + np.arange(len(agents))
        self.row, self.agents = row, np.concatenate([self.agents, agents])
        more = (len(agents), self.capacity)
        for c, fill in (("tick", -1), ("kind", 0), ("reason", 0), ("other", -1), ("item", -1), ("amount", 0)):
            setattr(self, c, np.concatenate([getattr(self, c), np.full(more, fill, getattr(self, c).dtype)]))
        for c, fill in (("zone", -1), ("importance", 0), ("text", "")):
            setattr(self, c, np.concatenate([getattr(self, c), np.full(more, fill, getattr(self, c).dtype)]))

    def zones_changed(self, moved: np.ndarray, zone_names: list[str]) -> None:
        """The zones were edited (`moved`: old index -> new index, -1 removed): memories name the new places."""
        if len(moved):
            self.zone = np.where(self.zone >= 0, moved[np.maximum(self.zone, 0)], -1).astype(self.zone.dtype)
        self.zone_names = list(zone_names)

    # ------------------------------------------------------------ checkpoints

    def state(self) -> dict[str, np.ndarray]:
        out = {f"memory_{c}": getattr(self, c) for c in self.COLUMNS}
        out["memory_text"] = self.text.astype(str)
        return out

    def restore(self, state: dict[str, np.ndarray]) -> None:
        for c in self.COLUMNS:
            getattr(self, c)[...] = state[f"memory_{c}"]
        self.text = np.asarray(state["memory_text"], dtype=object)


def recency(ticks: np.ndarray, now: int) -> np.ndarray:
    """1 for a memory of this tick, halving every RECENCY_HALF_LIFE ticks."""
    return np.exp2(-(now - ticks) / RECENCY_HALF_LIFE).astype(np.float32)


def _item(item: int) -> str:
    return ITEMS[item] if 0 <= item < len(ITEMS) else "something"
