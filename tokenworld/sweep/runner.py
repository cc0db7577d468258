"""Running a sweep: each run a Ray task (on a local Ray or a cluster) writing its own run folder, resumably.

The sweep's folder is `<runs-dir>/sweeps/<name>/`: `sweep.toml` (the file as given), `runs/<run>/` (one run
folder each, as `tokenworld run` writes them), and the summary (`summary.csv`, `summary.parquet`,
`report.html`, see `tokenworld.sweep.summary`). Started again, a sweep skips the runs that finished, continues
the ones that were killed from their last checkpoint (`tokenworld run --resume`), and starts the rest. A task
whose worker dies is retried by Ray, and the retry continues the run the same way.

On a cluster the sweep's folder must be on a file system every node sees (the runs write there).
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from tokenworld.analysis.summary import run_figures
from tokenworld.errors import RunError, TokenWorldError
from tokenworld.inference.ray_pool import connect
from tokenworld.scene.schema import Scene
from tokenworld.sim.run_folder import RunFolder, is_run_folder, writer_alive
from tokenworld.sim.store import lock_folder
from tokenworld.sweep.spec import PlannedRun, Sweep, load_sweep
from tokenworld.sweep.summary import counted, write_summary

SWEEPS = "sweeps"  # under the runs folder
TASK_RETRIES = 2  # times Ray runs a task again after its worker died (the retry resumes the run)


@dataclass
class SweepResult:
    """What `run_sweep` did: the sweep's folder, its rows (one per run, as in summary.csv) and the time it took."""

    folder: Path
    rows: list[dict]
    seconds: float

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r["status"] != "finished"]


def sweep_folder(sweep: Sweep, runs_dir: str | Path) -> Path:
    return Path(runs_dir) / SWEEPS / sweep.options.name


def run_sweep(
    path: str | Path,
    *,
    runs_dir: str | Path = "runs",
    parallel: int | None = None,
    ray_address: str | None = None,
    console=None,
) -> SweepResult:
    """Run (or continue) the sweep in the file at `path`; returns what it did.

    Args:
        path: a sweep TOML file (see `tokenworld.sweep.spec`).
        runs_dir: the sweep's folder goes in `runs_dir/sweeps/`.
        parallel: runs at once, instead of the file's `parallel`.
        ray_address: a Ray cluster, instead of the file's `ray_address`.
        console: a rich Console for progress lines (default: stderr).

    Raises:
        SweepError: the sweep file is invalid. RunError: the sweep's folder is busy or cannot be written.
        BackendError: Ray is missing or its cluster cannot be reached.
    """
    t0 = time.perf_counter()
    sweep = load_sweep(path)
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    folder = sweep_folder(sweep, runs_dir)
    runs = folder / "runs"
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot make the sweep's folder {folder}: {exc.strerror}; pass --runs-dir elsewhere.") from None
    lock = lock_folder(folder, what="that sweep")
    try:
        shutil.copyfile(sweep.path, folder / "sweep.toml")
        rows = {r.name: _row(sweep, r, runs / r.name) for r in sweep.runs}
        todo = [r for r in sweep.runs if rows[r.name]["status"] != "finished"]
        _say_plan(console, sweep, folder, rows, todo)
        if todo:
            _run_on_ray(sweep, todo, rows, runs, parallel, ray_address, console, folder)
        ordered = [rows[r.name] for r in sweep.runs]
        write_summary(folder, sweep, ordered, plots=True)
    finally:
        lock.close()
    result = SweepResult(folder, ordered, time.perf_counter() - t0)
    done = len(ordered) - len(result.failed)
    console.print(
        f"sweep {sweep.options.name}: {done} of {len(ordered)} runs finished in {result.seconds:.1f} s; "
        f"summary: {folder / 'summary.csv'}, report: {folder / 'report.html'}",
        soft_wrap=True,
    )
    for r in result.failed:
        console.print(f"  {r['run']}: {r['status']}" + (f": {r['error']}" if r.get("error") else ""), soft_wrap=True)
    return result


def _say_plan(console, sweep: Sweep, folder: Path, rows: dict, todo: list[PlannedRun]) -> None:
    o = sweep.options
    seeds = len({r.seed for r in sweep.runs})
    variants = len(sweep.runs) // max(seeds, 1)
    finished = len(sweep.runs) - len(todo)
    resuming = sum(1 for r in todo if rows[r.name]["ticks"])
    console.print(
        f"sweep {o.name}: {len(sweep.runs)} runs ({counted(variants, 'variant')} x {counted(seeds, 'seed')}) "
        f"of {o.scene}; {finished} finished before, {resuming} to continue, {len(todo) - resuming} to start. "
        f"Folder: {folder}",
        style="dim",
        soft_wrap=True,
    )


def _target_ticks(sweep: Sweep, run: PlannedRun) -> int:
    return sweep.options.ticks if sweep.options.ticks is not None else run.scene.sim.ticks


