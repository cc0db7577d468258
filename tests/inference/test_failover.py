"""Failover: retries over replicas of a backend, behind the same protocol, and the shared answer helper and books."""

from __future__ import annotations

import time

import pytest

from tokenworld.inference.answers import UNPARSEABLE, is_unparseable, parsed
from tokenworld.inference.base import Backend, BackendError, Unavailable
from tokenworld.inference.failover import Failover
from tokenworld.inference.rules import RulesBackend
from tokenworld.inference.stats import InferenceStats
from tokenworld.mind.protocol import Request

OPTIONS = ["eat", "rest", "talk Ben"]
TALK = [False, False, True]


def request(agent: int) -> Request:
    return Request(agent, 1, "decide", "Shared\n", f"Agent {agent}\nChoice:", list(OPTIONS), list(TALK))


class Flaky(RulesBackend):
    """The rules backend, unavailable for its first `down` batches (as a server that is restarting)."""

    def __init__(self, down: int, *, busy: bool = False):
        self.down, self.busy, self.calls = down, busy, 0

    def decide(self, batch):
        self.calls += 1
        if self.calls <= self.down:
            raise Unavailable(f"replica down ({self.calls})", busy=self.busy)
        return super().decide(batch)


def test_a_failing_replica_is_left_alone_and_its_requests_go_to_another():
    """Requests the first replica cannot serve are answered by the second; the first then rests for its backoff."""
    first, second = Flaky(down=100), Flaky(down=0)
    backend = Failover([first, second], retries=1, max_concurrency=1)
    try:
        assert isinstance(backend, Backend) and backend.name == "rules" and backend.settings == "rules"
        answers = backend.decide([request(a) for a in range(4)])
        assert all(a.ok for a in answers)
        assert first.calls == 1 and second.calls == 4  # down after one failure: not asked again meanwhile
    finally:
        backend.close()


def test_when_every_replica_is_down_requests_fail_at_once_with_the_reason():
    """No healthy replica: failed answers saying so (the agents fall back), without waiting out the backoff."""
    backend = Failover([Flaky(down=100)], retries=0, what="endpoint")
    try:
        (a,) = backend.decide([request(0)])
        assert not a.ok and a.error == "replica down (1)"
        t0 = time.monotonic()
        (b,) = backend.decide([request(1)])
        assert time.monotonic() - t0 < 0.2
        assert not b.ok and "the endpoint is down" in b.error and "replica down (1)" in b.error
    finally:
        backend.close()


def test_a_retry_waits_for_a_busy_or_recovering_replica():
    """One replica, unavailable once: the retry after a short wait gets the answer."""
    for busy in (False, True):
        backend = Failover([Flaky(down=1, busy=busy)], retries=1)
        try:
            (a,) = backend.decide([request(0)])
            assert a.ok, a.error
        finally:
            backend.close()


def test_replicas_must_agree_and_a_closed_failover_refuses():
    """Replicas of different settings are refused; a closed wrapper raises, naming itself."""

    class Other(RulesBackend):
        settings = "other"

    with pytest.raises(BackendError, match="same settings"):
        Failover([RulesBackend(), Other()])
    backend = Failover([RulesBackend()])
    backend.close()
    with pytest.raises(BackendError, match="Failover is closed"):
        backend.decide([request(0)])


def test_parsed_answers_and_parse_failures_are_counted_the_same_way():
    """The one helper: a valid text is an answer, an invalid one a failed answer the books count as a parse failure."""
    ok = parsed(request(0), "talk Ben: Hello!", tokens_out=5)
    assert ok.ok and ok.choice == 2 and ok.say == "Hello!" and ok.tokens_out == 5
    bad = parsed(request(1), "fly away", note=" (before repair: x)", tokens_in=3, latency_ms=2.0, valid_first=False)
    assert not bad.ok and bad.error.startswith(UNPARSEABLE) and bad.error.endswith("(before repair: x)")
    assert bad.raw == "fly away" and bad.tokens_in == 3 and bad.latency_ms == 2.0 and not bad.valid_first
    assert is_unparseable(bad) and not is_unparseable(ok)
    books = InferenceStats()
    books.count([ok, bad])
    snap = books.snapshot(backend="x", queue_depth=0)
    assert (snap["requests"], snap["decisions"], snap["fallbacks"], snap["parse_failures"]) == (2, 1, 1, 1)
    assert snap["last_error"] == bad.error and snap["tokens_in"] == 3 and snap["tokens_out"] == 5
