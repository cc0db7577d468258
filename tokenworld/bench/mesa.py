"""`tokenworld bench mesa`: Mesa's boid flockers example against our engine's flocking.

Mesa ships the example as `mesa.examples.basic.boid_flockers` (extra `bench`).
Both sides get the same agent count, world size, vision radius and starting
positions, and are stepped with nothing else running; setup and stepping are
timed apart, warm-up steps come first, figures are medians (and p95) over the
measured steps.

The example's own defaults (read from `BoidFlockers.__init__`, not copied)
set everything: 100 boids in a 100 x 100 space, vision 10, speed 1 per step,
separation 2, weights cohere 0.03, separate 0.015, match 0.05. The world grows
with the agent count at the example's density (100 boids per 100 x 100), so
every boid sees about as many neighbours (pi * 10^2 * 0.01, about 3) at every
size; both sides' measured mean neighbour counts are reported.

How the example maps onto our engine (one step of Mesa = one engine step of
dt = 1 s; speed in units per step = m/s):

- vision -> `perception_radius`; our engine takes the K nearest within it
  (K = `neighbours`, 16 here), Mesa every boid within it. At the example's
  density K rarely binds; flocks that pack denser than 16 within the radius
  are where the two differ.
- separation -> personal space (`G_SPACE`); separate -> separation weight
  `separate * separation`: Mesa pushes away by the summed offsets of the
  boids closer than `separation`, divided by all neighbours; ours by
  `(space - d) / space` per too-close neighbour (harder the closer).
- cohere -> cohesion `cohere * vision` (ours divides the offset to the
  neighbours' centre by the radius; Mesa does not).
- match -> alignment `match` (Mesa adds the neighbours' mean heading; ours
  steers towards their mean velocity).
- speed: Mesa moves every boid exactly `speed` along its unit heading; ours
  steers a velocity (acceleration capped at `max_force`) and keeps the boids
  cruising with its wander drive (towards half the top speed, with a small
  random turn), so top speed is `2 * speed` and wander 1.
- Mesa's space is a torus; ours has walls that push agents back within
  `boundary_margin` of the edge.
- Mesa activates boids one after another in random order (later ones see
  earlier ones moved); ours updates every agent from the same snapshot.
- Each side's step is its whole step: Mesa's `model.step()` (neighbour search
  over every boid, steering, moving, the heading statistics) and our
  `Engine.step` (grid hash, perception, motion, zone membership with no zones).
"""

from __future__ import annotations

import inspect
import math
import time

import numpy as np

from tokenworld.bench.machine import new_report, prepare_report_path, report_console, results_table, write_report
from tokenworld.errors import TokenWorldError

EXAMPLE = "mesa.examples.basic.boid_flockers"
NEIGHBOURS = 16  # our K: enough that it rarely binds at the example's density (about 3 boids within vision)
MAX_MESA_AGENTS = 100_000  # Mesa's example tests every pair of boids each step: beyond this a step takes minutes
INSTALL = "install the bench extra: pip install 'tokenworld[bench]' (from a checkout: pip install '.[bench]')"


def load_example():
    """Mesa's `BoidFlockers` class, or a `TokenWorldError` saying how to install Mesa."""
    try:
        import mesa
    except ImportError:
        raise TokenWorldError(f"Mesa is not installed; {INSTALL}.") from None
    try:
        from mesa.examples.basic.boid_flockers.model import BoidFlockers
    except ImportError as exc:
        raise TokenWorldError(
            f"Mesa {getattr(mesa, '__version__', '?')} has no {EXAMPLE} ({exc}); {INSTALL} (it pins mesa 3.3.1)."
        ) from None
    return BoidFlockers


def example_defaults(model_cls) -> dict:
    """The example's parameters as its constructor defines them."""
    sig = inspect.signature(model_cls.__init__)
    names = ("population_size", "width", "height", "speed", "vision", "separation", "cohere", "separate", "match")
    return {k: sig.parameters[k].default for k in names}


