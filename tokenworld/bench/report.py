"""The Markdown report of `tokenworld bench all`: the machine, a table per suite, the comparisons, the plots."""

from __future__ import annotations

# Per suite: (title, rows key, [(field, header, format)]); a missing field shows as "-".
TABLES: dict[str, list[tuple[str, str, list[tuple[str, str, str]]]]] = {
    "engine": [
        (
            "ms per step, medians (p95 for the total)",
            "results",
            [
                ("agents", "agents", ",d"),
                ("ms_per_step", "full step", ".2f"),
                ("p95_ms_per_step", "p95", ".2f"),
                ("hash_ms", "hash", ".2f"),
                ("perception_ms", "perception", ".2f"),
                ("motion_ms", "motion", ".2f"),
                ("zones_ms", "zones", ".2f"),
                ("agent_steps_per_s", "agent-steps/s", ",d"),
            ],
        )
    ],
    "world": [
        (
            "ms per tick, medians",
            "results",
            [
                ("agents", "agents", ",d"),
                ("tick_ms", "tick", ".2f"),
                ("engine_ms", "engine", ".2f"),
                ("world_ms", "world", ".2f"),
                ("rules_ms", "rules", ".2f"),
                ("brain_ms", "brain", ".2f"),
                ("decisions_per_tick", "decisions/tick", ",.0f"),
                ("tick_ms_with_recorder", "tick with recorder", ".2f"),
                ("recorder_overhead", "recorder overhead", "+.1%"),
            ],
        ),
        (
            "guess the average: one round (the engine excluded)",
            "game",
            [("participants", "participants", ",d"), ("round_s", "s per round", ".5f")],
        ),
    ],
    "inference": [
        (
            "decisions/s by way of asking",
            "ways",
            [
                ("way", "way", "s"),
                ("decisions_per_s", "decisions/s", ".2f"),
                ("decisions", "decisions", "d"),
                ("tokens_out_per_decision", "out tokens/decision", ".1f"),
                ("prefill_saved_share", "prefill saved", ".0%"),
                ("valid_first_share", "valid first", ".0%"),
                ("mean_batch", "mean batch", ".2f"),
            ],
        ),
        (
            "decisions/s by batch size (decoded together, requests packed across ticks)",
            "batch_sweep",
            [
                ("batch_size", "batch size", "d"),
                ("mean_batch", "mean batch", ".2f"),
                ("decisions_per_s", "decisions/s", ".2f"),
            ],
        ),
        (
            "right choices on the hand-labelled situations, variety of the village's choices",
            "choices",
            [
                ("way", "way", "s"),
                ("right_share", "right", ".0%"),
                ("right_eat", "eat", ".0%"),
                ("right_rest", "rest", ".0%"),
                ("right_talk", "talk", ".0%"),
                ("right_where_rules_wrong", "right where the rules brain errs", "d"),
                ("decisions_per_s", "decisions/s", ".2f"),
                ("action_entropy_bits", "entropy (bits)", ".2f"),
                ("archetype_spread", "archetype spread", ".2f"),
                ("trait_spread", "trait spread", ".2f"),
                ("differs_from_rules_share", "differs from rules", ".0%"),
            ],
        ),
    ],
    "viewer": [
        (
            "frame time, offscreen",
            "rows",
            [
                ("scene", "scene", "s"),
                ("agents", "agents", ",d"),
                ("case", "case", "s"),
                ("frame_ms_median", "median ms", ".1f"),
                ("frame_ms_p95", "p95 ms", ".1f"),
                ("fps", "FPS", ".1f"),
                ("tick_ms", "sim tick ms", ".1f"),
            ],
        )
    ],
    "record": [
        (
            "frames written a second (the simulation stepped in lockstep, drawing, reading back, encoding)",
            "rows",
            [
                ("agents", "agents", ",d"),
                ("frames", "frames", "d"),
                ("ticks", "ticks", "d"),
                ("frames_per_s", "frames/s", ".1f"),
                ("ms_per_frame", "ms per frame", ".1f"),
                ("build_s", "build (s)", ".1f"),
            ],
        )
    ],
    "alive": [
        (
            "goal figures at `goal_seconds` after the first frame, per run",
            "rows",
            [
                ("run", "run", "d"),
                ("model_decisions", "model decisions", "d"),
                ("talk_lines", "talk lines", "d"),
                ("wait_p95_s", "wait p95 (s)", ".2f"),
                ("fps_mean", "FPS", ".1f"),
                ("startup_s", "to first frame (s)", ".1f"),
                ("model_cpu_s", "model CPU (s)", ".1f"),
                ("draw_cpu_ms_per_frame", "CPU ms per frame", ".1f"),
                ("load_avg_1m", "load (1 min)", ".2f"),
                ("passed", "goals met (of 4)", "d"),
            ],
        )
    ],
    "mesa": [
        (
            "ms per step, medians",
            "results",
            [
                ("agents", "agents", ",d"),
                ("world_side", "world side (m)", ".0f"),
                ("mesa_ms_per_step", "Mesa", ".2f"),
                ("tokenworld_ms_per_step", "ours", ".3f"),
                ("ratio", "Mesa / ours", ",.1f"),
                ("mesa_mean_neighbours", "neighbours, Mesa", ".1f"),
                ("tokenworld_mean_neighbours", "neighbours, ours", ".1f"),
            ],
        )
    ],
    "steering": [
        (
            "effect of the trait on its target option (P high minus P low, percentage points), per way of deciding",
            "ways",
            [
                ("trait", "trait", "s"),
                ("target", "target", "s"),
                ("items", "items", "d"),
                ("way", "way", "s"),
                ("effect_pp", "effect (pp)", "+.1f"),
                ("p_vs_zero", "p vs 0", ".2g"),
                ("p_vs_prompt_only", "p vs prompt only", ".2g"),
                ("valid_first", "valid first", ".3f"),
                ("decisions_per_s", "decisions/s", ".2f"),
            ],
        )
    ],
    "assets": [
        (
            "ms per asset (text to GLB bytes), medians",
            "results",
            [
                ("category", "category", "s"),
                ("text", "description", "s"),
                ("median_ms", "ms", ".1f"),
                ("max_ms", "max ms", ".1f"),
                ("lod1_median_ms", "LOD 1 ms", ".1f"),
                ("triangles", "triangles", ",d"),
                ("lod1_triangles", "LOD 1", ",d"),
                ("glb_bytes", "GLB bytes", ",d"),
            ],
        )
    ],
}


