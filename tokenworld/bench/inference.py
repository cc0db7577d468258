"""`tokenworld bench inference`: one-at-a-time model calls against the batched worker, on the village's real prompts.

The prompts: the shipped village runs with the rules brain and, at several
ticks, every agent's request (menu of feasible options, memories, plan) is
written exactly as a model-driven run would write it. Then the same requests
are answered:

- `sequential`: one call per agent through llama-cpp-python's high-level API
  (`Llama.create_completion` with the agent's grammar, the prompt in full), which
  is what one writes without this worker. The shared prompt prefix is reused
  between calls where llama-cpp-python manages it (its own prefix matching);
- `sequential_same_backend`: our backend called with one request at a time
  (shared prefix kept in the KV cache), to separate batching from the rest;
- `batched`: the inference worker, batches of `batch_size`, for each mode
  (`score`: options ranked by likelihood; `generate`: the option written under
  a grammar), as lockstep runs use it (batch-invariant: each request from the
  restored prefix KV, answers equal to one at a time);
- `batched_together` (default mode): the sequences of a batch decoded in the
  same `llama_decode` calls, as realtime runs use it (faster; answers may
  differ slightly from one at a time: the share that agree is reported).

Quality beside speed: the share of answers valid the first time (parsed, one
of the options), the share of no-ops (the action, applied to the world at the
tick it was asked for, was refused or was `idle`), the share that chose the
first option listed (a small base model's favourite), and the share that
agreed with the rules brain's best option. These rows decide with the scene
default's `mind.prior_weight`.

Right choices (the `choices` section, `tokenworld.bench.situations_score`):
the hand-labelled situations of `tokenworld.bench.situations` answered by the
rules backend, by score mode at several prior weights (0: the model alone) and
by generate mode, with the variety of each way's choices over the village's
requests.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from tokenworld.bench.machine import describe_machine, prepare_report_path, write_report
from tokenworld.bench.situations_score import PRIOR_WEIGHTS, print_choices, run_choices
from tokenworld.errors import TokenWorldError

MAX_TICKS = 5000  # the village runs at most this long while requests are collected
START = 100  # prompts are taken from this tick on: every agent has made a few decisions (and a transcript)


def village_scene():
    """The shipped village scene (`tokenworld.scene.shipped`)."""
    from tokenworld.scene.schema import Scene
    from tokenworld.scene.shipped import shipped_scene

    return Scene.load(shipped_scene("village"))


class _RecordingRules:
    """The rules backend (every request answered with the rules brain's best option) behind a model run's
    requests: it records them, and each decision's menu, as the run writes and answers them."""

    name = "rules"
    settings = "rules-recorder"

    def __init__(self, style: str, count_tokens):
        from tokenworld.inference.rules import RulesBackend

        self.answer_style = style
        self.count_tokens = count_tokens
        self._rules = RulesBackend()
        self.requests: list = []
        self.menus: dict[int, object] = {}
        self.minds = None  # the run's ModelMinds (set once built)

    def decide(self, batch):
        for req in batch:
            self.requests.append(req)
            self.menus[id(req)] = self.minds.menu(req) if self.minds is not None else None
        return self._rules.decide(batch)

    def prepare(self, shared, calibrations) -> None:
        """Nothing to prepare."""

    def close(self) -> None:
        pass


def village_requests(
    style: str, count_tokens, *, limit: int = 64, start: int = 0, warm: list | None = None, scene=None, seed: int = 1
):
    """(requests, apply, sim) for the village (or `scene`, at `seed`): the requests of its model-driven agents from
    tick `start` on, in order, exactly as a model run writes them (decision pages are transcripts that grow as
    answers come), answered meanwhile by the rules brain's best option; `apply` applies chosen decisions at the tick
    they were asked for and returns each one's refusal reason. `warm`, when given, receives each agent's last
    decision request before `start`: what a running backend would hold in the agent's KV cache."""
    from tokenworld.sim.simulation import Simulation

    scene = scene or village_scene()
    scene.mind.backend = "rules"
    recorder = _RecordingRules(style, count_tokens)
    sim = Simulation(scene, seed=seed, backend=recorder).build()
    recorder.minds = sim.minds
    states = {}
    taken = 0
    while sim.tick < MAX_TICKS:
        taken = sum(1 for r in recorder.requests if r.tick >= start)
        if taken >= limit:
            break
        sim.step()  # the tick's requests are made (and answered) within it, their decisions apply next tick
        state, meta = sim.checkpoint()
        states[sim.tick] = ({k: np.array(v, copy=True) for k, v in state.items()}, meta)  # its arrays are live views
    requests = [r for r in recorder.requests if r.tick >= start][:limit]
    if warm is not None:
        last = {r.agent: r for r in recorder.requests if r.tick < start and r.kind == "decide"}
        warm.extend(sorted(last.values(), key=lambda r: r.seq))
    menus = {id(r): recorder.menus.get(id(r)) for r in requests}

    def apply(chosen: list[tuple[object, int, str]]) -> list[int]:
        """Reasons (0 = done) for (request, choice, say) triples, each applied alone at its tick (reflections,
        which decide nothing, count as done)."""
        out = []
        for req, choice, say in chosen:
            if menus[id(req)] is None:
                out.append(0)
                continue
            sim.restore(*states[req.tick])
            sim.world.engine.step(0.0)  # perception as it was at that tick (a checkpoint does not hold it)
            ev = sim.world.apply(menus[id(req)].decision(choice, say), req.tick + 1)
            out.append(int(ev.reason[0]))
        return out

    return requests, apply, sim


def _quality(requests, answers, apply) -> dict:
    ok = [(r, a) for r, a in zip(requests, answers, strict=False) if a.ok]
    reasons = apply([(r, a.choice, a.say) for r, a in ok])
    idle = [r.options[a.choice] == "idle" for r, a in ok]
    n = max(len(answers), 1)
    return {
        "valid_first_share": round(sum(a.ok and a.valid_first for a in answers) / n, 4),
        "noop_share": round(sum(1 for x, i in zip(reasons, idle, strict=False) if x != 0 or i) / max(len(ok), 1), 4),
        "first_option_share": round(sum(a.choice == 0 for _, a in ok) / max(len(ok), 1), 4),
        "agrees_with_rules_share": round(sum(a.choice == int(np.argmax(r.prior)) for r, a in ok) / max(len(ok), 1), 4),
    }


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def pack_requests(requests, size: int) -> list[list]:
    """Requests in groups of up to `size`, no agent twice in a group (the worker keeps one request per agent)."""
    groups: list[list] = []
    for req in requests:
        for g in groups:
            if len(g) < size and all(r.agent != req.agent for r in g):
                g.append(req)
                break
        else:
            groups.append([req])
    return groups


def measure_batched(backend, requests, batch_size: int, *, pack: bool = False, warm=()):
    """Answer `requests` through the inference worker; (answers in the requests' order, seconds, worker stats).

    By default one tick's requests go in together, as a run asks them; with
    `pack`, requests are grouped up to `batch_size` across ticks (one per agent
    a group), so batches can reach that size. `warm` requests are answered first, unmeasured (the shared
    prefix, and each agent's page as a running backend would hold it). The worker closes `backend` at the end.
    """
    from tokenworld.inference.worker import InferenceWorker

    worker = InferenceWorker(backend, batch_size=batch_size, max_wait_ms=0, cache_size=0).start()
    groups: dict[int, list] = {}
    if pack:
        groups = dict(enumerate(pack_requests(requests, batch_size)))
    else:
        for req in requests:  # one tick's requests at a time, as a run asks them (an agent once per tick)
            groups.setdefault(req.tick, []).append(req)
    try:
        for req in list(warm) or requests[:1]:  # load the shared prefix (and the agents' pages) first
            worker.wait(worker.submit([req], flush=True))
        before = dict(worker.batch_sizes)

        def ask():
            return {
                id(r): a
                for g in groups.values()
                for r, a in zip(g, worker.wait(worker.submit(g, flush=True)), strict=False)
            }

        by_request, seconds = _timed(ask)
        answers = [by_request[id(r)] for r in requests]
        sizes = {k: v - before.get(k, 0) for k, v in worker.batch_sizes.items()}  # the measured batches only
        stats = {**worker.stats(), "mean_batch": sum(k * v for k, v in sizes.items()) / max(sum(sizes.values()), 1)}
    finally:
        worker.close()
    return answers, seconds, stats


def measure_sequential_high_level(model_path, requests, max_tokens: int, threads: int):
    """One `Llama.create_completion` per request, grammar-constrained: the way without this worker."""
    from llama_cpp import Llama, LlamaGrammar

    from tokenworld.mind.grammar import ParseError, menu_gbnf, parse_answer
    from tokenworld.mind.protocol import Answer, failed

    llm = Llama(str(model_path), n_ctx=2048, n_threads=threads, verbose=False)
    llm.create_completion(requests[0].prompt, max_tokens=1)  # warm up, as the batched side is
    answers = []
    t0 = time.perf_counter()
    for req in requests:
        grammar = LlamaGrammar.from_string(menu_gbnf(req.options, req.talk, lead=" "), verbose=False)
        out = llm.create_completion(req.prompt, grammar=grammar, max_tokens=max_tokens, temperature=0.0)
        text = out["choices"][0]["text"]
        try:
            choice, say = parse_answer(text, req.options, req.talk)
            answers.append(
                Answer(
                    req.agent,
                    req.tick,
                    req.kind,
                    choice,
                    say,
                    text,
                    out["usage"]["prompt_tokens"],
                    out["usage"]["completion_tokens"],
                )
            )
        except ParseError as e:
            answers.append(failed(req, str(e)))
    seconds = time.perf_counter() - t0
    del llm
    return answers, seconds


def run_inference_bench(
    *,
    requests: int = 48,
    batch_size: int = 16,
    modes=("score", "generate"),
    baseline: bool = True,
    realtime: bool = True,
    batch_sizes=(),
    situations: int | None = None,
    prior_weights=PRIOR_WEIGHTS,
    json_path: str | None = None,
) -> dict:
    """Run the inference suite; print a table; optionally write JSON.

    Args:
        requests: village prompts to answer.
        batch_size: the batched worker's batch size.
        modes: llama_cpp modes to measure; the first is the default.
        baseline: also one `Llama.create_completion` per request (generate mode only).
        realtime: also the default mode decoded together (realtime runs' way).
        batch_sizes: decisions/s of the default mode, decoded together, at each of
            these batch sizes (requests packed across ticks so batches can fill):
            the `batch_sweep` rows.
        situations: hand-labelled situations scored for right choices, by every way of deciding (None: all of
            them; 0: no `choices` section). See `tokenworld.bench.situations_score`.
        prior_weights: score mode's `prior_weight`s in the `choices` section (0 is the model alone); the
            speed rows above use the scene default.
        json_path: write the report here as JSON.
    """
    import os

    from rich.console import Console

    from tokenworld.inference.llama_cpp import LlamaCppBackend
    from tokenworld.scene.schema import MindOptions

    if requests < 2:
        raise TokenWorldError(f"--requests must be 2 or more, found {requests}.")
    for b in (batch_size, *batch_sizes):
        if not 1 <= b <= 128:
            raise TokenWorldError(f"batch sizes must be in [1, 128], found {b}.")
    prepare_report_path(json_path)
    console = Console(width=None if sys.stdout.isatty() else 140)
    weight = MindOptions().prior_weight  # the speed rows decide as a scene does by default
    report = {
        "suite": "inference",
        "machine": describe_machine(),
        "model": "gemma3-270m (Q4_K_M)",
        "backend": "llama_cpp",
        "requests": requests,
        "batch_size": batch_size,
        "prior_weight": weight,
        "command": "tokenworld " + " ".join(sys.argv[1:]),
        "modes": {},
    }
    threads = os.cpu_count() or 1
    default = modes[0]

    def make(mode: str, size: int, **kw) -> LlamaCppBackend:
        return LlamaCppBackend(mode=mode, batch_size=size, n_threads=threads, prior_weight=weight, **kw)

    for mode in modes:
        backend = make(mode, batch_size)
        report["gpu_offload"] = backend.gpu_offload
        console.print(f"{mode}: collecting {requests} village prompts ...", style="dim")
        warm: list = []
        reqs, apply, sim = village_requests(
            backend.answer_style, backend.count_tokens, limit=requests, start=START, warm=warm
        )
        report["prompts_from_tick"] = START
        try:
            console.print(f"{mode}: batched worker ...", style="dim")
            answers, secs, stats = measure_batched(backend, reqs, batch_size, warm=warm)
            entry = _summary(answers, secs)
            entry.update(_quality(reqs, answers, apply), mean_batch=round(stats["mean_batch"], 2))
            report["modes"][mode] = {"batched": entry}
            if mode == default:
                console.print(f"{mode}: one request per call, same backend ...", style="dim")
                one_answers, one_secs, _ = measure_batched(make(mode, 1), reqs, 1, warm=warm)
                report["sequential_same_backend"] = _summary(one_answers, one_secs)
                report["batched_equals_one_at_a_time"] = _same(answers, one_answers)
                console.print(f"{mode}: batched worker, lockstep, without the agents' own KV caches ...", style="dim")
                bare_answers, bare_secs, _ = measure_batched(
                    make(mode, batch_size, agent_cache_mb=0), reqs, batch_size, warm=warm
                )
                report["modes"][mode]["batched_no_agent_cache"] = _summary(bare_answers, bare_secs)
                report["no_agent_cache_equals"] = _same(answers, bare_answers)
                if realtime:
                    console.print(
                        f"{mode}: batched worker, sequences decoded together (realtime mode) ...", style="dim"
                    )
                    fast = make(mode, batch_size, batch_invariant=False)
                    t_answers, t_secs, t_stats = measure_batched(fast, reqs, batch_size, warm=warm)
                    entry = _summary(t_answers, t_secs)
                    entry.update(_quality(reqs, t_answers, apply), mean_batch=round(t_stats["mean_batch"], 2))
                    entry["same_choice_as_one_at_a_time_share"] = round(
                        sum(a.choice == b.choice for a, b in zip(t_answers, one_answers, strict=False)) / len(reqs), 4
                    )
                    report["modes"][mode]["batched_together"] = entry
                sweep = []
                for b in batch_sizes:
                    console.print(f"{mode}: decoded together, batches of up to {b} ...", style="dim")
                    sized = make(mode, b, batch_invariant=False)
                    b_answers, b_secs, b_stats = measure_batched(sized, reqs, b, pack=True, warm=warm)
                    sweep.append(
                        {"batch_size": b, "mean_batch": round(b_stats["mean_batch"], 2), **_summary(b_answers, b_secs)}
                    )
                if sweep:
                    report["batch_sweep"] = sweep
            if baseline and backend.answer_style == "label":
                console.print("one-at-a-time calls through llama-cpp-python's high-level API ...", style="dim")
                seq_answers, seq_secs = measure_sequential_high_level(backend.model_path, reqs, 24, threads)
                report["sequential"] = _summary(seq_answers, seq_secs)
                report["sequential"].update(_quality(reqs, seq_answers, apply))
        finally:
            sim.close()
    report["default_mode"] = default
    report["batched"] = report["modes"][default]["batched"]
    if "sequential" in report:
        report["speedup"] = round(
            report["batched"]["decisions_per_s"] / max(report["sequential"]["decisions_per_s"], 1e-9), 2
        )
    if "sequential_same_backend" in report:
        report["speedup_same_backend"] = round(
            report["batched"]["decisions_per_s"] / max(report["sequential_same_backend"]["decisions_per_s"], 1e-9), 2
        )
    if situations != 0:
        report["choices"] = run_choices(
            requests=requests,
            situations=situations,
            prior_weights=prior_weights,
            modes=modes,
            batch_size=batch_size,
            threads=threads,
            console=console,
        )
    _print(console, report)
    if "choices" in report:
        print_choices(console, report["choices"])
    write_report(report, json_path, console)
    return report


def _same(a: list, b: list) -> bool:
    return [(x.choice, x.say) for x in a] == [(y.choice, y.say) for y in b]


def _summary(answers, seconds: float) -> dict:
    n = len(answers)
    prompt = sum(a.tokens_in + a.prefill_saved for a in answers)
    blocks: dict[str, int] = {}
    for a in answers:
        for name, k in a.prefill_blocks.items():
            blocks[name] = blocks.get(name, 0) + k
    return {
        "decisions": n,
        "seconds": round(seconds, 3),
        "decisions_per_s": round(n / seconds, 3) if seconds > 0 else None,
        "failed": sum(not a.ok for a in answers),
        "tokens_out_per_decision": round(sum(a.tokens_out for a in answers) / max(n, 1), 2),
        "prompt_tokens_per_decision": round(prompt / max(n, 1), 1),
        "prefill_saved_share": round(sum(a.prefill_saved for a in answers) / max(prompt, 1), 4),
        "prompt_tokens_evaluated_per_decision": round(sum(a.tokens_in for a in answers) / max(n, 1), 1),
        "evaluated_by_block": {k: round(v / max(n, 1), 1) for k, v in sorted(blocks.items())},
    }


def _print(console, report: dict) -> None:
    from rich.table import Table

    m = report["machine"]
    table = Table(title=f"Decisions on the village's prompts ({m['cpu']}, {m['cores']} cores, llama.cpp, Gemma 3 270M)")
    for col in (
        "way",
        "decisions/s",
        "prefilled/dec",
        "out tokens/dec",
        "prefill saved",
        "valid first",
        "no-ops",
        "first option",
        "agrees w/ rules",
    ):
        table.add_column(col, justify="right")
    rows = [
        ("one at a time, Llama API", report.get("sequential")),
        ("one at a time, our backend", report.get("sequential_same_backend")),
    ]
    for mode, v in report["modes"].items():
        rows.append((f"batched, {mode}, lockstep", v["batched"]))
        if "batched_no_agent_cache" in v:
            rows.append((f"batched, {mode}, lockstep, no agent cache", v["batched_no_agent_cache"]))
        if "batched_together" in v:
            rows.append((f"batched, {mode}, realtime", v["batched_together"]))
    for name, r in rows:
        if not r:
            continue
        shares = [
            f"{100 * r[k]:.0f}%" if k in r else "-"
            for k in (
                "prefill_saved_share",
                "valid_first_share",
                "noop_share",
                "first_option_share",
                "agrees_with_rules_share",
            )
        ]
        evaluated = r.get("prompt_tokens_evaluated_per_decision", "-")
        table.add_row(
            name, f"{r['decisions_per_s']:.2f}", f"{evaluated}", f"{r['tokens_out_per_decision']:.1f}", *shares
        )
    console.print(table)
    by_block = report["modes"][report["default_mode"]]["batched"].get("evaluated_by_block")
    if by_block:
        console.print(
            "prompt tokens evaluated per decision, by block: " + ", ".join(f"{k} {v}" for k, v in by_block.items())
        )
    for row in report.get("batch_sweep", []):
        console.print(
            f"{report['default_mode']}, decoded together, batches of up to {row['batch_size']} "
            f"(mean {row['mean_batch']}): {row['decisions_per_s']} decisions/s"
        )
    if "speedup" in report:
        console.print(
            f"batched ({report['default_mode']}) vs one-at-a-time calls: {report['speedup']}x; "
            f"vs our backend one at a time: {report.get('speedup_same_backend')}x"
        )
