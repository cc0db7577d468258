"""`tokenworld bench all`: every suite, registered in one place, with side-by-side comparisons, plots and a report.

A suite is a function that measures and returns its report (a dict, JSON-ready);
`SUITES` names each one with the sizes it runs at by default (modest enough
for a 2-core machine to finish everything in about 10-15 minutes) and in
`--quick` mode (seconds each, for CI: figures that prove the path works, not
figures to quote), and the flags of its `tokenworld bench NAME` command: the
command is generated from the entry, so its defaults are the entry's `sizes`.
A new suite (recording, assets) joins by adding one entry.

`run_all` writes one JSON file::

    {"machine": {...}, "quick": bool, "suites": {name: report | {"skipped": why}},
     "comparisons": {"mesa": ..., "guess_the_average": ..., "inference": ...},
     "plots": {name: file name}, "plots_dir": folder}

and, when asked, a Markdown report with the plots (PNG) beside it.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tokenworld.bench.machine import describe_machine, prepare_report_path
from tokenworld.bench.report import markdown_report
from tokenworld.bench.situations_score import PRIOR_WEIGHTS
from tokenworld.errors import TokenWorldError

FLAG_KINDS = ("counts", "count", "count0", "number", "size", "modes", "weights", "scene", "scenes", "off")


@dataclass(frozen=True)
class Flag:
    """One flag of a suite's `tokenworld bench NAME` command; its default is the suite's `sizes[key]`, if any.

    Attributes:
        flag: the option as typed (`--agents`, `--no-cold-start`).
        key: the keyword argument of the suite's `run` that it sets.
        kind: how its text is read: `counts` (comma-separated, each 1 or more), `count` (1 or more),
            `count0` (0 or more), `number` (above 0), `size` (WxH), `modes` (score,generate), `weights`
            (comma-separated, 0 to 100), `scene` (a file or a shipped scene's name), `scenes` (comma-separated
            scenes, or 'none'), or `off` (no value:
            sets the keyword to False).
        help: one line; the command adds the default from `sizes` (say it here when `sizes` has none).
    """

    flag: str
    key: str
    kind: str
    help: str

    def __post_init__(self):
        if self.kind not in FLAG_KINDS:
            raise ValueError(f"Flag {self.flag}: kind {self.kind!r} is not one of {', '.join(FLAG_KINDS)}")


@dataclass(frozen=True)
class Suite:
    """One benchmark suite.

    Attributes:
        name: the key in `SUITES` and in the results file.
        run: `run(arch=..., **sizes) -> report`.
        sizes: keyword arguments for a full run (and the defaults of the suite's command).
        quick: keyword arguments for `--quick`.
        about: one line for the report.
        flags: the suite's own flags in `tokenworld bench NAME` (every suite also has `--json` and `--quick`).
        help: one short line for `tokenworld bench --help` (default: `about`).
        arch: whether the suite runs on a Taichi arch (then its command has `--arch`).
        needs: a module the suite cannot run without (the suite is skipped with a note when it is missing).
        install: how to get `needs`.
    """

    name: str
    run: Callable[..., dict]
    sizes: dict
    quick: dict
    about: str
    flags: tuple[Flag, ...] = ()
    help: str = ""
    arch: bool = True
    needs: str | None = None
    install: str = ""


def _engine(*, arch=None, **sizes) -> dict:
    from tokenworld.bench.engine import run_engine_bench

    return run_engine_bench(sizes.pop("agents"), arch=arch, **sizes)


def _world(*, arch=None, **sizes) -> dict:
    from tokenworld.bench.world import run_world_bench

    return run_world_bench(sizes.pop("agents"), arch=arch, **sizes)


def _inference(*, arch=None, **sizes) -> dict:  # llama.cpp: no Taichi arch
    from tokenworld.bench.inference import run_inference_bench

    return run_inference_bench(**sizes)


def _viewer(*, arch=None, **sizes) -> dict:
    from tokenworld.bench.viewer import run_viewer_bench

    return run_viewer_bench(sizes.pop("agents"), arch=arch, **sizes)


def _alive(*, arch=None, **sizes) -> dict:
    from tokenworld.bench.alive import run_alive_bench

    return run_alive_bench(arch=arch, **sizes)


def _record(*, arch=None, **sizes) -> dict:
    from tokenworld.bench.record import run_record_bench

    return run_record_bench(sizes.pop("agents"), arch=arch, **sizes)


def _assets(*, arch=None, **sizes) -> dict:  # meshes on the CPU: no Taichi arch
    from tokenworld.bench.assets import run_assets_bench

    return run_assets_bench(**sizes)


def _steering(*, arch=None, **sizes) -> dict:  # the model on llama.cpp: no Taichi arch
    from tokenworld.bench.steering import run_steering_bench

    return run_steering_bench(**sizes)


def _mesa(*, arch=None, **sizes) -> dict:
    from tokenworld.bench.mesa import run_mesa_bench

    return run_mesa_bench(sizes.pop("agents"), arch=arch, **sizes)


# Flags several suites share.
AGENTS = Flag("--agents", "agents", "counts", "comma-separated agent counts")
SIZE = Flag("--size", "size", "size", "offscreen buffer size WxH")

SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite(
            "engine",
            _engine,
            sizes={"agents": [1000, 10000, 100000, 1000000], "steps": 100, "warmup": 10, "density": 0.05},
            quick={"agents": [500, 2000], "steps": 5, "warmup": 2, "cold_start": False},
            about="spatial engine: ms per step by stage (hash, perception, motion, zones) at constant density",
            help="spatial engine: ms per step by stage at several agent counts",
            flags=(
                AGENTS,
                Flag("--steps", "steps", "count", "measured steps per size"),
                Flag("--warmup", "warmup", "count0", "unmeasured steps first"),
                Flag("--density", "density", "number", "agents per square metre"),
                Flag("--no-cold-start", "cold_start", "off", "skip the cold-start measurement"),
            ),
        ),
        Suite(
            "world",
            _world,
            sizes={"agents": [1000, 10000, 100000], "ticks": 30, "warmup": 10, "game_agents": [1000, 64000]},
            quick={"agents": [300, 1000], "ticks": 3, "warmup": 2, "game_agents": [1000, 64000]},
            about="rules brain, rules and recorder: ms per tick by stage; guess-the-average rounds",
            flags=(
                AGENTS,
                Flag("--ticks", "ticks", "count", "measured ticks per size"),
                Flag("--warmup", "warmup", "count0", "unmeasured ticks first"),
                Flag("--game-agents", "game_agents", "counts", "guess-the-average participants to time"),
            ),
        ),
        Suite(
            "inference",
            _inference,
            sizes={
                "requests": 160,
                "batch_size": 16,
                "modes": ("score", "generate"),
                "batch_sizes": (1, 4, 16),
                "prior_weights": PRIOR_WEIGHTS,
            },
            quick={
                "requests": 2,
                "batch_size": 2,
                "modes": ("score",),
                "baseline": False,
                "realtime": False,
                "batch_sizes": (1, 2),
                "situations": 3,
                "prior_weights": (0.0, 2.0),
            },
            about="model decisions on the village's prompts: one at a time vs the batched worker; decisions/s by batch "
            "size; right choices on hand-labelled situations and variety, by backend, mode and prior weight",
            help="language-model decisions: one-at-a-time calls vs the batched worker",
            arch=False,  # llama.cpp: no Taichi arch
            flags=(
                Flag("--requests", "requests", "count", "village prompts to answer"),
                Flag("--batch-size", "batch_size", "count", "requests decoded together"),
                Flag("--batch-sizes", "batch_sizes", "counts", "batch sizes of the decisions/s sweep"),
                Flag("--modes", "modes", "modes", "llama_cpp modes to measure, the first is the default"),
                Flag(
                    "--no-baseline",
                    "baseline",
                    "off",
                    "skip the one-at-a-time calls through llama-cpp-python's high-level API",
                ),
                Flag("--no-realtime", "realtime", "off", "skip the default mode decoded together (realtime)"),
                Flag(
                    "--situations",
                    "situations",
                    "count0",
                    "hand-labelled situations scored for right choices (default all; 0 skips them)",
                ),
                Flag(
                    "--prior-weights",
                    "prior_weights",
                    "weights",
                    "score mode's prior weights scored on them; 0 is the model alone",
                ),
            ),
        ),
        Suite(
            "viewer",
            _viewer,
            sizes={
                "agents": [1000, 10000, 100000],
                "frames": 200,
                "warmup": 30,
                "size": (1280, 720),
                "model_at": [10000],
                "scenes": ["village_rules", "metropolis"],
            },
            quick={
                "agents": [200, 1000],
                "frames": 10,
                "warmup": 3,
                "size": (320, 240),
                "model_at": [],
                "scenes": ["village_rules"],
            },
            about="3D viewer, offscreen: frame time by agents (render, with the simulation, with the model)",
            help="3D viewer: frame time with N agents, with and without the simulation and the model",
            flags=(
                AGENTS,
                Flag("--frames", "frames", "count", "measured frames per case"),
                Flag("--warmup", "warmup", "count0", "unmeasured frames first"),
                SIZE,
                Flag("--model-at", "model_at", "counts", "agent counts also measured with the model deciding"),
                Flag("--scenes", "scenes", "scenes", "scenes (files or shipped names) drawn as they are; 'none': none"),
            ),
        ),
        Suite(
            "alive",
            _alive,
            sizes={"runs": 3, "seconds": 30.0, "goal_seconds": 10.0, "size": (1280, 720), "speed": 4.0},
            quick={"runs": 1, "seconds": 3.0, "goal_seconds": 3.0, "size": (320, 240), "warmup": False},
            about="the village in the viewer from its first frame: model decisions, conversations, model wait and FPS "
            "each second, against the goals for the first 10 s",
            flags=(
                Flag(
                    "--scene",
                    "scene",
                    "scene",
                    "scene file or shipped scene name (default: the village, as `tokenworld view` opens it)",
                ),
                Flag("--runs", "runs", "count", "measured openings of the viewer"),
                Flag("--seconds", "seconds", "number", "seconds recorded after the first frame"),
                Flag("--goal-seconds", "goal_seconds", "number", "when the goal figures are read"),
                SIZE,
                Flag("--speed", "speed", "number", "simulated seconds per second, as `tokenworld view`"),
                Flag("--threads", "threads", "count", "the model's CPU threads (default: as the viewer sets them)"),
                Flag("--fps-cap", "fps_cap", "number", "most frames a second (default: the window's limit)"),
                Flag("--no-warmup", "warmup", "off", "skip the unmeasured opening that warms the caches"),
            ),
        ),
        Suite(
            "record",
            _record,
            sizes={"agents": [1000, 10000], "seconds": 10.0, "fps": 30, "size": (1280, 720)},
            quick={"agents": [200], "seconds": 1.0, "fps": 10, "size": (320, 240)},
            about="tokenworld record: frames of video written a second, the simulation stepped in lockstep included",
            flags=(
                AGENTS,
                Flag("--seconds", "seconds", "number", "seconds of video per size"),
                Flag("--fps", "fps", "count", "frames a second of video"),
                SIZE,
            ),
        ),
        Suite(
            "assets",
            _assets,
            sizes={"seeds": 10, "hits": 200},
            quick={"seeds": 1, "hits": 5},
            about="generated 3D assets: median ms per category (text to GLB), organic shapes, a cache hit",
            flags=(
                Flag("--seeds", "seeds", "count", "meshes generated per category"),
                Flag("--hits", "hits", "count", "cache hits timed"),
            ),
            arch=False,
        ),
        Suite(
            "steering",
            _steering,
            sizes={"personas": 4, "strengths": [1.0, 2.0], "together": 48},
            quick={"personas": 1, "strengths": [2.0], "situations": 1, "together": 4},
            about="trait steering: extraversion's effect on talking and agreeableness's on giving, words vs vectors",
            flags=(
                Flag("--personas", "personas", "count", "trait profiles per situation"),
                Flag("--strengths", "strengths", "weights", "steering strengths measured"),
                Flag(
                    "--situations", "situations", "count", "situations per trait (default: every one with the option)"
                ),
                Flag("--together", "together", "count0", "village prompts decoded together, with and without"),
            ),
            arch=False,
        ),
        Suite(
            "mesa",
            _mesa,
            sizes={"agents": [1000, 5000], "steps": 20, "warmup": 3},
            quick={"agents": [100, 300], "steps": 3, "warmup": 1},
            about="Mesa's boid flockers example against our engine's flocking, same agents, world and vision",
            flags=(
                AGENTS,
                Flag("--steps", "steps", "count", "measured steps per size"),
                Flag("--warmup", "warmup", "count0", "unmeasured steps first"),
            ),
            needs="mesa",
            install="pip install 'tokenworld[bench]' (from a checkout: pip install '.[bench]')",
        ),
    )
}


def suite_sizes(name: str, *, quick: bool = False) -> dict:
    """The keyword arguments suite `name` runs with (a copy)."""
    suite = SUITES[name]
    return dict(suite.quick if quick else suite.sizes)


def run_suite(name: str, *, quick: bool = False, arch: str | None = None, **overrides) -> dict:
    """Run one registered suite at its default (or quick) sizes, `overrides` replacing some; return its report."""
    if name not in SUITES:
        raise TokenWorldError(f"unknown benchmark suite {name!r}; the suites are {', '.join(SUITES)}.")
    suite = SUITES[name]
    missing = _missing(suite)
    if missing:
        raise TokenWorldError(missing)
    return suite.run(arch=arch, **{**suite_sizes(name, quick=quick), **overrides})


def _missing(suite: Suite) -> str | None:
    if suite.needs and importlib.util.find_spec(suite.needs) is None:
        return f"{suite.needs} is not installed; {suite.install}."
    return None


def run_all(
    *,
    json_path: str,
    report_path: str | None = None,
    quick: bool = False,
    arch: str | None = None,
    suites: list[str] | tuple[str, ...] | None = None,
) -> dict:
    """Run every registered suite (or those named in `suites`), write one JSON file and optionally a report.

    Args:
        json_path: where the results go (its folder is created).
        report_path: a Markdown report here, with the plots (PNG) beside it.
        quick: tiny sizes (seconds each), for CI.
        arch: Taichi arch (default: $TOKENWORLD_ARCH or auto).
        suites: a subset of `SUITES` to run, in registry order.

    Returns:
        The results written to `json_path`.
    """
    from rich.console import Console

    from tokenworld.engine import arch as engine_arch

    names = list(SUITES) if suites is None else list(suites)
    unknown = [n for n in names if n not in SUITES]
    if unknown or not names:
        raise TokenWorldError(
            f"unknown benchmark suite {unknown[0] if unknown else '(none)'!r}; the suites are {', '.join(SUITES)}."
        )
    if not json_path:
        raise TokenWorldError("give a results file: tokenworld bench all --json results.json")
    if report_path and Path(report_path).resolve() == Path(json_path).resolve():
        raise TokenWorldError("--report and --json name the same file; give the report its own .md path.")
    prepare_report_path(json_path)
    prepare_report_path(report_path, "--report")
    console = Console(width=None if sys.stdout.isatty() else 140)
    chosen = engine_arch.init(arch)
    started = time.perf_counter()
    results: dict[str, dict] = {}
    for name in [n for n in SUITES if n in names]:
        suite = SUITES[name]
        missing = _missing(suite)
        if missing:
            console.print(f"[yellow]{name}: skipped: {missing}[/]")
            results[name] = {"suite": name, "skipped": missing}
            continue
        console.rule(f"{name}: {suite.about}")
        t0 = time.perf_counter()
        try:
            report = suite.run(arch=arch, **suite_sizes(name, quick=quick))
        except TokenWorldError as exc:  # a suite that cannot run here (no model, no OpenGL) does not stop the others
            console.print(f"[yellow]{name}: skipped: {exc}[/]")
            results[name] = {"suite": name, "skipped": str(exc)}
            continue
        report.pop("machine", None)  # described once, below
        report["sizes"] = _jsonable(suite_sizes(name, quick=quick))
        report["wall_s"] = round(time.perf_counter() - t0, 2)
        results[name] = report
    inference = results.get("inference", {})
    model = {k: inference[k] for k in ("model", "backend", "gpu_offload") if k in inference} or None
    out = {
        "machine": describe_machine(arch=chosen, inference=model),
        "quick": quick,
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "tokenworld " + " ".join(sys.argv[1:]),
        "wall_s": None,
        "suites": results,
        "comparisons": comparisons(results),
        "plots": {},
    }
    out["plots"] = _plots(results, Path(report_path or json_path), console)
    out["plots_dir"] = str(Path(report_path or json_path).parent) if out["plots"] else None
    out["wall_s"] = round(time.perf_counter() - started, 2)
    _write(Path(json_path), json.dumps(out, indent=2) + "\n")
    console.print(f"wrote {json_path}")
    if report_path:
        _write(Path(report_path), markdown_report(out))
        console.print(f"wrote {report_path}")
    _print_comparisons(console, out["comparisons"])
    return out


def comparisons(results: dict[str, dict]) -> dict:
    """The side-by-side figures (ratios) from the suites' reports: Mesa, guess the average, one-at-a-time calls."""
    from tokenworld.bench.world import PUBLISHED_GAME

    out: dict = {}
    mesa = results.get("mesa", {})
    if mesa.get("results"):
        out["mesa"] = {
            "about": "ms per step of Mesa's boid flockers example / ours, same agents, world and vision (higher: we "
            "are faster)",
            "rows": [
                {k: r[k] for k in ("agents", "mesa_ms_per_step", "tokenworld_ms_per_step", "ratio")}
                for r in mesa["results"]
            ],
        }
    game = results.get("world", {}).get("game") or []
    if game:
        published = PUBLISHED_GAME["round_s"]
        out["guess_the_average"] = {
            "about": f"our seconds per round against the published {published} s per round for "
            f"{PUBLISHED_GAME['participants']:,} participants (ratio = published / ours)",
            "published": dict(PUBLISHED_GAME),
            "rows": [
                {
                    "participants": g["participants"],
                    "round_s": g["round_s"],
                    "published_round_s": published,
                    "published_participants": PUBLISHED_GAME["participants"],
                    "ratio": round(published / g["round_s"], 1) if g["round_s"] > 0 else None,
                }
                for g in game
            ],
        }
    inf = results.get("inference", {})
    if inf.get("batched"):
        row = {"batched_decisions_per_s": inf["batched"]["decisions_per_s"]}
        for key in ("sequential", "sequential_same_backend"):
            if key in inf:
                row[f"{key}_decisions_per_s"] = inf[key]["decisions_per_s"]
        for key in ("speedup", "speedup_same_backend"):
            if key in inf:
                row[key] = inf[key]
        for r in inf.get("choices", {}).get("rows", []):  # right choices: the model alone, the default, the rules brain
            if r["mode"] == "score" and (r["prior_weight"] == 0 or r["default"]):
                row["right_share_" + ("model_alone" if r["prior_weight"] == 0 else "default_prior")] = r["right_share"]
            elif r["backend"] == "rules":
                row["right_share_rules"] = r["right_share"]
        out["inference"] = {
            "about": "batched worker decisions/s against one-at-a-time calls (speedup = batched / one at a time)",
            **row,
        }
    return out


def _plots(results: dict, beside: Path, console) -> dict:
    try:
        from tokenworld.bench.plots import write_plots
    except ImportError:  # pragma: no cover - plots.py imports matplotlib lazily
        return {}
    try:
        paths = write_plots(results, beside.parent, stem=beside.stem)
    except TokenWorldError as exc:  # matplotlib missing: the figures still count
        console.print(f"[yellow]plots skipped: {exc}[/]")
        return {}
    return {name: p.name for name, p in paths.items()}


def _print_comparisons(console, comp: dict) -> None:
    for r in comp.get("mesa", {}).get("rows", []):
        console.print(
            f"Mesa boid flockers vs ours, {r['agents']:,} agents: {r['mesa_ms_per_step']} vs "
            f"{r['tokenworld_ms_per_step']} ms per step ({r['ratio']}x)"
        )
    for r in comp.get("guess_the_average", {}).get("rows", []):
        console.print(
            f"guess the average, {r['participants']:,} participants: {r['round_s']} s per round vs the published "
            f"{r['published_round_s']} s for {r['published_participants']:,} ({r['ratio']}x)"
        )
    inf = comp.get("inference")
    if inf and "speedup_same_backend" in inf:
        console.print(
            f"batched worker vs one request at a time: {inf['speedup_same_backend']}x"
            + (f"; vs one-at-a-time Llama calls: {inf['speedup']}x" if "speedup" in inf else "")
        )


def _jsonable(sizes: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in sizes.items()}


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TokenWorldError(f"cannot write {path}: {exc.strerror}.") from None
