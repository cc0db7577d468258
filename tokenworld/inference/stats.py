"""The inference books: one object, kept the same way whatever the backend, read as one dict of fixed keys.

The worker counts every batch of answers here (tokens in and out, prefill saved,
latency, cache hits, fallbacks, parse failures, errors); `InferenceStats.snapshot`
is what `InferenceWorker.stats()` returns and `Simulation.mind_stats()` extends, and
its keys are read by the manifest, the panels, the live view and the analysis.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

import numpy as np

from tokenworld.inference.answers import is_unparseable
from tokenworld.mind.protocol import Answer

WINDOW_S = 10.0  # decisions/s are counted over this sliding window
LATENCIES = 2000  # latencies kept for the percentiles


class InferenceStats:
    """Counters since the start, and decisions/s and latency over a recent window (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.totals: Counter[str] = Counter()
        self.batch_sizes: Counter[int] = Counter()
        self._times: deque[tuple[float, int]] = deque()  # (time, decisions) per batch, within WINDOW_S
        self._latency: deque[float] = deque(maxlen=LATENCIES)
        self.last_error = ""  # why the latest failed request failed (shown to users beside the fallbacks)

    def add(self, name: str, n: int = 1) -> None:
        """Count `n` more of `name` (such as 'superseded' or 'backend_errors')."""
        with self._lock:
            self.totals[name] += n

    def count(self, answers: list[Answer]) -> None:
        """Count one batch of answers (cached ones included)."""
        ok = [a for a in answers if a.ok]
        decided = sum(a.kind == "decide" for a in ok)
        errors = [a.error for a in answers if not a.ok and a.error]
        with self._lock:
            t = self.totals
            t["requests"] += len(answers)
            t["decisions"] += decided
            t["reflections"] += sum(a.kind == "reflect" for a in ok)
            t["guesses"] += sum(a.kind == "guess" for a in ok)  # guess-the-average answers
            t["fallbacks"] += len(answers) - len(ok)
            t["parse_failures"] += sum(is_unparseable(a) for a in answers)
            t["cache_hits"] += sum(a.cached for a in answers)
            t["valid_first"] += sum(a.ok and a.valid_first for a in answers)
            t["tokens_in"] += sum(a.tokens_in for a in answers)
            t["tokens_out"] += sum(a.tokens_out for a in answers)
            t["prefill_saved"] += sum(a.prefill_saved for a in answers)
            t["batches"] += 1
            if errors:
                self.last_error = errors[-1]
            self.batch_sizes[len(answers)] += 1
            self._latency.extend(a.latency_ms for a in answers if not a.cached)
            now = time.monotonic()
            self._times.append((now, decided))
            while self._times and self._times[0][0] < now - WINDOW_S:
                self._times.popleft()

    def snapshot(self, *, backend: str, queue_depth: int) -> dict:
        """The books as the dict every reader knows (see the module docstring)."""
        with self._lock:
            lat = np.array(self._latency, np.float64)
            times = list(self._times)
            t = dict(self.totals)
            sizes = dict(self.batch_sizes)
            last_error = self.last_error
        span = (times[-1][0] - times[0][0]) if len(times) > 1 else 0.0
        recent = sum(n for _, n in times[1:]) if len(times) > 1 else 0
        requests = max(t.get("requests", 0), 1)
        return {
            "backend": backend,
            "queue_depth": queue_depth,
            "requests": t.get("requests", 0),
            "decisions": t.get("decisions", 0),
            "reflections": t.get("reflections", 0),
            "guesses": t.get("guesses", 0),
            "fallbacks": t.get("fallbacks", 0),
            "parse_failures": t.get("parse_failures", 0),
            "last_error": last_error,
            "cache_hits": t.get("cache_hits", 0),
            "backend_errors": t.get("backend_errors", 0),
            "superseded": t.get("superseded", 0),
            "valid_first_share": t.get("valid_first", 0) / requests,
            "tokens_in": t.get("tokens_in", 0),
            "tokens_out": t.get("tokens_out", 0),
            "prefill_saved": t.get("prefill_saved", 0),
            "decisions_per_s": recent / span if span > 0 else 0.0,
            "latency_p50_ms": float(np.percentile(lat, 50)) if len(lat) else 0.0,
            "latency_p95_ms": float(np.percentile(lat, 95)) if len(lat) else 0.0,
            "mean_batch": sum(k * v for k, v in sizes.items()) / max(sum(sizes.values()), 1),
        }
