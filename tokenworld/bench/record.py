"""`tokenworld bench record`: frames of video written a second by `tokenworld record`, simulation included.

Each size is the synthetic town of `tokenworld bench world` (0.05 agents per
square metre) recorded offscreen (EGL; no display needed) as `tokenworld record`
does it: the simulation stepped in lockstep in the recorder's thread (40 ticks a
second of video), the orbiting camera, the default overlays (title, clock,
captions), H.264 encoding. The figure is frames written per wall second over the
frame loop (stepping, drawing, reading the frame back, encoding); building the
world is timed apart.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tokenworld.bench.machine import describe_machine, prepare_report_path, write_report


def run_record_bench(
    agents: list[int],
    *,
    seconds: float = 10.0,
    fps: int = 30,
    size: tuple[int, int] = (1280, 720),
    arch: str | None = None,
    json_path: str | None = None,
) -> dict:
    """Record `seconds` of video of an n-agent town for each n in `agents`; print a table; optionally write JSON."""
    from rich.console import Console
    from rich.table import Table

    from tokenworld.bench.world import town_scene
    from tokenworld.engine import arch as engine_arch
    from tokenworld.viewer.recorder import RecordOptions, record

    prepare_report_path(json_path)
    console = Console(stderr=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tokenworld-bench-record-") as tmp:
        for n in agents:
            console.print(f"record: {n:,} agents, {seconds:g} s at {fps} fps ...", style="dim")
            out = Path(tmp) / f"town-{n}.mp4"
            done = record(
                RecordOptions(town_scene(n), str(out), seconds=seconds, fps=fps, size=size, arch=arch, progress=False)
            )
            rows.append(
                {
                    "agents": n,
                    "frames": done.frames,
                    "ticks": done.ticks[1] - done.ticks[0],
                    "frames_per_s": round(done.frames_per_s, 2),
                    "ms_per_frame": round(1000.0 * done.render_s / max(done.frames, 1), 2),
                    "build_s": round(done.wall_s - done.render_s, 2),
                    "stage_ms_per_frame": {
                        k: round(1000.0 * v / max(done.frames, 1), 2) for k, v in done.stage_s.items()
                    },
                    "video_bytes": out.stat().st_size,
                }
            )
    report = {
        "suite": "record",
        "arch": engine_arch.current(),
        "machine": describe_machine(arch=engine_arch.current()),
        "size": list(size),
        "fps": fps,
        "seconds": seconds,
        "lp_num_threads": os.environ.get("LP_NUM_THREADS"),
        "rows": rows,
    }
    table = Table(title=f"tokenworld record ({size[0]}x{size[1]}, {fps} fps, simulation included)")
    for col in ("agents", "frames", "ticks", "frames/s", "ms/frame", "build s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            f"{r['agents']:,}",
            str(r["frames"]),
            str(r["ticks"]),
            f"{r['frames_per_s']:.1f}",
            f"{r['ms_per_frame']:.1f}",
            f"{r['build_s']:.1f}",
        )
    console.print(table)
    write_report(report, json_path, console)
    return report