def sized_parameters(n: int, defaults: dict) -> dict:
    """Mesa's parameters for `n` boids: the example's, in a square world at the example's density."""
    density = defaults["population_size"] / (defaults["width"] * defaults["height"])
    side = round(math.sqrt(n / density), 3)
    return {**defaults, "population_size": n, "width": side, "height": side}


def engine_parameters(p: dict) -> dict:
    """Our engine's settings for Mesa parameters `p` (see the module docstring for the mapping)."""
    return {
        "perception_radius": float(p["vision"]),
        "neighbours": NEIGHBOURS,
        "cohesion": p["cohere"] * p["vision"],
        "alignment": p["match"],
        "separation": p["separate"] * p["separation"],
        "personal_space": float(p["separation"]),
        "wander": 1.0,
        "max_speed": 2.0 * p["speed"],
        "dt": 1.0,
    }


def _stats(ms: list[float]) -> tuple[float, float]:
    a = np.asarray(ms)
    return round(float(np.median(a)), 4), round(float(np.percentile(a, 95)), 4)


def time_mesa(model_cls, p: dict, *, steps: int, warmup: int, seed: int, positions, directions) -> dict:
    """Build Mesa's model with parameters `p`, place the boids, and time its steps."""
    t0 = time.perf_counter()
    model = model_cls(**p, seed=seed)
    for agent, pos, d in zip(model.agents, positions, directions, strict=False):  # the same start as ours
        agent.position = np.array(pos, dtype=float)
        agent.direction = np.array(d, dtype=float)
    setup_s = time.perf_counter() - t0
    for _ in range(warmup):
        model.step()
    ms = []
    for _ in range(steps):
        t = time.perf_counter()
        model.step()
        ms.append((time.perf_counter() - t) * 1000.0)
    med, p95 = _stats(ms)
    neighbours = float(np.mean([len(a.neighbors) for a in model.agents]))
    return {"ms": med, "p95": p95, "setup_s": round(setup_s, 4), "mean_neighbours": round(neighbours, 3)}


def time_ours(n: int, side: float, e: dict, *, steps: int, warmup: int, seed: int, arch, positions, directions) -> dict:
    """Build our engine with settings `e`, place the agents as Mesa's, and time its steps."""
    import taichi as ti

    from tokenworld.engine import Engine
    from tokenworld.scene.schema import EngineOptions

    options = EngineOptions(perception_radius=e["perception_radius"], neighbours=e["neighbours"])
    params = np.array([[e["cohesion"], e["alignment"], e["separation"], e["personal_space"], e["wander"]]], np.float32)
    t0 = time.perf_counter()
    engine = Engine(n, (side, side), options, params, seed=seed, arch=arch)
    pos = np.minimum(positions, np.nextafter(np.float32(side), 0)).astype(np.float32)
    cruise = 0.5 * e["max_speed"]  # where the wander drive holds the speed
    engine.set_state(pos, np.full(n, e["max_speed"], np.float32), np.zeros(n, np.int32), vel=directions * cruise)
    ti.sync()
    setup_s = time.perf_counter() - t0
    try:
        for _ in range(warmup):
            engine.step(e["dt"])
        ti.sync()
        ms = []
        for _ in range(steps):
            t = time.perf_counter()
            engine.step(e["dt"])
            ti.sync()
            ms.append((time.perf_counter() - t) * 1000.0)
        neighbours = engine.metrics()["mean_neighbours"]
    finally:
        engine.close()
    med, p95 = _stats(ms)
    return {"ms": med, "p95": p95, "setup_s": round(setup_s, 4), "mean_neighbours": round(float(neighbours), 3)}


