"""Each agent's own KV cache with the real model: reused blocks answer exactly as evaluating them anew would."""

from __future__ import annotations

import numpy as np
import pytest

from tests.paths import ROOT
from tokenworld.inference.agent_cache import AgentCache
from tokenworld.inference.llama_cpp import LlamaCppBackend
from tokenworld.mind.prompts import action_keys, shared_prompt
from tokenworld.mind.protocol import Request
from tokenworld.scene.schema import Scene

pytestmark = pytest.mark.slow

OPTIONS = ["rest", "eat", "gather food", "talk Ben", "move_to market"]
WHO = ("Ada, a farmer; curious, quiet.", "Cleo, a woodcutter; bold.", "Dan, a merchant; talkative.")
TURNS = (  # what each decision's turn adds: new memories, changed situation lines, the question
    "Needs: hungry, rested\nHas: 2 food, 1 wood\nAt: farm\nNear: Ben\nChoice: ",
    "\n- I gathered 1 food at farm\nHas: 3 food, 1 wood\nChoice: ",
    '\n- Ben said to me: "the market has cheap wood"\nNeeds: starving, tired\nChoice: ',
    "\n- I ate 1 food\nNeeds: fed, tired\nHas: 2 food, 1 wood\nAt: market\nNear: nobody\nChoice: ",
)


@pytest.fixture(scope="module")
def shared() -> str:
    return shared_prompt(Scene.load(ROOT / "scenes" / "village_rules.toml"), "number")


def request(agent: int, tick: int, shared: str) -> Request:
    """Agent `agent`'s decision at step `tick`: its head, then the turns so far (the page grows at its end)."""
    blocks = (("who", f"Person: {WHO[agent]}\n"), ("plan", "Plan: find food, then eat\n"))
    blocks += tuple(("turn", t) for t in TURNS[: tick + 1])
    return Request(
        agent,
        tick,
        "decide",
        shared,
        "".join(t for _, t in blocks),
        OPTIONS,
        [o.startswith("talk") for o in OPTIONS],
        calibration="Person: N/A\nNeeds: N/A\nHas: N/A\nAt: N/A\nChoice: ",
        blocks=blocks,
        keys=tuple(action_keys(OPTIONS)),
    )


def backend(mb: float) -> tuple[LlamaCppBackend, list[np.ndarray]]:
    """A score-mode backend with `mb` of agent cache, and the list its prefill's last logits are copied to."""
    b = LlamaCppBackend(mode="score", batch_size=4, n_threads=2, agent_cache_mb=mb)
    seen: list[np.ndarray] = []
    prefill = b._prefill

    def recording(todo):
        out = prefill(todo)
        seen.extend(x.copy() for x in out)
        return out

    b._prefill = recording
    return b, seen


def run(b: LlamaCppBackend, shared: str, agents=(0, 1, 2), ticks=None) -> list:
    """Every agent's decisions tick after tick (a batch per tick); the answers in order. The cache never holds
    more than its budget."""
    out = []
    for t in range(len(TURNS)) if ticks is None else ticks:
        out += b.decide([request(a, t, shared) for a in agents])
        assert b.agent_cache.nbytes <= b.agent_cache.budget
    assert b.agent_cache.peak_bytes <= b.agent_cache.budget
    return out


def same(x: list, y: list) -> None:
    assert [(a.agent, a.tick, a.choice, a.raw, a.say) for a in x] == [
        (a.agent, a.tick, a.choice, a.raw, a.say) for a in y
    ]


MB = 2**20


@pytest.fixture(scope="module")
def backends():
    """Two backends (each with the list of its prefill's logits); the tests give them the agent cache they need."""
    made = [backend(0), backend(64)]
    yield made
    for b, _ in made:
        b.close()


@pytest.fixture(scope="module")
def plain(backends, shared):
    """The answers and logits of a backend that evaluates every request in full."""
    b, seen = backends[0]
    answers = run(b, shared)
    assert len(b.agent_cache) == 0 and all(a.prefill_blocks.get("who", 0) > 0 for a in answers)
    return answers, list(seen)


