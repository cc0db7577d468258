"""Training an adapter on the CPU (`tokenworld adapters train`, the `train` extra): the PyTorch Gemma 3 read from
the packaged GGUF answers as llama.cpp does, a short real training run learns its pages, and the adapter it writes
moves llama.cpp's answers the same way."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.sim.runs_lab import tw

torch = pytest.importorskip("torch", reason="the `train` extra (PyTorch) is not installed")


@pytest.fixture(scope="module")
def lab():
    from tokenworld.bench.adapters import archetype_pages
    from tokenworld.inference.llama_cpp import LlamaCppBackend
    from tokenworld.inference.lora_train import example, load

    backend = LlamaCppBackend(mode="score", agent_cache_mb=0)
    backend.calibration = 0.0  # the model's own log-probabilities
    pages = archetype_pages("merchant", 6, seed=1, count_tokens=backend.count_tokens, style="number")
    examples = [example(backend, p.request, p.right) for p in pages]
    model, prefix = load(backend, pages[0].request.shared, rank=4, seed=0, threads=2)
    yield backend, pages, examples, model, prefix
    backend.close()


def _labelled_p(backend, pages, adapter: str = "") -> np.ndarray:
    answers = backend.decide([replace(p.request, adapter=adapter) for p in pages])
    return np.array([np.exp(a.logp[p.right]) for p, a in zip(pages, answers, strict=True)])


@pytest.mark.slow
def test_the_torch_model_answers_as_llama_cpp_and_training_moves_llama_cpp_the_same_way(tmp_path, lab):
    from tokenworld.inference.adapters import check_adapter, save_adapter

    backend, pages, examples, model, prefix = lab
    assert any(p.own for p in pages) and all(p.right < len(p.request.options) for p in pages)
    with torch.no_grad():
        ours = [lp.numpy() for lp in model.digit_logp(prefix, examples, adapted=False)]
    theirs = [np.array(a.logp) for a in backend.decide([p.request for p in pages])]
    gap = max(np.abs(a - b).max() for a, b in zip(ours, theirs, strict=True))
    assert gap < 0.2, gap  # dequantized float32 against llama.cpp's quantized products

    before = _labelled_p(backend, pages)
    report = model.train(prefix, examples, epochs=6, batch=3, lr=3e-3)
    assert np.mean(report.losses[-2:]) < 0.5 * np.mean(report.losses[:2]), report.losses

    path = save_adapter(tmp_path / "merchant.gguf", model.pairs(), alpha=model.alpha, arch="gemma3", meta={"steps": 12})
    check_adapter(str(path), "merchants", "gemma3")
    after = _labelled_p(backend, pages, str(path))
    assert after.mean() > before.mean() + 0.2, (before, after)  # llama.cpp reads the pairs as trained


def test_adapters_train_refuses_an_archetype_without_a_recipe(tmp_path):
    done = tw("adapters", "train", "--archetype", "citizen", "--out", str(tmp_path / "a.gguf"))
    assert done.returncode == 2 and "no adapter recipe for 'citizen'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "a.gguf").exists()


@pytest.mark.slow
def test_a_learned_direction_moves_its_action_more_than_the_persona_direction(lab):
    from tokenworld.bench.learned_steering import action_pages
    from tokenworld.inference.steer_learn import effect, learn_direction
    from tokenworld.inference.steering import build_vectors
    from tokenworld.scene.schema import TRAITS

    backend, _, _, model, prefix = lab
    pages, _ = action_pages(backend, "talk", 8, seed=1, limit=400)
    assert len(pages) == 8 and all(p.own for p in pages)
    start = build_vectors(per_trait=6, threads=2).directions[TRAITS.index("extraversion")]  # a persona direction
    layers = range(3, 9)
    up0, down0 = effect(model, prefix, start, pages, layers=layers, strength=4.0)
    learned, _ = learn_direction(model, prefix, start, pages, layers=layers, strength=4.0, epochs=3, batch=4)
    up1, down1 = effect(model, prefix, learned, pages, layers=layers, strength=4.0)
    assert (up1 - down1).mean() > (up0 - down0).mean() + 0.1, (up0 - down0, up1 - down1)
    kept = [3, 8]  # only the steered layers change, and each keeps the persona direction's norm
    assert np.allclose(np.linalg.norm(learned[kept], axis=1), np.linalg.norm(start[kept], axis=1), rtol=1e-4)
    assert not learned[[0, 1, 2, 9, 17]].any()


def test_steer_learn_refuses_an_unknown_trait(tmp_path):
    done = tw("steer", "learn", "--trait", "kindness", "--out", str(tmp_path / "v"))
    assert done.returncode == 2 and "'kindness' is not a Big Five trait" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "v").exists()
