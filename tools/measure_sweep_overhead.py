"""A sweep's overhead per run: `run_sweep` of N small runs one at a time on a local Ray (started by the sweep,
its start counted), against the same runs made one after another by `run_headless` in this process (warmed by
one run first, so the engine's kernels are compiled in both). Needs the `cluster` extra.

    .venv/bin/python tools/measure_sweep_overhead.py [--runs 6] [--ticks 300]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from tokenworld.sim.headless import run_headless
from tokenworld.sweep import load_sweep, run_sweep

SWEEP = """
[sweep]
name = "overhead"
scene = "village_rules"
ticks = {ticks}
seeds = {runs}
parallel = 1
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--ticks", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "overhead.toml"
        path.write_text(SWEEP.format(ticks=args.ticks, runs=args.runs), encoding="utf-8")
        sweep = load_sweep(path)
        here = Path(tmp) / "here"
        first = sweep.runs[0]
        run_headless(first.scene, ticks=args.ticks, seed=first.seed, runs_dir=here, name="warm", progress=False)
        alone = []
        for r in sweep.runs:
            t0 = time.perf_counter()
            run_headless(r.scene, ticks=args.ticks, seed=r.seed, runs_dir=here, name=r.name, progress=False)
            alone.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = run_sweep(path, runs_dir=Path(tmp) / "swept")
        swept = time.perf_counter() - t0
        assert not result.failed, result.failed
        tasks = [r["task_seconds"] for r in result.rows]
    n = len(alone)
    print(f"{n} runs of village_rules, {args.ticks} ticks each, one at a time ({os.cpu_count()} CPUs)")
    print(f"  in this process, run_headless: {sum(alone):.2f} s ({sum(alone) / n:.2f} s a run)")
    print(f"  tokenworld sweep (Ray started by it, summary and report written): {swept:.2f} s")
    print(f"  overhead per run: {(swept - sum(alone)) / n:.2f} s")
    print(f"  task seconds in the Ray workers: first {tasks[0]:.2f} s, the rest {sum(tasks[1:]) / (n - 1):.2f} s a run")


if __name__ == "__main__":
    main()
