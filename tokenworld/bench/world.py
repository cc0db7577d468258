"""`tokenworld bench world`: the society's cost per tick beyond the engine.

For each size, a synthetic town at constant density (agents of every
archetype, 16 districts whose pools hold food, wood, stone and water, one
resource node per 500 agents) runs with the rules brain deciding for every
idle agent whose turn it is. Per tick, medians over the measured ticks of:
the engine, world bookkeeping (needs, regrowth, arrivals), applying decisions
(rules), deciding (rules brain) and metrics. The recorder's overhead is the
run store's write time relative to the tick it records. Guess-the-average
rounds are timed alone (participants guess, the moderator scores) beside the
published figure of about 4 s per round for 1,000 random participants on 16
cores.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time

import numpy as np

from tokenworld.bench.machine import describe_machine, prepare_report_path, write_report
from tokenworld.errors import TokenWorldError
from tokenworld.scene.schema import ARCHETYPES, Scene
from tokenworld.scene.validate import MAX_AGENTS

STAGES = ("engine_ms", "world_ms", "rules_ms", "brain_ms", "metrics_ms")
# The one published figure the guess-the-average game is compared with (issue #7).
PUBLISHED_GAME = {
    "round_s": 4.0,
    "participants": 1000,
    "cores": 16,
    "source": "the published distributed-simulation figure quoted in the project's issue 7 (which does not name "
    "the paper): about 4 s per round of guess-the-average for 1,000 random participants on 16 cores; ours is "
    "one process on this machine's cores",
}
PUBLISHED_ROUND_S = PUBLISHED_GAME["round_s"]


def town_scene(n: int, *, density: float = 0.05, seed: int = 1) -> Scene:
    """A synthetic town of `n` agents at `density` agents per square metre."""
    side = max(60.0, math.sqrt(n / density))
    step = side / 4
    zones, entities = [], []
    rng = np.random.default_rng(seed)
    for by in range(4):
        for bx in range(4):
            big = 10.0 * n / 16 + 100
            zones.append(
                {
                    "name": f"district {by * 4 + bx}",
                    "kind": "district",
                    "rect": [bx * step + 1, by * step + 1, (bx + 1) * step - 1, (by + 1) * step - 1],
                    "resources": {"food": big, "wood": big, "stone": big / 2, "water": big},
                }
            )
    for k in range(max(1, n // 500)):
        entities.append(
            {
                "kind": "resource",
                "pos": [float(rng.uniform(1, side - 1)), float(rng.uniform(1, side - 1))],
                "radius": 1.0,
                "properties": {"resource": ["food", "wood", "stone"][k % 3], "stock": 50.0, "regen": 0.05},
            }
        )
    per = n // len(ARCHETYPES)
    groups = [
        {
            "name": a,
            "count": per + (n - per * len(ARCHETYPES) if i == 0 else 0),
            "archetype": a,
            "spawn_area": [1.0, 1.0, side - 1, side - 1],
            "inventory": {"food": 2.0, "wood": 3.0},
        }
        for i, a in enumerate(ARCHETYPES)
    ]
    return Scene.from_dict(
        {
            "name": f"town-{n}",
            "world": {"size": [side, side]},
            "sim": {"seed": seed, "dt": 0.5},
            "mind": {"decide_every": 10},
            "store": {"checkpoint_every": 0, "snapshot_every": 0},
            "zones": zones,
            "entities": entities,
            "groups": groups,
        }
    )


def measure_world(n: int, *, ticks: int, warmup: int, arch: str | None) -> dict:
    """Run the town of `n` agents; per-stage medians and the recorder's overhead.

    The overhead is measured, not estimated: the same town (same seed) runs
    without and with the run store (its writer process included), twice each,
    alternating; the overhead is the ratio of the median wall time per tick
    (the recorded ticks' share of the final flush included).
    """
    from tokenworld.sim import RunStore, Simulation

    def run(with_store: bool):
        sim = Simulation(town_scene(n), arch=arch).build()
        for _ in range(warmup):
            sim.step()
        rows = np.empty((ticks, len(STAGES)))
        wall, decisions = np.empty(ticks), np.empty(ticks)
        with tempfile.TemporaryDirectory() as tmp:
            store = RunStore.create(tmp, "bench", sim.scene) if with_store else None
            if store is not None:
                store.start_writer()
            for t in range(ticks):
                t0 = time.perf_counter()
                r = sim.step()
                if store is not None:
                    store.write_tick(sim, r)
                wall[t] = time.perf_counter() - t0
                rows[t] = [r.stage_ms[s] for s in STAGES]
                decisions[t] = len(r.decisions) if r.decisions is not None else 0
            if store is not None:
                t0 = time.perf_counter()
                store.close()
                wall += (time.perf_counter() - t0) / ticks
        sim.close()
        return rows, wall, decisions

    rows, bare, decisions = run(False)
    recorded = run(True)[1]
    rows2, bare2, _ = run(False)
    rows, bare = np.concatenate([rows, rows2]), np.concatenate([bare, bare2])
    recorded = np.concatenate([recorded, run(True)[1]])
    med = {s: round(float(np.median(rows[:, i])), 4) for i, s in enumerate(STAGES)}
    tick_ms = float(np.median(bare)) * 1000.0
    return {
        "agents": n,
        "tick_ms": round(tick_ms, 4),
        "rules_and_brain_ms": round(float(np.median(rows[:, 2] + rows[:, 3])), 4),
        "decisions_per_tick": round(float(np.mean(decisions)), 1),
        "tick_ms_with_recorder": round(float(np.median(recorded)) * 1000.0, 4),
        "recorder_overhead": round(float(np.median(recorded) / np.median(bare)) - 1.0, 4),
        **med,
    }


def measure_game_round(n: int, *, rounds: int = 5, arch: str | None) -> dict:
    """Seconds for one guess-the-average round of `n` participants (half rules, half random), engine excluded."""
    from tokenworld.scene.population import with_agents
    from tokenworld.scene.shipped import shipped_scene
    from tokenworld.sim import Simulation
    from tokenworld.sim.game_round import game_decisions

    scene = with_agents(Scene.load(shipped_scene("guess_average")), n)
    sim = Simulation(scene, arch=arch).build()
    w = sim.world
    times = []
    for k in range(rounds):
        t0 = time.perf_counter()
        guesses = game_decisions(sim)
        w.game.open_round(k + 1)
        w.apply(guesses, k + 1)
        w.game.close_round(k + 1)
        times.append(time.perf_counter() - t0)
    sim.close()
    s = float(np.median(times))
    same = n == PUBLISHED_GAME["participants"]
    return {
        "participants": n,
        "round_s": round(s, 6),
        "published_round_s": PUBLISHED_ROUND_S if same else None,
        "speedup_vs_published": round(PUBLISHED_ROUND_S / s, 1) if same and s > 0 else None,
    }


def run_world_bench(
    agents: list[int],
    *,
    ticks: int = 50,
    warmup: int = 20,
    game_agents: list[int] = (1000, 64000),
    arch: str | None = None,
    json_path: str | None = None,
) -> dict:
    """Run the world suite; print tables; optionally write JSON."""
    from rich.console import Console
    from rich.table import Table

    from tokenworld.engine import arch as engine_arch

    if ticks < 1:
        raise TokenWorldError(f"--ticks must be 1 or more, found {ticks}.")
    if max([*agents, *game_agents]) > MAX_AGENTS:
        raise TokenWorldError(f"agent counts must be at most {MAX_AGENTS:,}, found {max([*agents, *game_agents]):,}.")
    prepare_report_path(json_path)
    console = Console(width=None if sys.stdout.isatty() else 140)
    chosen = engine_arch.init(arch)
    report = {
        "suite": "world",
        "arch": chosen,
        "machine": describe_machine(arch=chosen),
        "ticks": ticks,
        "warmup": warmup,
        "command": "tokenworld " + " ".join(sys.argv[1:]),
        "results": [],
        "game": [],
    }
    for n in agents:
        console.print(f"world: {n:,} agents ...", style="dim")
        report["results"].append(measure_world(n, ticks=ticks, warmup=warmup, arch=arch))
    for n in game_agents:
        console.print(f"guess the average: {n:,} participants ...", style="dim")
        report["game"].append(measure_game_round(n, arch=arch))
    table = Table(title=f"World ticks on {chosen} ({report['machine']['cpu']}, {report['machine']['cores']} cores)")
    for col in (
        "agents",
        "tick ms",
        "engine",
        "world",
        "rules",
        "brain",
        "rules+brain",
        "decisions/tick",
        "recorder overhead",
    ):
        table.add_column(col, justify="right")
    for r in report["results"]:
        table.add_row(
            f"{r['agents']:,}",
            f"{r['tick_ms']:.2f}",
            f"{r['engine_ms']:.2f}",
            f"{r['world_ms']:.2f}",
            f"{r['rules_ms']:.2f}",
            f"{r['brain_ms']:.2f}",
            f"{r['rules_and_brain_ms']:.2f}",
            f"{r['decisions_per_tick']:,.0f}",
            f"{100 * r['recorder_overhead']:+.1f}%",
        )
    console.print(table)
    for g in report["game"]:
        extra = (
            f" (published: {g['published_round_s']} s on 16 cores; {g['speedup_vs_published']}x)"
            if g["published_round_s"]
            else ""
        )
        console.print(
            f"guess the average, {g['participants']:,} participants: {g['round_s'] * 1000:.1f} ms per round{extra}"
        )
    write_report(report, json_path, console)
    return report
