"""The backend protocol: a batch of requests in, one parsed answer per request out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tokenworld.errors import TokenWorldError
from tokenworld.mind.protocol import Answer, Request


class BackendError(TokenWorldError):
    """A backend cannot start (missing model, missing extra, bad endpoint) or failed a whole batch."""


class Unavailable(BackendError):
    """A backend could not serve a batch now (refused, timed out, overloaded) although another replica, or a later
    try, may: what `Failover` retries. `busy`: the backend said so itself (HTTP 429) rather than being down."""

    def __init__(self, message: str, *, busy: bool = False):
        super().__init__(message)
        self.busy = busy


@runtime_checkable
class Backend(Protocol):
    """What the inference worker drives. Implementations: llama_cpp, openai, vllm, rules.

    `decide` may be slow (it is called from the worker thread, never from the
    simulation or the viewer). It must return one `Answer` per request, in
    order; a request it could not serve gets `protocol.failed(...)` (choice -1
    and the reason), so the simulation falls back to the rules brain for it.
    A failure of the whole backend (server unreachable) may raise
    `BackendError` instead (`Unavailable` when another replica or a later
    try may serve it); the worker then fails the batch and retries later.
    Text answers are read with `tokenworld.inference.answers.parsed` and
    constrained by `Request.constraint`; sampling follows one `Sampling`.
    Retries and several replicas wrap backends (`Failover`), behind this
    same protocol.
    """

    name: str
    answer_style: str  # how prompts must end for it: 'number' (scored options) or 'label' (written options)

    def decide(self, batch: list[Request]) -> list[Answer]: ...

    def count_tokens(self, text: str) -> int:
        """Tokens `text` costs (exact where the backend has a tokenizer)."""
        ...

    def prepare(self, shared: str, calibrations: list[tuple[str, int]]) -> None:
        """Get ready for prompts that start with `shared` (the worker calls it once, on its thread, before the
        first batch): evaluate and keep what every request reuses (the shared prefix's KV cache, the answer bias
        of the content-free `calibrations` pages, each with its number of options), so the first decisions do not pay
        for it. May do nothing."""
        ...

    @property
    def settings(self) -> str:
        """Model and sampling settings, as part of the response cache key."""
        ...

    def close(self) -> None: ...


def approx_tokens(text: str) -> int:
    """A conservative token estimate (about 3.5 characters per token) for backends without a tokenizer."""
    return (len(text) * 2 + 6) // 7
