"""`tokenworld adapters train`: a LoRA adapter that makes the packaged model act like an archetype.

Examples are real decision pages: the village, with every group given the archetype, runs on the rules brain while
its model-driven agents' requests are recorded exactly as a model run writes them (`village_requests`). Each page's
right answer is the archetype's signature action where the menu offers it (a merchant trades or heads to the
market stall; a craftsperson crafts or builds; ...), else the rules brain's best option for that agent, so the
adapter learns the archetype's habit without unlearning the rest. The adapter trains on pages of one seed
(`inference.lora_train`) and is judged on pages of another, through llama.cpp with the written file: the
probability of the signature option where it is offered, with the adapter and without, and how often the answer
is the labelled one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from tokenworld.inference.base import BackendError

# What each archetype does where it can (the rules brain's strongest archetype weight, as menu options start).
SIGNATURES = {
    "merchant": ("trade ", "move_to market"),
    "craftsperson": ("craft ", "build "),
    "farmer": ("gather food", "move_to farm"),
    "leader": ("build ", "talk "),
    "explorer": ("explore", "move_to forest", "move_to quarry"),
}


def signature(archetype: str) -> tuple[str, ...]:
    if archetype not in SIGNATURES:
        raise BackendError(
            f"--archetype: no adapter recipe for {archetype!r}; choose one of {', '.join(SIGNATURES)} (citizens have "
            "no trade of their own to learn)."
        )
    return SIGNATURES[archetype]


@dataclass
class Page:
    """A recorded decision request with its label: the right option and whether it is the archetype's own."""

    request: object
    right: int
    own: list[int]  # the options that are the archetype's own actions


def archetype_pages(archetype: str, n: int, *, seed: int, count_tokens, style: str) -> list[Page]:
    """`n` labelled decision pages of the village whose agents all have `archetype`, at `seed`."""
    from tokenworld.bench.inference import village_requests, village_scene

    sig = signature(archetype)
    scene = village_scene()
    for group in scene.groups:
        group.archetype = archetype
    reqs, _, sim = village_requests(style, count_tokens, limit=3 * n, scene=scene, seed=seed)
    sim.close()
    pages = []
    for r in reqs:
        if r.kind != "decide" or len(r.options) < 2:
            continue
        own = [i for i, o in enumerate(r.options) if o.startswith(sig)]
        prior = np.asarray(r.prior, np.float64) if len(r.prior) == len(r.options) else np.zeros(len(r.options))
        right = max(own, key=lambda i: prior[i]) if own else int(np.argmax(prior))  # the rules brain's best
        pages.append(Page(r, right, own))
    return pages[:n]


def train_archetype_adapter(
    archetype: str,
    out: str,
    *,
    examples: int = 160,
    epochs: int = 2,
    rank: int = 8,
    lr: float = 1e-3,
    seed: int = 1,
    held_out: int = 120,
    threads: int = 0,
    say=print,
) -> dict:
    """Train, write `out`, judge on held-out pages (see the module doc); returns the figures."""
    from tokenworld.inference.adapters import save_adapter
    from tokenworld.inference.llama_cpp import LlamaCppBackend
    from tokenworld.inference.lora_train import _torch, example, load

    signature(archetype)
    _torch()  # the missing extra is said before any work
    backend = LlamaCppBackend(mode="score", agent_cache_mb=0, n_threads=threads)
    try:
        t0 = time.perf_counter()
        train = archetype_pages(archetype, examples, seed=seed, count_tokens=backend.count_tokens, style="number")
        test = archetype_pages(archetype, held_out, seed=seed + 1000, count_tokens=backend.count_tokens, style="number")
        own = sum(bool(p.own) for p in train)
        say(f"{len(train)} training pages ({own} offering the {archetype}'s own actions), {len(test)} held out")

        model, prefix = load(backend, train[0].request.shared, rank=rank, seed=seed, threads=threads)
        say(f"model read and shared prefix evaluated in {time.perf_counter() - t0:.0f} s; training ...")
        report = model.train(
            prefix,
            [example(backend, p.request, p.right) for p in train],
            epochs=epochs,
            lr=lr,
            seed=seed,
            progress=lambda step, steps, loss: (
                say(f"  step {step}/{steps}  loss {loss:.3f}") if step % 10 == 0 else None
            ),
        )
        figures = {
            "archetype": archetype,
            "examples": len(train),
            "signature_examples": own,
            "epochs": epochs,
            "rank": rank,
            "steps": report.steps,
            "train_seconds": round(report.seconds, 1),
            "first_loss": round(float(np.mean(report.losses[: max(1, len(report.losses) // 10)])), 3),
            "last_loss": round(float(np.mean(report.losses[-max(1, len(report.losses) // 10) :])), 3),
        }
        path = save_adapter(
            out,
            model.pairs(),
            alpha=model.alpha,
            arch="gemma3",
            meta={"archetype": archetype, "examples": len(train), "steps": report.steps, "seed": seed},
        )
    finally:
        backend.close()
    figures |= judge(path, test)
    figures["path"] = str(path)
    return figures


def judge(adapter: str, pages: list[Page]) -> dict:
    """On `pages`, through llama.cpp: mean probability of the signature option (where offered) and share of
    labelled answers, without the adapter and with it (score mode, no calibration or prior: the model alone)."""
    from dataclasses import replace

    from tokenworld.inference.llama_cpp import LlamaCppBackend

    out = {"held_out": len(pages)}
    for way, name in (("base", ""), ("adapter", str(adapter))):
        backend = LlamaCppBackend(mode="score", agent_cache_mb=0)
        backend.calibration = 0.0
        try:
            answers = backend.decide([replace(p.request, adapter=name) for p in pages])
        finally:
            backend.close()
        pairs = list(zip(pages, answers, strict=True))
        out[way] = {
            "p_signature": round(
                float(np.mean([np.exp(np.asarray(a.logp)[p.own]).sum() for p, a in pairs if p.own])), 4
            ),
            "labelled_share": round(float(np.mean([a.choice == p.right for p, a in pairs])), 4),
        }
    return out
