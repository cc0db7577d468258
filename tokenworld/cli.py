"""The `tokenworld` command.

Every mistake a user can make ends in a one-paragraph message and exit code 2,
never a traceback; an interrupted run exits 130 with its folder intact.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from tokenworld.cli_args import FLAG_TYPES, nonnegative_int, positive_float, positive_int, shown, size
from tokenworld.cli_models import add_model_commands
from tokenworld.errors import TokenWorldError


def _parents() -> dict[str, argparse.ArgumentParser]:
    """Parent parsers of the flags several commands share, by name."""
    from tokenworld.engine.arch import ARCHS

    def parent() -> argparse.ArgumentParser:
        return argparse.ArgumentParser(add_help=False)

    arch = parent()
    arch.add_argument("--arch", choices=ARCHS, help="Taichi backend (default: $TOKENWORLD_ARCH or auto)")
    json_out = parent()
    json_out.add_argument("--json", dest="json_path", metavar="JSON", help="write results as JSON here")
    seed = parent()
    seed.add_argument("--seed", type=nonnegative_int, help="random seed (default: the scene's sim.seed)")
    live = parent()  # a live simulation that writes a run folder: `run` and `view`
    live.add_argument("--agents", type=nonnegative_int, help="override the population, keeping group proportions")
    live.add_argument("--name", help="run folder name (default: <scene>-<date>-<time>)")
    live.add_argument("--runs-dir", default="runs", help="where run folders go (default: ./runs)")
    return {"arch": arch, "json": json_out, "seed": seed, "live": live}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command; each sets `func`, the function that carries it out."""
    from tokenworld import __version__

    shared = _parents()
    p = argparse.ArgumentParser(prog="tokenworld", description="Token World: a simulator of LLM-driven societies.")
    p.add_argument("--version", action="version", version=f"tokenworld {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        parents=[shared["seed"], shared["live"], shared["arch"]],
        help="run a scene headless and write a run folder, or continue one",
    )
    run.add_argument("scene", nargs="?", help="scene file (TOML) or a shipped scene's name (tokenworld scene list)")
    run.add_argument("--resume", metavar="RUN_FOLDER", help="continue runs/<name> from its last checkpoint")
    run.add_argument(
        "--ticks",
        type=nonnegative_int,
        help="ticks to run in all (default: the scene's sim.ticks, or what the resumed run asked for)",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument(
        "--live",
        action="store_true",
        help="a live terminal view: clock, rates, model figures and a feed of events and conversations",
    )
    run.add_argument("--no-color", action="store_true", help="plain text without colour (for logs)")
    run.set_defaults(func=_cmd_run)

    view = sub.add_parser(
        "view",
        parents=[shared["seed"], shared["live"], shared["arch"]],
        help="open the 3D viewer on a scene (live) or a run folder (replay)",
    )
    view.add_argument(
        "target",
        nargs="?",
        help="scene file (TOML), a shipped scene's name, or runs/<name> (default: the village with the embedded model)",
    )
    view.add_argument(
        "--frames", type=positive_int, help="render this many frames offscreen (the simulation running), then exit"
    )
    view.add_argument("--screenshot", metavar="PNG", help="save the last frame here (with --frames, or at exit)")
    view.add_argument("--size", type=size, default=(1280, 720), help="window size WxH (default 1280x720)")
    view.add_argument("--speed", type=positive_float, default=4.0, help="simulated seconds per second (default 4)")
    view.add_argument("--no-record", action="store_true", help="do not record the live run into a run folder")
    view.add_argument("--offscreen", action="store_true", help="render offscreen even when a display exists")
    view.add_argument("--seconds", type=positive_float, default=20.0, help="length of the no-display demo (default 20)")
    view.set_defaults(func=_cmd_view)

    edit = sub.add_parser(
        "edit",
        parents=[shared["arch"]],
        help="edit a scene in the viewer's Edit mode (zones, entities, groups, settings; undo, save)",
    )
    edit.add_argument(
        "scene", help="scene file (TOML), a shipped scene's name (saved as a copy here), or the name of a new scene"
    )
    edit.add_argument("--frames", type=positive_int, help="render this many frames offscreen, then exit")
    edit.add_argument("--screenshot", metavar="PNG", help="save the last frame here (with --frames, or at exit)")
    edit.add_argument("--size", type=size, default=(1280, 720), help="window size WxH (default 1280x720)")
    edit.add_argument("--offscreen", action="store_true", help="render offscreen even when a display exists")
    edit.set_defaults(func=_cmd_edit)

    rec = sub.add_parser(
        "record",
        parents=[shared["seed"], shared["arch"]],
        help="render a scene or a run folder offscreen into a video (MP4, GIF or PNG frames)",
        description="Render a scene (stepped in lockstep, a fixed number of ticks per frame) or a run folder "
        "offscreen into a video; the same command writes the same frames. See docs/recording.md.",
    )
    rec.add_argument("target", help="scene file (TOML), a shipped scene's name, or runs/<name>")
    rec.add_argument(
        "--out", required=True, help="output: NAME.mp4 (H.264), NAME.gif, or NAME.png (NAME-00000.png, ...)"
    )
    rec.add_argument("--seconds", type=positive_float, default=10.0, help="length of the video (default 10)")
    rec.add_argument("--fps", type=positive_int, default=30, help="frames a second of video (default 30)")
    rec.add_argument("--size", type=size, default=(1280, 720), help="frame size WxH (default 1280x720)")
    rec.add_argument(
        "--speed",
        type=positive_float,
        help="ticks per second of video (default: 4 simulated seconds a second, 40 ticks at dt 0.1 s)",
    )
    rec.add_argument(
        "--camera",
        help="orbit (default), follow, top-down, or a camera path file (keyframes; see docs/recording.md)",
    )
    rec.add_argument(
        "--follow", type=nonnegative_int, metavar="ID", help="follow agent ID (--camera follow alone: the busiest)"
    )
    rec.add_argument(
        "--overlays",
        default="title,clock,captions",
        help="comma-separated from title,clock,captions,plots, or none (default title,clock,captions)",
    )
    rec.add_argument("--title", help="the title overlay's text (default: the scene's name)")
    rec.add_argument("--agents", type=nonnegative_int, help="override the population, keeping group proportions")
    rec.add_argument("--no-progress", action="store_true", help="no progress bar")
    rec.set_defaults(func=_cmd_record)

    _add_bench(sub, shared)

    ex = sub.add_parser("export", help="write a run's tables as Parquet files")
    ex.add_argument("run_folder", help="runs/<name>")
    ex.add_argument("--parquet", required=True, metavar="DIR", help="folder for <table>.parquet files")
    ex.set_defaults(func=_cmd_export)

    an = sub.add_parser("analyze", help="a report (HTML, PNG plots, Markdown summary) from a run folder")
    an.add_argument("run_folder", help="runs/<name> (may still be running)")
    an.add_argument("--out", metavar="DIR", help="where the report goes (default: runs/<name>/report)")
    an.add_argument("--prices", metavar="TOML", help="price table for the model cost estimate (see docs/analysis.md)")
    an.add_argument("--baseline", metavar="RUN_FOLDER", help="the same scene and seed unsteered (Steering section)")
    an.set_defaults(func=_cmd_analyze)

    _add_assets(sub)

    add_model_commands(sub)

    sw = sub.add_parser("sweep", help="run scene variants x seeds as separate runs on Ray, with a summary across them")
    sw.add_argument("file", help="sweep file (TOML, see docs/sweeps.md) or a shipped sweep's name (sweep_village)")
    sw.add_argument("--runs-dir", default="runs", help="the sweep's folder goes in RUNS_DIR/sweeps/ (default: ./runs)")
    sw.add_argument("--parallel", type=positive_int, help="runs at once (default: the file's, else as CPUs allow)")
    sw.add_argument("--ray-address", metavar="ADDRESS", help="a running Ray cluster (default: the file's, else local)")
    sw.add_argument("--check", action="store_true", help="read the sweep file and list its runs; run nothing")
    sw.set_defaults(func=_cmd_sweep)

    scene = sub.add_parser("scene", help="list, check or create scene files")
    ssub = scene.add_subparsers(dest="action", required=True, metavar="ACTION")
    sl = ssub.add_parser("list", help="the shipped scenes: name, agents and description")
    sl.set_defaults(func=_cmd_scene_list)
    sc = ssub.add_parser("check", help="validate a scene file and summarise it")
    sc.add_argument("file", help="scene file (TOML) or a shipped scene's name")
    sc.set_defaults(func=_cmd_scene_check)
    sn = ssub.add_parser("new", help="write a starter scene file")
    sn.add_argument("name", help="scene name; writes NAME.toml")
    sn.add_argument("--dir", default=".", help="folder to write into (default: .)")
    sn.add_argument("--force", action="store_true", help="overwrite an existing file")
    sn.set_defaults(func=_cmd_scene_new)
    return p


def _add_assets(sub) -> None:
    """`tokenworld assets gen TEXT --out FILE.glb` and `tokenworld assets categories`."""
    from tokenworld.assetgen.generate import DETAILS

    assets = sub.add_parser("assets", help="generate 3D assets (GLB) from descriptions")
    asub = assets.add_subparsers(dest="action", required=True, metavar="ACTION")
    gen = asub.add_parser("gen", help="a low-poly mesh from a description, written as GLB")
    gen.add_argument("text", help='what to make, e.g. "a small wooden footbridge with rails"')
    gen.add_argument("--out", required=True, metavar="FILE.glb", help="where the GLB file goes")
    gen.add_argument("--seed", type=nonnegative_int, default=0, help="varies the details (default 0)")
    gen.add_argument("--detail", choices=DETAILS, default="default", help="round parts' sides (default: default)")
    gen.add_argument("--lod", type=nonnegative_int, default=0, help="level of detail: 0 full, 1 about a quarter")
    gen.add_argument(
        "--model",
        action="store_true",
        help="let the embedded language model read the words the keyword parser does not know",
    )
    gen.set_defaults(func=_cmd_assets_gen)
    cat = asub.add_parser("categories", help="the categories, materials, colours, sizes and parts words name")
    cat.set_defaults(func=_cmd_assets_categories)


def _add_bench(sub, shared: dict[str, argparse.ArgumentParser]) -> None:
    """`tokenworld bench SUITE`: one sub-command per registered suite (its flags and defaults from `SUITES`),
    then `all` and `compare`."""
    from tokenworld.bench.suites import SUITES

    bench = sub.add_parser("bench", help="benchmarks")
    bsub = bench.add_subparsers(dest="suite", required=True, metavar="SUITE")
    for suite in SUITES.values():
        parents = [shared["json"]] + ([shared["arch"]] if suite.arch else [])
        bp = bsub.add_parser(suite.name, parents=parents, help=suite.help or suite.about)
        for flag in suite.flags:
            if flag.kind == "off":
                bp.add_argument(flag.flag, dest=flag.key, action="store_const", const=False, help=flag.help)
                continue
            default = f" (default {shown(suite.sizes[flag.key])})" if flag.key in suite.sizes else ""
            bp.add_argument(flag.flag, dest=flag.key, type=FLAG_TYPES[flag.kind], help=flag.help + default)
        bp.add_argument("--quick", action="store_true", help="the suite's tiny sizes (seconds), not figures to quote")
        bp.set_defaults(func=_cmd_bench_suite)

    ba = bsub.add_parser(
        "all",
        parents=[shared["arch"]],
        help="every suite at sizes that fit this machine, side-by-side comparisons, plots and a report",
    )
    ba.add_argument("--json", dest="json_path", required=True, help="write all results as JSON here")
    ba.add_argument("--report", metavar="MD", help="write a Markdown report here (plots go beside it)")
    ba.add_argument("--quick", action="store_true", help="tiny sizes (seconds, for CI), not figures to quote")
    ba.set_defaults(func=_cmd_bench_all)

    bc = bsub.add_parser(
        "compare", help="compare two benchmark JSON files; exit 1 when a figure regressed past the threshold"
    )
    bc.add_argument("old", help="baseline results (JSON from any tokenworld bench suite or bench all)")
    bc.add_argument("new", help="new results")
    bc.add_argument(
        "--threshold",
        type=positive_float,
        default=0.2,
        help="relative change that counts as a regression (default 0.2 = 20%%)",
    )
    bc.set_defaults(func=_cmd_bench_compare)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tokenworld` command; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    warnings.showwarning = lambda message, *a, **k: print(f"warning: {message}", file=sys.stderr)
    try:
        return args.func(args)
    except TokenWorldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; what was written so far is kept.", file=sys.stderr)
        return 130


def _cmd_run(args) -> int:
    from tokenworld.scene import Scene
    from tokenworld.scene.population import with_agents
    from tokenworld.scene.shipped import find_scene
    from tokenworld.sim.headless import resume_headless, run_headless

    if args.resume:
        if args.scene or args.agents is not None or args.seed is not None or args.name:
            raise TokenWorldError(
                "--resume continues a run as it was: give it with --ticks, --arch, --no-progress, --live or "
                "--no-color only."
            )
        resume_headless(
            args.resume,
            ticks=args.ticks,
            arch=args.arch,
            progress=not args.no_progress,
            live=args.live,
            color=not args.no_color,
        )
        return 0
    if not args.scene:
        raise TokenWorldError(
            "give a scene file or a shipped scene's name (tokenworld run village; "
            "see tokenworld scene list), or --resume runs/<name>."
        )
    scene = Scene.load(find_scene(args.scene))
    if args.agents is not None:
        scene = with_agents(scene, args.agents)
    run_headless(
        scene,
        ticks=args.ticks,
        seed=args.seed,
        arch=args.arch,
        runs_dir=args.runs_dir,
        name=args.name,
        progress=not args.no_progress,
        command=["tokenworld", *args.argv],
        live=args.live,
        color=not args.no_color,
    )
    return 0


def _cmd_view(args) -> int:
    from tokenworld.scene.shipped import find_scene
    from tokenworld.viewer import ViewOptions, view

    target = args.target
    if target and not Path(target).is_dir():  # a run folder replays; a scene may be given by its shipped name
        target = str(find_scene(target))
    return view(
        ViewOptions(
            target=target,
            frames=args.frames,
            screenshot=args.screenshot,
            size=args.size,
            speed=args.speed,
            seed=args.seed,
            arch=args.arch,
            agents=args.agents,
            runs_dir=args.runs_dir,
            name=args.name,
            record=False if args.no_record else None,
            offscreen=args.offscreen,
            seconds=args.seconds,
        )
    )


def _cmd_record(args) -> int:
    from rich.console import Console

    from tokenworld.viewer.recorder import RecordOptions, record

    console = Console(stderr=True, soft_wrap=True)
    overlays = tuple(o.strip() for o in args.overlays.split(",") if o.strip() and o.strip() != "none")
    camera = args.camera or ("follow" if args.follow is not None else "orbit")
    done = record(
        RecordOptions(
            target=args.target,
            out=args.out,
            seconds=args.seconds,
            fps=args.fps,
            size=args.size,
            speed=args.speed,
            camera=camera,
            follow=args.follow,
            overlays=overlays,
            title=args.title,
            seed=args.seed,
            arch=args.arch,
            agents=args.agents,
            progress=not args.no_progress,
        ),
        console,
    )
    console.print(
        f"wrote {done.path}: {done.frames} frames, {done.size[0]}x{done.size[1]} at {done.fps} fps, "
        f"ticks {done.ticks[0]:,} to {done.ticks[1]:,} ({done.frames_per_s:.1f} frames/s)",
        highlight=False,
    )
    return 0


def _cmd_edit(args) -> int:
    from tokenworld.viewer.edit_command import EditOptions, edit

    return edit(
        EditOptions(
            target=args.scene,
            frames=args.frames,
            screenshot=args.screenshot,
            size=args.size,
            offscreen=args.offscreen,
            arch=args.arch,
        )
    )


def _cmd_bench_suite(args) -> int:
    """`tokenworld bench SUITE`: the suite's registered sizes (or quick sizes), the flags given replacing some."""
    from tokenworld.bench.suites import SUITES, run_suite

    suite = SUITES[args.suite]
    given = {f.key: getattr(args, f.key) for f in suite.flags if getattr(args, f.key) is not None}
    if "scene" in given:
        from tokenworld.scene.shipped import find_scene

        given["scene"] = str(find_scene(given["scene"]))
    if args.json_path is not None:
        given["json_path"] = args.json_path
    run_suite(suite.name, quick=args.quick, arch=getattr(args, "arch", None), **given)
    return 0


def _cmd_bench_all(args) -> int:
    from tokenworld.bench.suites import run_all

    run_all(json_path=args.json_path, report_path=args.report, quick=args.quick, arch=args.arch)
    return 0


def _cmd_bench_compare(args) -> int:
    from tokenworld.bench.compare import compare_files

    return compare_files(args.old, args.new, threshold=args.threshold)


def _cmd_analyze(args) -> int:
    from tokenworld.analysis.report import analyze

    analyze(args.run_folder, out_dir=args.out, prices_path=args.prices, baseline=args.baseline)
    return 0


def _cmd_sweep(args) -> int:
    from tokenworld.sweep import load_sweep, run_sweep

    if args.check:
        sweep = load_sweep(args.file)
        print(f"{sweep.path}: {len(sweep.runs)} runs of {sweep.options.scene}; varied: {', '.join(sweep.columns)}")
        for r in sweep.runs:
            values = "".join(f", {k} = {v!r}" for k, v in r.values.items())
            print(f"  {r.name}: seed {r.seed}{values} ({r.scene.agent_count} agents)")
        return 0
    result = run_sweep(args.file, runs_dir=args.runs_dir, parallel=args.parallel, ray_address=args.ray_address)
    return 1 if result.failed else 0


def _cmd_export(args) -> int:
    from tokenworld.sim.export import export_parquet

    files = export_parquet(args.run_folder, args.parquet)
    print(f"wrote {len(files)} tables to {args.parquet}: {', '.join(f.stem for f in files)}")
    return 0


def _cmd_assets_gen(args) -> int:
    from tokenworld.assetgen.export import write_glb

    reader = None
    if args.model:
        from tokenworld.assetgen.model_reader import ModelReader

        reader = ModelReader.embedded()
    print(write_glb(args.text, args.out, seed=args.seed, detail=args.detail, lod=args.lod, reader=reader))
    return 0


def _cmd_assets_categories(args) -> int:
    from tokenworld.assetgen.spec import vocabulary

    print(vocabulary())
    return 0


def _cmd_scene_list(args) -> int:
    from tokenworld.scene.shipped import shipped_scenes

    scenes = shipped_scenes()
    width = max((len(s.name) for s in scenes), default=0)
    for s in scenes:
        agents = "?" if s.agents is None else f"{s.agents:,}"
        print(f"{s.name:<{width}}  {agents:>9} agents  {s.description}")
    print("run one with `tokenworld run NAME` or `tokenworld view NAME`; copy it to change it.")
    return 0


def _cmd_scene_check(args) -> int:
    from tokenworld.scene import Scene
    from tokenworld.scene.shipped import find_scene
    from tokenworld.scene.starter import summary

    scene = Scene.load(find_scene(args.file))
    if scene.uses_model:
        from tokenworld.inference import preflight

        preflight(scene.mind)  # the model file (or extra) a run would need
    print(summary(scene))
    return 0


def _cmd_scene_new(args) -> int:
    import tomllib

    from tokenworld.scene import Scene
    from tokenworld.scene.starter import starter_scene_text

    text = starter_scene_text(args.name)  # checks the name first: it becomes the file name
    path = Path(args.dir) / f"{args.name}.toml"
    if path.exists() and not args.force:
        raise TokenWorldError(f"{path} exists already; pass --force to overwrite it or pick another name.")
    Scene.from_dict(tomllib.loads(text), source=str(path))  # the starter must itself be valid
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TokenWorldError(f"cannot write {path}: {exc.strerror}.") from None
    print(f"wrote {path}; check it with `tokenworld scene check {path}` and run it with `tokenworld run {path}`.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