def _row(sweep: Sweep, run: PlannedRun, folder: Path, outcome: dict | None = None) -> dict:
    """The summary row of `run`: its name, seed and varied values, then its folder's figures and the task's facts."""
    row = {"run": run.name, "seed": run.seed, **{k: run.values.get(k) for k in sweep.columns}}
    figures = _figures(folder)
    done = figures.get("status") == "finished" and (figures.get("ticks") or 0) >= _target_ticks(sweep, run)
    if figures.get("status") == "finished" and not done:
        figures["status"] = "short"  # finished fewer ticks than asked (a store that lost its last commits)
    row.update(figures)
    row.setdefault("status", "not started")
    row.setdefault("ticks", 0)
    outcome = outcome or {}
    row["task_seconds"] = outcome.get("seconds")
    row["host"] = outcome.get("host")
    quiet = row["status"] in ("finished", "not started")
    row["error"] = outcome.get("error") or (None if quiet else figures.get("why"))
    row.pop("why", None)
    return row


def _figures(folder: Path) -> dict:
    if not is_run_folder(folder):
        return {}
    try:
        with RunFolder.open(folder) as run:
            figures = run_figures(run)
    except RunError as exc:
        return {"status": "damaged", "why": str(exc)}
    if figures["status"] == "running" and writer_alive(folder) is not True:
        figures["status"] = "killed"  # its process died while writing: the next sweep continues it
    return figures


def _job(sweep: Sweep, run: PlannedRun, folder: Path) -> dict:
    o = sweep.options
    return {
        "folder": str(folder),
        "scene": run.scene.to_dict(),
        "source": str(run.scene.source),
        "seed": run.seed,
        "ticks": _target_ticks(sweep, run),
        "arch": o.arch or None,
        "reports": o.reports,
        "command": ["tokenworld", "sweep", str(sweep.path), f"# run {run.name}"],
    }


def run_one(job: dict) -> dict:
    """One run, in a Ray worker: continue its folder if it has one, else start it; then its report if asked.

    Returns the task's facts (seconds, host, error); the figures are read from the folder by the driver.
    """
    from tokenworld.sim.headless import resume_headless, run_headless

    t0 = time.perf_counter()
    folder = Path(job["folder"])
    out = {"seconds": None, "host": f"{socket.gethostname()}:{os.getpid()}", "error": None}
    try:
        if is_run_folder(folder):
            resume_headless(folder, ticks=job["ticks"], arch=job["arch"], progress=False, color=False)
        else:
            if folder.exists():  # killed before its store was made: nothing in it to keep
                shutil.rmtree(folder)
            run_headless(
                Scene.from_dict(job["scene"], source=job["source"]),
                ticks=job["ticks"],
                seed=job["seed"],
                arch=job["arch"],
                runs_dir=folder.parent,
                name=folder.name,
                progress=False,
                command=job["command"],
                color=False,
            )
        if job["reports"]:
            from tokenworld.analysis.report import analyze

            analyze(folder)
    except TokenWorldError as exc:
        out["error"] = str(exc)
    except Exception as exc:  # a bug in one run must not stop the others; its row says what happened
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _run_on_ray(
    sweep: Sweep, todo: list[PlannedRun], rows: dict, runs: Path, parallel, address, console, folder: Path
) -> None:
    o = sweep.options
    address = o.ray_address if address is None else address
    ray = connect(address, option="[sweep] ray_address or --ray-address", what="tokenworld sweep")
    remote = ray.remote(run_one).options(
        num_cpus=o.cpus_per_run, num_gpus=o.gpus_per_run, max_retries=TASK_RETRIES, retry_exceptions=False
    )
    cpus = ray.cluster_resources().get("CPU", 1.0)
    limit = parallel or o.parallel or max(1, int(cpus // o.cpus_per_run))
    console.print(f"{min(limit, len(todo))} runs at once on Ray ({cpus:g} CPUs; {address or 'local'})", style="dim")
    queue, pending, done = deque(todo), {}, 0
    try:
        while queue or pending:
            while queue and len(pending) < limit:
                run = queue.popleft()
                pending[remote.remote(_job(sweep, run, runs / run.name))] = run
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                run = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker died more often than Ray retries
                    outcome = {"error": f"its Ray worker died ({type(exc).__name__}); run the sweep again to continue"}
                rows[run.name] = row = _row(sweep, run, runs / run.name, outcome)
                done += 1
                _say_done(console, done, len(todo), row)
                write_summary(folder, sweep, [rows[r.name] for r in sweep.runs], plots=False)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        write_summary(folder, sweep, [rows[r.name] for r in sweep.runs], plots=False)
        raise


def _say_done(console, done: int, total: int, row: dict) -> None:
    tps = row.get("ticks_per_second")
    line = f"[{done}/{total}] {row['run']}: {row['status']}, {row['ticks']} ticks"
    if row.get("task_seconds") is not None:
        line += f" in {row['task_seconds']:.1f} s" + (f" ({tps:.0f} ticks/s)" if tps else "")
    if row.get("error"):
        line += f"; {row['error']}"
    console.print(line, style=None if row["status"] == "finished" else "yellow", soft_wrap=True)
