"""The quality of choices: right answers on the hand-labelled situations, and variety across personas.

For each way of deciding (the rules backend; llama.cpp `score` mode at several
`prior_weight`s, 0 being the model alone; llama.cpp `generate` mode) two sets
of requests are answered through the inference worker:

- the situations of `tokenworld.bench.situations`: the share whose answer is
  the hand-labelled right option, overall and by kind (eat, rest, talk, ...);
- the village's requests (`village_requests`, as a model-driven run writes
  them): the variety of what was chosen. `action_entropy_bits` is the entropy of
  the chosen actions' shares (eat, rest, gather, talk, trade, move_to, ...);
  `archetype_spread` is the mean total-variation distance between each
  archetype's action shares and everyone's (weighted by its requests);
  `trait_spread` is the mean over the five traits of the total-variation
  distance between the action shares of agents above and below the trait's
  median. 0 is everyone alike; on a few dozen requests sampling alone gives a
  few tenths, so compare ways with each other, not with 0. `differs_from_rules_share`
  is how often the choice is an option the rules brain values less than its
  best (ties with the best, such as two zones to walk to valued alike, do not
  count): how much of the deciding is still the model's.

Decisions/s counts both sets, answered together through the worker.
"""

from __future__ import annotations

import math

import numpy as np

from tokenworld.errors import TokenWorldError

PRIOR_WEIGHTS = (0.0, 1.0, 2.0, 3.0)  # score mode's weights the full suite measures (0: the model alone)


def action_of(label: str) -> str:
    """'move_to farm' -> 'move_to': the action of an option label."""
    return label.split(" ", 1)[0]


def _shares(actions: list[str], names: list[str]) -> np.ndarray:
    counts = np.array([actions.count(a) for a in names], np.float64)
    return counts / max(counts.sum(), 1.0)


def variety(actions: list[str], archetype: np.ndarray, traits: np.ndarray) -> dict:
    """Entropy of the chosen actions, and how much their shares differ between archetypes and trait halves.

    Args:
        actions: the chosen action of each request.
        archetype: the archetype of each request's agent.
        traits: (requests, 5) the traits of each request's agent.
    """
    from tokenworld.scene.schema import ARCHETYPES, TRAITS

    if not actions:
        return {}
    names = sorted(set(actions))
    p = _shares(actions, names)
    entropy = -float(sum(x * math.log2(x) for x in p if x > 0))
    acts = np.array(actions, dtype=object)
    spread = 0.0
    by_arch = {}
    for a in np.unique(archetype).tolist():
        sel = archetype == a
        q = _shares(acts[sel].tolist(), names)
        spread += sel.mean() * 0.5 * float(np.abs(q - p).sum())
        by_arch[ARCHETYPES[a]] = {n: round(float(x), 3) for n, x in zip(names, q, strict=False) if x > 0}
    halves = []
    for t in range(traits.shape[1]):
        high = traits[:, t] >= np.median(traits[:, t])
        if high.all() or not high.any():
            continue
        hi, lo = _shares(acts[high].tolist(), names), _shares(acts[~high].tolist(), names)
        halves.append(0.5 * float(np.abs(hi - lo).sum()))
    return {
        "action_shares": {n: round(float(x), 3) for n, x in zip(names, p, strict=False)},
        "action_entropy_bits": round(entropy, 3),
        "archetype_spread": round(spread, 3),
        "trait_spread": round(float(np.mean(halves)), 3) if halves else None,
        "traits": list(TRAITS),
        "by_archetype": by_arch,
    }


def differs_from_rules(request, choice: int) -> bool:
    """Whether `choice` is an option the rules brain values less than its best (ties with the best do not differ)."""
    return len(request.prior) == len(request.options) and request.prior[choice] < request.prior.max()


