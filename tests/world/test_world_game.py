"""Guess the average: the moderator on hand-made rounds, the guessers' ranges, and a full scene."""

from __future__ import annotations

import numpy as np
import pytest

import tokenworld
from tests.paths import ROOT
from tokenworld.mind.guessing import random_guesses, rules_guesses
from tokenworld.scene.population import with_agents
from tokenworld.scene.schema import GameOptions
from tokenworld.world.actions import ACTION_INDEX
from tokenworld.world.decisions import REASON_INDEX
from tokenworld.world.game import GuessAverage

OPTIONS = GameOptions(kind="guess_average", rounds=3, max_value=100.0, factor=2 / 3, ticks_per_round=10)


def _round(values, agents=None, tick=10, options=OPTIONS):
    game = GuessAverage(options, 6)
    agents = np.arange(len(values)) if agents is None else np.asarray(agents)
    game.open_round(tick)
    reasons = game.accept_guesses(agents, np.asarray(values, np.float64), tick)
    return game, reasons, game.close_round(tick)


def test_two_thirds_of_the_average_wins():
    """Guesses 10, 20, 30: average 20, target 13.333, the agent who guessed 10 wins alone."""
    game, reasons, r = _round([30.0, 10.0, 20.0], agents=[0, 3, 5])
    assert (reasons == 0).all()
    assert r.round == 1 and r.tick == 10 and r.guesses == 3
    assert r.average == pytest.approx(20.0)
    assert r.target == pytest.approx(40 / 3)
    assert (r.winner, r.winners, r.winning_guess) == (3, 1, 10.0)
    assert game.history == [r] and game.open_tick is None


def test_ties_report_every_winner_and_the_lowest_id():
    """Two guesses equally close to the target: winners=2, the lowest id is the winner."""
    opts = GameOptions(kind="guess_average", max_value=100.0, factor=1.0)
    _, _, r = _round([30.0, 10.0, 20.0, 20.0], agents=[4, 2, 5, 1], options=opts)  # average 20: 20 and 20 tie
    assert (r.winners, r.winner, r.winning_guess) == (2, 1, 20.0)
    _, _, r = _round([30.0, 10.0], agents=[1, 3], options=opts)  # 10 and 30 are both 10 from 20
    assert (r.winners, r.winner, r.winning_guess) == (2, 1, 30.0)


def test_out_of_range_guesses_are_refused_and_ignored():
    """Guesses below 0, above max_value or not finite are refused "value out of range" and do not count."""
    _, reasons, r = _round([-1.0, 50.0, 100.5, np.nan, np.inf, 100.0], agents=range(6))
    bad = REASON_INDEX["value out of range"]
    assert reasons.tolist() == [bad, 0, bad, bad, bad, 0]
    assert r.guesses == 2 and r.average == pytest.approx(75.0)


def test_guesses_outside_an_open_round_are_refused():
    """Before any round, at another tick than the open one, and after closing: "no round is open"."""
    game = GuessAverage(OPTIONS, 3)
    closed = REASON_INDEX["no round is open"]
    assert game.accept_guesses(np.array([0]), np.array([5.0]), 10).tolist() == [closed]
    game.open_round(10)
    assert game.accept_guesses(np.array([0]), np.array([5.0]), 11).tolist() == [closed]
    game.close_round(10)
    assert game.accept_guesses(np.array([0]), np.array([5.0]), 10).tolist() == [closed]
    assert game.history == []  # nobody guessed: no round recorded


def test_rounds_finish_and_are_due_on_schedule():
    """A round is due every ticks_per_round ticks until `rounds` rounds were played."""
    game = GuessAverage(OPTIONS, 2)
    due = [t for t in range(1, 100) if game.due(t)]
    assert due[:3] == [10, 20, 30]
    for t in (10, 20, 30):
        game.open_round(t)
        game.accept_guesses(np.array([0, 1]), np.array([1.0, 2.0]), t)
        game.close_round(t)
    assert game.finished and not game.due(40)
    assert [r.round for r in game.history] == [1, 2, 3]


@pytest.mark.parametrize("last", [None, 0.0, 33.0, 100.0])
def test_guessers_stay_in_range(last):
    """rules_guesses and random_guesses always lie in [0, max_value], even for extreme traits."""
    rng = np.random.default_rng(0)
    traits = rng.random((2000, 5)).astype(np.float32)
    traits[:10] = [[0, 0, 0, 0, 1], [1, 1, 1, 1, 1], [0] * 5, [1] * 5, [1, 0, 0, 0, 0]] * 2
    for opts in (OPTIONS, GameOptions(kind="guess_average", max_value=7.0, factor=1.5)):
        g = rules_guesses(rng, traits, last, opts)
        assert g.shape == (2000,) and (g >= 0).all() and (g <= opts.max_value).all()
        r = random_guesses(rng, 2000, opts)
        assert r.shape == (2000,) and (r >= 0).all() and (r <= opts.max_value).all()


def test_the_guess_average_scene_plays_ten_consistent_rounds():
    """scenes/guess_average.toml resized to 200 agents plays 10 rounds that match a recomputation from the guesses."""
    scene = with_agents(tokenworld.Scene.load(ROOT / "scenes" / "guess_average.toml"), 200)
    assert scene.agent_count == 200
    sim = tokenworld.Simulation(scene, arch="cpu", profile=False).build()
    factor = scene.game.factor
    rounds = []
    for _ in range(scene.game.rounds * scene.game.ticks_per_round):
        r = sim.step()
        guesses = [e for e in r.events if (e.action == ACTION_INDEX["guess"]).any()]
        if r.game_round is None:
            assert not guesses
            continue
        assert len(guesses) == 1
        e = guesses[0]
        taken = e.reason == 0
        assert taken.all() and len(e.agent) == 200  # every player guesses in range
        values = e.amount[taken].astype(np.float64)
        ids = e.agent[taken]
        average = values.mean()
        target = factor * average
        dist = np.abs(values - target)
        winners = np.sort(ids[dist == dist.min()])
        res = r.game_round
        assert res.tick == r.tick and res.guesses == len(values)
        assert res.average == pytest.approx(average, rel=1e-12)
        assert res.target == pytest.approx(target, rel=1e-12)
        assert (res.winner, res.winners) == (winners[0], len(winners))
        assert res.winning_guess == values[ids == winners[0]][0]
        rounds.append(res)
    game = sim.world.game
    assert [r.round for r in rounds] == list(range(1, 11)) and game.history == rounds and game.finished
    assert [r.tick for r in rounds] == list(range(10, 101, 10))
    # Level-k reasoners pull the average down round by round: the last target is below the first.
    assert rounds[-1].target < rounds[0].target
    sim.close()
