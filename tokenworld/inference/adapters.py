"""LoRA adapters per group (`[[groups]] adapter`): checking a llama.cpp adapter GGUF before a run starts, and
writing one (`save_adapter`, for `tokenworld adapters train`).

The llama_cpp backend loads an adapter when a request of its group first comes and puts it on the context for
that group's requests (`LlamaCppBackend._adapt`); the OpenAI-compatible backend sends the adapter's name as the
request's model, for servers that serve adapters under their own names (`vllm serve --lora-modules NAME=PATH`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tokenworld.inference.base import BackendError
from tokenworld.inference.steering import gguf_text


def check_adapter(path: str, group: str, arch: str) -> None:
    """The adapter file of group `group` is a LoRA GGUF for a model of architecture `arch`; else `BackendError`
    naming `groups[<group>].adapter`, the file and what to do."""
    import gguf

    key = f"`groups[{group}].adapter`"
    file = Path(path).expanduser()
    if not file.is_file():
        raise BackendError(f"{key}: no adapter file {path!r}; give the path of a llama.cpp LoRA adapter (.gguf).")
    try:
        reader = gguf.GGUFReader(str(file))
        kind, lora, made_for = (
            gguf_text(reader.fields.get(k)) for k in ("general.type", "adapter.type", "general.architecture")
        )
        names = {t.name for t in reader.tensors}
    except Exception as exc:  # the reader raises many kinds on a damaged file
        raise BackendError(f"{key}: {path} is not a readable GGUF file ({exc}).") from None
    if kind != "adapter" or lora != "lora":
        raise BackendError(
            f"{key}: {path} is not a LoRA adapter (general.type {kind!r}, adapter.type {lora!r}); convert one with "
            "llama.cpp's convert_lora_to_gguf.py."
        )
    if made_for != arch:
        raise BackendError(f"{key}: {path} was made for a {made_for or '?'} model; the scene's model is {arch}.")
    pairs = {n[: -len(".lora_a")] for n in names if n.endswith(".lora_a")}
    if not pairs or pairs != {n[: -len(".lora_b")] for n in names if n.endswith(".lora_b")}:
        raise BackendError(f"{key}: {path} holds no matching lora_a/lora_b tensor pairs.")


def save_adapter(
    path: str | Path, pairs: dict[str, tuple[np.ndarray, np.ndarray]], *, alpha: float, arch: str, meta: dict
) -> Path:
    """Write a llama.cpp LoRA adapter: `pairs` maps a weight's GGUF name (`blk.3.attn_q.weight`) to (A (rank, n_in),
    B (n_out, rank)), applied as W + alpha / rank * B A; `meta` (str, int or float values) goes in as
    `tokenworld.<key>`. Written beside the target, then renamed over it."""
    import gguf

    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    writer = gguf.GGUFWriter(str(part), arch)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    for key, value in meta.items():
        if isinstance(value, str):
            writer.add_string(f"tokenworld.{key}", value)
        elif isinstance(value, int):
            writer.add_uint32(f"tokenworld.{key}", value)
        else:
            writer.add_float32(f"tokenworld.{key}", float(value))
    for name, (a, b) in pairs.items():
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a, dtype=np.float32))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    part.replace(path)
    return path
