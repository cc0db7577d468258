"""Guess the average with language-model players: requests, answers in range, recorded rounds, lockstep answers."""

from __future__ import annotations

import numpy as np
import pytest

import tokenworld
from tests.paths import ROOT
from tests.sim.runs_lab import query
from tokenworld.errors import TokenWorldError
from tokenworld.inference.rules import RulesBackend
from tokenworld.mind.protocol import Request
from tokenworld.sim.recording import Recording
from tokenworld.world.decisions import SOURCES

MODEL, FALLBACK = SOURCES.index("model"), SOURCES.index("fallback")


def game_scene(models: int, others: int = 4, *, rounds: int = 2, batch_size: int = 16):
    """scenes/guess_average_llm.toml made small: `models` model players, `others` rules and random ones each."""
    scene = tokenworld.Scene.load(ROOT / "scenes" / "guess_average_llm.toml")
    for g in scene.groups:
        g.count = models if g.mind == "model" else others
    scene.game.rounds, scene.game.ticks_per_round = rounds, 1
    scene.mind.threads, scene.mind.batch_size = 1, batch_size
    return scene


def play(scene, backend=None) -> list:
    """The decisions of every round (one round per tick)."""
    sim = tokenworld.Simulation(scene, arch="cpu", profile=False, backend=backend).build()
    try:
        return [sim.step().decisions for _ in range(scene.game.rounds)]
    finally:
        sim.close()


def test_model_players_send_distinct_guess_requests_and_play_their_answers():
    """With the rules backend behind the model path, 1,000 model players' prompts differ (personas), share the
    rules and rounds, and their answers (the rounded rules guess) are played as model guesses."""
    scene = game_scene(1000, 0, rounds=2)
    sim = tokenworld.Simulation(scene, arch="cpu", profile=False, backend=RulesBackend()).build()
    try:
        rounds = [sim.step().decisions for _ in range(2)]
        requests = sim.minds.guess_requests(np.arange(1000), sim.tick, np.full(1000, 20.0))
    finally:
        sim.close()
    assert len({r.prompt for r in requests}) >= 900 and len({r.shared for r in requests}) == 1
    assert "Round 1: average" in requests[0].shared and requests[0].kind == "guess"
    for d in rounds:
        assert (d.source == MODEL).all() and np.array_equal(d.amount, np.round(d.amount))
        assert ((d.amount >= 0) & (d.amount <= 100)).all()


@pytest.mark.slow
def test_a_small_game_with_the_real_model_is_recorded_and_in_range(tmp_path):
    """Gemma 3 270M plays two rounds beside rules and random players: every guess is a whole number in range,
    answered by the model, and the rounds are in the run store."""
    scene = game_scene(6)
    sim = tokenworld.Simulation(scene, arch="cpu", profile=False)
    rec = Recording.create(sim, runs_dir=tmp_path, name="g", ticks=2)
    try:
        sim.build()
        rec.started()
        got = []
        sim.run(2, on_tick=lambda r: (rec.record(r), got.append(r.decisions)))
    finally:
        rec.finish("finished")
        sim.close()
    for d in got:
        model = d.source == MODEL
        assert model.sum() == 6 and (d.source != FALLBACK).all()
        assert ((d.amount >= 0) & (d.amount <= 100)).all() and np.array_equal(
            d.amount[model], np.round(d.amount[model])
        )
        assert (d.tokens_in[model] > 0).all()
    rows = query(tmp_path / "g" / "run.sqlite", "SELECT round, guesses FROM rounds ORDER BY round")
    assert rows == [(1, 14), (2, 14)]


@pytest.mark.slow
def test_lockstep_guesses_do_not_depend_on_the_batch_size():
    """The model players' answers over two rounds are the same with batches of 1 and of 8 (lockstep)."""
    one = play(game_scene(8, 2, batch_size=1))
    eight = play(game_scene(8, 2, batch_size=8))
    for a, b in zip(one, eight, strict=True):
        assert np.array_equal(a.agent, b.agent) and np.array_equal(a.amount, b.amount)
        assert (a.source == MODEL).sum() == 8


def record(scene, folder, ticks: int):
    """Run `scene` for `ticks` ticks into a run folder `folder` (its parent is the runs directory)."""
    sim = tokenworld.Simulation(scene, arch="cpu")
    rec = Recording.create(sim, runs_dir=folder.parent, name=folder.name, ticks=4)
    try:
        sim.build()
        rec.started()
        sim.run(ticks, on_tick=rec.record)
    finally:
        rec.finish("finished" if ticks == 4 else "stopped")
        sim.close()


@pytest.mark.slow
def test_a_model_game_resumed_from_a_checkpoint_equals_the_uninterrupted_one(tmp_path):
    """Four rounds with model players, stopped after round 3 and resumed from the checkpoint at round 2, hold the
    same rounds and guesses (with their sources and prompt hashes) as four rounds played at once."""
    scene = game_scene(4, 2, rounds=4)
    scene.store.checkpoint_every = 2
    record(scene, tmp_path / "whole", 4)
    record(scene, tmp_path / "part", 3)
    rec = Recording.resume(tmp_path / "part", arch="cpu")
    try:
        assert rec.sim.tick == 2
        rec.sim.run(2, on_tick=rec.record)
    finally:
        rec.finish("finished")
        rec.sim.close()
    for sql in (
        "SELECT * FROM rounds ORDER BY round",
        "SELECT tick, agent, amount, source, prompt_hash FROM decisions WHERE action = 'guess' ORDER BY tick, agent",
    ):
        whole, part = query(tmp_path / "whole" / "run.sqlite", sql), query(tmp_path / "part" / "run.sqlite", sql)
        assert whole == part and len(whole) >= 4
    model = query(tmp_path / "whole" / "run.sqlite", "SELECT count(*) FROM decisions WHERE source = 'model'")
    assert model == [(16,)]


def test_guess_answers_are_constrained_like_any_menu():
    """The numbers of the range are a menu: servers get a grammar and a JSON schema of them, and '37' parses."""
    from tokenworld.mind.guessing import guess_options

    options = guess_options(game_scene(1).game)
    request = Request(0, 1, "guess", "rules\n", " Ada.\nGuess: ", options, [False] * len(options))
    assert len(options) == 101 and request.constraint.parse("37") == (37, "")
    assert '"100"' in request.constraint.gbnf(" ")
    assert request.constraint.json_schema["properties"]["do"]["enum"] == options


def test_a_range_too_large_for_model_players_fails_at_build():
    """Model players write numbers from a menu; a game.max_value beyond 1,000 fails at build, naming the fix."""
    scene = game_scene(2, 1)
    scene.game.max_value = 5000.0
    with pytest.raises(TokenWorldError, match="set game.max_value to 1000 or less"):
        tokenworld.Simulation(scene, arch="cpu", profile=False, backend=RulesBackend()).build()
