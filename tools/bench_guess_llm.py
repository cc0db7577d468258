"""Time rounds of guess-the-average played by language-model players (the packaged Gemma 3 270M, lockstep).

Builds `scenes/guess_average_llm.toml` with every player model-driven (`--players`, one round per tick),
plays `--rounds` rounds and prints, per round: seconds, the model's answers (mean, median, distinct values),
prompt tokens evaluated per request (the shared rules and history once per round, the persona per player),
tokens written per request, and how many prompts differ. `--check N` plays two rounds of N players at batch
sizes 1, 16 and 64 and says whether the answers are equal.

    python tools/bench_guess_llm.py --players 1000 --rounds 2 [--threads 2] [--check 64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tokenworld as tw
from tokenworld.scene.shipped import shipped_scene
from tokenworld.world.decisions import SOURCES


def scene(players: int, rounds: int, threads: int, batch_size: int):
    """The shipped LLM game with `players` model players only, a round every tick."""
    sc = tw.Scene.load(shipped_scene("guess_average_llm"))
    sc.groups = [g for g in sc.groups if g.mind == "model"]
    sc.groups[0].count = players
    sc.game.ticks_per_round, sc.game.rounds = 1, rounds
    sc.mind.threads, sc.mind.batch_size = threads, batch_size
    return sc


def play(players: int, rounds: int, threads: int, batch_size: int, *, verbose: bool) -> list[np.ndarray]:
    """Play `rounds` rounds; the model's answers per round (by player id)."""
    sim = tw.Simulation(scene(players, rounds, threads, batch_size), seed=1)
    sim.build()
    out = []
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            r = sim.step()
            dt = time.perf_counter() - t0
            d = r.decisions
            m = d.source == SOURCES.index("model")
            out.append(d.amount[np.argsort(d.agent)].copy())
            if verbose:
                v = d.amount[m]
                print(
                    f"round {r.game_round.round}: {dt:.1f} s for {len(d)} players ({int(m.sum())} model answers); "
                    f"mean {v.mean():.1f}, median {np.median(v):.1f}, {len(np.unique(v))} distinct values; "
                    f"target {r.game_round.target:.1f}; tokens in per request {d.tokens_in[m].mean():.1f} "
                    f"(the first of the round {int(d.tokens_in[m].max())}), out {d.tokens_out[m].mean():.2f}; "
                    f"{len(np.unique(d.prompt_hash[m]))} distinct prompts"
                )
    finally:
        sim.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--players", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="llama.cpp CPU threads (0: all cores)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--check", type=int, default=0, help="two rounds of this many players at batch sizes 1, 16, 64")
    a = p.parse_args()
    play(a.players, a.rounds, a.threads, a.batch_size, verbose=True)
    if a.check:  # the same players at other batch sizes
        first = play(a.check, 2, a.threads, 1, verbose=False)
        for bs in (16, 64):
            same = np.array_equal(play(a.check, 2, a.threads, bs, verbose=False), first)
            print(f"rounds 1-2 of {a.check} players, batch size {bs} vs 1: {'equal' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