def right_shares(situations, answers, right: list[int]) -> dict:
    """Share of answers that chose the right option, overall and by the right option's action."""
    hits = [a.ok and a.choice == r for a, r in zip(answers, right, strict=False)]
    kinds: dict[str, list[bool]] = {}
    for s, h in zip(situations, hits, strict=False):
        kinds.setdefault(s.kind, []).append(h)
    return {
        "right_share": round(sum(hits) / max(len(hits), 1), 4),
        "right": int(sum(hits)),
        "right_by_kind": {k: round(sum(v) / len(v), 3) for k, v in kinds.items()},
        "failed": sum(not a.ok for a in answers),
    }


def score_way(backend, situation_set, village: list, world, *, batch_size: int, limit: int | None = None) -> dict:
    """Right choices on the situations, variety on the village's requests, decisions/s on both, for one backend
    (closed at the end).

    Args:
        backend: any `Backend`.
        situation_set: a built `SituationSet`.
        village: the village's requests (answered for variety; may be empty).
        world: the world they were written in (the agents' archetypes and traits).
        batch_size: the worker's batch size.
        limit: score only `limit` situations, spread through the set (None: all).
    """
    from tokenworld.bench.inference import measure_batched
    from tokenworld.bench.situations import right_index, spread

    sits = spread(situation_set.situations, limit)
    reqs = [situation_set.request(s, backend.answer_style, backend.count_tokens) for s in sits]
    right = [right_index(s, r.options) for s, r in zip(sits, reqs, strict=False)]
    answers, seconds, _ = measure_batched(backend, reqs + list(village), batch_size, pack=True)  # closes the backend
    answers, v_answers = answers[: len(reqs)], answers[len(reqs) :]
    out = {
        "situations": len(sits),
        **right_shares(sits, answers, right),
        "decisions_per_s": round((len(reqs) + len(village)) / seconds, 3) if seconds > 0 else None,
    }
    wrong = [
        i for i, (r, k) in enumerate(zip(reqs, right, strict=False)) if differs_from_rules(r, k)
    ]  # the rules brain errs there
    out["rules_wrong"] = len(wrong)
    out["first_option_right_share"] = round(sum(k == 0 for k in right) / max(len(right), 1), 4)  # a baseline
    out["chance_right_share"] = round(sum(1 / len(r.options) for r in reqs) / max(len(reqs), 1), 4)  # another
    out["right_where_rules_wrong"] = sum(answers[i].ok and answers[i].choice == right[i] for i in wrong)
    if village:
        ok = [(r, a) for r, a in zip(village, v_answers, strict=False) if a.ok]
        agents = np.array([r.agent for r, _ in ok], np.int64)
        out["variety"] = variety(
            [action_of(r.options[a.choice]) for r, a in ok], world.agents.archetype[agents], world.agents.traits[agents]
        )
        out["variety"]["differs_from_rules_share"] = round(
            sum(differs_from_rules(r, a.choice) for r, a in ok) / max(len(ok), 1), 4
        )
        out["village_requests"] = len(village)
    return out


