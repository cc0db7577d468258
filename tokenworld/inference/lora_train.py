"""Training a LoRA adapter for the packaged Gemma 3 model on the CPU (`tokenworld adapters train`; the `train` extra),
and the model that `steer_learn` trains control vectors on.

The model is read straight from its GGUF file: `gguf` dequantizes each weight to float32 and `Gemma3` below runs
the same computation as llama.cpp's gemma3 graph (RMS norms whose weights already hold Gemma's +1, q/k norms,
NEOX rotary embeddings with base 10,000 on sliding-window layers and the file's base on every sixth, global,
layer, a 512-token window, grouped-query attention, GELU-gated feed-forward with post-norms, tied embeddings),
with a low-rank pair (A, B) beside each projection of each block. Only the pairs train.

A decision page is the scene's shared prefix followed by the agent's own text; llama.cpp evaluates the prefix
without the adapter (`LlamaCppBackend`: one cached prefix for every group) and the agent's tokens with it. Training
does the same: the prefix's keys and values are computed once, without the pairs and without gradients, and each
example's own tokens are trained on top of them. The loss is the score mode's: cross-entropy of the right answer
digit among the page's answer digits, read at the page's last token (only the digits' rows of the embedding).

Why not Transformers and PEFT: Transformers' GGUF loader does not read Gemma 3, and a PEFT model would need it;
the forward pass is short, and owning it lets the prefix be shared exactly as llama.cpp shares it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

TARGETS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
SWA_BASE = 10_000.0  # llama.cpp's rotary base for Gemma 3's sliding-window layers
SWA_EVERY = 6  # every sixth layer attends globally


@dataclass
class Example:
    """One decision page: the agent's own tokens (after the shared prefix), the answer digits' token ids of its
    options, and the index of the right one."""

    tokens: list[int]
    keys: list[int]
    right: int


def example(backend, request, right: int = 0) -> Example:
    """The `Example` of a decision request, tokenized by the llama_cpp `backend` as it would evaluate it."""
    tokens = [t for _, text in request.parts for t in backend.tokenize(text)]
    return Example(tokens, [int(backend.digit_tokens[k]) for k in request.answer_keys], right)


def load(backend, shared: str, *, rank: int, seed: int = 0, threads: int = 0) -> tuple[Gemma3, list]:
    """(the trainable model of the llama_cpp `backend`'s GGUF, the keys and values of the shared prefix `shared`)
    on `threads` CPU threads (0: all)."""
    import os

    torch = _torch()
    torch.set_num_threads(threads or os.cpu_count() or 1)
    model = Gemma3(*read_gguf(str(backend.model_path)), rank=rank, seed=seed)
    return model, model.prefix(backend.tokenize(shared, bos=True))


@dataclass
class TrainReport:
    steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)


def _batches(examples: list[Example], size: int, rng) -> list[list[Example]]:
    """One epoch's batches: shuffled, then sorted by length within runs of 8 batches (less padding), in random
    order."""
    order = rng.permutation(len(examples))
    window = 8 * size
    out = []
    for s in range(0, len(order), window):
        run = sorted(order[s : s + window], key=lambda j: len(examples[j].tokens))
        out += [[examples[j] for j in run[b : b + size]] for b in range(0, len(run), size)]
    return [out[k] for k in rng.permutation(len(out))]


def fast_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX): training then runs its matrix products
    in bfloat16 (autocast; the pairs and the optimiser stay float32), about a third faster."""
    import torch

    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check and check())


def _torch():
    try:
        import torch
    except ImportError:
        from tokenworld.inference.base import BackendError

        raise BackendError(
            "training adapters needs PyTorch: pip install 'tokenworld[train]' (on Linux without a GPU, first "
            "pip install torch --index-url https://download.pytorch.org/whl/cpu to skip the CUDA libraries)."
        ) from None
    return torch


