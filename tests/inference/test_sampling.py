"""Sampling settings: one frozen object from `[mind]`; errors name the parameter, the value and the fix."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tokenworld.inference import make_backend
from tokenworld.inference.base import BackendError
from tokenworld.inference.sampling import Sampling
from tokenworld.scene.schema import MindOptions


def test_from_mind_reads_the_scene_options_and_is_frozen():
    """Temperature and max tokens come from `[mind]`, the seed from the run; the object cannot be changed."""
    s = Sampling.from_mind(MindOptions(temperature=0.5, max_output_tokens=12), seed=7)
    assert (s.temperature, s.max_tokens, s.seed, s.top_p, s.stop) == (0.5, 12, 7, 1.0, ("\n",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.temperature = 1.0


@pytest.mark.parametrize(
    ("field", "value", "fix"),
    [
        ("temperature", -0.5, "mind.temperature"),
        ("top_p", 0.0, "keep every token"),
        ("top_p", 1.5, "(0, 1]"),
        ("max_tokens", 0, "mind.max_output_tokens"),
        ("max_tokens", 2.5, "integer"),
        ("seed", -1, "seed"),
        ("stop", ("",), "non-empty"),
    ],
)
def test_bad_values_name_the_parameter_the_value_and_the_fix(field, value, fix):
    """Each refusal says which parameter, which value, and what to write instead."""
    with pytest.raises(BackendError) as e:
        Sampling(**{field: value})
    assert f"{field}={value!r}" in str(e.value) and fix in str(e.value)


def test_greedy_draw_is_the_best_and_sampled_draws_follow_the_seed():
    """At temperature 0 the best index; above, the same seed draws the same; top_p leaves out the unlikely."""
    scores = np.log(np.array([0.6, 0.3, 0.1]))
    assert Sampling().draw(scores, np.random.default_rng(0)) == 0
    warm = Sampling(temperature=1.0)
    a = [warm.draw(scores, np.random.default_rng(5)) for _ in range(3)]
    b = [warm.draw(scores, np.random.default_rng(5)) for _ in range(3)]
    assert a == b
    rng = np.random.default_rng(1)
    nucleus = Sampling(temperature=1.0, top_p=0.5)
    assert {nucleus.draw(scores, rng) for _ in range(200)} == {0}
    assert {warm.draw(scores, rng) for _ in range(400)} == {0, 1, 2}


def test_make_backend_builds_one_sampling_for_the_scene():
    """A bad `[mind]` value fails when the backend is made, naming the scene option to change."""
    with pytest.raises(BackendError, match="mind.temperature"):
        make_backend(MindOptions(backend="openai", endpoint="http://127.0.0.1:1/v1", temperature=-1.0))
    backend = make_backend(MindOptions(backend="openai", endpoint="http://127.0.0.1:1/v1", max_output_tokens=9), seed=4)
    try:
        assert all(r.sampling == Sampling(max_tokens=9, seed=4) for r in backend.replicas)
    finally:
        backend.close()
