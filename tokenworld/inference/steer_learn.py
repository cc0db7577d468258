"""Learning a trait's steering direction from behaviour (`tokenworld steer learn`; the `train` extra).

A direction from persona descriptions (`steering.build_vectors`) is how the model represents a word like
"outgoing"; it need not be how the model acts. On the packaged model's village decision pages the persona
direction of extraversion makes agents talk less (BENCHMARKS.md, "Trait steering"). Learning turns it: on decision
pages whose menu offers the trait's action (`TRAIT_ACTIONS`), the direction at the steered layers is trained so
that the control vector at +strength raises the probability of that action's options and at -strength lowers it,
read as a run reads them (score mode, the content-free page's bias taken out, both under the same vector; the
shared prefix unsteered). Training starts from the persona direction and keeps its norm at every layer: only where
it points changes, so strengths keep their meaning.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from tokenworld.inference.lora_train import Example, fast_bf16


@dataclass
class TargetPage:
    """A decision page (its `Example`), the options that are the trait's action, its content-free page's tokens."""

    example: Example
    own: list[int]
    calibration: list[int]


def _p_own(model, prefix, pages: list[TargetPage], vector):
    """Log-probability of each page's own options under `vector` (n_layer, n_embd), calibrated as score mode is."""
    torch = model.torch
    model.cvec = vector
    try:
        h = model.last_hidden(prefix, [p.example.tokens for p in pages], adapted=False)
        blank = model.last_hidden(prefix, [p.calibration for p in pages], adapted=False)
    finally:
        model.cvec = None
    out = []
    for j, p in enumerate(pages):
        keys = model.embd[p.example.keys]
        logp = torch.log_softmax(h[j] @ keys.T, -1) - torch.log_softmax(blank[j] @ keys.T, -1)
        out.append(torch.logsumexp(torch.log_softmax(logp, -1)[p.own], 0))
    return torch.stack(out)


def _full(model, part, layers: list[int]):
    torch = model.torch
    full = torch.zeros(model.hp["n_layer"], model.hp["n_embd"], dtype=part.dtype)
    return full.index_put((torch.tensor(layers),), part)


def effect(model, prefix, direction: np.ndarray, pages: list[TargetPage], *, layers, strength: float, batch: int = 8):
    """(P(own options) at +strength, at -strength) per page, for `direction` (n_layer, n_embd)."""
    torch = model.torch
    part = torch.from_numpy(np.asarray(direction, np.float32)[list(layers)] * strength)
    up, down = [], []
    with torch.no_grad():
        for s in range(0, len(pages), batch):
            chunk = pages[s : s + batch]
            up.append(_p_own(model, prefix, chunk, _full(model, part, list(layers))).exp())
            down.append(_p_own(model, prefix, chunk, _full(model, -part, list(layers))).exp())
    return torch.cat(up).numpy(), torch.cat(down).numpy()


def learn_direction(
    model,
    prefix,
    start: np.ndarray,
    pages: list[TargetPage],
    *,
    layers,
    strength: float,
    epochs: int = 1,
    batch: int = 8,
    lr: float = 0.05,
    seed: int = 0,
    progress=None,
) -> tuple[np.ndarray, float]:
    """(the learned direction (n_layer, n_embd), zero outside `layers`; seconds) from `start` (see the module doc).
    `progress(step, steps, loss)`."""
    torch = model.torch
    layers = list(layers)
    part = torch.from_numpy(np.asarray(start, np.float32)[layers] * strength).clone()
    norms = part.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    part.requires_grad_()
    opt = torch.optim.Adam([part], lr=lr)
    rng = np.random.default_rng(seed)
    steps = epochs * -(-len(pages) // batch)
    t0 = time.perf_counter()
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(pages))
        for s in range(0, len(order), batch):
            chunk = [pages[j] for j in order[s : s + batch]]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast_bf16()):
                up = _p_own(model, prefix, chunk, _full(model, part, layers))
                down = _p_own(model, prefix, chunk, _full(model, -part, layers))
                loss = -(up.float() - down.float()).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                part.mul_(norms / part.norm(dim=-1, keepdim=True).clamp_min(1e-6))
            step += 1
            if progress:
                progress(step, steps, loss.item())
    out = np.zeros_like(np.asarray(start, np.float32))
    out[layers] = part.detach().numpy() / strength
    return out, time.perf_counter() - t0
