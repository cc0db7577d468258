"""Sampling settings: one frozen object, built once from the scene's `[mind]` options, read by every backend.

    sampling = Sampling.from_mind(scene.mind, seed=7)
    backend = LlamaCppBackend(sampling=sampling)

Each backend applies what it can: llama.cpp samples itself (temperature, top_p,
seed, max_tokens), vLLM gets `SamplingParams`, an OpenAI-compatible server gets
the same fields in its request body. A bad value is refused at construction,
naming the parameter, the value and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tokenworld.inference.base import BackendError


@dataclass(frozen=True)
class Sampling:
    """How a backend turns the model's next-token distribution into an answer.

    Attributes:
        temperature: 0 is greedy: the same prompt gives the same answer (lockstep runs, tests). Higher values
            sample; from the scene's `mind.temperature`.
        top_p: nucleus sampling at temperature > 0: only the likeliest tokens (or options) whose probabilities
            add up to `top_p` are drawn from; 1 keeps them all.
        max_tokens: most tokens written for one answer (generate mode, servers); from `mind.max_output_tokens`.
        seed: seed of the backend's random draws (the run's seed), so sampled runs repeat.
        stop: texts that end a plain-text answer (an answer is one line); structured outputs end by their schema.
    """

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 24
    seed: int = 0
    stop: tuple[str, ...] = ("\n",)

    def __post_init__(self):
        _check(
            self,
            "temperature",
            self.temperature,
            isinstance(self.temperature, (int, float)) and 0.0 <= self.temperature < math.inf,
            "must be a number of 0 or more (0 is greedy and reproducible)",
            "set `mind.temperature` to 0 or a small positive number such as 0.7",
        )
        _check(
            self,
            "top_p",
            self.top_p,
            isinstance(self.top_p, (int, float)) and 0.0 < self.top_p <= 1.0,
            "must be in (0, 1]",
            "use 1 to keep every token, or a share such as 0.9",
        )
        _check(
            self,
            "max_tokens",
            self.max_tokens,
            _is_int(self.max_tokens) and self.max_tokens >= 1,
            "must be an integer of at least 1",
            "set `mind.max_output_tokens` to 1 or more",
        )
        _check(
            self,
            "seed",
            self.seed,
            _is_int(self.seed) and self.seed >= 0,
            "must be an integer of 0 or more",
            "give the run's seed",
        )
        ok = isinstance(self.stop, (tuple, list)) and all(isinstance(s, str) and s for s in self.stop)
        _check(self, "stop", self.stop, ok, "must be a sequence of non-empty strings", "for example ('\\n',)")
        object.__setattr__(self, "temperature", float(self.temperature))
        object.__setattr__(self, "top_p", float(self.top_p))
        object.__setattr__(self, "stop", tuple(self.stop))

    @classmethod
    def from_mind(cls, mind, *, seed: int = 0) -> "Sampling":
        """The sampling a scene's `[mind]` options ask for, with the run's `seed`."""
        return cls(temperature=mind.temperature, max_tokens=mind.max_output_tokens, seed=seed)

    @property
    def greedy(self) -> bool:
        """Temperature 0: always the likeliest answer."""
        return self.temperature <= 0.0

    def draw(self, scores: np.ndarray, rng: np.random.Generator) -> int:
        """An index drawn from `scores` (log-probabilities or logits, any shift) at this temperature and top_p;
        the best index when greedy."""
        if self.greedy:
            return int(np.argmax(scores))
        z = np.asarray(scores, np.float64)
        p = np.exp((z - z.max()) / self.temperature)
        p = p / p.sum()
        if self.top_p < 1.0:
            order = np.argsort(-p, kind="stable")
            keep = order[: int(np.searchsorted(np.cumsum(p[order]), self.top_p)) + 1]
            kept = np.zeros_like(p)
            kept[keep] = p[keep]
            p = kept / kept.sum()
        return int(rng.choice(len(p), p=p))


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _check(s: Sampling, name: str, value, ok: bool, rule: str, fix: str) -> None:
    if not ok:
        raise BackendError(f"Sampling {name}={value!r} {rule}; {fix}.")


GREEDY = Sampling()  # the default: temperature 0, 24 tokens, seed 0
