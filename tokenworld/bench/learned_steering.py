"""`tokenworld steer learn`: a trait's steering direction learned from the village's own decision pages.

Pages: the village runs on the rules brain while its model agents' requests are recorded as a model run writes
them (`village_requests`); those whose menu offers the trait's action (`TRAIT_ACTIONS`) are kept, from seed 1 to
learn on and from another seed to judge on. The direction starts from the given vectors' (the persona direction)
and is trained by `inference.steer_learn`; the other traits' directions are copied unchanged. The command prints
the held-out effect before and after: P(the action's options) with the control vector at +strength minus at
-strength.
"""

from __future__ import annotations

import time

from tokenworld.inference.base import BackendError
from tokenworld.mind.steering import TRAIT_ACTIONS
from tokenworld.scene.schema import TRAITS


def action_pages(backend, action: str, n: int, *, seed: int, limit: int = 1500) -> tuple[list, str]:
    """(up to `n` `TargetPage`s of the village at `seed` whose menu offers `action`, the pages' shared prefix)."""
    from tokenworld.bench.inference import village_requests
    from tokenworld.inference.lora_train import example
    from tokenworld.inference.steer_learn import TargetPage

    reqs, _, sim = village_requests("number", backend.count_tokens, limit=limit, seed=seed)
    sim.close()
    out = []
    for r in reqs:
        own = [i for i, o in enumerate(r.options) if o.split(" ", 1)[0] == action]
        if r.kind == "decide" and own and len(own) < len(r.options) and r.calibration:
            out.append(TargetPage(example(backend, r), own, backend.tokenize(r.calibration)))
    return out[:n], reqs[0].shared


def learn_trait(
    trait: str,
    out: str,
    *,
    vectors: str = "packaged",
    pages: int = 96,
    held_out: int = 64,
    epochs: int = 1,
    strength: float = 4.0,
    layers=tuple(range(3, 9)),
    seed: int = 1,
    threads: int = 0,
    say=print,
) -> dict:
    """Learn `trait`'s direction, write all five vectors to `out`; returns the figures (see the module doc)."""
    from dataclasses import replace

    from tokenworld.inference.llama_cpp import LlamaCppBackend
    from tokenworld.inference.lora_train import _torch, load
    from tokenworld.inference.steer_learn import effect, learn_direction
    from tokenworld.inference.steering import load_vectors, save_vectors

    if trait not in TRAITS:
        raise BackendError(f"--trait: {trait!r} is not a Big Five trait; choose one of {', '.join(TRAITS)}.")
    start = load_vectors(vectors)
    if max(layers) >= start.n_layer or min(layers) < 1:
        raise BackendError(f"--layers: the model's layers are 1 to {start.n_layer - 1}.")
    _torch()  # the missing extra is said before any work
    action = TRAIT_ACTIONS[trait]
    backend = LlamaCppBackend(mode="score", agent_cache_mb=0, n_threads=threads)
    try:
        t0 = time.perf_counter()
        train, shared = action_pages(backend, action, pages, seed=seed)
        test, _ = action_pages(backend, action, held_out, seed=seed + 1000)
        if len(train) < 16 or len(test) < 8:
            raise BackendError(
                f"the village's decision pages rarely offer {action!r} ({len(train)} and {len(test)} found), too few "
                f"to learn {trait} from; keep its persona direction."
            )
        say(f"{len(train)} pages offering {action!r} to learn on, {len(test)} held out")
        model, prefix = load(backend, shared, rank=0, threads=threads)
    finally:
        backend.close()
    t = TRAITS.index(trait)
    before = effect(model, prefix, start.directions[t], test, layers=layers, strength=strength)
    say(f"model read in {time.perf_counter() - t0:.0f} s; learning ...")
    learned, seconds = learn_direction(
        model,
        prefix,
        start.directions[t],
        train,
        layers=layers,
        strength=strength,
        epochs=epochs,
        seed=seed,
        progress=lambda step, steps, loss: say(f"  step {step}/{steps}  log-ratio {-loss:.2f}"),
    )
    after = effect(model, prefix, learned, test, layers=layers, strength=strength)
    directions = start.directions.copy()
    directions[t] = learned
    note = f"{trait}: learned on {len(train)} village pages towards {action} (layers {min(layers)}-{max(layers)})"
    source = f"{note}; the others as in {vectors!r}"
    files = save_vectors(replace(start, directions=directions, source=source), out)
    return {
        "trait": trait,
        "action": action,
        "pages": len(train),
        "held_out": len(test),
        "strength": strength,
        "seconds": round(seconds, 1),
        "before": {"up": float(before[0].mean()), "down": float(before[1].mean())},
        "after": {"up": float(after[0].mean()), "down": float(after[1].mean())},
        "files": [str(f) for f in files],
    }
