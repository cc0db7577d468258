"""The model's hidden states: each layer's output (the residual stream llama.cpp names `l_out-<layer>`) at the last
token of a text, read through llama.cpp's evaluation callback. What trait directions are computed from
(`tokenworld.inference.steering`)."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

from tokenworld.inference.base import BackendError
from tokenworld.inference.models import resolve_model
from tokenworld.inference.steering import loaded_shape

LAYER_OUT = "l_out-"  # llama.cpp's name of a layer's output, the point a control vector is added to


def _ggml(L):
    """The few ggml functions the callback needs, from the library llama-cpp-python ships."""
    lib = ctypes.CDLL(str(Path(os.path.dirname(L.__file__)) / "lib" / "libggml-base.so"))
    lib.ggml_get_name.restype, lib.ggml_get_name.argtypes = ctypes.c_char_p, [ctypes.c_void_p]
    lib.ggml_nelements.restype, lib.ggml_nelements.argtypes = ctypes.c_int64, [ctypes.c_void_p]
    lib.ggml_nbytes.restype, lib.ggml_nbytes.argtypes = ctypes.c_size_t, [ctypes.c_void_p]
    lib.ggml_backend_tensor_get.restype = None
    lib.ggml_backend_tensor_get.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
    return lib


class HiddenStates:
    """A llama.cpp model that reports every layer's output at a text's last token.

    Args:
        model: the packaged model's name or a GGUF path (as `mind.model`).
        threads: CPU threads (0: all).
        n_ctx: the longest text, in tokens.
    """

    def __init__(self, model: str = "gemma3-270m", *, threads: int = 0, n_ctx: int = 512):
        from tokenworld.inference.llama_cpp import _llama

        L = self._L = _llama()
        self._g = _ggml(L)
        self.model_path = resolve_model(model)
        self._model = L.llama_model_load_from_file(str(self.model_path).encode(), L.llama_model_default_params())
        if not self._model:
            raise BackendError(f"llama.cpp could not load {self.model_path}; is it a complete GGUF file?")
        self.arch, self.n_layer, self.n_embd = loaded_shape(L, self._model, self.model_path)
        self._got: dict[int, np.ndarray] = {}
        self._callback = L.ggml_backend_sched_eval_callback(self._on_tensor)  # kept: llama.cpp holds the pointer
        cp = L.llama_context_default_params()
        cp.n_ctx = cp.n_batch = cp.n_ubatch = n_ctx
        cp.n_threads = cp.n_threads_batch = threads or os.cpu_count() or 1
        cp.cb_eval = self._callback
        self._ctx = L.llama_init_from_model(self._model, cp)
        if not self._ctx:
            raise BackendError("llama.cpp could not make a context for reading hidden states.")
        self.n_ctx = n_ctx
        self._vocab = L.llama_model_get_vocab(self._model)
        self._mem = L.llama_get_memory(self._ctx)

    def _on_tensor(self, tensor, ask: bool, _user) -> bool:
        name = self._g.ggml_get_name(tensor).decode()
        if ask:  # llama.cpp asks which tensors we want to see
            return name.startswith(LAYER_OUT)
        n = self._g.ggml_nelements(tensor)
        data = np.empty(n, np.float32)
        self._g.ggml_backend_tensor_get(tensor, data.ctypes.data, 0, self._g.ggml_nbytes(tensor))
        self._got[int(name[len(LAYER_OUT) :])] = data.reshape(-1, self.n_embd)[-1].copy()  # the last token's row
        return True

    def states(self, text: str) -> np.ndarray:
        """Every layer's output at the last token of `text` (after a BOS token): float32 (n_layer, n_embd)."""
        L = self._L
        data = text.encode()
        buf = (L.llama_token * (len(data) + 8))()
        n = L.llama_tokenize(self._vocab, data, len(data), buf, len(data) + 8, True, True)
        if not 0 < n <= self.n_ctx:
            raise BackendError(f"a text of {n} tokens does not fit the {self.n_ctx}-token context: {text[:60]!r}")
        self._got.clear()
        L.llama_memory_clear(self._mem, True)
        if L.llama_decode(self._ctx, L.llama_batch_get_one(buf, n)) != 0:
            raise BackendError("llama_decode failed while reading hidden states")
        return np.stack([self._got[i] for i in range(self.n_layer)])

    def close(self) -> None:
        if getattr(self, "_ctx", None):
            self._L.llama_free(self._ctx)
            self._ctx = None
        if getattr(self, "_model", None):
            self._L.llama_model_free(self._model)
            self._model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
