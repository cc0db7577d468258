"""Inference on Ray: a pool of actors, each owning a backend, behind the same `Backend` protocol.

    mind.backend = "ray", mind.ray_backend = "llama_cpp", mind.ray_actors = 2

Each actor builds the backend `mind.ray_backend` names (llama.cpp with a GGUF,
vLLM on a GPU, an OpenAI-compatible endpoint) from the scene's `[mind]`, placed
by Ray's resources (`ray_cpus`, `ray_gpus` per actor) on the cluster at
`ray_address`, or on a local Ray started with this machine's cores. A batch is
split by the requests' cache key (agent, shared-prefix version): a key goes to
the actor that served it before (its KV cache and shared prefix are there), a
new key to the actor with the fewest keys. Sub-batches go out at once and
answers come back in request order, so a lockstep run through Ray equals the
in-process run. An actor that dies is replaced and its sub-batch sent again
(`RETRIES` times); its keys then start on the new actor (which rebuilds the
cached state: equal bit for bit in lockstep).
"""

from __future__ import annotations

import dataclasses
import logging
import os

from tokenworld.inference.base import BackendError
from tokenworld.mind.protocol import Answer, Request, failed
from tokenworld.scene.schema import MAX_BATCH

EXTRA = "pip install 'tokenworld[cluster]' (from a checkout: pip install '.[cluster]')"
RETRIES = 2  # times a sub-batch is sent again after its actor died
TOKEN_MEMO = 4096  # token counts kept on this side
REQUEST_FIELDS = tuple(f.name for f in dataclasses.fields(Request))  # a request travels as these values
PERSONAL, BLOCKS = REQUEST_FIELDS.index("personal"), REQUEST_FIELDS.index("blocks")


def _ray(what: str = "the ray backend"):
    try:
        import ray
    except ImportError:
        raise BackendError(f"{what} needs Ray, which is not installed: {EXTRA}.") from None
    return ray


def connect(address: str, *, option: str = "mind.ray_address", what: str = "the ray backend"):
    """Ray, initialised once per process: the cluster at `address`, or a local Ray on this machine's cores when
    `address` is empty. `option` (the setting that gave the address) and `what` (who needs Ray) word the errors."""
    ray = _ray(what)
    if not ray.is_initialized():
        try:
            ray.init(
                address=address or None,
                num_cpus=None if address else os.cpu_count(),
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,  # not Ray's start-up lines on the user's terminal
            )
        except ConnectionError as exc:
            raise BackendError(
                f"cannot reach the Ray cluster at {address!r} ({exc}); start one with `ray start --head` or leave "
                f"`{option}` empty for a local Ray."
            ) from None
    return ray


class BackendActor:
    """What runs in each Ray actor: one backend, built from the scene's `[mind]` (as a dict) with `backend` set
    to the inner backend's name."""

    def __init__(self, mind: dict, seed: int, batch_invariant: bool):
        from tokenworld.inference import make_backend
        from tokenworld.scene.schema import MindOptions

        self.backend = make_backend(MindOptions(**mind), seed=seed, batch_invariant=batch_invariant)

    def info(self) -> dict:
        b = self.backend
        return {"pid": os.getpid(), "name": b.name, "answer_style": b.answer_style, "settings": b.settings}

    def decide(self, batch: list[tuple]) -> list[Answer]:
        return self.backend.decide(unpacked(batch))

    def prepare(self, shared: str, calibrations: list[tuple[str, int]]) -> None:
        self.backend.prepare(shared, calibrations)

    def count_tokens(self, text: str) -> int:
        return self.backend.count_tokens(text)

    def close(self) -> None:
        self.backend.close()


