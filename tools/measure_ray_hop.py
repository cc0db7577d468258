"""The Ray hop: one batch of village requests answered in-process and through one Ray actor (rules backend inside,
so only Ray's cost shows), medians of 30 batches at sizes 1, 16, 64 and 256. Needs the `cluster` extra.

    .venv/bin/python tools/measure_ray_hop.py
"""

from __future__ import annotations

import statistics
import time

import ray

from tokenworld.bench.inference import village_requests
from tokenworld.inference.base import approx_tokens
from tokenworld.inference.ray_pool import RayBackend
from tokenworld.inference.rules import RulesBackend
from tokenworld.scene.schema import MindOptions


def median_ms(backend, batch, runs: int = 30) -> float:
    backend.decide(batch)  # warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        backend.decide(batch)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    requests, _, sim = village_requests("label", approx_tokens, limit=256, start=20)
    print(f"{len(requests)} village requests, {sum(len(r.prompt) for r in requests) // len(requests)} characters each")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    local = RulesBackend()
    pool = RayBackend(MindOptions(backend="ray", ray_backend="rules", ray_actors=1), seed=0)
    try:
        for n in (1, 16, 64, 256):
            here, there = median_ms(local, requests[:n]), median_ms(pool, requests[:n])
            print(f"batch {n:3d}: in-process {here:.2f} ms, one Ray actor {there:.2f} ms, hop {there - here:.2f} ms")
    finally:
        pool.close()
        ray.shutdown()
        sim.close()


if __name__ == "__main__":
    main()
