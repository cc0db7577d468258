"""Trait steering with the real model: vectors from persona pairs, read back as llama.cpp control vectors, applied
per profile in the backend, moving choices the trait's way; bad vector files fail before any run folder."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.sim.runs_lab import tw, village_variant
from tokenworld.inference.base import BackendError
from tokenworld.inference.steering import build_vectors, load_vectors, save_vectors, trait_pairs
from tokenworld.mind.steering import profile_ids, profiles
from tokenworld.scene.schema import TRAITS, SteeringOptions

EXTRAVERT, INTROVERT = (0.0, 0.0, 1.0, 0.0, 0.0), (0.0, 0.0, -1.0, 0.0, 0.0)


def test_profiles_round_traits_and_share_buckets():
    traits = np.array([[0.5, 0.9, 0.1, 0.5, 0.5], [0.52, 0.88, 0.12, 0.5, 0.5], [1.0, 0.0, 0.5, 0.62, 0.5]])
    coef = profiles(traits, 5)
    assert coef.tolist() == [[0, 1, -1, 0, 0], [0, 1, -1, 0, 0], [1, -1, 0, 0.0, 0]]
    assert profiles(traits, 3)[2].tolist() == [1, -1, 0, 0, 0] and profiles(traits, 11)[2, 3] == pytest.approx(0.2)
    ids, distinct = profile_ids(coef)
    assert ids.tolist() == [0, 0, 1] and distinct.tolist() == [coef[0].tolist(), coef[2].tolist()]


def test_pairs_differ_only_in_the_trait_word():
    pairs = trait_pairs()
    assert set(pairs) == set(TRAITS) and all(len(p) == 36 for p in pairs.values())
    high, low = pairs["extraversion"][0]
    assert high != low and high.split(";")[0] == low.split(";")[0]  # same name and role


@pytest.mark.slow
def test_vectors_are_reproducible_and_round_trip_as_control_vectors(tmp_path):
    import gguf

    a = build_vectors(per_trait=2, threads=2)
    b = build_vectors(per_trait=2, threads=2)
    assert a.directions.shape == (5, 18, 640) and np.array_equal(a.directions, b.directions)
    assert not a.directions[:, 0].any() and np.abs(a.directions[:, 1:]).sum(axis=(1, 2)).min() > 0
    files = save_vectors(a, tmp_path)
    assert [f.name for f in files] == [f"{t}.gguf" for t in TRAITS]
    reader = gguf.GGUFReader(str(files[2]))  # what llama.cpp's --control-vector reads
    assert sorted(t.name for t in reader.tensors) == sorted(f"direction.{i}" for i in range(1, 18))
    assert "controlvector.layer_count" in reader.fields
    back = load_vectors(str(tmp_path))
    assert np.array_equal(back.directions, a.directions) and back.pairs == 2 and back.model_hint == "gemma3"


@pytest.fixture(scope="module")
def talk_requests():
    """Village situations whose menu holds a talk option, written for a neutral persona (held out from the pairs)."""
    from tokenworld.bench.situations import SituationSet

    ss = SituationSet()
    try:
        ss.sim.world.agents.traits[:] = 0.5  # no trait words in any persona: only the vector differs
        reqs = [ss.request(s, "number", lambda t: len(t) // 4) for s in ss.situations]
    finally:
        ss.close()
    return [r for r in reqs if any(o.startswith("talk ") for o in r.options)][:6]


def p_talk(answers, reqs) -> np.ndarray:
    return np.array(
        [
            sum(np.exp(a.logp[i]) for i, o in enumerate(r.options) if o.startswith("talk "))
            for r, a in zip(reqs, answers, strict=True)
        ]
    )


@pytest.mark.slow
def test_steering_moves_choices_the_traits_way_and_groups_equal_one_at_a_time(talk_requests):
    from tokenworld.inference.llama_cpp import LlamaCppBackend

    reqs = talk_requests
    steered = LlamaCppBackend(mode="score", agent_cache_mb=0, steering=SteeringOptions(vectors="packaged"))
    try:
        up = steered.decide([replace(r, steer=EXTRAVERT) for r in reqs])
        down = steered.decide([replace(r, steer=INTROVERT) for r in reqs])
        effect = p_talk(up, reqs) - p_talk(down, reqs)
        assert effect.mean() > 0.03 and (effect > 0).sum() >= len(reqs) - 1, effect  # the extravert talks more
        assert {key[2] for key in steered._calibrated} >= {EXTRAVERT, INTROVERT}  # content-free pages under the vector
        mixed = [replace(r, steer=EXTRAVERT if i % 2 else INTROVERT) for i, r in enumerate(reqs)]
        together = steered.decide(mixed)
        alone = [steered.decide([r])[0] for r in mixed]
        assert [a.logp for a in together] == [a.logp for a in alone]  # switching profiles within a batch
        after = steered.decide(reqs[:2])  # no profile: the vector is cleared
    finally:
        steered.close()
    plain = LlamaCppBackend(mode="score", agent_cache_mb=0)
    try:
        assert [a.logp for a in plain.decide(reqs[:2])] == [a.logp for a in after]
    finally:
        plain.close()


def test_bad_vectors_fail_before_any_run_folder(tmp_path):
    """A missing folder, a missing trait file and a damaged file each name the key; nothing is written."""
    good = load_vectors("packaged")
    damaged = tmp_path / "damaged"
    save_vectors(good, damaged)
    (damaged / "agreeableness.gguf").write_bytes(b"GGUF not really")
    partial = tmp_path / "partial"
    save_vectors(good, partial)
    (partial / "openness.gguf").unlink()
    for folder, says in ((tmp_path / "nowhere", "no folder"), (partial, "no openness.gguf"), (damaged, "agreeable")):
        base = village_variant(tmp_path, "s", f'[mind.steering]\nvectors = "{folder}"\n')
        out = tw("run", str(base), "--ticks", "2", "--runs-dir", str(tmp_path / "runs"), "--no-progress")
        assert out.returncode == 2 and "mind.steering.vectors" in out.stderr and says in out.stderr, out.stderr
        assert "Traceback" not in out.stderr and not (tmp_path / "runs").exists()
    with pytest.raises(BackendError, match="mind.steering.layers"):
        from tokenworld.inference.steering import check_vectors

        check_vectors(good, "gemma3-270m", ("gemma3", 18, 640), [0, 3])
