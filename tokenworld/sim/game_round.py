"""A round of the guessing game: the decisions of every player, the model's players through the worker."""

from __future__ import annotations

import numpy as np

from tokenworld.world.actions import ACTION_INDEX
from tokenworld.world.decisions import SOURCES, Decisions


def game_decisions(sim) -> Decisions:
    """Every agent's guess of the round: rules and random minds by their strategies, model players by the model
    (the round waits for their answers; a failed answer keeps the rules guess, recorded as a fallback)."""
    from tokenworld.mind.guessing import random_guesses, rules_guesses

    w, opts = sim.world, sim.scene.game
    n = w.n_agents
    d = Decisions.empty(n)
    d.agent[:] = np.arange(n)
    d.action[:] = ACTION_INDEX["guess"]
    last = w.game.history[-1].target if w.game.history else None
    rnd = sim.random_minded
    d.amount[~rnd] = rules_guesses(sim.game_rng, w.agents.traits[~rnd], last, opts)
    d.amount[rnd] = random_guesses(sim.game_rng, int(rnd.sum()), opts)
    d.source[:] = np.where(rnd, SOURCES.index("random"), SOURCES.index("rules"))
    if sim.minds is not None:  # model players: the model guesses (the round waits, in either clock mode)
        players = np.flatnonzero(sim.minds.is_model & ~rnd)
        requests = sim.minds.guess_requests(players, sim.tick, d.amount[players])
        answers = sim.worker.wait(sim.worker.submit(requests, flush=True), timeout=sim._wait_s)
        values, ok = sim.minds.guess_values(requests, answers)
        d.amount[players[ok]] = values[ok]  # a failed answer keeps its rules guess, recorded as a fallback
        d.source[players] = np.where(ok, SOURCES.index("model"), SOURCES.index("fallback"))
        d.tokens_in[players] = [a.tokens_in for a in answers]
        d.tokens_out[players] = [a.tokens_out for a in answers]
        d.latency_ms[players] = [a.latency_ms for a in answers]
        d.prompt_hash[players] = [r.prompt_hash() for r in requests]
    return d
