"""The rules brain behind the backend protocol: the option the rules brain values most.

Each request carries the rules brain's utility of every option (`Request.prior`);
this backend answers with the best one, instantly and without a model. It is
what the benchmarks compare models against, and what `mind.backend = "rules"`
means for model-minded agents when a scene is tried without a model.
"""

from __future__ import annotations

import time

import numpy as np

from tokenworld.inference.base import approx_tokens
from tokenworld.mind.protocol import Answer, Request, failed
from tokenworld.mind.rules_brain import PHRASES


class RulesBackend:
    name = "rules"
    answer_style = "label"
    settings = "rules"

    def decide(self, batch: list[Request]) -> list[Answer]:
        out = []
        for req in batch:
            t0 = time.perf_counter()
            if not req.options:
                out.append(failed(req, "no options"))
                continue
            prior = req.prior if len(req.prior) == len(req.options) else np.zeros(len(req.options))
            choice = int(np.argmax(prior))
            say = (req.news or PHRASES[(req.agent + req.tick) % len(PHRASES)]) if req.talk[choice] else ""
            raw = req.options[choice] + (f": {say}" if say else "")
            out.append(
                Answer(
                    req.agent,
                    req.tick,
                    req.kind,
                    choice,
                    say=say,
                    raw=raw,
                    latency_ms=(time.perf_counter() - t0) * 1000.0,
                )
            )
        return out

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def prepare(self, shared: str, calibrations: list[tuple[str, int]]) -> None:
        """Nothing to prepare here (see `Backend.prepare`)."""

    def close(self) -> None:
        pass
