"""The embedded backend: llama.cpp in-process, many agents decoded together.

llama-cpp-python's high-level `Llama` decodes one sequence at a time, so this
backend drives its low-level API: one context with `n_seq_max` sequences and a
unified KV cache. Per batch of requests:

1. The shared prompt prefix (world, rules, actions, worked example) is
   evaluated once and kept in its own sequence for as long as it stays the
   same (for a whole run, usually); every request's sequence starts as a copy
   of it (`llama_memory_seq_cp`, no compute).
2. Every request's personal part is evaluated, all in one `llama_decode` call
   (or, with `batch_invariant`, one request after the other: see below).
3. Then, by `mode`:
   - `score` (default): the personal part lists the options numbered and ends
     with "Choice: "; the options are scored by the next-token log-probability
     of their number, one logits row per request, nothing generated. Agents
     that chose to talk then write their line (a few tokens, batched).
   - `generate`: the model writes the option's label, all sequences decoded
     together token by token, each with its own grammar sampler built from the
     agent's feasible options. Gemma's vocabulary has 262,144 tokens, so the
     grammar is not applied to every candidate: the best token is checked
     alone, and the full mask is applied only when the grammar rejects it.

Temperature 0 (`Sampling`) is greedy and makes a batch's answers equal to
deciding one request at a time.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
import time
from pathlib import Path

import numpy as np

from tokenworld.inference.agent_cache import AgentCache, Entry
from tokenworld.inference.base import BackendError
from tokenworld.inference.llama_answers import MAX_OPTIONS, SAY_TOKENS, AnswerReading
from tokenworld.inference.models import resolve_model
from tokenworld.inference.sampling import GREEDY, Sampling
from tokenworld.mind.protocol import Answer, Request

MODES = ("score", "generate")
_init_lock = threading.Lock()
_log_callback = None  # keeps the silencing callback alive for the process


def _llama():
    """Import llama_cpp (a dependency, but compiled on install: say so if it is missing)."""
    try:
        import llama_cpp
    except ImportError as e:
        raise BackendError(
            f"llama-cpp-python is not installed ({e}); run `bash tools/bootstrap.sh` "
            "or `pip install llama-cpp-python==0.3.36` (it compiles for a few minutes)."
        ) from None
    global _log_callback
    with _init_lock:
        if _log_callback is None:
            _log_callback = llama_cpp.llama_log_callback(lambda level, text, data: None)
            llama_cpp.llama_log_set(_log_callback, None)
            llama_cpp.llama_backend_init()
    return llama_cpp


class LlamaCppBackend(AnswerReading):
    """Gemma 3 270M (or any GGUF) in-process, batched.

    Args:
        model: 'gemma3-270m' (the packaged model) or a path to a .gguf file.
        mode: 'score' or 'generate' (see the module docstring).
        sampling: temperature (0 is greedy and reproducible), top_p, seed, and `max_tokens` (most tokens written
            per decision in generate mode). Score mode draws among the options, generate mode among tokens.
        batch_size: most requests decoded together (sequences of the context).
        n_ctx: KV cache size in tokens, shared by every sequence (0 sizes it from batch_size).
        n_threads: CPU threads (0: all cores).
        n_gpu_layers: layers offloaded to a GPU when the build supports it (-1 all).
        batch_invariant: answer the requests of a batch one after the other (each still starting from the
            shared prefix's KV cache), so that a batched answer equals the one-at-a-time answer exactly.
            llama.cpp's CPU kernels are not batch-invariant: a request's option log-probabilities moved by up
            to 0.12 nats when other sequences shared its `llama_decode` calls or its KV cache (measured).
            False decodes the batch's sequences together: faster (see BENCHMARKS.md), but answers may differ
            from one at a time.
        agent_cache_mb: host memory for the agents' own KV caches (`tokenworld.inference.agent_cache`): a
            request whose personal part comes in blocks evaluates only those from the first that changed since
            the agent's last request. 0 evaluates every request in full.
        prior_weight: score mode: the choice maximises the calibrated log-likelihood plus this times
            `prior_term(request.prior)` (the rules brain's utilities); 0 is the model alone. Generate mode
            ignores it (it has no per-option likelihoods).
    """

    name = "llama_cpp"

    def __init__(
        self,
        model: str = "gemma3-270m",
        *,
        mode: str = "score",
        sampling: Sampling = GREEDY,
        batch_size: int = 16,
        n_ctx: int = 0,
        n_threads: int = 0,
        n_gpu_layers: int = -1,
        max_prompt_tokens: int = 1024,
        batch_invariant: bool = True,
        prior_weight: float = 0.0,
        agent_cache_mb: float = 256.0,
        steering=None,
    ):
        if mode not in MODES:
            raise BackendError(f"llama_cpp mode must be one of {', '.join(MODES)}, found {mode!r}.")
        if not 1 <= batch_size <= 128:
            raise BackendError(f"batch_size must be in [1, 128], found {batch_size}.")
        if not 0.0 <= agent_cache_mb < math.inf:
            raise BackendError(f"agent_cache_mb must be 0 or more, found {agent_cache_mb}.")
        if not 0.0 <= prior_weight < math.inf:
            raise BackendError(f"prior_weight must be 0 or more, found {prior_weight}.")
        L = self._L = _llama()
        self.model_path = resolve_model(model)
        self.model_name = model
        self.mode, self.sampling = mode, sampling
        self.max_tokens = sampling.max_tokens
        self.batch_size = batch_size
        self.batch_invariant = batch_invariant
        self.calibration = 1.0  # how much of the content-free answer bias is subtracted in score mode
        self.prior_weight = float(prior_weight)  # score mode: weight of the rules brain's utilities (see `prior_term`)
        self.max_prompt_tokens = max_prompt_tokens
        self.rng = np.random.default_rng(sampling.seed)
        mp = L.llama_model_default_params()
        self.gpu_offload = bool(L.llama_supports_gpu_offload())
        mp.n_gpu_layers = n_gpu_layers if self.gpu_offload else 0
        self._model = L.llama_model_load_from_file(str(self.model_path).encode(), mp)
        if not self._model:
            raise BackendError(f"llama.cpp could not load {self.model_path}; is it a complete GGUF file?")
        self._vocab = L.llama_model_get_vocab(self._model)
        self.n_vocab = L.llama_vocab_n_tokens(self._vocab)
        self._seq_base = 2  # sequences 0 and 1 hold shared prefixes
        cp = L.llama_context_default_params()
        cp.n_ctx = n_ctx or 2 * max_prompt_tokens + batch_size * (max_prompt_tokens + self.max_tokens + SAY_TOKENS + 8)
        cp.n_batch = cp.n_ctx
        cp.n_ubatch = min(512, cp.n_ctx)
        cp.n_seq_max = self._seq_base + batch_size + 1  # prefixes, requests, calibration
        threads = n_threads or os.cpu_count() or 1
        cp.n_threads = cp.n_threads_batch = threads
        cp.kv_unified = True
        cp.swa_full = True
        # Flash attention skips other sequences' cells at little cost (decoded together, every token's attention
        # spans the whole unified cache) but is 10-20% slower than the plain path for one sequence's ~30-token
        # turn after ~800 cached tokens (measured): on when decoding together, off when batch-invariant.
        cp.flash_attn_type = 0 if batch_invariant else 1
        self._ctx = L.llama_init_from_model(self._model, cp)
        if not self._ctx:
            raise BackendError(f"llama.cpp could not make a context of {cp.n_ctx} tokens; lower batch_size or n_ctx.")
        self.n_ctx = cp.n_ctx
        self._mem = L.llama_get_memory(self._ctx)
        self._batch = L.llama_batch_init(cp.n_batch, 0, 1)
        self._batch_cap = cp.n_batch
        self._prefixes: dict[int, tuple[str, list[int]]] = {}  # seq -> (shared text, tokens)
        self._prefix_state: dict[str, tuple] = {}  # shared text -> its KV cache (batch-invariant mode)
        self._clean: str | None = None  # the cache holds exactly this prefix, as restored (batch-invariant mode)
        self._calibrated: dict[tuple, np.ndarray] = {}  # (shared, content-free page, profile, adapter) -> digit logits
        self._prefix_lru: list[int] = []
        self._digits = np.array([self.tokenize(str(k))[0] for k in range(10)])
        self._space = self.tokenize(" ")
        self._newline = (self.tokenize("\n") or [-1])[0]
        self._tries: dict[tuple[str, ...], dict] = {}  # option lists -> their token trie (see `_written`)
        self.agent_cache = AgentCache(int(agent_cache_mb * 2**20))
        self._steering(steering)
        self._adapters: dict[str, object] = {}  # adapter path -> llama.cpp's handle (freed with the model)
        self._adapted = ""  # the adapter on the context now

    # ------------------------------------------------------------ protocol

    @property
    def settings(self) -> str:
        steer = f"|steer={self.vectors.source}*{self.steer_strength}@{self.steer_layers}" if self.vectors else ""
        return (
            f"llama_cpp|{self.model_path.name}|{self.mode}|t={self.sampling.temperature}|max={self.max_tokens}"
            f"|inv={self.batch_invariant}|prior={self.prior_weight if self.mode == 'score' else 0.0}{steer}"
        )

    @property
    def answer_style(self) -> str:
        """How prompts must end: 'number' (score mode) or 'label' (generate mode)."""
        return "number" if self.mode == "score" else "label"

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def decide(self, batch: list[Request]) -> list[Answer]:
        if not self._ctx:  # llama.cpp would read freed memory
            raise BackendError("this llama_cpp backend was closed; make a new one.")
        step = 1 if self.batch_invariant else self.batch_size
        groups: dict[tuple, list[int]] = {}
        for i, req in enumerate(batch):  # one control vector and one adapter per context: a chunk holds one of each
            groups.setdefault((req.steer if self.vectors else (), req.adapter), []).append(i)
        answers: list[Answer | None] = [None] * len(batch)
        try:
            for rows in groups.values():
                for start in range(0, len(rows), step):
                    part = rows[start : start + step]
                    for i, a in zip(part, self._decide_chunk([batch[i] for i in part]), strict=True):
                        answers[i] = a
        finally:
            self._steer(())  # shared prefixes are evaluated unsteered and unadapted, whatever stopped a chunk
            self._adapt("")
        return answers  # type: ignore[return-value]

    def prepare(self, shared: str, calibrations: list[tuple[str, int]]) -> None:
        """Evaluate the shared prefix and, in score mode, the answer bias of each content-free page (for
        1 to 9 options), as the first batch would, so that the first decisions come sooner."""
        self._prefix_seq(shared) if not self.batch_invariant else self._fresh(shared)
        if self.mode == "score":
            blanks = [
                Request(-1, 0, "decide", shared, "", ["-"] * k, [False] * k, calibration=text)
                for text, k in calibrations
            ]
            self._bias([r for r in blanks if 1 <= len(r.options) <= MAX_OPTIONS])

    def close(self) -> None:
        L = self._L
        if getattr(self, "_batch", None) is not None:
            L.llama_batch_free(self._batch)
            self._batch = None
        if getattr(self, "_ctx", None):
            L.llama_free(self._ctx)
            self._ctx = None
        if getattr(self, "_model", None):
            L.llama_model_free(self._model)
            self._model = None

    def __del__(self):  # noqa: D105
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    # ------------------------------------------------------------ steering

    def _steering(self, options) -> None:
        """Load the trait vectors `mind.steering` names and check them against the model (None: no steering)."""
        self.vectors = None
        self._steered: tuple = ()  # the profile whose control vector the context holds now
        self._controls: dict[tuple, np.ndarray] = {}  # profile -> its control vector, rows from layer 1
        if options is None or not options.vectors:
            return
        from tokenworld.inference.steering import check_vectors, load_vectors, loaded_shape

        vectors = load_vectors(options.vectors)
        shape = loaded_shape(self._L, self._model, self.model_path)
        check_vectors(vectors, self.model_name, shape, options.layers)
        self.vectors, self.steer_strength, self.steer_layers = vectors, float(options.strength), tuple(options.layers)

    def _steer(self, profile: tuple) -> None:
        """Set the control vector of `profile` (an agent's coefficients) on the context; () clears it."""
        profile = profile if self.vectors is not None else ()
        if profile == self._steered:
            return
        L, n_embd = self._L, self.vectors.n_embd if self.vectors is not None else 0
        if profile:
            v = self._controls.get(profile)
            if v is None:
                full = self.vectors.control(profile, self.steer_strength, self.steer_layers)
                v = self._controls[profile] = np.ascontiguousarray(full[1:])  # llama.cpp's rows start at layer 1
            ptr = v.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            rc = L.llama_set_adapter_cvec(
                self._ctx, ptr, v.size, n_embd, min(self.steer_layers), max(self.steer_layers)
            )
        else:
            rc = L.llama_set_adapter_cvec(self._ctx, None, 0, n_embd, 0, 0)
        if rc != 0:
            raise BackendError(f"llama.cpp refused the steering control vector (code {rc}).")
        self._steered = profile

    def _adapt(self, adapter: str) -> None:
        """Put the LoRA adapter at path `adapter` on the context (loaded the first time); "" takes it off."""
        if adapter == self._adapted:
            return
        L = self._L
        if adapter:
            handle = self._adapters.get(adapter)
            if handle is None:
                handle = L.llama_adapter_lora_init(self._model, str(Path(adapter).expanduser()).encode())
                if not handle:
                    raise BackendError(
                        f"`groups[].adapter`: llama.cpp could not load the LoRA adapter {adapter!r} for "
                        f"{self.model_path.name} (missing, not a LoRA GGUF, or made for another model)."
                    )
                self._adapters[adapter] = handle
            one, scale = (L.llama_adapter_lora_p_ctypes * 1)(handle), (ctypes.c_float * 1)(1.0)
            rc = L.llama_set_adapters_lora(self._ctx, one, 1, scale)
        else:
            rc = L.llama_set_adapters_lora(self._ctx, None, 0, None)
        if rc != 0:
            raise BackendError(f"llama.cpp refused the LoRA adapter {adapter!r} (code {rc}).")
        self._adapted = adapter

    # ------------------------------------------------------------ tokens

    def tokenize(self, text: str, bos: bool = False) -> list[int]:
        data = text.encode()
        cap = len(data) + 8
        buf = (self._L.llama_token * cap)()
        n = self._L.llama_tokenize(self._vocab, data, len(data), buf, cap, bos, True)
        if n < 0:
            raise BackendError("text too long to tokenize")
        return list(buf[:n])

    @property
    def digit_tokens(self) -> np.ndarray:
        """The token id of each answer digit 0-9 (what score mode reads; what training scores)."""
        return self._digits

    def piece(self, token: int) -> str:
        buf = ctypes.create_string_buffer(64)
        n = self._L.llama_token_to_piece(self._vocab, token, buf, 64, 0, False)
        return buf.raw[: max(n, 0)].decode("utf-8", errors="replace")

    # ------------------------------------------------------------ decoding

    def _decode(self, items: list[tuple[int, list[int], int, bool]]) -> list[np.ndarray | None]:
        """Evaluate token runs [(seq, tokens, first position, logits of the last token?)] together; per run
        its logits (a copy) or None. Runs longer than the batch are split over several calls.
        """
        b = self._batch
        rows = [-1] * len(items)
        out: list[np.ndarray | None] = [None] * len(items)
        k = 0
        for idx, (seq, toks, p0, want) in enumerate(items):
            for j, t in enumerate(toks):
                if k == self._batch_cap:
                    self._flush(k, rows, out)
                    k = 0
                b.token[k] = t
                b.pos[k] = p0 + j
                b.n_seq_id[k] = 1
                b.seq_id[k][0] = seq
                last = j == len(toks) - 1
                b.logits[k] = bool(want and last)
                if want and last:
                    rows[idx] = k
                k += 1
        if k:
            self._flush(k, rows, out)
        return out

    def _flush(self, k: int, rows: list[int], out: list) -> None:
        """Decode the first `k` batch entries; copy out the logits rows asked for."""
        self._batch.n_tokens = k
        rc = self._L.llama_decode(self._ctx, self._batch)
        if rc != 0:
            raise BackendError(f"llama_decode failed (code {rc}); the KV cache ({self.n_ctx} tokens) may be full.")
        for idx, row in enumerate(rows):
            if row >= 0 and out[idx] is None and row < k:
                ptr = self._L.llama_get_logits_ith(self._ctx, row)
                out[idx] = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()
                rows[idx] = -1

    def _prefix_seq(self, shared: str) -> tuple[int, int, bool]:
        """The sequence holding `shared` (evaluating it if new): (seq, length, was it reused)."""
        for seq, (text, toks) in self._prefixes.items():
            if text == shared:
                self._prefix_lru = [s for s in self._prefix_lru if s != seq] + [seq]
                return seq, len(toks), True
        free = [s for s in range(self._seq_base) if s not in self._prefixes]
        seq = free[0] if free else self._prefix_lru.pop(0)
        self._L.llama_memory_seq_rm(self._mem, seq, -1, -1)
        toks = self.tokenize(shared, bos=True)
        self._decode([(seq, toks, 0, False)])
        self._prefixes[seq] = (shared, toks)
        self._prefix_lru.append(seq)
        return seq, len(toks), False

    def _fresh(self, shared: str) -> bool:
        """Batch-invariant mode: leave the KV cache holding only `shared` (sequence 0), laid out exactly as every
        time before, since llama.cpp's numbers depend on where cells lie. True when the prefix was evaluated now."""
        L, ctx = self._L, self._ctx
        if self._clean == shared:  # only the prefix is left, and removing cells sends llama.cpp's search head back
            self._clean = None
            return False
        saved = self._prefix_state.get(shared)
        evaluated = saved is None
        if evaluated:
            L.llama_memory_clear(self._mem, True)
            self._prefixes.clear()
            self._prefix_lru.clear()
            self._prefix_seq(shared)
            size = L.llama_state_seq_get_size(ctx, 0)
            buf = (ctypes.c_uint8 * size)()
            L.llama_state_seq_get_data(ctx, buf, size, 0)
            saved = self._prefix_state[shared] = (buf, size, self._prefixes[0][1])
        buf, size, toks = saved
        L.llama_memory_clear(self._mem, True)
        if L.llama_state_seq_set_data(ctx, buf, size, 0) != size:
            raise BackendError("llama.cpp could not restore the shared prompt's KV cache")
        self._prefixes = {0: (shared, toks)}
        self._prefix_lru = [0]
        self._clean = None
        return evaluated

    # ------------------------------------------------------------ each agent's own cache

    def _restore(self, req: Request, seq: int, pseq: int, plen: int, blocks: list[list[int]]) -> int:
        """Start `seq` as the shared prefix (sequence `pseq`, `plen` tokens) followed by the agent's cached
        blocks that did not change (all but the last block at most, whose last token's logits are needed);
        how many blocks were restored."""
        L, kept = self._L, 0
        entry = None
        if len(blocks) > 1 and self.agent_cache.budget:
            entry, kept = self.agent_cache.match(req.agent, req.state_version, blocks[:-1])
        if kept:
            if L.llama_state_seq_set_data(self._ctx, entry.blob, entry.nbytes, seq) != entry.nbytes:
                self.agent_cache.drop(req.agent)  # no room for it: evaluate in full
                L.llama_memory_seq_rm(self._mem, seq, -1, -1)
                kept = 0
        L.llama_memory_seq_cp(self._mem, pseq, seq, -1, -1)
        if kept:
            L.llama_memory_seq_rm(self._mem, seq, plen + sum(len(t) for t in blocks[:kept]), -1)
        return kept

    def _keep(self, req: Request, seq: int, plen: int, blocks: list[tuple[str, list[int]]]) -> None:
        """Save the agent's blocks from `seq` (not the answer after them), without the shared prefix's cells: the
        next request may repeat them all (a transcript's newest turn is the next one's last but one)."""
        L = self._L
        if len(blocks) < 2 or not self.agent_cache.budget or req.kind != "decide":  # a reflection's page is its own
            return
        L.llama_memory_seq_rm(self._mem, seq, plen + sum(len(t) for _, t in blocks), -1)
        L.llama_memory_seq_rm(self._mem, seq, 0, plen)
        size = L.llama_state_seq_get_size(self._ctx, seq)
        buf = (ctypes.c_uint8 * size)()
        if L.llama_state_seq_get_data(self._ctx, buf, size, seq) != size:
            return
        self.agent_cache.put(req.agent, Entry(req.state_version, [t for _, t in blocks], buf, size))

    def _prefill(self, todo: list[tuple[int, list[tuple[str, list[int]]], int]]) -> list[np.ndarray]:
        """Evaluate each request's blocks left to evaluate [(seq, [(name, tokens)], first position)]; the logits
        of each one's last token. Batch-invariant: each block in a call of its own (what a restored block
        holds is then exactly what evaluating it anew would give); else all requests' tokens together."""
        if not self.batch_invariant:
            return self._decode([(s, [t for _, toks in rest for t in toks], p0, True) for s, rest, p0 in todo])
        out = []
        for s, rest, p0 in todo:
            last = None
            for j, (_, toks) in enumerate(rest):
                (last,) = self._decode([(s, toks, p0, j == len(rest) - 1)])
                p0 += len(toks)
            out.append(last)
        return out

    def _decide_chunk(self, batch: list[Request]) -> list[Answer]:
        L = self._L
        t0 = time.perf_counter()
        biases = self._bias(batch) if self.mode == "score" else None  # before any request's cells exist
        evaluated = self._fresh(batch[0].shared) if self.batch_invariant else False
        seqs = [self._seq_base + i for i in range(len(batch))]
        for s in seqs:
            L.llama_memory_seq_rm(self._mem, s, -1, -1)
        starts, saved, todo, held = [], [], [], []  # starts: where each prompt ends (its length in tokens)
        for req, s in zip(batch, seqs, strict=False):
            pseq, plen, reused = self._prefix_seq(req.shared)
            blocks = [(name, self.tokenize(text)) for name, text in req.parts]
            kept = self._restore(req, s, pseq, plen, [t for _, t in blocks])
            n_kept = sum(len(t) for _, t in blocks[:kept])
            total = plen + sum(len(t) for _, t in blocks)
            todo.append((s, blocks[kept:], plen + n_kept))
            held.append((plen, blocks))
            starts.append(total)
            saved.append((plen if reused and not evaluated else 0) + n_kept)  # only one request pays for a prefix
            evaluated = False
        self._steer(batch[0].steer)  # the agents' own tokens and answers under their profile and adapter; the
        self._adapt(batch[0].adapter)  # shared prefix is not
        logits = self._prefill(todo)
        answers: list[Answer | None] = [None] * len(batch)
        numbers = [i for i, r in enumerate(batch) if r.kind == "guess"]  # written under the options' token trie
        others = [i for i, r in enumerate(batch) if r.kind != "guess"]
        for part in (numbers, others):
            if not part:
                continue
            args = (
                [batch[i] for i in part],
                [seqs[i] for i in part],
                [logits[i] for i in part],
                [starts[i] for i in part],
            )
            if part is numbers:
                got = self._written(*args)
            elif self.mode == "score":
                got = self._score(*args, [biases[i] for i in part])
            else:
                got = self._generate(*args)
            for i, a in zip(part, got, strict=True):
                answers[i] = a
        self._steer(())
        self._adapt("")
        dt = (time.perf_counter() - t0) * 1000.0
        for a, n_in, sv, (_, rest, _) in zip(answers, starts, saved, todo, strict=False):
            a.latency_ms = dt
            a.tokens_in = n_in - sv
            a.prefill_saved = sv
            for name, toks in rest:
                a.prefill_blocks[name] = a.prefill_blocks.get(name, 0) + len(toks)
        for req, s, (plen, blocks) in zip(batch, seqs, held, strict=True):
            self._keep(req, s, plen, blocks)
            L.llama_memory_seq_rm(self._mem, s, -1, -1)
        if self.batch_invariant:
            self._clean = batch[0].shared
        return answers

    def _steps(self, seqs, active: dict, cur: dict, max_steps: int, take) -> None:
        """Decode the `active` sequences (index -> logits of their last token) token by token, together.

        `take(i, logits)` returns the token to feed to sequence i next, or None when it is done.
        """
        for _ in range(max_steps):
            step = []
            for i, logits in list(active.items()):
                tok = take(i, logits)
                if tok is None:
                    del active[i]
                else:
                    step.append((i, tok))
            if not step:
                break
            rows = self._decode([(seqs[i], [tok], cur[i], True) for i, tok in step])
            for (i, _), row in zip(step, rows, strict=True):
                cur[i] += 1
                active[i] = row

    def _pick(self, logits: np.ndarray) -> int:
        if self.sampling.greedy:
            return int(np.argmax(logits))
        top = np.argpartition(-logits, 64)[:64]  # sample among the 64 likeliest (the rest carry no mass worth the cost)
        return int(top[self.sampling.draw(logits[top], self.rng)])
