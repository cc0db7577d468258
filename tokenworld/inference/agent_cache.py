"""Each agent's own KV cache, kept in host memory between its decisions.

A model-driven agent's prompt is the shared prefix (the same for every agent)
and its personal part in named blocks, the most stable first (persona, plan,
what it remembers, then what changed: needs, the situation, the question). A
backend that keeps an agent's cache evaluates only the blocks from the first
one that changed since the agent's last request; the blocks before are restored
from here.

`AgentCache` holds, per agent, the state of its personal blocks (an opaque
blob: for llama.cpp, `llama_state_seq_get_data` of the agent's sequence
without the shared prefix's cells), the tokens of each block and the version
of the shared prefix it was built on. It keeps at most `budget_bytes` in all,
dropping the least recently used agents first; a dropped or outdated agent is
rebuilt on demand from its blocks' text. A live edit of the scene changes the
shared prefix: every agent's entry is then outdated and rebuilt at its next
request.

Reuse is by whole blocks and each block is evaluated in a call of its own, so
that a restored block holds exactly what evaluating it anew would (llama.cpp's
CPU kernels are not batch-invariant: a token's values depend on the other
tokens of its call). A rebuilt agent therefore answers as the kept one would,
and a resumed run, whose cache starts empty, as an uninterrupted one.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class Entry:
    """One agent's kept state."""

    shared_version: str
    blocks: list[list[int]]  # tokens of each personal block the state holds, in order
    blob: object  # the backend's serialised state of those blocks (bytes-like)
    nbytes: int


class AgentCache:
    """Per-agent cached states within a byte budget, least recently used dropped first.

    Args:
        budget_bytes: the most bytes kept in all (0 keeps nothing: every request is evaluated in full).
    """

    def __init__(self, budget_bytes: int):
        if budget_bytes < 0:
            raise ValueError(f"the agent cache budget must be 0 or more bytes, found {budget_bytes}")
        self.budget = int(budget_bytes)
        self._entries: OrderedDict[int, Entry] = OrderedDict()
        self.nbytes = 0
        self.peak_bytes = 0
        self.hits = 0  # requests that reused at least one block
        self.misses = 0  # requests evaluated in full (no entry, an outdated one, or the first block changed)
        self.evicted = 0  # entries dropped for the budget

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, agent: int, shared_version: str, blocks: list[list[int]]) -> tuple[Entry | None, int]:
        """(the agent's entry, how many of `blocks` it holds unchanged from the first); (None, 0) when it has
        none to offer. An outdated entry (another shared prefix) is dropped."""
        e = self._entries.get(agent)
        if e is not None and e.shared_version != shared_version:
            self.drop(agent)
            e = None
        kept = 0
        if e is not None:
            for old, new in zip(e.blocks, blocks, strict=False):
                if old != new:
                    break
                kept += 1
            self._entries.move_to_end(agent)
        if kept:
            self.hits += 1
            return e, kept
        self.misses += 1
        return None, 0

    def put(self, agent: int, entry: Entry) -> None:
        """Keep `entry` for `agent` (replacing its old one), then drop the least recently used past the budget."""
        self.drop(agent)
        if entry.nbytes > self.budget:
            return
        self._entries[agent] = entry
        self.nbytes += entry.nbytes
        while self.nbytes > self.budget:
            _, old = self._entries.popitem(last=False)
            self.nbytes -= old.nbytes
            self.evicted += 1
        self.peak_bytes = max(self.peak_bytes, self.nbytes)

    def drop(self, agent: int) -> None:
        e = self._entries.pop(agent, None)
        if e is not None:
            self.nbytes -= e.nbytes

    def clear(self) -> None:
        self._entries.clear()
        self.nbytes = 0

    def stats(self) -> dict:
        return {
            "agents": len(self._entries),
            "bytes": self.nbytes,
            "peak_bytes": self.peak_bytes,
            "budget_bytes": self.budget,
            "hits": self.hits,
            "misses": self.misses,
            "evicted": self.evicted,
        }
