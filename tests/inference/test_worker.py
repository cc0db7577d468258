"""The inference worker thread, driving real backends: ticket order, superseding, the cache, priorities, failures."""

from __future__ import annotations

import io
import socket
import time

import numpy as np
import pytest

from tokenworld.inference.openai_http import OpenAIBackend
from tokenworld.inference.rules import RulesBackend
from tokenworld.inference.worker import InferenceWorker
from tokenworld.mind.protocol import Request

SHARED = "Token World: a village.\n"
OPTIONS = ["eat", "rest", "talk Ben", "move_to farm"]
TALK = [False, False, True, False]
STATS = {
    "backend",
    "queue_depth",
    "requests",
    "decisions",
    "reflections",
    "guesses",
    "fallbacks",
    "parse_failures",
    "last_error",
    "cache_hits",
    "backend_errors",
    "superseded",
    "valid_first_share",
    "tokens_in",
    "tokens_out",
    "prefill_saved",
    "decisions_per_s",
    "latency_p50_ms",
    "latency_p95_ms",
    "mean_batch",
}


def request(agent: int, *, best: int = 0, tick: int = 1, priority: int = 2, personal: str | None = None) -> Request:
    """A decide request whose rules prior prefers option `best`; the personal part differs per agent unless given."""
    prior = np.zeros(len(OPTIONS), np.float32)
    prior[best] = 1.0
    personal = f"Person: agent {agent}\nChoice:" if personal is None else personal
    return Request(agent, tick, "decide", SHARED, personal, list(OPTIONS), list(TALK), prior, priority=priority)


def free_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def worker():
    """A running worker over the real rules backend, closed after the test."""
    w = InferenceWorker(RulesBackend(), batch_size=4, max_wait_ms=5).start()
    yield w
    w.close()


def test_wait_returns_the_answers_in_ticket_order(worker):
    """Answers come back in the order of the tickets asked for, whatever the priorities, each for its request."""
    reqs = [request(a, best=a % len(OPTIONS), priority=(3 - a) % 3) for a in range(10)]
    tickets = worker.submit(reqs)
    assert tickets == sorted(tickets) and len(set(tickets)) == len(tickets)
    answers = worker.wait(list(reversed(tickets)), timeout=10)
    for req, ans in zip(reversed(reqs), answers, strict=True):
        assert ans.ok and ans.agent == req.agent and ans.tick == req.tick and ans.kind == "decide"
        assert ans.choice == req.agent % len(OPTIONS)  # the rules backend picks the best prior
        assert (ans.say != "") == TALK[ans.choice]
        assert ans.raw.startswith(OPTIONS[ans.choice])
    assert worker.wait(tickets[:1], timeout=0.05)[0].error == "timed out"  # an answer is handed out once


def test_take_returns_ticket_answer_pairs_oldest_first(worker):
    """`take` hands out every ready answer once, with its ticket, oldest first."""
    tickets = worker.submit([request(a) for a in range(6)], flush=True)
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 6 and time.monotonic() < deadline:
        got += worker.take()
        time.sleep(0.005)
    assert [t for t, _ in got] == tickets
    assert [a.agent for _, a in got] == list(range(6))
    assert worker.take() == []


def test_a_newer_request_supersedes_a_queued_one():
    """A second request for an agent replaces the queued first; the first ticket is answered as superseded."""
    w = InferenceWorker(RulesBackend(), batch_size=8, max_wait_ms=5)
    try:
        old = w.submit([request(3, best=0, tick=1), request(4, best=1, tick=1)])
        new = w.submit([request(3, best=1, tick=2)])
        assert w.queue_depth == 2
        w.start()
        a_old, a_other, a_new = w.wait(old + new, timeout=10)
        assert not a_old.ok and a_old.error == "superseded by a newer request" and a_old.tick == 1
        assert a_other.ok and a_other.agent == 4
        assert a_new.ok and a_new.agent == 3 and a_new.tick == 2 and a_new.choice == 1
        stats = w.stats()
        assert stats["superseded"] == 1
        assert stats["requests"] == 2  # the superseded request never reached the backend
    finally:
        w.close()


