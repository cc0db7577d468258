"""Inference: backends behind one protocol, and the worker thread that batches requests for them.

    backend = make_backend(scene.mind, seed=7)   # llama_cpp, openai, vllm or rules
    worker = InferenceWorker(backend, batch_size=16).start()

What backends share has one owner each: `Sampling` (sampling settings, built
once from `[mind]`), `Request.constraint` (choices, GBNF, JSON schema, parser),
`answers.parsed` (text to answer, or a failed one), `Failover` (retries over
replicas, behind the same protocol) and `InferenceStats` (the worker's books).
Heavy imports (llama_cpp, vllm) happen inside the backend that needs them.
"""

from __future__ import annotations

from tokenworld.inference.base import Backend, BackendError
from tokenworld.inference.sampling import Sampling


def make_backend(mind, *, seed: int = 0, batch_invariant: bool = True):
    """The backend a scene's `[mind]` table asks for. Errors (missing model, missing extra) come now, before any tick.

    `batch_invariant` (llama_cpp): answers equal one-at-a-time answers exactly (lockstep runs); False is faster.
    """
    sampling = Sampling.from_mind(mind, seed=seed)
    if mind.backend == "llama_cpp":
        from tokenworld.inference.llama_cpp import LlamaCppBackend

        return LlamaCppBackend(
            mind.model,
            mode=mind.mode,
            sampling=sampling,
            batch_size=mind.batch_size,
            n_gpu_layers=mind.n_gpu_layers,
            n_threads=mind.threads,
            max_prompt_tokens=mind.max_prompt_tokens,
            batch_invariant=batch_invariant,
            prior_weight=mind.prior_weight,
            agent_cache_mb=mind.agent_cache_mb,
            steering=mind.steering,
        )
    if mind.backend == "openai":
        from tokenworld.inference.openai_http import OpenAIBackend

        urls = [u.strip() for u in mind.endpoint.split(",") if u.strip()]
        return OpenAIBackend(
            urls,
            mind.model,
            sampling=sampling,
            structured=mind.structured,
            max_concurrency=mind.max_concurrency,
            timeout_s=mind.timeout_s,
            api_key_env=mind.api_key_env,
        )
    if mind.backend == "vllm":
        from tokenworld.inference.vllm_local import VLLMBackend

        return VLLMBackend(mind.model, sampling=sampling)
    if mind.backend == "ray":
        from tokenworld.inference.ray_pool import RayBackend

        return RayBackend(mind, seed=seed, batch_invariant=batch_invariant)
    if mind.backend == "rules":
        from tokenworld.inference.rules import RulesBackend

        return RulesBackend()
    raise BackendError(f"unknown backend {mind.backend!r}")


def preflight(mind, adapters: dict[str, str] | None = None) -> None:
    """Check, cheaply, that the backend of `mind` can start (model file, extra, URL, steering vectors, the groups'
    adapters: group name -> adapter); `BackendError` says what to do."""
    if mind.backend == "llama_cpp":
        from tokenworld.inference.llama_cpp import _llama
        from tokenworld.inference.models import resolve_model

        path = resolve_model(mind.model)
        _llama()
        if mind.steering.vectors or adapters:  # a bad vector or adapter file fails here, before any run folder
            from tokenworld.inference.adapters import check_adapter
            from tokenworld.inference.steering import check_vectors, load_vectors, model_shape

            shape = model_shape(path)
            if mind.steering.vectors:
                check_vectors(load_vectors(mind.steering.vectors), mind.model, shape, mind.steering.layers)
            for group, adapter in (adapters or {}).items():
                check_adapter(adapter, group, shape[0])
    elif mind.backend == "vllm":
        from tokenworld.inference.vllm_local import _vllm

        _vllm()
    elif mind.backend == "ray":
        from dataclasses import replace

        from tokenworld.inference.ray_pool import _ray

        _ray()
        if mind.ray_backend != "ray":
            preflight(replace(mind, backend=mind.ray_backend), adapters)


def __getattr__(name):
    if name == "InferenceWorker":
        from tokenworld.inference.worker import InferenceWorker

        return InferenceWorker
    raise AttributeError(name)


__all__ = ["Backend", "BackendError", "InferenceWorker", "Sampling", "make_backend", "preflight"]
