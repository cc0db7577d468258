"""vLLM in-process: the whole batch in one `LLM.generate` call, structured outputs, prefix caching.

Needs the `vllm` extra (`pip install 'tokenworld[vllm]'`) and, in practice, a GPU.
Each request is constrained by the JSON schema of its own options
(`tokenworld.mind.grammar.menu_json_schema`); vLLM's automatic prefix caching
reuses the shared prompt prefix across the batch.
"""

from __future__ import annotations

import time

from tokenworld.inference.base import BackendError
from tokenworld.mind.grammar import ParseError, menu_json_schema, parse_answer
from tokenworld.mind.protocol import Answer, Request, failed


def _vllm():
    try:
        import vllm
    except ImportError:
        raise BackendError(
            "the vllm backend needs vLLM, which is an optional extra: `pip install 'tokenworld[vllm]'` "
            "(on a machine with a GPU), or choose `mind.backend = \"llama_cpp\"`."
        ) from None
    return vllm


class VLLMBackend:
    """vLLM's offline engine. `model` is a Hugging Face id or a local folder vLLM can load."""

    name = "vllm"
    answer_style = "label"

    def __init__(self, model: str, *, temperature: float = 0.0, max_tokens: int = 48, seed: int = 0, **engine_kw):
        vllm = _vllm()
        self.model, self.temperature, self.max_tokens, self.seed = model, temperature, max_tokens, seed
        try:
            self.llm = vllm.LLM(model=model, enable_prefix_caching=True, seed=seed, **engine_kw)
        except Exception as e:  # vLLM raises many kinds; all mean "cannot start"
            raise BackendError(f"vLLM could not load {model!r}: {e}") from None
        self.tokenizer = self.llm.get_tokenizer()

    @property
    def settings(self) -> str:
        return f"vllm|{self.model}|t={self.temperature}|max={self.max_tokens}"

    def _params(self, req: Request):
        from vllm import SamplingParams

        schema = menu_json_schema(req.options, req.talk)
        try:  # vLLM >= 0.10
            from vllm.sampling_params import StructuredOutputsParams

            extra = {"structured_outputs": StructuredOutputsParams(json=schema)}
        except ImportError:
            from vllm.sampling_params import GuidedDecodingParams

            extra = {"guided_decoding": GuidedDecodingParams(json=schema)}
        return SamplingParams(temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed, **extra)

    def decide(self, batch: list[Request]) -> list[Answer]:
        t0 = time.perf_counter()
        outputs = self.llm.generate([r.prompt for r in batch], [self._params(r) for r in batch], use_tqdm=False)
        ms = (time.perf_counter() - t0) * 1000.0
        answers = []
        for req, out in zip(batch, outputs):
            text = out.outputs[0].text
            n_in, n_out = len(out.prompt_token_ids or ()), len(out.outputs[0].token_ids)
            saved = int(getattr(out, "num_cached_tokens", 0) or 0)
            try:
                choice, say = parse_answer(text, req.options, req.talk)
            except ParseError as e:
                a = failed(req, f"unparseable: {e}", ms)
                a.raw, a.tokens_in, a.tokens_out = text, n_in, n_out
                answers.append(a)
                continue
            answers.append(Answer(req.agent, req.tick, req.kind, choice, say, text, n_in - saved, n_out, saved, ms))
        return answers

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def prepare(self, shared: str, calibrations: list[tuple[str, int]]) -> None:
        """Nothing to prepare here (see `Backend.prepare`)."""

    def close(self) -> None:
        self.llm = None
