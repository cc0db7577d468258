"""vLLM in-process: the whole batch in one `LLM.generate` call, structured outputs, prefix caching.

Needs the `vllm` extra (`pip install 'tokenworld[vllm]'`) and, in practice, a GPU.
Each request is constrained by the JSON schema of its own options
(`Request.constraint`); vLLM's automatic prefix caching
reuses the shared prompt prefix across the batch.
"""

from __future__ import annotations

import time

from tokenworld.inference.answers import parsed
from tokenworld.inference.base import BackendError
from tokenworld.inference.sampling import GREEDY, Sampling
from tokenworld.mind.protocol import Answer, Request


def _vllm():
    try:
        import vllm
    except ImportError:
        raise BackendError(
            "the vllm backend needs vLLM, which is an optional extra: `pip install 'tokenworld[vllm]'` "
            '(on a machine with a GPU), or choose `mind.backend = "llama_cpp"`.'
        ) from None
    return vllm


class VLLMBackend:
    """vLLM's offline engine. `model` is a Hugging Face id or a local folder vLLM can load; `sampling` is applied
    as vLLM's `SamplingParams` (without `stop`: the JSON schema ends each answer)."""

    name = "vllm"
    answer_style = "label"

    def __init__(self, model: str, *, sampling: Sampling = GREEDY, **engine_kw):
        vllm = _vllm()
        self.model, self.sampling = model, sampling
        try:
            self.llm = vllm.LLM(model=model, enable_prefix_caching=True, seed=sampling.seed, **engine_kw)
        except Exception as e:  # vLLM raises many kinds; all mean "cannot start"
            raise BackendError(f"vLLM could not load {model!r}: {e}") from None
        self.tokenizer = self.llm.get_tokenizer()

    @property
    def settings(self) -> str:
        return f"vllm|{self.model}|t={self.sampling.temperature}|max={self.sampling.max_tokens}"

    def _params(self, req: Request):
        from vllm import SamplingParams

        schema = req.constraint.json_schema
        try:  # vLLM >= 0.10
            from vllm.sampling_params import StructuredOutputsParams

            extra = {"structured_outputs": StructuredOutputsParams(json=schema)}
        except ImportError:
            from vllm.sampling_params import GuidedDecodingParams

            extra = {"guided_decoding": GuidedDecodingParams(json=schema)}
        s = self.sampling
        return SamplingParams(temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens, seed=s.seed, **extra)

    def decide(self, batch: list[Request]) -> list[Answer]:
        t0 = time.perf_counter()
        outputs = self.llm.generate([r.prompt for r in batch], [self._params(r) for r in batch], use_tqdm=False)
        ms = (time.perf_counter() - t0) * 1000.0
        answers = []
        for req, out in zip(batch, outputs, strict=False):
            text = out.outputs[0].text
            n_in, n_out = len(out.prompt_token_ids or ()), len(out.outputs[0].token_ids)
            saved = int(getattr(out, "num_cached_tokens", 0) or 0)
            counts = {"tokens_in": n_in - saved, "tokens_out": n_out, "prefill_saved": saved, "latency_ms": ms}
            answers.append(parsed(req, text, **counts))
        return answers

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def prepare(self, shared: str, calibrations: list[tuple[str, int]]) -> None:
        """Nothing to prepare here (see `Backend.prepare`)."""

    def close(self) -> None:
        self.llm = None
