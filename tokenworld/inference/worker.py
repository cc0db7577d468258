"""The inference worker: a background thread that owns a backend and batches requests for it.

The simulation (or the viewer) submits requests and goes on; the worker takes
them from a priority queue (most urgent first, then oldest), forms a batch of
up to `batch_size` (or whatever has come after `max_wait_ms`), answers what it
can from its response cache, sends the rest to the backend, and leaves the
answers for the next tick boundary. A newer request for an agent replaces one
still queued for it. A backend that raises fails its batch (each agent then
falls back to the rules brain) and the worker goes on with the next batch.

    worker = InferenceWorker(backend, batch_size=16).start()
    worker.submit(requests)
    answers = worker.take()                       # realtime: (ticket, answer) for whatever is ready
    answers = worker.wait(tickets, timeout=60)    # lockstep: exactly those
    worker.stats()                                # decisions/s, tokens, latency, cache, fallbacks
"""

from __future__ import annotations

import dataclasses
import heapq
import os
import threading
import time
from collections import Counter, OrderedDict

import numpy as np

from tokenworld.inference.stats import InferenceStats
from tokenworld.mind.protocol import Answer, Request, failed

_DTYPES = {"int": np.int64, "float": np.float64, "str": str, "bool": bool}  # Answer field types, as arrays


