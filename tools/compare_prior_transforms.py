"""Compare ways of adding the rules brain's utilities to the model's scores (`mind.prior_weight`).

Score mode chooses the option with the largest calibrated log-likelihood plus
`prior_weight` times a transform of the rules brain's utilities. This script
scores the packaged Gemma 3 270M once per request (the hand-labelled situations
of `tokenworld.bench.situations` and the village's requests of
`tokenworld.bench.inference.village_requests`), keeps each request's calibrated
log-likelihoods as the backend computes them, and then chooses offline, for
many weights, with two transforms:

- raw: the utilities as they are (what `tokenworld.inference.llama_answers.prior_term` does);
- z: standardised per request (minus their mean, over their standard deviation).

Per weight it prints the share of right choices on the situations (overall and
for eat and rest, the urgent needs), on the situations where the rules brain
itself is wrong, the variety of the village's choices (action entropy, spread
between archetypes and trait halves: `tokenworld.bench.situations_score.variety`)
and how often the choice is an option the rules brain values less than its
best (how much of the deciding is still the model's).

    python tools/compare_prior_transforms.py [--requests 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # work from a checkout without installing

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 1000.0)


def transform(prior: np.ndarray, how: str) -> np.ndarray:
    """The utilities as they are ('raw') or standardised per request ('z')."""
    prior = np.asarray(prior, np.float64)
    if how == "raw":
        return prior
    sd = prior.std()
    return (prior - prior.mean()) / sd if sd > 1e-6 else np.zeros_like(prior)


def main() -> int:
    """Score once, choose offline at every weight with both transforms, print one line per (transform, weight)."""
    from tokenworld.bench.inference import village_requests
    from tokenworld.bench.situations import SituationSet
    from tokenworld.bench.situations_score import action_of, differs_from_rules, variety
    from tokenworld.inference.llama_cpp import LlamaCppBackend

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=64, help="village requests for variety")
    ap.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: all cores)")
    args = ap.parse_args()

    kept: dict[int, np.ndarray] = {}

    class Keeping(LlamaCppBackend):
        """The real backend, keeping each request's calibrated log-likelihoods (in answer order)."""

        def _model_logp(self, logits, k, bias):
            logp = super()._model_logp(logits, k, bias)
            kept[len(kept)] = logp
            return logp

    backend = Keeping(mode="score", batch_size=1, n_threads=args.threads)
    sset = SituationSet()
    t0 = time.perf_counter()
    sits, right = sset.requests(backend.answer_style, backend.count_tokens)
    village, _, sim = village_requests(backend.answer_style, backend.count_tokens, limit=args.requests)
    scores = []
    for req in sits + village:  # one at a time: kept[] follows the requests' order
        backend.decide([req])
        scores.append(kept[len(kept) - 1])
    print(f"{len(sits)} situations and {len(village)} village requests scored in {time.perf_counter() - t0:.0f} s")
    world = sim.world
    agents = np.array([r.agent for r in village])
    rules_wrong = [i for i, (r, k) in enumerate(zip(sits, right, strict=True)) if differs_from_rules(r, k)]
    kinds = [s.kind for s in sset.situations]
    print(
        "transform weight | right (eat, rest; where the rules brain is wrong) | entropy bits, archetype, trait spread "
        "| differs from rules brain"
    )
    for how in ("raw", "z"):
        for w in WEIGHTS:
            chosen = [
                int(np.argmax(s + w * transform(r.prior, how))) for r, s in zip(sits + village, scores, strict=True)
            ]
            hit = np.array([c == k for c, k in zip(chosen[: len(sits)], right, strict=True)])
            by = {k: hit[[i for i, x in enumerate(kinds) if x == k]].mean() for k in ("eat", "rest")}
            vc = chosen[len(sits) :]
            v = variety(
                [action_of(r.options[c]) for r, c in zip(village, vc, strict=True)],
                world.agents.archetype[agents],
                world.agents.traits[agents],
            )
            differs = np.mean([differs_from_rules(r, c) for r, c in zip(village, vc, strict=True)])
            print(
                f"{how:3s} {w:7g} | {hit.mean():.1%} ({by['eat']:.0%}, {by['rest']:.0%}; "
                f"{hit[rules_wrong].mean():.0%} of {len(rules_wrong)}) | {v['action_entropy_bits']:.2f}, "
                f"{v['archetype_spread']:.2f}, {v['trait_spread']:.2f} | {differs:.0%}"
            )
    sset.close()
    sim.close()
    backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
