"""Trait steering: one direction per Big Five trait in the model's residual stream, computed from contrastive persona
texts, saved in llama.cpp's control-vector GGUF format, and turned into the control vector of an agent's profile.

A direction is, layer by layer, half the mean difference between the hidden states of a text describing someone
high on the trait and the same text describing someone low on it (`trait_pairs.toml`), read at the text's last
token. Halved, coefficient 1 moves a state from the middle of a pair to its high side; an agent's control
vector is `strength x sum over traits of coefficient x direction`, its coefficient being the trait centred and
scaled to [-1, 1] (`tokenworld.mind.steering`). Each trait is saved as its own file, `<trait>.gguf`, with the
tensors `direction.<layer>` (layers 1 to n_layer - 1) that llama.cpp's `--control-vector` reads.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenworld.inference.base import BackendError
from tokenworld.scene.schema import TRAITS

PAIRS_FILE = Path(__file__).with_name("trait_pairs.toml")
PACKAGED = "packaged"  # `mind.steering.vectors` naming the vectors shipped for the packaged model
PACKAGED_DIR = Path(__file__).with_name("vectors") / "gemma3-270m"
KEY = "`mind.steering.vectors`"


@dataclass(frozen=True)
class TraitVectors:
    """One direction per trait.

    Attributes:
        directions: float32 (len(TRAITS), n_layer, n_embd), in TRAITS order; layer 0 is zero (llama.cpp steers
            layers 1 and up).
        model_hint: the model's architecture (`general.architecture` of its GGUF, e.g. gemma3).
        pairs: contrastive pairs per trait the directions were computed from.
        source: where they came from (a folder, or the model they were just computed on).
    """

    directions: np.ndarray
    model_hint: str
    pairs: int
    source: str

    @property
    def n_layer(self) -> int:
        return self.directions.shape[1]

    @property
    def n_embd(self) -> int:
        return self.directions.shape[2]

    def control(self, coefficients, strength: float, layers) -> np.ndarray:
        """The control vector of one profile: float32 (n_layer, n_embd), zero outside `layers`."""
        c = np.asarray(coefficients, np.float32) * np.float32(strength)
        out = np.tensordot(c, self.directions, axes=1).astype(np.float32)
        keep = np.zeros(self.n_layer, bool)
        keep[list(layers)] = True
        out[~keep] = 0.0
        return out


def trait_pairs(per_trait: int | None = None) -> dict[str, list[tuple[str, str]]]:
    """(high text, low text) pairs for every trait, from `trait_pairs.toml` (the first `per_trait` of each)."""
    data = tomllib.loads(PAIRS_FILE.read_text(encoding="utf-8"))
    frames, names, roles = data["frames"], data["names"], data["roles"]
    out = {}
    for trait in TRAITS:
        words = data["traits"][trait]
        pairs, k = [], 0
        for frame in frames:
            for high, low in zip(words["high"], words["low"], strict=True):
                fill = {"name": names[k % len(names)], "role": roles[k % len(roles)]}
                pairs.append((frame.format(word=high, **fill), frame.format(word=low, **fill)))
                k += 1
        out[trait] = pairs[:per_trait] if per_trait else pairs
    return out


def build_vectors(model: str = "gemma3-270m", *, per_trait: int | None = None, threads: int = 0, progress=None):
    """Compute every trait's direction on `model` (a name or GGUF path) from its contrastive pairs.

    `progress(done, total)` is called after each pair. Returns `TraitVectors`.
    """
    from tokenworld.inference.hidden import HiddenStates

    pairs = trait_pairs(per_trait)
    total, done = sum(len(p) for p in pairs.values()), 0
    with HiddenStates(model, threads=threads) as hidden:
        directions = np.zeros((len(TRAITS), hidden.n_layer, hidden.n_embd), np.float32)
        for t, trait in enumerate(TRAITS):
            diff = np.zeros((hidden.n_layer, hidden.n_embd), np.float64)
            for high, low in pairs[trait]:
                diff += hidden.states(high) - hidden.states(low)
                done += 1
                if progress is not None:
                    progress(done, total)
            directions[t] = diff / (2 * len(pairs[trait]))
        directions[:, 0] = 0.0  # llama.cpp has no control vector for layer 0
        hint = hidden.arch
        source = str(hidden.model_path.name)
    return TraitVectors(directions, hint, len(pairs[TRAITS[0]]), source)


def save_vectors(vectors: TraitVectors, folder: str | Path) -> list[Path]:
    """Write `<trait>.gguf` per trait into `folder` (made if missing); returns the files."""
    import gguf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for t, trait in enumerate(TRAITS):
        path = folder / f"{trait}.gguf"
        writer = gguf.GGUFWriter(str(path), "controlvector")
        writer.add_string("controlvector.model_hint", vectors.model_hint)
        writer.add_uint32("controlvector.layer_count", vectors.n_layer - 1)
        writer.add_string("tokenworld.trait", trait)
        writer.add_uint32("tokenworld.pairs", vectors.pairs)
        writer.add_string("tokenworld.source", vectors.source)
        for layer in range(1, vectors.n_layer):
            writer.add_tensor(f"direction.{layer}", vectors.directions[t, layer].astype(np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        files.append(path)
    return files


def vectors_folder(where: str) -> Path:
    """The folder `mind.steering.vectors` names: `packaged`, or a folder holding `<trait>.gguf` files."""
    return PACKAGED_DIR if where == PACKAGED else Path(where).expanduser()


def load_vectors(where: str) -> TraitVectors:
    """Read the trait vectors `mind.steering.vectors` names; `BackendError` names the key, the file and the fix."""
    folder = vectors_folder(where)
    build = 'compute them with `tokenworld steer build --out FOLDER`, or use "packaged" with the packaged model'
    if not folder.is_dir():
        raise BackendError(f"{KEY}: no folder {str(folder)!r}; {build}.")
    per_trait, hint, pairs = [], "", 0
    for trait in TRAITS:
        path = folder / f"{trait}.gguf"
        if not path.is_file():
            each = ", ".join(TRAITS)
            raise BackendError(f"{KEY}: {folder} has no {path.name} (one file per trait: {each}); {build}.")
        layers, hint, pairs = _read_one(path, build)
        per_trait.append(layers)
    shapes = {d.shape for d in per_trait}
    if len(shapes) != 1:
        raise BackendError(f"{KEY}: the trait files in {folder} differ in layers or width ({sorted(shapes)}); {build}.")
    return TraitVectors(np.stack(per_trait), hint, pairs, str(folder))


def _read_one(path: Path, build: str) -> tuple[np.ndarray, str, int]:
    """One trait file: (float32 (n_layer, n_embd) with layer 0 zero, model hint, pairs)."""
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
        fields = reader.fields
        hint = gguf_text(fields.get("controlvector.model_hint"))
        pairs = int(fields["tokenworld.pairs"].parts[-1][0]) if "tokenworld.pairs" in fields else 0
        rows = {}
        for tensor in reader.tensors:
            if tensor.name.startswith("direction."):
                rows[int(tensor.name.split(".", 1)[1])] = np.asarray(tensor.data, np.float32).reshape(-1)
    except Exception as exc:  # the reader raises many kinds on a damaged file
        raise BackendError(f"{KEY}: {path} is not a readable control-vector GGUF ({exc}); {build}.") from None
    if not rows or 0 in rows or {len(r) for r in rows.values()} != {len(next(iter(rows.values())))}:
        raise BackendError(f"{KEY}: {path} holds no usable `direction.<layer>` tensors (layers 1 and up); {build}.")
    width = len(next(iter(rows.values())))
    out = np.zeros((max(rows) + 1, width), np.float32)
    for layer, row in rows.items():
        out[layer] = row
    if not np.isfinite(out).all():
        raise BackendError(f"{KEY}: {path} holds values that are not finite numbers; {build}.")
    return out, hint, pairs


def check_vectors(vectors: TraitVectors, model: str, shape: tuple[str, int, int], layers) -> None:
    """The vectors fit the model `model` of (architecture, layers, width) `shape`, and `layers` lie in its range."""
    arch, n_layer, n_embd = shape
    if (vectors.n_layer, vectors.n_embd) != (n_layer, n_embd) or (vectors.model_hint and vectors.model_hint != arch):
        raise BackendError(
            f"{KEY}: the vectors in {vectors.source} were made for a {vectors.model_hint or '?'} model with "
            f"{vectors.n_layer} layers of width {vectors.n_embd}; {model} is {arch} with {n_layer} layers of width "
            f"{n_embd}. Compute vectors for it with `tokenworld steer build --model {model} --out DIR`."
        )
    bad = [x for x in layers if not 1 <= x < n_layer]
    if bad or not layers:
        raise BackendError(
            f"`mind.steering.layers`: layers must be between 1 and {n_layer - 1} for {model}, found {list(layers)}."
        )


def loaded_shape(L, model, source) -> tuple[str, int, int]:
    """(architecture, layers, width) of a model llama.cpp has loaded, or read the vocabulary of, from its metadata
    (`source`: its file, for the error)."""
    import ctypes

    buf = ctypes.create_string_buffer(256)

    def meta(key: str) -> str:
        return buf.value.decode() if L.llama_model_meta_val_str(model, key.encode(), buf, 256) >= 0 else ""

    arch = meta("general.architecture")
    n_layer, n_embd = meta(f"{arch}.block_count"), meta(f"{arch}.embedding_length")
    if not (n_layer.isdigit() and n_embd.isdigit()):
        raise BackendError(f"{source} does not say its layers and width ({arch}.block_count, .embedding_length).")
    return arch, int(n_layer), int(n_embd)


def model_shape(model_path: Path) -> tuple[str, int, int]:
    """(architecture, layers, width) of a GGUF model, without loading its weights (llama.cpp reads the vocabulary)."""
    from tokenworld.inference.llama_cpp import _llama

    L = _llama()
    params = L.llama_model_default_params()
    params.vocab_only = True
    model = L.llama_model_load_from_file(str(model_path).encode(), params)
    if not model:
        raise BackendError(f"llama.cpp could not read {model_path}; is it a complete GGUF file?")
    try:
        return loaded_shape(L, model, model_path)
    finally:
        L.llama_model_free(model)


def gguf_text(field) -> str:
    """A string field of a `gguf.GGUFReader` ("" when absent)."""
    return bytes(field.parts[-1]).decode("utf-8", errors="replace") if field is not None else ""
