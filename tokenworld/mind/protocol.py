"""What minds ask of an inference backend, and what comes back.

A `Request` is one agent's turn: the prompt (the part every agent shares first,
the personal part last), the feasible options it may choose from (built from
its own situation, see `tokenworld.mind.options`), and which of them take a
spoken line. An `Answer` is the parsed choice with token counts and timings.
Every backend (llama.cpp, OpenAI-compatible servers, vLLM, rules) takes a list
of requests and returns one answer per request, in order.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

import numpy as np

from tokenworld.mind.grammar import Constraint, constraint_for

KINDS = ("decide", "reflect", "guess")  # guess: a number in the guessing game (options: the numbers)


@dataclass
class Request:
    """One agent's turn to decide (or to reflect and make a plan)."""

    agent: int
    tick: int
    kind: str  # one of KINDS
    shared: str  # world, rules, action list, worked example: the same for every agent
    personal: str  # persona, needs, inventory, perception, memories, plan; ends where the answer starts
    options: list[str]  # feasible choices, as the labels the model writes
    talk: list[bool]  # options that take a spoken line after a colon
    prior: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # rules utility per option
    calibration: str = ""  # a content-free personal part with as many options (for scoring backends)
    priority: int = 2  # 0 most urgent
    news: str = ""  # what the agent has to tell (its page's News line): backends without a model retell it
    news_heard: bool = False  # the news is something it heard (to pass on), not its own plans and wares
    seq: int = 0  # order of submission (set by the worker)
    blocks: tuple[tuple[str, str], ...] = ()  # the personal part as named blocks, the most stable first (see below)
    keys: tuple[int, ...] = ()  # number style: the digit that answers each option (default: 1, 2, ... in order)
    steer: tuple[float, ...] = ()  # steering coefficients, one per trait (the agent's profile); () unsteered
    adapter: str = ""  # the LoRA adapter of the agent's group ("" none): a GGUF path, or a name a server serves

    @property
    def answer_keys(self) -> tuple[int, ...]:
        """The digit that answers each option in number style."""
        return self.keys or tuple(range(1, len(self.options) + 1))

    @property
    def prompt(self) -> str:
        return self.shared + self.personal

    @property
    def parts(self) -> tuple[tuple[str, str], ...]:
        """The personal part in named blocks, the most stable first: backends that keep an agent's cache reuse
        its leading blocks that did not change since its last request and evaluate the rest. Without `blocks`,
        one block ('page')."""
        return self.blocks or (("page", self.personal),)

    @property
    def shared_version(self) -> str:
        """A short hash of the shared part: what an agent's cached state was built on."""
        return _short_hash(self.shared)

    @property
    def state_version(self) -> str:
        """What an agent's cached state was built on: the shared prefix's version, and its steering profile (the
        state evaluated under one control vector or adapter is not the state under another)."""
        steer = f"|{self.steer}" if self.steer else ""
        return self.shared_version + steer + (f"|{self.adapter}" if self.adapter else "")

    @property
    def cache_key(self) -> tuple[int, str]:
        """What backends, the worker and routers group requests by: the agent (its own cached state) and the
        version of that state (shared prefix, steering profile)."""
        return (self.agent, self.state_version)

    @property
    def constraint(self) -> Constraint:
        """The output constraint of its menu (choices, GBNF, JSON schema, parser), one object per menu (cached)."""
        return constraint_for(self.options, self.talk)

    def key(self, settings: str) -> str:
        """Cache key: the prompt, the options and the backend's sampling settings."""
        h = hashlib.blake2b(digest_size=16)
        for part in (
            settings,
            self.kind,
            self.shared,
            self.personal,
            "\x1f".join(self.options),
            str(self.talk),
            str(self.steer),
            self.adapter,
        ):
            h.update(part.encode())
            h.update(b"\x00")
        return h.hexdigest()

    def __post_init__(self):
        if self.blocks and "".join(text for _, text in self.blocks) != self.personal:
            raise ValueError("a request's blocks must spell out its personal part")

    def prompt_hash(self) -> int:
        """A 63-bit hash of the prompt, for the run store."""
        return int.from_bytes(hashlib.blake2b(self.prompt.encode(), digest_size=8).digest(), "little") >> 1


@dataclass
class Answer:
    """A backend's parsed answer to one request."""

    agent: int
    tick: int
    kind: str
    choice: int  # index into the request's options; -1 when the backend failed
    say: str = ""  # the spoken line for talk options
    raw: str = ""  # what the model wrote (or the scored option)
    tokens_in: int = 0  # prompt tokens evaluated for this request (shared prefix counted once per batch)
    tokens_out: int = 0
    prefill_saved: int = 0  # prompt tokens not evaluated thanks to the shared prefix or a cache
    prefill_blocks: dict[str, int] = field(default_factory=dict)  # personal-part tokens evaluated per block name
    latency_ms: float = 0.0
    error: str = ""  # why the backend failed (then choice is -1)
    valid_first: bool = True  # parsed and valid without a repair attempt
    cached: bool = False
    replica: int = -1  # which replica (Ray actor) answered; -1 for a backend with one
    logp: tuple[float, ...] = ()  # score mode: each option's log-probability, as the choice was drawn from

    @property
    def ok(self) -> bool:
        return self.choice >= 0


@functools.lru_cache(maxsize=64)
def _short_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def failed(request: Request, error: str, latency_ms: float = 0.0) -> Answer:
    """The answer for a request the backend could not serve."""
    return Answer(request.agent, request.tick, request.kind, -1, error=error, latency_ms=latency_ms, valid_first=False)