class RayBackend:
    """A `Backend` whose batches are answered by `actors` Ray actors (see the module's docstring).

    `answered_by` counts the answers each actor slot gave; `replaced` the actors started again after dying.
    """

    name = "ray"

    def __init__(self, mind, *, seed: int = 0, batch_invariant: bool = True):
        if mind.ray_backend == "ray":
            raise BackendError("mind.ray_backend names the backend each Ray actor runs; it cannot be `ray` itself.")
        ray = self._ray = connect(mind.ray_address)
        inner = {f.name: getattr(mind, f.name) for f in dataclasses.fields(mind)}
        inner["backend"] = mind.ray_backend
        inner["batch_size"] = min(mind.batch_size, MAX_BATCH)  # an actor's share of a batch goes in chunks of it
        inner["threads"] = mind.threads or max(1, int(mind.ray_cpus))  # an actor computes on the CPUs it reserves
        remote = ray.remote(BackendActor).options(num_cpus=mind.ray_cpus, num_gpus=mind.ray_gpus, max_restarts=0)
        self._start = lambda: remote.remote(inner, seed, batch_invariant)
        self.actors = [self._start() for _ in range(mind.ray_actors)]
        try:
            infos = ray.get([a.info.remote() for a in self.actors])
        except Exception as exc:  # the inner backend could not start (a missing model, a bad endpoint)
            self.close()
            why = _cause(exc)
            raise BackendError(f"the Ray actors could not start their {mind.ray_backend} backend: {why}") from None
        self.pids = [i["pid"] for i in infos]
        self.answer_style = infos[0]["answer_style"]
        self._settings = f"ray({mind.ray_actors})|{infos[0]['settings']}"
        self.owner: dict[tuple, int] = {}  # cache key -> the actor slot that serves it
        self.keys_of = [0] * len(self.actors)  # keys each slot serves
        self.answered_by = [0] * len(self.actors)
        self.replaced = 0
        self._tokens: dict[str, int] = {}  # text -> tokens (each count is a round trip to an actor)

    @property
    def settings(self) -> str:
        return self._settings

    def slot_of(self, request: Request) -> int:
        """The actor slot a request goes to: its key's, or the slot with the fewest keys for a new key."""
        key = request.cache_key
        slot = self.owner.get(key)
        if slot is None:
            slot = min(range(len(self.actors)), key=lambda i: (self.keys_of[i], i))
            self.owner[key] = slot
            self.keys_of[slot] += 1
        return slot

    def decide(self, batch: list[Request]) -> list[Answer]:
        ray = self._ray
        # 1. split the batch by actor slot, keeping request order within each
        rows: dict[int, list[int]] = {}
        for i, req in enumerate(batch):
            rows.setdefault(self.slot_of(req), []).append(i)
        answers: list[Answer | None] = [None] * len(batch)
        pending = {slot: 0 for slot in rows}  # slot -> tries so far
        while pending:
            # 2. send every sub-batch at once, 3. gather; an actor that died is replaced and tried again
            refs = {slot: self.actors[slot].decide.remote(packed([batch[i] for i in rows[slot]])) for slot in pending}
            again = {}
            for slot, ref in refs.items():
                try:
                    got = ray.get(ref)
                except ray.exceptions.RayActorError:
                    self._replace(slot)
                    if pending[slot] < RETRIES:
                        again[slot] = pending[slot] + 1
                        continue
                    got = [failed(batch[i], "ray actor died") for i in rows[slot]]
                for i, answer in zip(rows[slot], got, strict=True):
                    answers[i] = dataclasses.replace(answer, replica=slot)
                self.answered_by[slot] += len(got)
            pending = again
        return answers  # type: ignore[return-value]

    def _replace(self, slot: int) -> None:
        """Start a new actor in `slot` (the dead one's keys stay with the slot: the new actor rebuilds them)."""
        self.actors[slot] = self._start()
        self.pids[slot] = self._ray.get(self.actors[slot].info.remote())["pid"]
        self.replaced += 1

    def _call(self, slot: int, method: str, *args):
        """`method(*args)` on the actor in `slot`, started again (and asked again) if it died."""
        for attempt in range(RETRIES + 1):
            try:
                return self._ray.get(getattr(self.actors[slot], method).remote(*args))
            except self._ray.exceptions.RayActorError:
                self._replace(slot)
                if attempt == RETRIES:
                    raise BackendError(f"ray actor {slot} died {RETRIES + 1} times running {method}") from None

    def prepare(self, shared: str, calibrations: list[tuple[str, int]]) -> None:
        for slot in range(len(self.actors)):
            self._call(slot, "prepare", shared, calibrations)

    def count_tokens(self, text: str) -> int:
        n = self._tokens.get(text)
        if n is None:
            if len(self._tokens) >= TOKEN_MEMO:
                self._tokens.clear()
            n = self._tokens[text] = self._call(0, "count_tokens", text)
        return n

    def close(self) -> None:
        for actor in getattr(self, "actors", []):
            try:
                self._ray.kill(actor)
            except Exception:  # already gone
                pass
        self.actors = []


def packed(batch: list[Request]) -> list[tuple]:
    """The requests as they travel to an actor: field values in order, the personal text left out (None) where
    it has blocks, which spell it (it would go twice, and a batch past Ray's 100 KB inline limit goes
    through the object store, which is slower). The shared part is one string object for the batch, which
    pickle sends once."""
    out = []
    for r in batch:
        values = [getattr(r, name) for name in REQUEST_FIELDS]
        if r.blocks:  # a request's blocks spell its personal part (`Request` checks)
            values[PERSONAL] = None
        out.append(tuple(values))
    return out


def unpacked(batch: list[tuple]) -> list[Request]:
    """`packed` undone on the actor's side."""
    out = []
    for values in batch:
        if values[PERSONAL] is None:
            values = (*values[:PERSONAL], "".join(t for _, t in values[BLOCKS]), *values[PERSONAL + 1 :])
        out.append(Request(*values))
    return out


def _cause(exc: Exception) -> str:
    """The message of the error an actor raised, without Ray's traceback wrapping."""
    cause = getattr(exc, "cause", None) or exc
    return str(cause).strip().splitlines()[-1] if str(cause).strip() else type(cause).__name__