def test_the_same_prompt_and_options_are_answered_from_the_cache(worker):
    """The second identical request (even for another agent) is a cache hit: no tokens, no latency, same choice."""
    first = worker.wait(worker.submit([request(1, best=2, personal="Person: X\nChoice:")]), timeout=10)[0]
    second = worker.wait(worker.submit([request(7, best=2, tick=9, personal="Person: X\nChoice:")]), timeout=10)[0]
    assert first.ok and not first.cached
    assert second.ok and second.cached
    assert second.choice == first.choice == 2
    assert (second.agent, second.tick) == (7, 9)
    assert second.tokens_in == second.tokens_out == 0 and second.latency_ms == 0.0
    stats = worker.stats()
    assert stats["cache_hits"] == 1 and stats["requests"] == 2
    third = worker.wait(worker.submit([request(7, best=2, personal="Person: Y\nChoice:")]), timeout=10)[0]
    assert not third.cached  # another prompt is another key


def test_other_options_or_settings_miss_the_cache():
    """The cache key holds the options and the talk flags, and a worker with cache_size=0 never hits."""
    w = InferenceWorker(RulesBackend(), batch_size=1, max_wait_ms=1).start()
    try:
        base = request(1, personal="P\nChoice:")
        other = request(2, personal="P\nChoice:")
        other.options = ["eat", "rest", "talk Ben", "move_to forest"]
        silent = request(3, personal="P\nChoice:")
        silent.talk = [False] * len(OPTIONS)
        answers = w.wait(w.submit([base, other, silent]), timeout=10)
        assert [a.cached for a in answers] == [False, False, False]
    finally:
        w.close()
    w = InferenceWorker(RulesBackend(), batch_size=1, max_wait_ms=1, cache_size=0).start()
    try:
        answers = w.wait(w.submit([request(1, personal="P\nChoice:"), request(2, personal="P\nChoice:")]), timeout=10)
        assert [a.cached for a in answers] == [False, False]
        assert w.stats()["cache_hits"] == 0
    finally:
        w.close()


def test_the_cache_forgets_the_least_recently_used_answer():
    """With room for one answer, a third request repeating the first misses again after a second in between."""
    w = InferenceWorker(RulesBackend(), batch_size=1, max_wait_ms=1, cache_size=1).start()
    try:
        a, b = request(1, personal="A\nChoice:"), request(2, personal="B\nChoice:")
        again_b, again_a = request(3, personal="B\nChoice:"), request(4, personal="A\nChoice:")
        answers = [w.wait(w.submit([r]), timeout=10)[0] for r in (a, b, again_b, again_a)]
        assert [x.cached for x in answers] == [False, False, True, False]
    finally:
        w.close()


def test_the_cache_goes_through_a_checkpoint_whole_and_in_order():
    """A new worker given `cache_state()` (saved as the run store saves it) answers from the cache where the first
    would, with the same answers, and forgets the same least recently used one."""
    first = InferenceWorker(RulesBackend(), batch_size=1, max_wait_ms=1, cache_size=2).start()
    try:
        a = first.wait(first.submit([request(1, best=1, personal="A\nChoice:")]), timeout=10)[0]
        first.wait(first.submit([request(2, best=3, personal="B\nChoice:")]), timeout=10)
        assert first.wait(first.submit([request(3, personal="A\nChoice:")]), timeout=10)[0].cached  # A: most recent
        buf = io.BytesIO()
        np.savez_compressed(buf, **first.cache_state())
    finally:
        first.close()
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        state = {k: npz[k] for k in npz.files}
    second = InferenceWorker(RulesBackend(), batch_size=1, max_wait_ms=1, cache_size=2)
    second.restore_cache(state)
    second.start()
    try:
        asked = [request(agent, personal=f"{name}\nChoice:") for agent, name in ((4, "C"), (5, "A"), (6, "B"))]
        again = [second.wait(second.submit([r]), timeout=10)[0] for r in asked]
        assert [x.cached for x in again] == [False, True, False]  # C pushed out B, the least recently used
        assert (again[1].choice, again[1].raw, again[1].agent) == (a.choice, a.raw, 5)
        assert again[1].tokens_in == again[1].tokens_out == 0
    finally:
        second.close()
    empty = InferenceWorker(RulesBackend())
    empty.restore_cache({})  # a checkpoint without a cache
    assert empty.cache_state()["cache_key"].shape == (0,)