def _rows(name: str, report: dict, key: str) -> list[dict]:
    if name == "inference" and key == "ways":
        ways = [
            ("one at a time, Llama API", report.get("sequential")),
            ("one at a time, our backend", report.get("sequential_same_backend")),
        ]
        for mode, v in report.get("modes", {}).items():
            ways += [
                (f"batched, {mode}, lockstep", v.get("batched")),
                (f"batched, {mode}, realtime", v.get("batched_together")),
            ]
        return [{"way": w, **r} for w, r in ways if r]
    if name == "inference" and key == "choices":
        from tokenworld.bench.situations_score import flat_rows

        return flat_rows(report.get("choices") or {})
    if name == "steering" and key == "ways":
        return [
            {"trait": t, "target": e["target"], "items": e["items"], "way": way, **w}
            for t, e in report.get("traits", {}).items()
            for way, w in e["ways"].items()
        ]
    if name == "mesa" and key == "results":
        return [{**r, "world_side": r["world_size"][0]} for r in report.get("results", [])]
    return list(report.get(key) or [])


def _cell(value, fmt: str) -> str:
    if value is None:
        return "-"
    try:
        return format(value, fmt)
    except (TypeError, ValueError):
        return str(value)


def _md_table(rows: list[dict], cols: list[tuple[str, str, str]]) -> list[str]:
    lines = [
        "| " + " | ".join(h for _, h, _ in cols) + " |",
        "|" + "|".join("---" if f == "s" else "---:" for _, _, f in cols) + "|",
    ]
    lines += ["| " + " | ".join(_cell(r.get(k), f) for k, _, f in cols) + " |" for r in rows]
    return lines


def markdown_report(out: dict) -> str:
    """The Markdown report of a `run_all` result: machine, a table per suite, the comparisons, the plots."""
    from tokenworld.bench.suites import SUITES

    m = out["machine"]
    lines = ["# Token World benchmarks", "", f"Measured {out['date']} with `{out['command']}` in {out['wall_s']} s."]
    if out["quick"]:
        lines += ["", "**Quick mode: tiny sizes that check the benchmarks run. Not figures to quote.**"]
    lines += ["", "## Machine", "", "| | |", "|---|---|"]
    inf = m.get("inference") or {}
    for label, value in (
        ("CPU", m.get("cpu")),
        ("cores", m.get("cores")),
        ("memory", f"{m.get('memory_gb')} GB"),
        ("GPU", m.get("gpu") or "none"),
        ("OS", m.get("os")),
        ("Python", m.get("python")),
        ("Taichi", f"{m.get('taichi')} on {m.get('taichi_arch')}"),
        ("model", f"{inf['model']} on {inf['backend']}" if inf else "not used"),
    ):
        lines.append(f"| {label} | {value} |")
    for name, report in out["suites"].items():
        lines += ["", f"## {name}", "", SUITES[name].about + "." if name in SUITES else ""]
        if "skipped" in report:
            lines += ["", f"Skipped: {report['skipped']}"]
            continue
        sizes = ", ".join(f"{k}={v}" for k, v in report.get("sizes", {}).items())
        lines += ["", f"Sizes: {sizes}. Wall time {report.get('wall_s')} s."]
        for title, key, cols in TABLES.get(name, []):
            rows = _rows(name, report, key)
            if rows:
                lines += ["", f"{title}:", "", *_md_table(rows, cols)]
        if "cold_start_s" in report:
            lines += ["", f"Cold start (new process, first step): {report['cold_start_s']} s."]
        if name in out.get("plots", {}):
            lines += ["", f"![{name}]({out['plots'][name]})"]
    comp = out["comparisons"]
    if comp:
        lines += ["", "## Side by side"]
    if "mesa" in comp:
        lines += [
            "",
            comp["mesa"]["about"] + ":",
            "",
            *_md_table(
                comp["mesa"]["rows"],
                [
                    ("agents", "agents", ",d"),
                    ("mesa_ms_per_step", "Mesa ms/step", ".2f"),
                    ("tokenworld_ms_per_step", "ours ms/step", ".3f"),
                    ("ratio", "ratio", ",.1f"),
                ],
            ),
        ]
    if "guess_the_average" in comp:
        g = comp["guess_the_average"]
        lines += [
            "",
            g["about"] + ":",
            "",
            *_md_table(
                g["rows"],
                [
                    ("participants", "participants", ",d"),
                    ("round_s", "ours, s per round", ".5f"),
                    ("published_round_s", "published, s per round", ".1f"),
                    ("published_participants", "published participants", ",d"),
                    ("ratio", "ratio", ",.1f"),
                ],
            ),
            "",
            f"Source: {g['published']['source']}.",
        ]
    if "inference" in comp:
        c = comp["inference"]
        lines += ["", c["about"] + ":", ""] + [f"- {k.replace('_', ' ')}: {v}" for k, v in c.items() if k != "about"]
    return "\n".join(lines) + "\n"
