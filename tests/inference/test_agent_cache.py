"""AgentCache: each agent's kept state within a byte budget, least recently used dropped first."""

from __future__ import annotations

import pytest

from tokenworld.inference.agent_cache import AgentCache, Entry

V1, V2 = "shared-v1", "shared-v2"


def entry(nbytes: int, blocks=((1, 2), (3,)), version: str = V1) -> Entry:
    """An entry of `nbytes` holding `blocks` (tuples of token ids), built on shared prefix `version`."""
    return Entry(version, [list(b) for b in blocks], bytes(nbytes), nbytes)


def test_the_budget_is_never_passed():
    """Whatever is put, the kept bytes stay within the budget, and the peak too."""
    cache = AgentCache(100)
    sizes = [30, 50, 20, 70, 10, 100, 40, 99, 1, 60]
    for k, n in enumerate(sizes * 3):
        cache.put(k % 7, entry(n))
        assert cache.nbytes <= cache.budget
        assert cache.nbytes == sum(e.nbytes for e in cache._entries.values())
    assert 0 < cache.peak_bytes <= cache.budget
    assert cache.evicted > 0


def test_an_entry_larger_than_the_budget_is_not_kept_and_replaces_the_old_one():
    """Too big to keep: the agent's old entry is gone too (it no longer matches what was evaluated)."""
    cache = AgentCache(100)
    cache.put(1, entry(40))
    cache.put(1, entry(101))
    assert len(cache) == 0 and cache.nbytes == 0
    assert cache.match(1, V1, [[1, 2]]) == (None, 0)


def test_the_least_recently_used_goes_first():
    """Past the budget, the agent used longest ago is dropped; a match counts as a use."""
    cache = AgentCache(90)
    for a in (1, 2, 3):
        cache.put(a, entry(30))
    e, kept = cache.match(1, V1, [[1, 2]])  # agent 1 is now the most recent
    assert kept == 1 and e is not None
    cache.put(4, entry(30))  # one must go: agent 2, used longest ago
    assert cache.match(2, V1, [[1, 2]]) == (None, 0)
    for a in (1, 3, 4):
        assert cache.match(a, V1, [[1, 2]])[1] == 1
    assert cache.evicted == 1
    cache.put(5, entry(60))  # two must go: 1 and 3 were matched before 4
    assert [a for a in (1, 3, 4, 5) if cache.match(a, V1, [[1, 2]])[1]] == [4, 5]
    assert cache.evicted == 3 and cache.nbytes == 90


def test_an_entry_of_another_shared_version_is_dropped_and_not_matched():
    """A changed shared prefix outdates the agent's entry: no match, and its bytes are freed."""
    cache = AgentCache(100)
    cache.put(1, entry(40, version=V1))
    cache.put(2, entry(40, version=V1))
    assert cache.match(1, V2, [[1, 2], [3]]) == (None, 0)
    assert len(cache) == 1 and cache.nbytes == 40
    assert cache.match(1, V1, [[1, 2], [3]]) == (None, 0)  # dropped, not only skipped
    assert cache.match(2, V1, [[1, 2], [3]])[1] == 2


def test_match_counts_the_leading_equal_blocks():
    """How many blocks are reused: those equal from the first on, up to the first that differs."""
    cache = AgentCache(1000)
    cache.put(1, entry(10, blocks=((1, 2), (3, 4), (5,))))
    for blocks, kept in (
        ([[1, 2], [3, 4], [5]], 3),
        ([[1, 2], [3, 4], [5], [6, 7]], 3),  # the page grew by a block
        ([[1, 2], [3, 4], [9]], 2),
        ([[1, 2], [3], [5]], 1),  # a block that changed: nothing after it is reused
        ([[1, 2]], 1),
        ([[1, 2, 3, 4], [5]], 0),  # the same tokens in other blocks
        ([[0, 2], [3, 4], [5]], 0),
        ([], 0),
    ):
        e, got = cache.match(1, V1, blocks)
        assert got == kept, blocks
        assert (e is not None) == (kept > 0)
    assert cache.hits == 5 and cache.misses == 3
    assert cache.match(2, V1, [[1, 2]]) == (None, 0)  # an agent without an entry


def test_a_budget_of_zero_keeps_nothing():
    """Budget 0: every put is refused, nothing ever matches."""
    cache = AgentCache(0)
    for a in range(5):
        cache.put(a, entry(1))
        assert cache.match(a, V1, [[1, 2]]) == (None, 0)
    assert len(cache) == 0 and cache.nbytes == 0 and cache.peak_bytes == 0
    with pytest.raises(ValueError, match="0 or more"):
        AgentCache(-1)


def test_clear_and_stats():
    """`clear` empties the cache; `stats` reports what it holds and did."""
    cache = AgentCache(50)
    cache.put(1, entry(30))
    cache.put(2, entry(30))
    cache.match(2, V1, [[1, 2]])
    assert cache.stats() == {
        "agents": 1,
        "bytes": 30,
        "peak_bytes": 30,
        "budget_bytes": 50,
        "hits": 1,
        "misses": 0,
        "evicted": 1,
    }
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0 and cache.stats()["peak_bytes"] == 30