def test_urgent_requests_are_served_first():
    """With one request a batch, an urgent request submitted last is served before older routine ones.

    All requests share one prompt, so whichever is served first is the only cache miss.
    """
    w = InferenceWorker(RulesBackend(), batch_size=1, max_wait_ms=1)
    try:
        routine = w.submit([request(a, priority=2, personal="Same\nChoice:") for a in range(5)])
        urgent = w.submit([request(9, priority=0, personal="Same\nChoice:")])
        w.start()
        answers = w.wait(routine + urgent, timeout=10)
        assert all(a.ok for a in answers)
        assert [a.cached for a in answers] == [True] * 5 + [False]
        assert w.stats()["mean_batch"] == 1.0
    finally:
        w.close()


def test_equal_priorities_are_served_oldest_first():
    """Among requests of one priority, the oldest is served first (the only cache miss of a shared prompt)."""
    w = InferenceWorker(RulesBackend(), batch_size=1, max_wait_ms=1)
    try:
        tickets = w.submit([request(a, priority=1, personal="Same\nChoice:") for a in (5, 2, 8)])
        w.start()
        assert [a.cached for a in w.wait(tickets, timeout=10)] == [False, True, True]
    finally:
        w.close()


def test_stats_are_complete_and_consistent(worker):
    """Every counter is there; requests = decisions + fallbacks; tokens and latency add up; the queue drains."""
    stats = worker.stats()
    assert set(stats) == STATS
    assert stats["requests"] == stats["decisions"] == 0 and stats["mean_batch"] == 0.0
    empty = request(20)
    empty.options, empty.talk, empty.prior = [], [], np.zeros(0, np.float32)
    reqs = [request(a, best=a % 4) for a in range(12)] + [empty, request(21, best=3, personal="again\nChoice:")]
    answers = worker.wait(worker.submit(reqs), timeout=10)
    assert answers[12].error == "no options" and not answers[12].ok
    stats = worker.stats()
    assert stats["backend"] == "rules"
    assert stats["queue_depth"] == 0
    assert stats["requests"] == 14
    assert stats["decisions"] == 13 and stats["fallbacks"] == 1
    assert stats["requests"] == stats["decisions"] + stats["reflections"] + stats["guesses"] + stats["fallbacks"]
    assert stats["last_error"] == "no options"
    assert stats["backend_errors"] == 0 and stats["superseded"] == 0 and stats["cache_hits"] == 0
    assert stats["valid_first_share"] == pytest.approx(13 / 14)
    assert stats["tokens_in"] == sum(a.tokens_in for a in answers)
    assert stats["tokens_out"] == sum(a.tokens_out for a in answers)
    assert 0.0 <= stats["latency_p50_ms"] <= stats["latency_p95_ms"]
    assert stats["decisions_per_s"] >= 0.0
    batches = sum(worker.batch_sizes.values())
    assert stats["mean_batch"] == pytest.approx(14 / batches)
    assert max(worker.batch_sizes) <= worker.batch_size