def measure_agents(model_cls, defaults: dict, n: int, *, steps: int, warmup: int, seed: int, arch) -> dict:
    """Both sides at `n` agents; one result object."""
    p = sized_parameters(n, defaults)
    e = engine_parameters(p)
    rng = np.random.default_rng(seed)
    positions = rng.random((n, 2)) * p["width"]
    directions = rng.uniform(-1, 1, (n, 2))
    directions /= np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-9)
    mesa = time_mesa(model_cls, p, steps=steps, warmup=warmup, seed=seed, positions=positions, directions=directions)
    ours = time_ours(
        n,
        p["width"],
        e,
        steps=steps,
        warmup=warmup,
        seed=seed,
        arch=arch,
        positions=positions,
        directions=directions.astype(np.float32),
    )
    return {
        "agents": n,
        "world_size": [p["width"], p["height"]],
        "mesa_ms_per_step": mesa["ms"],
        "mesa_p95_ms": mesa["p95"],
        "tokenworld_ms_per_step": ours["ms"],
        "tokenworld_p95_ms": ours["p95"],
        "ratio": round(mesa["ms"] / ours["ms"], 2) if ours["ms"] > 0 else None,
        "mesa_setup_s": mesa["setup_s"],
        "tokenworld_setup_s": ours["setup_s"],
        "mesa_mean_neighbours": mesa["mean_neighbours"],
        "tokenworld_mean_neighbours": ours["mean_neighbours"],
        "mesa_parameters": p,
        "tokenworld_parameters": e,
    }


def check_agents(agents) -> list[int]:
    """Agent counts as a list of whole numbers in [2, MAX_MESA_AGENTS], or a `TokenWorldError`."""
    try:
        counts = [int(a) for a in agents]
    except (TypeError, ValueError):
        raise TokenWorldError(f"agent counts must be whole numbers such as 1000,5000, found {agents!r}.") from None
    if not counts:
        raise TokenWorldError("give at least one agent count, such as --agents 1000,5000.")
    bad = [a for a in counts if not 2 <= a <= MAX_MESA_AGENTS]
    if bad:
        raise TokenWorldError(
            f"agent counts for the Mesa comparison must be between 2 and {MAX_MESA_AGENTS:,}, found {bad[0]:,} "
            "(Mesa's example tests every pair of boids each step); try --agents 1000,5000."
        )
    return counts


def run_mesa_bench(
    agents, *, steps: int = 20, warmup: int = 3, seed: int = 42, arch: str | None = None, json_path: str | None = None
) -> dict:
    """Time Mesa's boid flockers and our engine's flocking at each agent count; print a table; optionally write JSON.

    Returns ``{"suite": "mesa", ..., "results": [{"agents", "mesa_ms_per_step", "tokenworld_ms_per_step",
    "ratio" (Mesa / ours), ...}]}``.
    """
    from tokenworld.engine import arch as engine_arch

    counts = check_agents(agents)
    if steps < 1:
        raise TokenWorldError(f"--steps must be 1 or more, found {steps}.")
    model_cls = load_example()
    prepare_report_path(json_path)
    import mesa

    console = report_console()
    chosen = engine_arch.init(arch)
    defaults = example_defaults(model_cls)
    report = new_report(
        "mesa",
        chosen,
        mesa_version=mesa.__version__,
        example=EXAMPLE,
        example_defaults=defaults,
        steps=steps,
        warmup=warmup,
        seed=seed,
    )
    for n in counts:
        console.print(f"mesa: {n:,} boids, Mesa's example and our engine ...", style="dim")
        report["results"].append(
            measure_agents(model_cls, defaults, n, steps=steps, warmup=warmup, seed=seed, arch=arch)
        )
    table = results_table(
        f"Boid flocking: Mesa {mesa.__version__} example vs our engine on {chosen} "
        f"(vision {defaults['vision']}, {steps} steps)",
        ("agents", "world", "Mesa ms/step", "ours ms/step", "Mesa / ours", "neighbours (Mesa, ours)"),
        (
            [
                f"{r['agents']:,}",
                f"{r['world_size'][0]:.0f} m",
                f"{r['mesa_ms_per_step']:.2f}",
                f"{r['tokenworld_ms_per_step']:.3f}",
                f"{r['ratio']:,}x",
                f"{r['mesa_mean_neighbours']:.1f}, {r['tokenworld_mean_neighbours']:.1f}",
            ]
            for r in report["results"]
        ),
    )
    console.print(table)
    write_report(report, json_path, console)
    return report
