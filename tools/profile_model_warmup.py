"""How much CPU the embedded model needs before the village's first model decisions (realtime, as the viewer runs it).

Builds the shipped village (`scenes/village.toml`) in realtime with the model on
`--threads` threads (the viewer gives it `cores - 1`), times the backend's
warm-up (`Backend.prepare`: the shared prompt prefix, then the calibration
pages) and each batch the worker sends, in CPU seconds of the inference thread
(`time.thread_time`, so a busy machine stretches the wall time but not these)
and in wall seconds, while the simulation ticks at the viewer's pace (8 ticks a
second), until `--answers` decisions have been answered or `--seconds` passed.

    python tools/profile_model_warmup.py [--threads 1] [--answers 8] [--seconds 120]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

TICK_S = 0.125  # the viewer's pace: dt 0.5 s at speed 4


def main() -> None:
    """Print the warm-up's and the first batches' CPU and wall seconds."""
    from tokenworld.inference import make_backend
    from tokenworld.scene.schema import Scene
    from tokenworld.sim.simulation import Simulation

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--threads", type=int, default=1, help="the model's CPU threads (default 1: the viewer's on 2 cores)"
    )
    ap.add_argument("--answers", type=int, default=8, help="stop after this many answers (default 8)")
    ap.add_argument("--seconds", type=float, default=120.0, help="stop after this many wall seconds (default 120)")
    args = ap.parse_args()

    scene = Scene.load(Path(__file__).resolve().parents[1] / "scenes" / "village.toml")
    scene = dataclasses.replace(scene, mind=dataclasses.replace(scene.mind, threads=args.threads))
    backend = make_backend(scene.mind, seed=7, batch_invariant=False)
    t0 = time.perf_counter()
    answered = [0]
    prepare, decide = backend.prepare, backend.decide

    def timed(label: str, fn, *a):
        c, w = time.thread_time(), time.perf_counter()
        out = fn(*a)
        print(
            f"{time.perf_counter() - t0:6.1f} s  {label}: {time.thread_time() - c:.2f} CPU s, "
            f"{time.perf_counter() - w:.2f} s wall",
            flush=True,
        )
        return out

    def timed_prepare(shared: str, calibrations: list[tuple[str, int]]) -> None:
        timed(f"warm-up, shared prefix ({backend.count_tokens(shared)} tokens)", prepare, shared, [])
        tokens = sum(backend.count_tokens(text) for text, _ in calibrations)
        timed(f"warm-up, {len(calibrations)} calibration pages ({tokens} tokens)", prepare, shared, calibrations)

    def timed_decide(batch):
        kinds = ", ".join(f"{r.kind} of {len(r.options)}" for r in batch)
        out = timed(f"batch of {len(batch)} ({kinds})", decide, batch)
        answered[0] += len(batch)
        return out

    backend.prepare, backend.decide = timed_prepare, timed_decide
    sim = Simulation(scene, seed=7, clock="realtime", profile=False, backend=backend)
    sim.build()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; model threads {args.threads}", flush=True)
    try:
        while answered[0] < args.answers and time.perf_counter() - t0 < args.seconds:
            sim.step()
            time.sleep(TICK_S)
        stats = sim.mind_stats()
        print(
            f"decisions by source: {stats['by_source']}; wait p50 {stats['wait_p50_ms']:.0f} ms, "
            f"p95 {stats['wait_p95_ms']:.0f} ms; load {os.getloadavg()[0]:.2f}"
        )
    finally:
        sim.close()


if __name__ == "__main__":
    main()