class InferenceWorker:
    """Args:
    backend: any `Backend`.
    batch_size: most requests sent to the backend at once.
    max_wait_ms: how long to wait for a batch to fill once something is queued.
    cache_size: answers kept (LRU) by request key; 0 turns the cache off.
    """

    def __init__(self, backend, *, batch_size: int = 16, max_wait_ms: float = 20.0, cache_size: int = 4096):
        self.backend = backend
        self.batch_size = batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.cache_size = cache_size
        self.settings = backend.settings
        self._cache: OrderedDict[str, Answer] = OrderedDict()
        self._heap: list[tuple[int, int, int]] = []  # (priority, seq, agent)
        self._queued: dict[int, Request] = {}  # agent -> its newest queued request
        self._done: dict[int, Answer] = {}  # seq -> answer, until taken
        self._cv = threading.Condition()
        self._seq = 0
        self._stop = False
        self._thread: threading.Thread | None = None
        self._warmup: tuple[str, list] | None = None  # (shared prompt, calibration pages) the thread prepares first
        self.ready = False  # the warm-up is done (at once without one): answers come at the backend's pace now
        self._flush = False
        self._busy = False
        self.books = InferenceStats()  # tokens, latency, cache hits, fallbacks, errors: see `stats()`

    # ------------------------------------------------------------ life

    def start(self, warmup: tuple[str, list[tuple[str, int]]] | None = None) -> "InferenceWorker":
        """Start the thread. `warmup` (shared prompt, calibration pages): the thread first has the backend prepare
        the shared prompt (then `ready` is set), then the pages one at a time until requests come or the worker
        is closed (`Backend.prepare`)."""
        self._warmup = warmup
        self._thread = threading.Thread(target=self._run, name="tokenworld-inference", daemon=True)
        self._thread.start()
        return self

    def lower_priority(self, nice: int = 10) -> bool:
        """Give the inference thread a lower CPU priority (Linux: per-thread nice), so that on a busy
        machine a viewer's drawing comes first and the model takes the CPU time left over. Threads the
        backend starts later inherit it. Returns False where the platform cannot do it."""
        tid = getattr(self._thread, "native_id", None)
        if tid is None or not hasattr(os, "setpriority"):
            return False
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Stop the thread (after the batch in progress) and close the backend."""
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=120)
            if self._thread.is_alive():  # still inside the backend: freeing it under the thread would crash it
                self.last_error = "closed while the backend was still busy; its memory is freed at exit"
                return
            self._thread = None
        self.backend.close()

    # ------------------------------------------------------------ the simulation's side

    def submit(self, requests: list[Request], *, flush: bool = False) -> list[int]:
        """Queue `requests`; returns their tickets (for `wait`).

        `flush`: send them without waiting for a fuller batch.
        """
        tickets = []
        with self._cv:
            for req in requests:
                self._seq += 1
                req.seq = self._seq
                old = self._queued.get(req.agent)
                if old is not None:  # the newer request replaces it; its ticket is answered as superseded
                    self._done[old.seq] = failed(old, "superseded by a newer request")
                    self.books.add("superseded")
                self._queued[req.agent] = req
                heapq.heappush(self._heap, (req.priority, req.seq, req.agent))
                tickets.append(req.seq)
            self._flush = self._flush or flush
            self._cv.notify_all()
        return tickets

    def take(self) -> list[tuple[int, Answer]]:
        """Every answer ready now, with its ticket (realtime mode), oldest first."""
        with self._cv:
            out = [(k, self._done[k]) for k in sorted(self._done)]
            self._done.clear()
        return out

    def wait(self, tickets: list[int], timeout: float | None = None) -> list[Answer]:
        """The answers for `tickets`, in their order, waiting for them (lockstep mode).

        A ticket not answered within `timeout` seconds gets a failed answer (the rules brain decides instead).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            self._flush = True
            self._cv.notify_all()
            while not all(t in self._done for t in tickets):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cv.wait(left)
            out = []
            for t in tickets:
                a = self._done.pop(t, None)
                out.append(a if a is not None else Answer(-1, -1, "decide", -1, error="timed out", valid_first=False))
        return out

    @property
    def queue_depth(self) -> int:
        with self._cv:
            return len(self._queued)

    def cache_state(self) -> dict[str, np.ndarray]:
        """The response cache as arrays (keys and answers' fields, least recently used first), for a checkpoint.

        A resumed run needs it to answer from the cache exactly where the original did (a cached answer is
        recorded with no tokens and no latency).
        """
        items = list(self._cache.items())  # one C-level copy: the worker thread cannot edit the cache meanwhile
        out = {"cache_key": np.array([k for k, _ in items], dtype=str)}
        for f in dataclasses.fields(Answer):
            if f.type not in _DTYPES:  # a measurement's detail (tokens per prompt block): not kept
                continue
            out[f"cache_{f.name}"] = np.array([getattr(a, f.name) for _, a in items], dtype=_DTYPES[f.type])
        return out

    def restore_cache(self, state: dict[str, np.ndarray]) -> None:
        """Put back a `cache_state()` (a state without one leaves the cache empty)."""
        self._cache.clear()
        if "cache_key" not in state:
            return
        fields = [f for f in dataclasses.fields(Answer) if f"cache_{f.name}" in state]
        columns = [state[f"cache_{f.name}"].tolist() for f in fields]
        for key, *values in zip(state["cache_key"].tolist(), *columns, strict=False):
            self._cache[key] = Answer(**{f.name: v for f, v in zip(fields, values, strict=False)})

    # ------------------------------------------------------------ the thread

    def _run(self) -> None:
        if self._warmup is not None:
            shared, pages = self._warmup
            try:
                self.backend.prepare(shared, [])  # the shared prefix: every request needs it
                self.ready = True
                for page in pages:  # calibrations, until requests come (then each is made when first needed)
                    if self._stop or self._queued:
                        break
                    self.backend.prepare(shared, [page])
            except Exception as e:  # a failed warm-up costs only time: the first batch does the work again
                self.last_error = f"warm-up: {type(e).__name__}: {e}"
        self.ready = True
        while True:
            with self._cv:
                while not self._queued and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                if len(self._queued) < self.batch_size and not self._flush:
                    self._cv.wait(self.max_wait)  # let a batch fill
                batch = self._pop_batch()
                if not self._queued:
                    self._flush = False
                self._busy = True
            answers = self._serve(batch)
            with self._cv:
                for req, ans in zip(batch, answers, strict=False):
                    self._done[req.seq] = ans
                self._busy = False
                self._cv.notify_all()

    def _pop_batch(self) -> list[Request]:
        batch = []
        while self._heap and len(batch) < self.batch_size:
            _, seq, agent = heapq.heappop(self._heap)
            req = self._queued.get(agent)
            if req is None or req.seq != seq:
                continue  # superseded
            del self._queued[agent]
            batch.append(req)
        first: dict[str, int] = {}  # requests of one shared prefix together (its cache key's version), in order
        for req in batch:
            first.setdefault(req.shared_version, len(first))
        batch.sort(key=lambda r: first[r.shared_version])
        return batch

    def _serve(self, batch: list[Request]) -> list[Answer]:
        answers: list[Answer | None] = [None] * len(batch)
        misses = []
        keys = [req.key(self.settings) for req in batch]
        for i, key in enumerate(keys):
            hit = self._cache.get(key) if self.cache_size else None
            if hit is not None:
                self._cache.move_to_end(key)
                a = Answer(**{**vars(hit), "agent": batch[i].agent, "tick": batch[i].tick})
                a.cached, a.latency_ms, a.prefill_saved = True, 0.0, hit.tokens_in + hit.prefill_saved
                a.prefill_blocks = {}  # nothing evaluated
                a.tokens_in = a.tokens_out = 0
                answers[i] = a
            else:
                misses.append(i)
        if misses:
            t0 = time.perf_counter()
            try:
                got = self.backend.decide([batch[i] for i in misses])
                if len(got) != len(misses):
                    raise RuntimeError(f"backend returned {len(got)} answers for {len(misses)} requests")
            except Exception as e:  # any backend failure fails the batch; the agents fall back to the rules brain
                ms = (time.perf_counter() - t0) * 1000.0
                got = [failed(batch[i], f"{type(e).__name__}: {e}", ms) for i in misses]
                self.books.add("backend_errors")
            for i, a in zip(misses, got, strict=False):
                answers[i] = a
                if a.ok and self.cache_size:
                    self._cache[keys[i]] = a
                    if len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
        self.books.count(answers)
        return answers

    # ------------------------------------------------------------ numbers

    @property
    def batch_sizes(self) -> Counter[int]:
        """How many batches of each size the backend was sent (cache hits included)."""
        return self.books.batch_sizes

    @property
    def last_error(self) -> str:
        """Why the latest failed request failed (shown to users beside the fallbacks)."""
        return self.books.last_error

    @last_error.setter
    def last_error(self, text: str) -> None:
        self.books.last_error = text

    def stats(self) -> dict:
        """Counts since the start, and decisions/s and latency over the recent window (`InferenceStats.snapshot`)."""
        with self._cv:
            depth = len(self._queued)
        return self.books.snapshot(backend=self.backend.name, queue_depth=depth)
