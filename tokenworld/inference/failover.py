"""Retries over several replicas of one backend, behind the same `Backend` protocol.

    backend = Failover([OpenAIServer(url, ...) for url in urls], retries=2, max_concurrency=8)

Each request goes, on its own, to the next healthy replica (round-robin), up to
`max_concurrency` in flight. A replica that raises `Unavailable` (refused, timed
out, HTTP 5xx) is left alone for a backoff that doubles from 0.5 s to 30 s and is
tried again when it expires, so a server that comes back is used again; the
request is tried again at once on another healthy replica, or, with none, after
a short wait for one to come back (at most `RETRY_WAIT_MAX_S`), `retries` times
at most. A busy replica (HTTP 429) is not left alone; the retry waits a little
instead. When every replica is down, requests get failed answers at once (the
simulation then uses the rules brain for those agents) instead of waiting.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tokenworld.inference.base import Backend, BackendError, Unavailable
from tokenworld.mind.protocol import Answer, Request, failed

BACKOFF_MIN_S = 0.5  # a replica's first time out after a failure
BACKOFF_MAX_S = 30.0  # the longest it is left alone
RETRY_WAIT_MAX_S = 2.0  # a retry waits at most this long for a replica to come back, else the request fails


@dataclass(eq=False)
class Replica:
    """One backend of the pool with its health."""

    backend: Backend
    down_until: float = 0.0  # time.monotonic() before which it is left alone
    backoff_s: float = 0.0  # the current backoff; 0 while healthy
    last_error: str = ""


class Pool:
    """The replicas with their health: round-robin over the healthy ones, exponential backoff for the others."""

    def __init__(self, backends: list[Backend]):
        self.all = [Replica(b) for b in backends]
        self._lock = threading.Lock()
        self._next = 0

    def pick(self, avoid: Replica | None = None) -> Replica | None:
        """The next healthy replica (another than `avoid` when there is one), or None when all are down."""
        with self._lock:
            now = time.monotonic()
            n = len(self.all)
            fallback = None
            for k in range(n):
                i = (self._next + k) % n
                rep = self.all[i]
                if rep.down_until > now:
                    continue
                if rep is avoid and n > 1:
                    fallback = fallback or (i, rep)
                    continue
                self._next = i + 1
                return rep
            if fallback is not None:
                self._next = fallback[0] + 1
                return fallback[1]
            return None

    def mark_down(self, rep: Replica, error: str) -> None:
        """Leave `rep` alone for a while; the backoff doubles each time it fails again after its pause."""
        with self._lock:
            now = time.monotonic()
            rep.last_error = error
            if rep.down_until > now:  # already down (a concurrent request failed first)
                return
            rep.backoff_s = min(BACKOFF_MAX_S, rep.backoff_s * 2 if rep.backoff_s else BACKOFF_MIN_S)
            rep.down_until = now + rep.backoff_s

    def mark_up(self, rep: Replica) -> None:
        with self._lock:
            rep.backoff_s = 0.0
            rep.down_until = 0.0

    def other_healthy(self, rep: Replica) -> bool:
        """Whether a replica other than `rep` may be tried now."""
        with self._lock:
            now = time.monotonic()
            return any(o is not rep and o.down_until <= now for o in self.all)

    def wait_s(self) -> float:
        """Seconds until some replica may be tried (0 when one is healthy)."""
        with self._lock:
            now = time.monotonic()
            return max(0.0, min(rep.down_until - now for rep in self.all))

    def describe_down(self, what: str = "endpoint") -> str:
        with self._lock:
            now = time.monotonic()
            wait = max(0.0, min(rep.down_until - now for rep in self.all))
            last = max(self.all, key=lambda rep: rep.down_until).last_error
        which = f"the {what} is" if len(self.all) == 1 else f"all {len(self.all)} {what}s are"
        return f"{which} down (next try in {wait:.1f} s); last error: {last}"


class Failover:
    """A `Backend` made of replicas of one backend (the same model and settings), with retries and routing.

    Args:
        replicas: the backends, for example one `OpenAIServer` per endpoint; they share `name`, `answer_style`
            and `settings` (the response cache cannot tell their answers apart).
        retries: further attempts per request after an `Unavailable` (on another replica when one is healthy).
        max_concurrency: requests in flight at once, over all replicas.
        what: what a replica is called in messages ("endpoint").
    """

    def __init__(self, replicas: list[Backend], *, retries: int = 2, max_concurrency: int = 8, what: str = "replica"):
        if not replicas:
            raise BackendError("Failover needs at least one backend to send requests to.")
        for pname, value, low in (("max_concurrency", max_concurrency, 1), ("retries", retries, 0)):
            if not isinstance(value, int) or value < low:
                raise BackendError(f"{pname}={value!r} must be an integer of at least {low}.")
        first = replicas[0]
        for other in replicas[1:]:
            if (other.name, other.answer_style, other.settings) != (first.name, first.answer_style, first.settings):
                raise BackendError(
                    f"replicas must serve the same model with the same settings: {first.settings!r} "
                    f"and {other.settings!r} differ; give each its own run."
                )
        self.replicas = list(replicas)
        self.name, self.answer_style = first.name, first.answer_style
        self.retries, self.max_concurrency, self.what = retries, max_concurrency, what
        self.pool = Pool(self.replicas)
        self._executor = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix=f"tw-{self.name}")
        self._closed = False

    @property
    def settings(self) -> str:
        return self.replicas[0].settings

    def count_tokens(self, text: str) -> int:
        return self.replicas[0].count_tokens(text)

    def prepare(self, shared: str, calibrations: list[tuple[str, int]]) -> None:
        """Every replica prepares (see `Backend.prepare`)."""
        for backend in self.replicas:
            backend.prepare(shared, calibrations)

    def decide(self, batch: list[Request]) -> list[Answer]:
        """One answer per request, in order; requests no replica could serve get failed answers."""
        if self._closed:
            raise BackendError(f"this {type(self).__name__} is closed; make a new one.")
        return list(self._executor.map(self._serve, batch))

    def close(self) -> None:
        """Stop the request threads (waits for requests in flight), then close every replica."""
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        for backend in self.replicas:
            backend.close()

    def _serve(self, request: Request) -> Answer:
        """`request` answered by a healthy replica, retried per `retries` (see the module docstring)."""
        t0 = time.perf_counter()
        last: Replica | None = None
        error = ""
        for attempt in range(self.retries + 1):
            rep = self.pool.pick(avoid=last)
            if rep is None:
                error = self.pool.describe_down(self.what)
                break
            try:
                (answer,) = rep.backend.decide([request])
            except Unavailable as e:
                error, busy = str(e), e.busy
                if not busy:
                    self.pool.mark_down(rep, error)
            else:
                self.pool.mark_up(rep)
                return answer
            last = rep
            if attempt == self.retries:
                break
            # before the next try: none if another replica is healthy; else a little when busy, or until the
            # failed replica's backoff expires if that is soon (if not, give up now rather than hang)
            if self.pool.other_healthy(rep):
                continue
            wait = min(RETRY_WAIT_MAX_S, BACKOFF_MIN_S * 2**attempt) if busy else self.pool.wait_s()
            if wait > RETRY_WAIT_MAX_S:
                break
            time.sleep(wait)
        return failed(request, error, (time.perf_counter() - t0) * 1000.0)