def read_gguf(path: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(hyperparameters, float32 weights by GGUF name) of a Gemma 3 GGUF."""
    import gguf

    from tokenworld.inference.base import BackendError
    from tokenworld.inference.steering import gguf_text

    reader = gguf.GGUFReader(path)
    arch = gguf_text(reader.fields.get("general.architecture"))
    if arch != "gemma3":
        raise BackendError(f"adapter training reads Gemma 3 models; {path} is a {arch or '?'} model.")

    def num(key: str):
        return reader.fields[f"gemma3.{key}"].contents()

    hp = {
        "n_layer": int(num("block_count")),
        "n_embd": int(num("embedding_length")),
        "n_head": int(num("attention.head_count")),
        "n_kv": int(num("attention.head_count_kv")),
        "head_dim": int(num("attention.key_length")),
        "eps": float(num("attention.layer_norm_rms_epsilon")),
        "rope_base": float(num("rope.freq_base")),
        "window": int(num("attention.sliding_window")),
    }
    weights = {}
    for t in reader.tensors:
        data = gguf.quants.dequantize(t.data, t.tensor_type)
        weights[t.name] = np.array(data.reshape(list(reversed(t.shape.tolist()))), dtype=np.float32)
    return hp, weights


class Gemma3:
    """Gemma 3's text model from GGUF weights, with LoRA pairs of rank `rank` on `targets` (see the module doc)."""

    def __init__(self, hp: dict, weights: dict[str, np.ndarray], *, rank: int = 8, alpha: float = 16.0, seed: int = 0):
        torch = _torch()
        self.torch = torch
        self.hp = hp
        self.rank, self.alpha = rank, alpha
        self.scale = alpha / rank if rank else 0.0  # rank 0: no pairs (`steer_learn` trains a control vector)
        self.embd = torch.from_numpy(weights["token_embd.weight"])
        self.out_norm = torch.from_numpy(weights["output_norm.weight"])
        self.w = [{} for _ in range(hp["n_layer"])]  # per block: "attn_q" -> weight (n_out, n_in), ...
        for name, value in weights.items():
            if name.startswith("blk."):
                _, i, part = name.split(".", 2)
                self.w[int(i)][part.removesuffix(".weight")] = torch.from_numpy(value)
        gen = torch.Generator().manual_seed(seed)
        self.lora: dict[str, tuple] = {}
        for i, layer in enumerate(self.w):
            for name in TARGETS if rank else ():
                n_out, n_in = layer[name].shape
                a = (torch.randn(rank, n_in, generator=gen) / math.sqrt(n_in)).requires_grad_()
                b = torch.zeros(n_out, rank).requires_grad_()  # starts as the unchanged model
                self.lora[f"blk.{i}.{name}"] = (a, b)
        d = hp["head_dim"]
        exps = torch.arange(0, d, 2, dtype=torch.float64) / d
        self._inv = {True: SWA_BASE**-exps, False: hp["rope_base"] ** -exps}  # frequencies by "is sliding"

        self.cvec = None  # (n_layer, n_embd) added to each block's output after the shared prefix, as llama.cpp's
        # control vectors are (None: none)

    def parameters(self) -> list:
        return [p for pair in self.lora.values() for p in pair]

    # ------------------------------------------------------------ pieces

    def _norm(self, x, w):
        return x * self.torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.hp["eps"]) * w

    def _lin(self, i: int, name: str, x, adapted: bool):
        y = x @ self.w[i][name].T
        if adapted:
            a, b = self.lora[f"blk.{i}.{name}"]
            y = y + self.scale * ((x @ a.T) @ b.T)
        return y

    def _rope(self, x, pos, sliding: bool):
        torch = self.torch
        ang = pos[:, None].double() * self._inv[sliding][None, :]
        cos, sin = torch.cos(ang).float(), torch.sin(ang).float()
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]
        cos, sin = cos[None, :, None, :], sin[None, :, None, :]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

    def _layer(self, i: int, x, pos, past, mask, adapted: bool):
        """One block over `x` (B, T, n_embd) at positions `pos`, attending to `past` (k, v) and itself."""
        torch, hp = self.torch, self.hp
        w = self.w[i]
        B, T, _ = x.shape
        sliding = (i + 1) % SWA_EVERY != 0
        h = self._norm(x, w["attn_norm"])
        q = self._lin(i, "attn_q", h, adapted).view(B, T, hp["n_head"], hp["head_dim"])
        k = self._lin(i, "attn_k", h, adapted).view(B, T, hp["n_kv"], hp["head_dim"])
        v = self._lin(i, "attn_v", h, adapted).view(B, T, hp["n_kv"], hp["head_dim"])
        q = self._rope(self._norm(q, w["attn_q_norm"]), pos, sliding)
        k = self._rope(self._norm(k, w["attn_k_norm"]), pos, sliding)
        if past is not None:
            pk, pv = past
            k = torch.cat([pk.expand(B, -1, -1, -1), k], dim=1)
            v = torch.cat([pv.expand(B, -1, -1, -1), v], dim=1)
        rep = hp["n_head"] // hp["n_kv"]
        att = torch.nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2),
            k.repeat_interleave(rep, dim=2).transpose(1, 2),
            v.repeat_interleave(rep, dim=2).transpose(1, 2),
            attn_mask=mask[sliding],
            scale=1.0 / math.sqrt(hp["head_dim"]),
        )
        att = att.transpose(1, 2).reshape(B, T, -1)
        x = x + self._norm(self._lin(i, "attn_output", att, adapted), w["post_attention_norm"])
        h = self._norm(x, w["ffn_norm"])
        gate = torch.nn.functional.gelu(self._lin(i, "ffn_gate", h, adapted), approximate="tanh")
        y = self._lin(i, "ffn_down", gate * self._lin(i, "ffn_up", h, adapted), adapted)
        return x + self._norm(y, w["post_ffw_norm"]), (k, v)

    def _masks(self, start: int, T: int):
        """Boolean masks (T queries at positions start.., start + T keys) for global and sliding layers."""
        torch = self.torch
        qpos = torch.arange(start, start + T)[:, None]
        kpos = torch.arange(start + T)[None, :]
        causal = kpos <= qpos
        return {False: causal, True: causal & (qpos - kpos < self.hp["window"])}

    # ------------------------------------------------------------ passes

    def prefix(self, tokens: list[int]) -> list[tuple]:
        """Keys and values of the shared prefix at every layer, unadapted (as llama.cpp evaluates it)."""
        torch = self.torch
        with torch.no_grad():
            x = self.embd[torch.tensor(tokens)][None] * math.sqrt(self.hp["n_embd"])
            pos = torch.arange(len(tokens))
            mask = self._masks(0, len(tokens))
            kv = []
            for i in range(self.hp["n_layer"]):
                x, k_v = self._layer(i, x, pos, None, mask, adapted=False)
                kv.append(k_v)
        return kv

    def last_hidden(self, prefix: list[tuple], batch: list[list[int]], adapted: bool = True):
        """The final normed hidden state at each token list's last token, after the prefix."""
        torch = self.torch
        P = prefix[0][0].shape[1]
        T = max(len(t) for t in batch)
        ids = torch.tensor([t + [0] * (T - len(t)) for t in batch])  # right padding: no real token sees it
        x = self.embd[ids] * math.sqrt(self.hp["n_embd"])
        pos = torch.arange(P, P + T)
        mask = self._masks(P, T)
        for i in range(self.hp["n_layer"]):
            x, _ = self._layer(i, x, pos, prefix[i], mask, adapted)
            if self.cvec is not None:
                x = x + self.cvec[i]
        last = torch.tensor([len(t) - 1 for t in batch])
        return self._norm(x[torch.arange(len(batch)), last], self.out_norm)

    def digit_logp(self, prefix, examples: list[Example], adapted: bool = True):
        """Per example, log-probabilities of its answer digits renormalised over them (score mode's reading)."""
        h = self.last_hidden(prefix, [e.tokens for e in examples], adapted)
        return [self.torch.log_softmax(h[j] @ self.embd[e.keys].T, dim=-1) for j, e in enumerate(examples)]

    def train(
        self,
        prefix,
        examples: list[Example],
        *,
        epochs: int = 2,
        batch: int = 4,
        lr: float = 1e-3,
        seed: int = 0,
        progress=None,
    ) -> TrainReport:
        """Adam on the LoRA pairs, cross-entropy of each page's right digit; `progress(step, steps, loss)`."""
        torch = self.torch
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        rng = np.random.default_rng(seed)
        steps = epochs * math.ceil(len(examples) / batch)
        report = TrainReport(steps=steps, seconds=0.0)
        t0 = time.perf_counter()
        step = 0
        for _ in range(epochs):
            for chunk in _batches(examples, batch, rng):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast_bf16()):
                    logps = self.digit_logp(prefix, chunk)
                    loss = -torch.stack([lp[e.right] for lp, e in zip(logps, chunk, strict=True)]).float().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                report.losses.append(loss.item())
                if progress:
                    progress(step, steps, report.losses[-1])
        report.seconds = time.perf_counter() - t0
        return report

    def pairs(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The trained pairs as llama.cpp stores them: name -> (A (rank, n_in), B (n_out, rank))."""
        return {f"{k}.weight": (a.detach().numpy(), b.detach().numpy()) for k, (a, b) in self.lora.items()}
