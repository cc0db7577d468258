"""`tokenworld bench compare OLD NEW`: the change of every figure between two results files, and a regression gate.

Either file may be one suite's JSON (`tokenworld bench engine --json ...`) or
a `tokenworld bench all` file. A figure is keyed by suite, size and metric
(`engine/agents=10000/ms_per_step`), so only like is compared with like: a
figure in one file only is listed as added or removed, never a failure.

Each metric is either "lower is better" (times: ms, s) or "higher is better"
(rates and ratios: agent-steps/s, decisions/s, FPS, speedups, Mesa / ours).
A figure regressed when it got worse by more than the threshold (0.2 = 20%):
a time that grew by more than 20%, or a rate that fell by more than 20%.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from tokenworld.errors import TokenWorldError

LOWER, HIGHER = "lower", "higher"

# suite -> [(rows key or None for the report itself, fields naming a row, {metric: direction})]
SPEC: dict[str, list[tuple[str | None, tuple[str, ...], dict[str, str]]]] = {
    "engine": [
        (
            "results",
            ("agents",),
            {
                "ms_per_step": LOWER,
                "p95_ms_per_step": LOWER,
                "hash_ms": LOWER,
                "perception_ms": LOWER,
                "motion_ms": LOWER,
                "zones_ms": LOWER,
                "move_and_zones_ms": LOWER,
                "agent_steps_per_s": HIGHER,
                "setup_s": LOWER,
            },
        ),
        (None, (), {"cold_start_s": LOWER}),
    ],
    "world": [
        (
            "results",
            ("agents",),
            {
                "tick_ms": LOWER,
                "engine_ms": LOWER,
                "world_ms": LOWER,
                "rules_ms": LOWER,
                "brain_ms": LOWER,
                "metrics_ms": LOWER,
                "rules_and_brain_ms": LOWER,
                "tick_ms_with_recorder": LOWER,
            },
        ),
        ("game", ("participants",), {"round_s": LOWER}),
    ],
    "inference": [
        ("batch_sweep", ("batch_size",), {"decisions_per_s": HIGHER}),
        (None, (), {"speedup": HIGHER, "speedup_same_backend": HIGHER}),
    ],
    "viewer": [("rows", ("scene", "agents", "case"), {"frame_ms_median": LOWER, "frame_ms_p95": LOWER, "fps": HIGHER})],
    "record": [("rows", ("agents",), {"frames_per_s": HIGHER, "ms_per_frame": LOWER})],
    "mesa": [("results", ("agents",), {"mesa_ms_per_step": LOWER, "tokenworld_ms_per_step": LOWER, "ratio": HIGHER})],
}
WAYS = ("sequential", "sequential_same_backend")  # inference: one-at-a-time ways, besides modes.<mode>.<way>


def load_results(path: str | Path) -> dict:
    """Read a benchmark results file, or raise `TokenWorldError` saying what is wrong with it."""
    p = Path(path)
    hint = "give the JSON written by `tokenworld bench <suite> --json FILE` or `tokenworld bench all --json FILE`"
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenWorldError(f"{path} does not exist; {hint}.") from None
    except IsADirectoryError:
        raise TokenWorldError(f"{path} is a folder; {hint}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenWorldError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}; {hint}.") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TokenWorldError(f"{path} is not JSON ({exc.msg} at line {exc.lineno}); {hint}.") from None
    if isinstance(doc, dict) and isinstance(doc.get("suites"), dict):
        return doc
    if isinstance(doc, dict) and doc.get("suite") in SPEC:
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("suite"), str):
        raise TokenWorldError(
            f"{path} holds results of suite {doc['suite']!r}, which compare does not know (it knows {', '.join(SPEC)})."
        )
    raise TokenWorldError(f"{path} is JSON but not Token World benchmark results (no 'suite' or 'suites' key); {hint}.")


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def _suite_figures(name: str, report: dict) -> dict[str, tuple[float, str]]:
    out: dict[str, tuple[float, str]] = {}
    prefix = name
    if name == "inference":
        prefix += f"/requests={report.get('requests')}"
    elif name == "viewer" and report.get("size"):
        prefix += "/{}x{}".format(*report["size"])

    def put(key: str, value, direction: str) -> None:
        v = _number(value)
        if v is not None:
            out[key] = (v, direction)

    for rows_key, fields, metrics in SPEC[name]:
        rows = [report] if rows_key is None else report.get(rows_key) or []
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            where = "/".join(  # a field a row does not have is left out (rows of older files keep their keys)
                f"{f}={row.get(f)}" if f != "case" else str(row.get(f)) for f in fields if row.get(f) is not None
            )
            for metric, direction in metrics.items():
                put("/".join(x for x in (prefix, where, metric) if x), row.get(metric), direction)
    if name == "inference":
        for way in WAYS:
            put(f"{prefix}/{way}/decisions_per_s", (report.get(way) or {}).get("decisions_per_s"), HIGHER)
        for mode, ways in (report.get("modes") or {}).items():
            for way, entry in (ways or {}).items():
                put(f"{prefix}/{mode}.{way}/decisions_per_s", (entry or {}).get("decisions_per_s"), HIGHER)
    return out


def figures(doc: dict) -> dict[str, tuple[float, str]]:
    """Every comparable figure of a results document: key -> (value, "lower" or "higher" is better)."""
    reports = doc["suites"] if "suites" in doc else {doc["suite"]: doc}
    out: dict[str, tuple[float, str]] = {}
    for name, report in reports.items():
        if name in SPEC and isinstance(report, dict) and "skipped" not in report:
            out.update(_suite_figures(name, report))
    return out


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def compare(old: dict, new: dict, *, threshold: float = 0.2) -> list[dict]:
    """One row per figure: key, old, new, change ((new - old) / old), status.

    Status is `regressed` (worse by more than `threshold`), `improved` (better by
    more than it), `same`, `added`, `removed`, or `n/a` (the old value is 0).
    """
    a, b = figures(old), figures(new)
    rows = []
    for key in [*a, *(k for k in b if k not in a)]:
        if key not in b:
            rows.append({"figure": key, "old": a[key][0], "new": None, "change": None, "status": "removed"})
            continue
        if key not in a:
            rows.append({"figure": key, "old": None, "new": b[key][0], "change": None, "status": "added"})
            continue
        (va, direction), (vb, _) = a[key], b[key]
        if va == 0:
            rows.append({"figure": key, "old": va, "new": vb, "change": None, "status": "n/a"})
            continue
        change = (vb - va) / abs(va)
        worse = change if direction == LOWER else -change
        status = "regressed" if worse > threshold else "improved" if worse < -threshold else "same"
        rows.append({"figure": key, "old": va, "new": vb, "change": change, "status": status, "better": direction})
    return rows


def compare_files(old_path: str | Path, new_path: str | Path, *, threshold: float = 0.2) -> int:
    """Print the change of every figure from `old_path` to `new_path`.

    Returns:
        1 if any figure regressed past `threshold`, else 0.
    """
    from rich.console import Console
    from rich.table import Table

    if not (isinstance(threshold, (int, float)) and threshold > 0 and math.isfinite(threshold)):
        raise TokenWorldError(f"--threshold must be a positive number such as 0.2 (20%), found {threshold}.")
    old, new = load_results(old_path), load_results(new_path)
    rows = compare(old, new, threshold=threshold)
    console = Console(width=None if sys.stdout.isatty() else 160)
    for note in _notes(old, new):
        console.print(f"[yellow]note:[/] {note}")
    table = Table(title=f"{old_path} -> {new_path} (regression: worse by more than {threshold:.0%})")
    for col, justify in (
        ("figure", "left"),
        ("better", "left"),
        ("old", "right"),
        ("new", "right"),
        ("change", "right"),
        ("", "left"),
    ):
        table.add_column(col, justify=justify)
    styles = {"regressed": "bold red", "improved": "green", "added": "cyan", "removed": "cyan", "n/a": "dim"}
    for r in rows:
        change = "-" if r["change"] is None else f"{r['change']:+.1%}"
        status = r["status"].upper() if r["status"] == "regressed" else ("" if r["status"] == "same" else r["status"])
        table.add_row(
            r["figure"],
            r.get("better", ""),
            _fmt(r["old"]),
            _fmt(r["new"]),
            change,
            status,
            style=styles.get(r["status"]),
        )
    console.print(table)
    counts = {
        s: sum(r["status"] == s for r in rows) for s in ("regressed", "improved", "same", "added", "removed", "n/a")
    }
    compared = counts["regressed"] + counts["improved"] + counts["same"]
    if not compared:
        console.print("[yellow]no figure is in both files[/] (different suites or sizes): nothing to gate on.")
    console.print(
        f"{compared} figures compared: {counts['regressed']} regressed past {threshold:.0%}, "
        f"{counts['improved']} improved; {counts['added']} added, {counts['removed']} removed."
    )
    return 1 if counts["regressed"] else 0


def _notes(old: dict, new: dict) -> list[str]:
    notes = []
    ma, mb = _machine(old), _machine(new)
    if ma and mb and (ma.get("cpu"), ma.get("cores"), ma.get("gpu")) != (mb.get("cpu"), mb.get("cores"), mb.get("gpu")):
        notes.append(
            f"measured on different machines ({ma.get('cpu')}, {ma.get('cores')} cores vs "
            f"{mb.get('cpu')}, {mb.get('cores')} cores): changes mix code and hardware."
        )
    if old.get("quick") or new.get("quick"):
        notes.append("a quick (tiny-size) run is involved: its figures are noisy, not figures to gate releases on.")
    return notes


def _machine(doc: dict) -> dict:
    return doc.get("machine") if isinstance(doc.get("machine"), dict) else {}
