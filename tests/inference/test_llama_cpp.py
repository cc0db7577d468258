"""The embedded llama.cpp backend with the real Gemma 3 270M model (few, short tests)."""

from __future__ import annotations

import numpy as np
import pytest

from tokenworld.inference.base import BackendError
from tokenworld.inference.llama_cpp import LlamaCppBackend
from tokenworld.inference.models import resolve_model
from tokenworld.inference.sampling import Sampling
from tokenworld.mind.minds import ModelMinds
from tokenworld.scene.schema import Scene
from tokenworld.sim.simulation import Simulation
from tokenworld.world.actions import ACTION_INDEX

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def village():
    sc = Scene.load("scenes/village_rules.toml")
    sim = Simulation(sc, seed=3).build()
    sim.run(60)
    yield sim
    sim.close()


def requests_for(sim, backend, n=6):
    minds = ModelMinds(
        sim.world, sim.brain, np.arange(sim.n_agents), sim.scene.mind, backend.answer_style, backend.count_tokens
    )
    agents = np.arange(n)
    return minds.requests(agents, np.zeros(0, np.int64), sim.tick, np.full(n, 3, np.int8))


@pytest.fixture(scope="module")
def scorer():
    b = LlamaCppBackend(mode="score", batch_size=8, n_threads=2)
    yield b
    b.close()


def test_score_mode_answers_every_request_with_one_of_its_options(village, scorer):
    reqs = requests_for(village, scorer)
    answers = scorer.decide(reqs)
    assert len(answers) == len(reqs)
    for req, a in zip(reqs, answers, strict=True):
        assert a.ok, a.error
        assert 0 <= a.choice < len(req.options)
        assert a.tokens_in > 0 and a.tokens_out >= 1
        if req.talk[a.choice]:
            assert a.say.strip()
    # the shared prefix is evaluated once for the batch: every other request saved it
    assert sum(a.prefill_saved > 0 for a in answers) >= len(reqs) - 1


def test_batched_equals_one_at_a_time_at_temperature_zero(village, scorer):
    reqs = requests_for(village, scorer, n=8)
    together = scorer.decide(reqs)
    alone = [scorer.decide([r])[0] for r in reqs]
    assert [a.choice for a in together] == [a.choice for a in alone]


def test_generate_mode_writes_an_option_under_its_grammar(village):
    b = LlamaCppBackend(mode="generate", batch_size=4, n_threads=2, sampling=Sampling(max_tokens=24))
    try:
        reqs = requests_for(village, b, n=4)
        answers = b.decide(reqs)
        for req, a in zip(reqs, answers, strict=True):
            assert a.ok, a.error
            assert a.raw.split(":")[0].strip() == req.options[a.choice]
            assert a.tokens_out >= 1
        assert [a.choice for a in answers] == [b.decide([r])[0].choice for r in reqs]
    finally:
        b.close()


def test_a_missing_or_wrong_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match="was not found"):
        resolve_model(str(tmp_path / "nope.gguf"))
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model at all")
    with pytest.raises(BackendError, match="GGUF"):
        resolve_model(str(fake))
    with pytest.raises(BackendError, match="mode"):
        LlamaCppBackend(mode="chat")


def test_the_prior_turns_the_scored_choice_to_eat_and_rest_when_needs_press():
    """Score mode adds prior_weight x the rules utilities: at the default weight a starving villager with food eats
    and an exhausted one rests, where the model alone (weight 0) chooses otherwise; answers stay the model's."""
    from tokenworld.bench.situations import SituationSet, load_situations
    from tokenworld.scene.schema import MindOptions

    names = ("starving woodcutter in the forest", "exhausted farmer at home")  # the model alone: rest, eat
    sset = SituationSet([s for s in load_situations() if s.name in names])
    alone = LlamaCppBackend(mode="score", batch_size=2, n_threads=2)
    steered = LlamaCppBackend(mode="score", batch_size=2, n_threads=2, prior_weight=MindOptions().prior_weight)
    try:
        reqs, right = sset.requests(alone.answer_style, alone.count_tokens)
        assert [reqs[i].options[k] for i, k in enumerate(right)] == ["eat", "rest"]
        model = [a.choice for a in alone.decide(reqs)]
        assert all(c != k for c, k in zip(model, right, strict=True)), (
            "the model alone already chose right: this proves nothing"
        )
        answers = steered.decide(reqs)
        assert [a.choice for a in answers] == right
        for req, a in zip(reqs, answers, strict=True):  # a scored digit (the action's number), as without the prior
            assert a.raw == str(req.answer_keys[a.choice])
        assert [a.raw for a in answers] == [str(ACTION_INDEX["eat"]), str(ACTION_INDEX["rest"])]
        assert alone.settings != steered.settings  # cached answers of one weight never serve the other
    finally:
        alone.close()
        steered.close()
        sset.close()
    with pytest.raises(BackendError, match="prior_weight"):
        LlamaCppBackend(prior_weight=-1.0)
    with pytest.raises(BackendError, match="closed"):
        alone.decide(reqs)