def test_close_stops_the_thread():
    """`close` ends the worker thread; requests submitted afterwards are never served (wait times out)."""
    w = InferenceWorker(RulesBackend(), batch_size=2, max_wait_ms=1).start()
    thread = w._thread
    assert thread.is_alive()
    assert w.wait(w.submit([request(1)]), timeout=10)[0].ok
    w.close()
    assert not thread.is_alive()
    late = w.wait(w.submit([request(2)]), timeout=0.2)[0]
    assert not late.ok and late.error == "timed out"


def test_close_before_start_is_harmless():
    """A worker that never started closes cleanly."""
    w = InferenceWorker(RulesBackend())
    w.close()
    assert w._thread is None


def test_a_server_that_is_down_gives_failed_answers_and_the_worker_goes_on():
    """Against a port where nothing listens, answers fail with the reason, count as fallbacks, and the worker lives."""
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend([url], "gemma-3-270m", structured="none", timeout_s=0.5, retries=0, max_concurrency=2)
    w = InferenceWorker(backend, batch_size=4, max_wait_ms=1).start()
    try:
        t0 = time.monotonic()
        answers = w.wait(w.submit([request(a) for a in range(3)]), timeout=30)
        assert time.monotonic() - t0 < 10
        for a in answers:
            assert not a.ok and a.choice == -1 and not a.cached
            assert "127.0.0.1" in a.error and ("cannot reach" in a.error or "down" in a.error), a.error
        again = w.wait(w.submit([request(0)]), timeout=30)[0]  # the same prompt: failures are not cached
        assert not again.ok and not again.cached and again.error
        assert w._thread.is_alive()
        stats = w.stats()
        assert stats["backend"] == "openai"
        assert stats["requests"] == stats["fallbacks"] == 4 and stats["decisions"] == 0
        assert stats["cache_hits"] == 0 and stats["valid_first_share"] == 0.0
        assert stats["backend_errors"] == 0  # the backend answered (with failures); it did not raise
    finally:
        w.close()


def test_a_backend_that_raises_fails_its_batch_and_the_worker_goes_on():
    """A closed OpenAIBackend raises on every batch: the worker fails those requests, counts it, and keeps serving."""
    backend = OpenAIBackend([f"http://127.0.0.1:{free_port()}/v1"], "m", structured="none", timeout_s=0.5, retries=0)
    backend.close()
    w = InferenceWorker(backend, batch_size=2, max_wait_ms=1).start()
    try:
        answers = w.wait(w.submit([request(a) for a in range(3)]), timeout=10)
        for a in answers:
            assert not a.ok
            assert a.error.startswith("BackendError: ") and "closed" in a.error, a.error
        assert w._thread.is_alive()
        stats = w.stats()
        assert stats["backend_errors"] == sum(w.batch_sizes.values()) >= 2  # every batch (of at most 2) failed
        assert stats["fallbacks"] == stats["requests"] == 3
        later = w.wait(w.submit([request(9)]), timeout=10)[0]
        assert not later.ok and "closed" in later.error
    finally:
        w.close()


def test_a_batch_holds_one_shared_prefix_after_the_other():
    """The worker groups a batch's requests by their cache key's shared-prefix version (first seen first, the
    queue's order kept within each), and answers each in the order asked."""
    from tokenworld.inference.rules import RulesBackend

    seen = []

    class Seeing(RulesBackend):
        def decide(self, batch):
            seen.append([r.shared for r in batch])
            return super().decide(batch)

    worker = InferenceWorker(Seeing(), batch_size=8, max_wait_ms=0, cache_size=0)
    reqs = [
        Request(a, 0, "decide", "AB"[a % 2], f"page {a}", ["rest", "eat"], [False, False], np.array([0.0, float(a)]))
        for a in range(6)
    ]
    tickets = worker.submit(reqs, flush=True)  # queued before the thread starts: one batch
    worker.start()
    try:
        answers = worker.wait(tickets, timeout=10)
    finally:
        worker.close()
    assert seen == [["A", "A", "A", "B", "B", "B"]]
    assert [a.agent for a in answers] == list(range(6))