def run_choices(
    *, requests: int, situations: int | None, prior_weights, modes, batch_size: int, threads: int, console
) -> dict:
    """The `choices` section of the inference report: one row per way of deciding (see the module docstring).

    Args:
        requests: village requests answered per way (for variety; 0 leaves variety out).
        situations: situations scored, spread through the set (None: all of them).
        prior_weights: score mode's weights to measure (the scene default's is marked `default`).
        modes: llama_cpp modes: `score` gives a row per weight, `generate` one row.
        batch_size: the worker's batch size.
        threads: CPU threads for llama.cpp.
        console: for progress lines.
    """
    from tokenworld.bench.inference import village_requests
    from tokenworld.bench.situations import SituationSet, spread
    from tokenworld.inference.llama_cpp import LlamaCppBackend
    from tokenworld.inference.rules import RulesBackend
    from tokenworld.scene.schema import MindOptions

    if any(not 0 <= w <= 100 for w in prior_weights):
        raise TokenWorldError(f"prior weights must be between 0 and 100, found {list(prior_weights)}.")
    default = MindOptions().prior_weight
    ways = [
        (f"score, prior weight {w:g}" if w else "score, model alone", "score", w)
        for w in prior_weights
        if "score" in modes
    ] + [("generate", "generate", None)] * ("generate" in modes)
    sset = SituationSet()
    village: dict[str, tuple] = {}  # answer style -> (requests, sim)
    rows = []
    try:
        for name, mode, weight in [*ways, ("rules brain", "", None)]:
            if mode:
                backend = LlamaCppBackend(
                    mode=mode, batch_size=batch_size, n_threads=threads, prior_weight=weight or 0.0
                )
            else:  # the rules backend reads only options and priors: any style's requests will do
                backend = RulesBackend()
            style = backend.answer_style if mode or not village else next(iter(village))
            if requests and style not in village:
                reqs, _, sim = village_requests(style, backend.count_tokens, limit=requests)
                village[style] = (reqs, sim)
            v_reqs, sim = village.get(style, ([], None))
            console.print(
                f"choices: {name}: {situations or len(sset.situations)} situations, {len(v_reqs)} village requests ...",
                style="dim",
            )
            world = sim.world if sim else None
            row = score_way(backend, sset, v_reqs, world, batch_size=batch_size, limit=situations)  # closes it
            rows.append(
                {
                    "way": name,
                    "backend": "llama_cpp" if mode else "rules",
                    "mode": mode or None,
                    "prior_weight": weight,
                    "default": mode == "score" and weight == default,
                    **row,
                }
            )
    finally:
        sset.close()
        for _, sim in village.values():
            sim.close()
    kinds: dict[str, int] = {}
    for s in spread(sset.situations, situations):
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    base = {k: rows[-1][k] for k in ("first_option_right_share", "chance_right_share")}  # the same menus for every way
    return {
        "situations": sum(kinds.values()),
        "in_set": len(sset.situations),
        "kinds": kinds,
        "default_prior_weight": default,
        **base,
        "rows": [rows[-1], *rows[:-1]],
    }


def flat_rows(choices: dict) -> list[dict]:
    """The `choices` rows flattened for tables: way, right share, right share per kind, decisions/s, variety."""
    out = []
    for row in choices.get("rows", []):
        v = row.get("variety", {})
        flat = {k: row.get(k) for k in ("way", "right_share", "decisions_per_s", "default", "right_where_rules_wrong")}
        flat.update({f"right_{k}": x for k, x in row.get("right_by_kind", {}).items()})
        flat.update(
            {
                k: v.get(k)
                for k in ("action_entropy_bits", "archetype_spread", "trait_spread", "differs_from_rules_share")
            }
        )
        out.append(flat)
    return out


def print_choices(console, choices: dict) -> None:
    """The `choices` section as a table on the console."""
    from rich.table import Table

    kinds = list(choices["kinds"])
    table = Table(
        title=f"Right choices on {choices['situations']} hand-labelled situations; variety of the village's choices"
    )
    wrong = choices["rows"][0].get("rules_wrong", 0) if choices["rows"] else 0
    for col in (
        "way",
        "right",
        *kinds,
        f"right of {wrong} the rules brain gets wrong",
        "decisions/s",
        "entropy (bits)",
        "archetype spread",
        "trait spread",
        "differs from rules",
    ):
        table.add_column(col, justify="right")
    for r in flat_rows(choices):

        def pct(x):
            return "-" if x is None else f"{100 * x:.0f}%"

        def num(x, f=".2f"):
            return "-" if x is None else format(x, f)

        name = r["way"] + (" (default)" if r.get("default") else "")
        table.add_row(
            name,
            pct(r["right_share"]),
            *(pct(r.get(f"right_{k}")) for k in kinds),
            str(r["right_where_rules_wrong"]),
            num(r["decisions_per_s"]),
            num(r["action_entropy_bits"]),
            num(r["archetype_spread"]),
            num(r["trait_spread"]),
            pct(r["differs_from_rules_share"]),
        )
    console.print(table)
    console.print(
        "kinds (situations): "
        + ", ".join(f"{k} {n}" for k, n in choices["kinds"].items())
        + f"; always the first option listed would be right {choices['first_option_right_share']:.0%}, "
        f"a random option {choices['chance_right_share']:.0%}",
        style="dim",
    )
