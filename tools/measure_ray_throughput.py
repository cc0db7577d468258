"""Decisions a second with the embedded model (Gemma 3 270M, score mode): in-process, through one Ray actor and
through two, on this machine's cores. The same village prompts as `tokenworld bench inference` (from tick 100,
each agent's page warmed first as a running backend holds it), one tick's requests at a time as a run asks them.
Needs the `cluster` extra. On a GPU machine, `--inner vllm --model google/gemma-3-270m --gpus 1` measures vLLM
actors instead (each actor's GPU share is `--gpus`; the in-process row uses the card too).

    .venv/bin/python tools/measure_ray_throughput.py [--requests 96] [--actors 1,2]
"""

from __future__ import annotations

import argparse
import os

import ray

from tokenworld.bench.inference import START, _same, measure_batched, village_requests
from tokenworld.inference import make_backend
from tokenworld.scene.schema import MindOptions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=96)
    ap.add_argument("--actors", default="1,2", help="pool sizes to measure, comma-separated")
    ap.add_argument("--inner", default="llama_cpp", choices=("llama_cpp", "vllm"), help="each actor's backend")
    ap.add_argument("--model", default="gemma3-270m", help="the model (a Hugging Face id for vllm)")
    ap.add_argument("--gpus", type=float, default=0.0, help="GPUs per actor")
    args = ap.parse_args()
    cpus = os.cpu_count() or 1
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    base = dict(model=args.model, threads=0 if args.inner == "vllm" else cpus)
    setups = {f"in-process ({args.inner}, {cpus} threads)": MindOptions(backend=args.inner, **base)}
    for n in (int(a) for a in args.actors.split(",")):
        setups[f"{n} Ray actor(s) ({cpus / n:g} CPUs, {args.gpus:g} GPUs each)"] = MindOptions(
            backend="ray",
            ray_backend=args.inner,
            ray_actors=n,
            ray_cpus=cpus / n,
            ray_gpus=args.gpus,
            model=args.model,
        )
    first = None
    for name, mind in setups.items():
        backend = make_backend(mind)
        warm: list = []
        reqs, _, sim = village_requests(
            backend.answer_style, backend.count_tokens, limit=args.requests, start=START, warm=warm
        )
        sim.close()
        answers, seconds, stats = measure_batched(backend, reqs, mind.batch_size, warm=warm)  # closes the backend
        first = first or answers
        by = {}
        for a in answers:
            by[a.replica] = by.get(a.replica, 0) + 1
        print(
            f"{name}: {len(reqs)} decisions in {seconds:.2f} s = {len(reqs) / seconds:.2f} decisions/s "
            f"(mean batch {stats['mean_batch']:.1f}; answered by {dict(sorted(by.items()))}; "
            f"same answers as in-process: {_same(first, answers)})",
            flush=True,
        )
    ray.shutdown()


if __name__ == "__main__":
    main()
