"""Per-group LoRA adapters on llama.cpp: a real adapter file (written with the gguf writer) loads and changes the
model's choices' probabilities, switching adapters within a batch equals one request at a time, and a bad adapter
fails before any run folder, naming the group."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.paths import ROOT
from tests.sim.runs_lab import tw
from tokenworld.errors import SceneError
from tokenworld.inference.adapters import save_adapter
from tokenworld.scene.schema import Scene


def write_adapter(path: Path, *, rank: int = 4, scale: float = 0.08, seed: int = 0, arch: str = "gemma3") -> Path:
    """A LoRA adapter for the packaged Gemma 3 270M in llama.cpp's format: random A and B on every layer's query."""
    rng = np.random.default_rng(seed)
    pairs = {
        f"blk.{layer}.attn_q.weight": (
            rng.standard_normal((rank, 640)) * scale,
            rng.standard_normal((1024, rank)) * scale,
        )
        for layer in range(18)
    }
    return save_adapter(path, pairs, alpha=rank, arch=arch, meta={"source": "test"})


@pytest.fixture(scope="module")
def requests():
    from tokenworld.bench.situations import SituationSet

    ss = SituationSet()
    try:
        return [ss.request(s, "number", lambda t: len(t) // 4) for s in ss.situations[:4]]
    finally:
        ss.close()


@pytest.mark.slow
def test_an_adapter_changes_choices_and_switching_equals_one_at_a_time(tmp_path, requests):
    from tokenworld.inference.llama_cpp import LlamaCppBackend

    adapter = str(write_adapter(tmp_path / "merchant.gguf"))
    backend = LlamaCppBackend(mode="score", agent_cache_mb=0)
    try:
        plain = backend.decide(requests)
        adapted = backend.decide([replace(r, adapter=adapter) for r in requests])
        moved = [np.abs(np.subtract(a.logp, b.logp)).max() for a, b in zip(plain, adapted, strict=True)]
        assert min(moved) > 1e-3, moved  # the adapter changes every answer's probabilities
        mixed = [replace(r, adapter=adapter if i % 2 else "") for i, r in enumerate(requests)]
        together = backend.decide(mixed)
        alone = [backend.decide([r])[0] for r in mixed]
        assert [a.logp for a in together] == [a.logp for a in alone]
        assert [a.logp for a in backend.decide(requests)] == [a.logp for a in plain]  # taken off again
    finally:
        backend.close()


def test_bad_adapters_fail_before_any_run_folder(tmp_path):
    """A missing file, a file that is not a LoRA adapter, one made for another model: each names the group."""
    from tokenworld.inference.steering import PACKAGED_DIR

    other = write_adapter(tmp_path / "llama.gguf", arch="llama")
    cases = [
        (tmp_path / "missing.gguf", "no adapter file"),
        (PACKAGED_DIR / "extraversion.gguf", "is not a LoRA adapter"),
        (other, "made for a llama model"),
    ]
    for adapter, says in cases:
        scene = tmp_path / "s.toml"
        data = Scene.load(ROOT / "scenes" / "village.toml").to_dict()  # saved whole: no `extends` to follow
        data["name"] = "s"
        data["groups"][2]["adapter"] = str(adapter)  # the merchants
        Scene.from_dict(data).save(scene)
        out = tw("run", str(scene), "--ticks", "2", "--runs-dir", str(tmp_path / "runs"), "--no-progress")
        assert out.returncode == 2 and "groups[merchants].adapter" in out.stderr and says in out.stderr, out.stderr
        assert "Traceback" not in out.stderr and not (tmp_path / "runs").exists()


def test_adapters_belong_to_model_groups_and_not_to_in_process_vllm():
    data = Scene.load(ROOT / "scenes" / "village.toml").to_dict()
    data["groups"][0]["adapter"] = "farmer.gguf"
    data["groups"][0]["mind"] = "rules"
    with pytest.raises(SceneError, match=r"groups\[0\].adapter.*only model-driven groups"):
        Scene.from_dict(data)
    data["groups"][0]["mind"] = "model"
    data["mind"]["backend"] = "vllm"
    with pytest.raises(SceneError, match=r"groups\[0\].adapter.*--lora-modules"):
        Scene.from_dict(data)
