"""`tokenworld bench assets`: how long a generated asset takes, per category, and a cache hit.

Each category is generated from one description at `seeds` seeds (each a new
mesh: nothing is cached between them), after one unmeasured warm-up call that
pays for imports. Generation is timed up to the GLB bytes of level of detail 0;
level 1 (decimation) is timed apart. A cache hit is `AssetCache.glb` on a file
already on disk, through a new cache object each time (as a new viewer process
finds it: the description read, hashed, the file found), in a temporary folder.
"""

from __future__ import annotations

import statistics
import tempfile
import time

from tokenworld.assetgen import AssetCache, generate
from tokenworld.assetgen.recipes import ORGANIC, RECIPES

TEXTS = {  # one description per category, as a scene or a user would write it
    "house": "a brick house with a chimney and windows",
    "hut": "a small thatched hut",
    "storehouse": "a wooden storehouse",
    "hall": "the town hall",
    "well": "a stone well",
    "tower": "a tall stone tower",
    "bridge": "a small wooden footbridge with rails",
    "fence": "a wooden fence",
    "stall": "a market stall with a striped awning",
    "cart": "a hay cart",
    "bench": "a bench",
    "crate": "a crate",
    "crops": "a row of wheat",
    "tree": "an oak tree",
    "stump": "a tree stump",
    "bush": "a bush with berries",
    "rock": "a mossy rock",
    "log": "a log",
    "basket": "a basket of food",
    "pot": "a clay pot",
    "tool": "an axe",
    "person": "a villager",
}


def _ms(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def run_assets_bench(
    *, seeds: int = 10, hits: int = 200, detail: str = "default", json_path: str | None = None
) -> dict:
    """Median milliseconds per category (generation to GLB bytes, and level of detail 1), and per cache hit;
    prints a table, optionally writes JSON."""
    from rich.console import Console

    from tokenworld.bench.machine import describe_machine, prepare_report_path, write_report

    prepare_report_path(json_path)
    console = Console(stderr=True)
    missing = set(RECIPES) - set(TEXTS)
    if missing:
        raise AssertionError(f"bench assets has no description for {sorted(missing)}")
    generate(TEXTS["tree"], seed=0, detail=detail).glb()  # imports and first-call costs, not measured
    rows, all_ms = [], []
    for category, text in TEXTS.items():
        times, lod_times, tris, sizes = [], [], [], []
        for seed in range(seeds):
            t0 = time.perf_counter()
            asset = generate(text, seed=seed, detail=detail)
            data = asset.glb()
            times.append((time.perf_counter() - t0) * 1000.0)
            lod_times.append(_ms(lambda a=asset: a.glb(1)))
            tris.append(asset.triangles)
            sizes.append(len(data))
        all_ms += times
        rows.append(
            {
                "category": category,
                "text": text,
                "read_as": asset.spec.category,
                "organic": category in ORGANIC,
                "median_ms": statistics.median(times),
                "max_ms": max(times),
                "lod1_median_ms": statistics.median(lod_times),
                "triangles": int(statistics.median(tris)),
                "lod1_triangles": len(asset.lod(1).faces),
                "glb_bytes": int(statistics.median(sizes)),
            }
        )
    organic = [r["median_ms"] for r in rows if r["organic"]]
    parametric = [r["median_ms"] for r in rows if not r["organic"]]
    with tempfile.TemporaryDirectory(prefix="tokenworld-assets-") as root:
        AssetCache(root).glb(TEXTS["stall"])
        hit_ms = [_ms(lambda: AssetCache(root).glb(TEXTS["stall"])) for _ in range(hits)]
        cache = AssetCache(root)
        cache.glb(TEXTS["stall"])
        memo_ms = [_ms(lambda: cache.glb(TEXTS["stall"])) for _ in range(hits)]
    report = {
        "suite": "assets",
        "machine": describe_machine(),
        "seeds": seeds,
        "detail": detail,
        "results": rows,
        "median_ms": statistics.median(all_ms),
        "parametric_median_ms": statistics.median(parametric),
        "organic_median_ms": statistics.median(organic),
        "slowest_category": max(rows, key=lambda r: r["median_ms"])["category"],
        "slowest_median_ms": max(r["median_ms"] for r in rows),
        "cache_hit_median_ms": statistics.median(hit_ms),
        "cache_hit_p95_ms": sorted(hit_ms)[int(0.95 * (len(hit_ms) - 1))],
        "cache_hit_same_object_median_ms": statistics.median(memo_ms),
        "goals": {"median_ms": 50.0, "organic_median_ms": 200.0, "cache_hit_median_ms": 1.0},
    }
    console.print(_table(report))
    write_report(report, json_path, console)
    return report


def _table(report: dict):
    from rich.table import Table

    table = Table(title=f"generated assets, {report['seeds']} seeds each, detail {report['detail']}")
    for col in ("category", "ms (median)", "max ms", "LOD 1 ms", "triangles", "GLB bytes"):
        table.add_column(col, justify="left" if col == "category" else "right")
    for r in report["results"]:
        name = r["category"] + (" (organic)" if r["organic"] else "")
        table.add_row(
            name,
            f"{r['median_ms']:.1f}",
            f"{r['max_ms']:.1f}",
            f"{r['lod1_median_ms']:.1f}",
            f"{r['triangles']:,}",
            f"{r['glb_bytes']:,}",
        )
    table.caption = (
        f"all: {report['median_ms']:.1f} ms median (goal 50); organic {report['organic_median_ms']:.1f} ms "
        f"(goal 200); cache hit {report['cache_hit_median_ms']:.3f} ms (goal 1)"
    )
    return table