def test_kept_blocks_answer_as_a_full_evaluation_with_fewer_tokens(backends, shared, plain):
    """Growing pages answered with the cache on equal the full evaluation's answers and logits bit for bit,
    and evaluate only each page's newest turn once the agent has an entry."""
    b, seen = backends[1]
    b.agent_cache = AgentCache(64 * MB)
    start = len(seen)
    answers = run(b, shared)
    same(answers, plain[0])
    assert len(seen) - start == len(plain[1])
    for x, y in zip(seen[start:], plain[1], strict=True):
        assert np.array_equal(x, y)
    assert sum(a.tokens_in for a in answers) < sum(a.tokens_in for a in plain[0])
    for a in answers[3:]:  # after the first tick: only the newest turn is evaluated
        assert set(a.prefill_blocks) == {"turn"} and a.prefill_blocks["turn"] == b.count_tokens(TURNS[a.tick])
    for a, p in zip(answers, plain[0], strict=True):  # what is not evaluated is saved
        assert a.tokens_in + a.prefill_saved == p.tokens_in + p.prefill_saved
    stats = b.agent_cache.stats()
    assert stats["agents"] == 3 and stats["hits"] == 9 and stats["evicted"] == 0


def test_evicted_agents_are_rebuilt_and_answer_the_same(backends, shared, plain):
    """A budget too small for every agent drops the least recently used: they are rebuilt from their text, with
    the same answers and logits, and memory stays within the budget."""
    b, seen = backends[1]
    b.agent_cache = AgentCache(64 * MB)
    run(b, shared, ticks=range(1))
    one = max(e.nbytes for e in b.agent_cache._entries.values())
    b.agent_cache = AgentCache(int(1.5 * one))  # room for one agent's first page, not two
    start = len(seen)
    answers = run(b, shared)
    same(answers, plain[0])
    for x, y in zip(seen[start:], plain[1], strict=True):
        assert np.array_equal(x, y)
    stats = b.agent_cache.stats()
    assert stats["evicted"] >= 3 and stats["misses"] > 3  # agents dropped for the budget were rebuilt
    assert all(a.prefill_blocks["who"] > 0 for a in answers[:5])  # round robin: each dropped before its turn
    b.agent_cache = AgentCache(int(1.5 * one))  # one agent alone fits (while its page is short): it reuses
    answers = run(b, shared, agents=(0,), ticks=range(2))
    assert answers[1].prefill_blocks == {"turn": b.count_tokens(TURNS[1])}


def test_a_changed_shared_part_is_not_reused(backends, shared, plain):
    """After the shared part changes (a live edit), an agent's entry is outdated: its next request is evaluated in
    full and answers as a fresh backend's (one that never saw the old part); the entry built then is reused by
    the request after."""
    edited = shared + "The well is dry this season.\n\n"
    (fresh, fresh_seen), (b, seen) = backends
    b.agent_cache = AgentCache(64 * MB)
    fresh.agent_cache = AgentCache(64 * MB)
    run(b, shared, agents=(0,), ticks=range(2))
    misses = b.agent_cache.misses
    req = request(0, 2, edited)
    (a,) = b.decide([req])
    assert b.agent_cache.misses == misses + 1
    prefix = len(b.tokenize(edited, bos=True))
    assert a.tokens_in + a.prefill_saved == prefix + sum(b.count_tokens(t) for _, t in req.parts)
    assert a.prefill_saved in (0, prefix)  # the prefix at most: no block kept
    assert sum(a.prefill_blocks.values()) == sum(b.count_tokens(t) for _, t in req.parts)
    (f,) = fresh.decide([req])
    assert a.prefill_blocks == f.prefill_blocks
    same([a], [f])
    assert np.array_equal(seen[-1], fresh_seen[-1])
    (a2,) = b.decide([request(0, 3, edited)])
    (f2,) = fresh.decide([request(0, 3, edited)])
    same([a2], [f2])
    assert np.array_equal(seen[-1], fresh_seen[-1])
    assert a2.prefill_blocks == {"turn": b.count_tokens(TURNS[3])} == f2.prefill_blocks
