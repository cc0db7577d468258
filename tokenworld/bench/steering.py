"""`tokenworld bench steering`: does trait steering move what agents choose, beyond what the persona's words do?

On the hand-labelled village situations (`situations.toml`) whose menu holds the option a trait should move
(extraversion: talk; agreeableness: give), each situation's agent is given `personas` random trait profiles,
each written twice: with the trait high (0.9) and low (0.1), the other traits the same. The packaged model scores
every option (score mode, log-probabilities of the options, as a run draws from them), once without steering
(the persona's words are all that differ: the prompt-only effect) and once per steering strength (words and the
agents' control vectors). A trait's effect is, per item, P(target option | high) - P(target option | low); the
report gives the mean, the paired t-test of the steered effect against zero and against the prompt-only effect,
the share of answers valid first time, and decisions/s with and without steering.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from tokenworld.bench.machine import describe_machine, prepare_report_path
from tokenworld.mind.steering import TRAIT_ACTIONS
from tokenworld.scene.schema import TRAITS

TARGETS = {t: TRAIT_ACTIONS[t] for t in ("extraversion", "agreeableness")}  # the traits the situation set can test
HIGH, LOW = 0.9, 0.1


def run_steering_bench(
    *,
    personas: int = 3,
    strengths=(1.0, 2.0),
    situations: int | None = None,
    together: int = 48,
    json_path: str | None = None,
) -> dict:
    """Measure steering's effect (see the module doc); print a table; optionally write JSON."""
    from rich.console import Console

    from tokenworld.bench.situations import SituationSet
    from tokenworld.inference.llama_cpp import LlamaCppBackend
    from tokenworld.scene.schema import SteeringOptions

    prepare_report_path(json_path)
    console = Console(width=None if sys.stdout.isatty() else 140)
    report = {
        "suite": "steering",
        "machine": describe_machine(),
        "model": "gemma3-270m (Q4_K_M), packaged trait vectors",
        "personas": personas,
        "strengths": list(strengths),
        "command": "tokenworld " + " ".join(sys.argv[1:]),
        "traits": {},
    }
    items = _items(SituationSet(), personas, situations)
    ways = {"prompt only": None} | {f"steered x{s:g}": s for s in strengths}
    for way, strength in ways.items():
        steering = None if strength is None else SteeringOptions(vectors="packaged", strength=strength)
        backend = LlamaCppBackend(mode="score", agent_cache_mb=0, steering=steering)
        try:
            for trait, (reqs_hi, reqs_lo, target) in items.items():
                console.print(f"{trait}: {way}, {2 * len(reqs_hi)} requests ...", style="dim")
                t0 = time.perf_counter()
                p_hi, ok_hi = _target_p(backend, reqs_hi if strength is not None else _unsteered(reqs_hi), target)
                p_lo, ok_lo = _target_p(backend, reqs_lo if strength is not None else _unsteered(reqs_lo), target)
                seconds = time.perf_counter() - t0
                entry = report["traits"].setdefault(trait, {"target": target, "items": len(reqs_hi), "ways": {}})
                entry["ways"][way] = {
                    "effect": p_hi - p_lo,
                    "p_high": float(p_hi.mean()),
                    "p_low": float(p_lo.mean()),
                    "valid_first": float(np.mean(ok_hi + ok_lo)),
                    "decisions_per_s": round(2 * len(reqs_hi) / seconds, 3),
                }
        finally:
            backend.close()
    if together:
        console.print(f"{together} village prompts decoded together, with and without steering ...", style="dim")
        report["together"] = _together(together, max(strengths))
    for entry in report["traits"].values():
        base = entry["ways"]["prompt only"]["effect"]
        for way, w in entry["ways"].items():
            w.update(_stats(w.pop("effect"), base if way != "prompt only" else None))
    _print(console, report)
    if json_path:
        import json
        from pathlib import Path

        Path(json_path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def _together(n: int, strength: float) -> dict:
    """Decisions/s of `n` village prompts decoded together (realtime's way, batches of 16), unsteered and with
    every agent's profile (one group per profile in a batch): what steering costs where batches mix agents."""
    from dataclasses import replace

    from tokenworld.bench.inference import START, measure_batched, village_requests
    from tokenworld.inference.llama_cpp import LlamaCppBackend
    from tokenworld.mind.steering import profiles
    from tokenworld.scene.schema import SteeringOptions

    out = {"requests": n, "batch_size": 16}
    for way, steering in (("unsteered", None), ("steered", SteeringOptions(vectors="packaged", strength=strength))):
        backend = LlamaCppBackend(mode="score", batch_invariant=False, steering=steering)
        warm: list = []
        reqs, _, sim = village_requests(backend.answer_style, backend.count_tokens, limit=n, start=START, warm=warm)
        coef = profiles(sim.world.agents.traits, SteeringOptions().levels)
        sim.close()
        if steering is not None:
            reqs = [replace(r, steer=tuple(coef[r.agent].tolist())) for r in reqs]
            warm = [replace(r, steer=tuple(coef[r.agent].tolist())) for r in warm]
            out["profiles"] = len({r.steer for r in reqs})
        _, seconds, stats = measure_batched(backend, reqs, 16, warm=warm)  # closes the backend
        out[way] = {"decisions_per_s": round(n / seconds, 3), "mean_batch": round(stats["mean_batch"], 2)}
    return out


def _items(ss, personas: int, limit: int | None) -> dict:
    """Per trait: (requests with the trait high, the same with it low, the target action), item by item."""
    rng = np.random.default_rng(7)
    traits = ss.sim.world.agents.traits
    ss.sim.world.scene.mind.steering.vectors = "packaged"  # requests carry each agent's steering profile
    out = {}
    for trait, target in TARGETS.items():
        t = TRAITS.index(trait)
        hi, lo = [], []
        chosen = 0
        for s in ss.situations:
            probe = ss.request(s, "number", _count)
            if not any(o.split(" ", 1)[0] == target for o in probe.options):
                continue
            chosen += 1
            if limit is not None and chosen > limit:
                break
            keep = traits[s.agent].copy()
            for _ in range(personas):
                traits[s.agent] = rng.uniform(0.1, 0.9, len(TRAITS)).astype(np.float32)
                for value, into in ((HIGH, hi), (LOW, lo)):
                    traits[s.agent, t] = value
                    into.append(ss.request(s, "number", _count))
            traits[s.agent] = keep
        out[trait] = (hi, lo, target)
    ss.close()
    return out


def _count(text: str) -> int:
    return len(text) // 4


def _unsteered(reqs):
    from dataclasses import replace

    return [replace(r, steer=()) for r in reqs]


def _target_p(backend, reqs, target: str) -> tuple[np.ndarray, list[bool]]:
    """P(the target action's options) per request, from the options' log-probabilities; and valid-first flags."""
    answers = backend.decide(reqs)
    p = []
    for r, a in zip(reqs, answers, strict=True):
        probs = np.exp(np.asarray(a.logp, np.float64)) if a.logp else np.zeros(len(r.options))
        p.append(sum(probs[i] for i, o in enumerate(r.options[: len(probs)]) if o.split(" ", 1)[0] == target))
    return np.asarray(p), [a.ok and a.valid_first for a in answers]


def _stats(effect: np.ndarray, base: np.ndarray | None) -> dict:
    from scipy import stats

    out = {
        "effect_pp": round(100 * float(effect.mean()), 2),
        "effect_sd_pp": round(100 * float(effect.std(ddof=1)), 2) if len(effect) > 1 else None,
        "p_vs_zero": float(stats.ttest_1samp(effect, 0.0).pvalue) if len(effect) > 1 else None,
    }
    if base is not None and len(effect) > 1:
        out["p_vs_prompt_only"] = float(stats.ttest_rel(effect, base).pvalue)
        out["ratio_to_prompt_only"] = round(float(effect.mean() / base.mean()), 2) if base.mean() else None
    return out


def _print(console, report: dict) -> None:
    from rich.table import Table

    table = Table(title="Trait steering: effect of the trait on its target option (high minus low)")
    cols = (
        "trait",
        "target",
        "items",
        "way",
        "P high",
        "P low",
        "effect (pp)",
        "p vs 0",
        "p vs prompt",
        "valid",
        "dec/s",
    )
    for col in cols:
        table.add_column(col)
    for trait, entry in report["traits"].items():
        for way, w in entry["ways"].items():
            table.add_row(
                trait,
                entry["target"],
                str(entry["items"]),
                way,
                f"{w['p_high']:.3f}",
                f"{w['p_low']:.3f}",
                f"{w['effect_pp']:+.1f}",
                f"{w['p_vs_zero']:.2g}" if w.get("p_vs_zero") is not None else "-",
                f"{w['p_vs_prompt_only']:.2g}" if w.get("p_vs_prompt_only") is not None else "-",
                f"{100 * w['valid_first']:.1f}%",
                f"{w['decisions_per_s']:.2f}",
            )
    console.print(table)
    t = report.get("together")
    if t:
        console.print(
            f"decoded together ({t['requests']} village prompts, {t.get('profiles', '?')} profiles): "
            f"{t['unsteered']['decisions_per_s']:.2f} decisions/s unsteered, "
            f"{t['steered']['decisions_per_s']:.2f} steered"
        )
