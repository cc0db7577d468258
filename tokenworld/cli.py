"""The `tokenworld` command.

Every mistake a user can make ends in a one-paragraph message and exit code 2,
never a traceback; an interrupted run exits 130 with its folder intact.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from tokenworld.errors import TokenWorldError


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, found {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, found {text}")
    return value


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, found {text!r}")
    w, h = int(parts[0]), int(parts[1])
    if not (64 <= w <= 7680 and 64 <= h <= 4320):
        raise argparse.ArgumentTypeError(f"window size {w}x{h} is out of range (64x64 to 7680x4320)")
    return w, h


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers such as 1000,10000, found {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected counts of 1 or more, found {text!r}")
    return values


def _weight_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 0,1,2, found {text!r}") from None
    if not values or not all(0 <= v <= 100 for v in values):
        raise argparse.ArgumentTypeError(f"expected weights between 0 and 100, found {text!r}")
    return values


def _mode_list(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in ("score", "generate")]
    if not modes or bad:
        raise argparse.ArgumentTypeError(f"expected modes from score,generate, found {text!r}")
    return list(dict.fromkeys(modes))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    from tokenworld import __version__
    from tokenworld.engine.arch import ARCHS

    p = argparse.ArgumentParser(prog="tokenworld", description="Token World: a simulator of LLM-driven societies.")
    p.add_argument("--version", action="version", version=f"tokenworld {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scene headless and write a run folder, or continue one")
    run.add_argument("scene", nargs="?", help="scene file (TOML)")
    run.add_argument("--resume", metavar="RUN_FOLDER", help="continue runs/<name> from its last checkpoint")
    run.add_argument("--ticks", type=_positive_int, help="ticks to run in all (default: the scene's sim.ticks, or what the resumed run asked for)")
    run.add_argument("--seed", type=_positive_int, help="random seed (default: the scene's sim.seed)")
    run.add_argument("--agents", type=_positive_int, help="override the population, keeping group proportions")
    run.add_argument("--arch", choices=ARCHS, help="Taichi backend (default: $TOKENWORLD_ARCH or auto)")
    run.add_argument("--name", help="run folder name (default: <scene>-<date>-<time>)")
    run.add_argument("--runs-dir", default="runs", help="where run folders go (default: ./runs)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--live", action="store_true", help="a live terminal view: clock, rates, model figures and a feed of events and conversations")
    run.add_argument("--no-color", action="store_true", help="plain text without colour (for logs)")

    view = sub.add_parser("view", help="open the 3D viewer on a scene (live) or a run folder (replay)")
    view.add_argument("target", nargs="?", help="scene file (TOML) or runs/<name> (default: the village with the embedded model)")
    view.add_argument("--frames", type=_positive_int, help="render this many frames offscreen (the simulation running), then exit")
    view.add_argument("--screenshot", metavar="PNG", help="save the last frame here (with --frames, or at exit)")
    view.add_argument("--size", type=_size, default=(1280, 720), help="window size WxH (default 1280x720)")
    view.add_argument("--speed", type=_positive_float, default=4.0, help="simulated seconds per second (default 4)")
    view.add_argument("--seed", type=_positive_int, help="random seed (default: the scene's sim.seed)")
    view.add_argument("--agents", type=_positive_int, help="override the population, keeping group proportions")
    view.add_argument("--arch", choices=ARCHS, help="Taichi backend (default: $TOKENWORLD_ARCH or auto)")
    view.add_argument("--name", help="run folder name for the recording (default: <scene>-<date>-<time>)")
    view.add_argument("--runs-dir", default="runs", help="where run folders go (default: ./runs)")
    view.add_argument("--no-record", action="store_true", help="do not record the live run into a run folder")
    view.add_argument("--offscreen", action="store_true", help="render offscreen even when a display exists")
    view.add_argument("--seconds", type=_positive_float, default=20.0, help="length of the no-display demo (default 20)")

    bench = sub.add_parser("bench", help="benchmarks")
    bsub = bench.add_subparsers(dest="suite", required=True, metavar="SUITE")
    be = bsub.add_parser("engine", help="spatial engine: ms per step by stage at several agent counts")
    be.add_argument("--agents", type=_int_list, default=[1000, 10000, 100000, 1000000], help="comma-separated agent counts")
    be.add_argument("--steps", type=_positive_int, default=200, help="measured steps per size (default 200)")
    be.add_argument("--warmup", type=_positive_int, default=20, help="unmeasured steps first (default 20)")
    be.add_argument("--density", type=float, default=0.05, help="agents per square metre (default 0.05)")
    be.add_argument("--arch", choices=ARCHS, help="Taichi backend (default: $TOKENWORLD_ARCH or auto)")
    be.add_argument("--json", dest="json_path", help="write results as JSON here")
    be.add_argument("--no-cold-start", action="store_true", help="skip the cold-start measurement")

    ex = sub.add_parser("export", help="write a run's tables as Parquet files")
    ex.add_argument("run_folder", help="runs/<name>")
    ex.add_argument("--parquet", required=True, metavar="DIR", help="folder for <table>.parquet files")

    bw = bsub.add_parser("world", help="rules brain, rules and recorder: ms per tick at several agent counts")
    bw.add_argument("--agents", type=_int_list, default=[10000, 100000, 1000000], help="comma-separated agent counts")
    bw.add_argument("--ticks", type=_positive_int, default=50, help="measured ticks per size (default 50)")
    bw.add_argument("--warmup", type=_positive_int, default=20, help="unmeasured ticks first (default 20)")
    bw.add_argument("--game-agents", type=_int_list, default=[1000, 64000], help="guess-the-average participants to time")
    bw.add_argument("--arch", choices=ARCHS, help="Taichi backend (default: $TOKENWORLD_ARCH or auto)")
    bw.add_argument("--json", dest="json_path", help="write results as JSON here")

    bi = bsub.add_parser("inference", help="language-model decisions: one-at-a-time calls vs the batched worker")
    bi.add_argument("--requests", type=_positive_int, default=48, help="village prompts to answer (default 48)")
    bi.add_argument("--batch-size", type=_positive_int, default=16, help="requests decoded together (default 16)")
    bi.add_argument("--modes", type=_mode_list, default=["score", "generate"],
                    help="llama_cpp modes to measure, the first is the default (default: score,generate)")
    bi.add_argument("--no-baseline", action="store_true",
                    help="skip the one-at-a-time calls through llama-cpp-python's high-level API")
    bi.add_argument("--situations", type=_positive_int, default=None,
                    help="hand-labelled situations scored for right choices (default all; 0 skips them)")
    bi.add_argument("--prior-weights", type=_weight_list, default=None,
                    help="score mode's prior weights scored on them (default 0,1,2,3; 0 is the model alone)")
    bi.add_argument("--json", dest="json_path", help="write results as JSON here")

    bv = bsub.add_parser("viewer", help="3D viewer: frame time with N agents, with and without the simulation and the model")
    bv.add_argument("--agents", type=_int_list, default=[1000, 10000, 100000], help="comma-separated agent counts")
    bv.add_argument("--frames", type=_positive_int, default=300, help="measured frames per case (default 300)")
    bv.add_argument("--warmup", type=_positive_int, default=30, help="unmeasured frames first (default 30)")
    bv.add_argument("--size", type=_size, default=(1280, 720), help="offscreen buffer size WxH (default 1280x720)")
    bv.add_argument("--model-at", type=_int_list, default=[10000], help="agent counts also measured with the model deciding (default 10000)")
    bv.add_argument("--arch", choices=ARCHS, help="Taichi backend (default: $TOKENWORLD_ARCH or auto)")
    bv.add_argument("--json", dest="json_path", help="write results as JSON here")

    bl = bsub.add_parser("alive", help="the village in the viewer from its first frame: model decisions, conversations, "
                                       "model wait and FPS each second, against the goals for the first 10 s")
    bl.add_argument("--scene", help="scene file (default: the shipped village, as `tokenworld view` opens it)")
    bl.add_argument("--runs", type=_positive_int, help="measured openings of the viewer (default 3)")
    bl.add_argument("--seconds", type=_positive_float, help="seconds recorded after the first frame (default 30)")
    bl.add_argument("--goal-seconds", type=_positive_float, help="when the goal figures are read (default 10)")
    bl.add_argument("--size", type=_size, help="offscreen buffer size WxH (default 1280x720)")
    bl.add_argument("--speed", type=_positive_float, help="simulated seconds per second (default 4, as `tokenworld view`)")
    bl.add_argument("--threads", type=_positive_int, help="the model's CPU threads (default: as the viewer sets them)")
    bl.add_argument("--fps-cap", type=_positive_float, help="most frames a second (default: the window's limit)")
    bl.add_argument("--no-warmup", action="store_true", help="skip the unmeasured opening that warms the caches")
    bl.add_argument("--quick", action="store_true", help="one short run at a small size (seconds), not figures to quote")
    bl.add_argument("--arch", choices=ARCHS, help="Taichi backend (default: $TOKENWORLD_ARCH or auto)")
    bl.add_argument("--json", dest="json_path", help="write results as JSON here")

    ba = bsub.add_parser("all", help="every suite at sizes that fit this machine, side-by-side comparisons, plots and a report")
    ba.add_argument("--json", dest="json_path", required=True, help="write all results as JSON here")
    ba.add_argument("--report", metavar="MD", help="write a Markdown report here (plots go beside it)")
    ba.add_argument("--quick", action="store_true", help="tiny sizes (seconds, for CI), not figures to quote")
    ba.add_argument("--arch", choices=ARCHS, help="Taichi backend (default: $TOKENWORLD_ARCH or auto)")

    bm = bsub.add_parser("mesa", help="Mesa's boid flockers example against our engine's flocking, same agents and world")
    bm.add_argument("--agents", type=_int_list, default=[1000, 5000], help="comma-separated agent counts (default 1000,5000)")
    bm.add_argument("--steps", type=_positive_int, default=20, help="measured steps per size (default 20)")
    bm.add_argument("--json", dest="json_path", help="write results as JSON here")

    bc = bsub.add_parser("compare", help="compare two benchmark JSON files; exit 1 when a figure regressed past the threshold")
    bc.add_argument("old", help="baseline results (JSON from any tokenworld bench suite or bench all)")
    bc.add_argument("new", help="new results")
    bc.add_argument("--threshold", type=_positive_float, default=0.2, help="relative change that counts as a regression (default 0.2 = 20%%)")

    an = sub.add_parser("analyze", help="a report (HTML, PNG plots, Markdown summary) from a run folder")
    an.add_argument("run_folder", help="runs/<name> (may still be running)")
    an.add_argument("--out", metavar="DIR", help="where the report goes (default: runs/<name>/report)")
    an.add_argument("--prices", metavar="TOML", help="price table for the model cost estimate (see docs/analysis.md)")

    scene = sub.add_parser("scene", help="check or create scene files")
    ssub = scene.add_subparsers(dest="action", required=True, metavar="ACTION")
    sc = ssub.add_parser("check", help="validate a scene file and summarise it")
    sc.add_argument("file")
    sn = ssub.add_parser("new", help="write a starter scene file")
    sn.add_argument("name", help="scene name; writes NAME.toml")
    sn.add_argument("--dir", default=".", help="folder to write into (default: .)")
    sn.add_argument("--force", action="store_true", help="overwrite an existing file")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tokenworld` command; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    warnings.showwarning = lambda message, *a, **k: print(f"warning: {message}", file=sys.stderr)
    try:
        if args.command == "run":
            return _cmd_run(args, argv)
        if args.command == "view":
            return _cmd_view(args)
        if args.command == "bench" and args.suite == "world":
            from tokenworld.bench.world import run_world_bench

            run_world_bench(
                args.agents, ticks=args.ticks, warmup=args.warmup, game_agents=args.game_agents, arch=args.arch,
                json_path=args.json_path,
            )  # fmt: skip
            return 0
        if args.command == "bench" and args.suite == "all":
            from tokenworld.bench.suites import run_all

            run_all(json_path=args.json_path, report_path=args.report, quick=args.quick, arch=args.arch)
            return 0
        if args.command == "bench" and args.suite == "mesa":
            from tokenworld.bench.mesa import run_mesa_bench

            run_mesa_bench(args.agents, steps=args.steps, json_path=args.json_path)
            return 0
        if args.command == "bench" and args.suite == "compare":
            from tokenworld.bench.compare import compare_files

            return compare_files(args.old, args.new, threshold=args.threshold)
        if args.command == "analyze":
            from tokenworld.analysis.report import analyze

            analyze(args.run_folder, out_dir=args.out, prices_path=args.prices)
            return 0
        if args.command == "bench" and args.suite == "viewer":
            from tokenworld.bench.viewer import run_viewer_bench

            run_viewer_bench(args.agents, frames=args.frames, warmup=args.warmup, size=args.size, model_at=args.model_at,
                             arch=args.arch, json_path=args.json_path)  # fmt: skip
            return 0
        if args.command == "bench" and args.suite == "alive":
            from tokenworld.bench.suites import run_suite

            given = {k: getattr(args, k) for k in ("scene", "runs", "seconds", "goal_seconds", "size", "speed",
                                                   "threads", "fps_cap", "json_path") if getattr(args, k) is not None}  # fmt: skip
            if args.no_warmup:
                given["warmup"] = False
            run_suite("alive", quick=args.quick, arch=args.arch, **given)
            return 0
        if args.command == "bench" and args.suite == "inference":
            from tokenworld.bench.inference import run_inference_bench

            from tokenworld.bench.situations_score import PRIOR_WEIGHTS

            run_inference_bench(requests=args.requests, batch_size=args.batch_size, modes=args.modes,
                                baseline=not args.no_baseline, situations=args.situations,
                                prior_weights=args.prior_weights or PRIOR_WEIGHTS, json_path=args.json_path)  # fmt: skip
            return 0
        if args.command == "bench":
            from tokenworld.bench.engine import run_engine_bench

            run_engine_bench(
                args.agents, steps=args.steps, warmup=args.warmup, density=args.density, arch=args.arch,
                json_path=args.json_path, cold_start=not args.no_cold_start,
            )  # fmt: skip
            return 0
        if args.command == "scene":
            return _cmd_scene(args)
        if args.command == "export":
            from tokenworld.sim.export import export_parquet

            files = export_parquet(args.run_folder, args.parquet)
            print(f"wrote {len(files)} tables to {args.parquet}: {', '.join(f.stem for f in files)}")
            return 0
    except TokenWorldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; what was written so far is kept.", file=sys.stderr)
        return 130
    return 0  # pragma: no cover


def _cmd_run(args, argv) -> int:
    from tokenworld.scene import Scene
    from tokenworld.scene.population import with_agents
    from tokenworld.sim.headless import resume_headless, run_headless

    if args.resume:
        if args.scene or args.agents is not None or args.seed is not None or args.name:
            raise TokenWorldError("--resume continues a run as it was: give it with --ticks, --arch, --no-progress, --live or --no-color only.")
        resume_headless(args.resume, ticks=args.ticks, arch=args.arch, progress=not args.no_progress, live=args.live,
                        color=not args.no_color)  # fmt: skip
        return 0
    if not args.scene:
        raise TokenWorldError("give a scene file (tokenworld run scenes/village.toml) or --resume runs/<name>.")
    scene = Scene.load(args.scene)
    if args.agents is not None:
        scene = with_agents(scene, args.agents)
    run_headless(
        scene, ticks=args.ticks, seed=args.seed, arch=args.arch, runs_dir=args.runs_dir, name=args.name,
        progress=not args.no_progress, command=["tokenworld", *argv], live=args.live, color=not args.no_color,
    )  # fmt: skip
    return 0


def _cmd_view(args) -> int:
    from tokenworld.viewer import ViewOptions, view

    return view(ViewOptions(
        target=args.target, frames=args.frames, screenshot=args.screenshot, size=args.size, speed=args.speed,
        seed=args.seed, arch=args.arch, agents=args.agents, runs_dir=args.runs_dir, name=args.name,
        record=False if args.no_record else None, offscreen=args.offscreen, seconds=args.seconds,
    ))  # fmt: skip


def _cmd_scene(args) -> int:
    from tokenworld.scene import Scene
    from tokenworld.scene.starter import starter_scene_text, summary

    if args.action == "check":
        scene = Scene.load(args.file)
        if scene.uses_model:
            from tokenworld.inference import preflight

            preflight(scene.mind)  # the model file (or extra) a run would need
        print(summary(scene))
        return 0
    text = starter_scene_text(args.name)  # checks the name first: it becomes the file name
    path = Path(args.dir) / f"{args.name}.toml"
    if path.exists() and not args.force:
        raise TokenWorldError(f"{path} exists already; pass --force to overwrite it or pick another name.")
    Scene.from_dict(__import__("tomllib").loads(text), source=str(path))  # the starter must itself be valid
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TokenWorldError(f"cannot write {path}: {exc.strerror}.") from None
    print(f"wrote {path}; check it with `tokenworld scene check {path}` and run it with `tokenworld run {path}`.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
