"""Inference: backends behind one protocol, and the worker thread that batches requests for them.

    backend = make_backend(scene.mind, seed=7)   # llama_cpp, openai, vllm or rules
    worker = InferenceWorker(backend, batch_size=16).start()

Heavy imports (llama_cpp, vllm) happen inside the backend that needs them.
"""

from __future__ import annotations

from tokenworld.inference.base import Backend, BackendError


def make_backend(mind, *, seed: int = 0, batch_invariant: bool = True):
    """The backend a scene's `[mind]` table asks for. Errors (missing model, missing extra) come now, before any tick.

    `batch_invariant` (llama_cpp): answers equal one-at-a-time answers exactly (lockstep runs); False is faster.
    """
    if mind.backend == "llama_cpp":
        from tokenworld.inference.llama_cpp import LlamaCppBackend

        return LlamaCppBackend(
            mind.model, mode=mind.mode, temperature=mind.temperature, max_tokens=mind.max_output_tokens,
            batch_size=mind.batch_size, n_gpu_layers=mind.n_gpu_layers, n_threads=mind.threads, seed=seed,
            max_prompt_tokens=mind.max_prompt_tokens, batch_invariant=batch_invariant, prior_weight=mind.prior_weight,
        )  # fmt: skip
    if mind.backend == "openai":
        from tokenworld.inference.openai_http import OpenAIBackend

        urls = [u.strip() for u in mind.endpoint.split(",") if u.strip()]
        return OpenAIBackend(
            urls, mind.model, temperature=mind.temperature, max_tokens=mind.max_output_tokens,
            structured=mind.structured, max_concurrency=mind.max_concurrency, timeout_s=mind.timeout_s,
            api_key_env=mind.api_key_env, seed=seed,
        )  # fmt: skip
    if mind.backend == "vllm":
        from tokenworld.inference.vllm_local import VLLMBackend

        return VLLMBackend(mind.model, temperature=mind.temperature, max_tokens=mind.max_output_tokens, seed=seed)
    if mind.backend == "rules":
        from tokenworld.inference.rules import RulesBackend

        return RulesBackend()
    raise BackendError(f"unknown backend {mind.backend!r}")


def preflight(mind) -> None:
    """Check, cheaply, that the backend of `mind` can start (model file, extra, URL); `BackendError` says what to do."""
    if mind.backend == "llama_cpp":
        from tokenworld.inference.llama_cpp import _llama
        from tokenworld.inference.models import resolve_model

        resolve_model(mind.model)
        _llama()
    elif mind.backend == "vllm":
        from tokenworld.inference.vllm_local import _vllm

        _vllm()


def __getattr__(name):
    if name == "InferenceWorker":
        from tokenworld.inference.worker import InferenceWorker

        return InferenceWorker
    raise AttributeError(name)


__all__ = ["Backend", "BackendError", "InferenceWorker", "make_backend", "preflight"]
