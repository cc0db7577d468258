"""What an edit costs the viewer at 10,000 agents (not a test: run it and read the figures).

    python -m tests.viewer.bench_edit_view

It opens a copy of the shipped scene metropolis.toml (10,000 agents, 50 zones, 300 entities) in `tokenworld
edit`'s viewer, offscreen, and times, after a warm-up:

- a zone moved and an entity moved (one `Translate` each, through `EditMode.apply`, as a drag's release makes
  it), and their undo (Ctrl+Z), split into the command layer (`Editor.apply`: the edit, building and validating
  the scene) and the viewer's own side (`Viewer.set_scene`: ground colours, changed outlines and labels, entity
  layers; and handing the scene to the running preview, `source.apply_scene`);
- the next frame drawn after the edit (the edit is visible then);
- how long after the edit the paused preview simulation took it (at its next tick boundary, in its thread);
  each edit waits for that, so the simulation's work does not land inside the next edit's figures.

The goal: the viewer's own side at most 16 ms (one frame at 60 fps).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from tokenworld.editor import Translate
from tokenworld.scene.shipped import shipped_scene


def main(repeats: int = 60) -> None:
    """Print median and worst milliseconds of each part."""
    from tokenworld.viewer.edit_command import open_edit_viewer, open_editor

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "metropolis.toml"
        shutil.copy(shipped_scene("metropolis.toml"), path)
        editor = open_editor(path)
        viewer = open_edit_viewer(editor, offscreen=True, size=(1280, 720))
        edit = viewer.edit
        try:
            scene = editor.scene
            print(
                f"{scene.agent_count:,} agents, {len(scene.zones)} zones, {len(scene.entities)} entities; "
                f"renderer {viewer.base.win.get_gsg().get_driver_renderer()}"
            )
            viewer.render(5)
            zone = next(i for i, z in enumerate(scene.zones) if z.rect is not None and z.rect[0] > 1.0)
            rows: dict[str, list[float]] = {}
            for name, what, index in (("zone", "zones", zone), ("entity", "entities", 0)):
                edit.select(what, index)
                for k in range(repeats + 5):
                    move = Translate(what, (index,), 0.5 - k % 2, 0.25)
                    for label, action in (
                        (f"move a {name}", lambda move=move: edit.apply(move)),
                        (f"undo ({name})", edit.undo),
                    ):
                        before, running = len(edit.edit_ms), viewer.source.scene
                        t0 = time.perf_counter()
                        action()
                        total = (time.perf_counter() - t0) * 1000.0
                        t1 = time.perf_counter()
                        viewer.render(1)
                        frame = (time.perf_counter() - t1) * 1000.0
                        while viewer.source.scene is running and time.perf_counter() - t0 < 10:
                            time.sleep(0.001)  # the simulation takes the edit at its next tick boundary
                        taken = (time.perf_counter() - t0) * 1000.0
                        if k < 5 or len(edit.edit_ms) == before:
                            continue  # warm-up
                        own = edit.edit_ms[-1]
                        rows.setdefault(f"{label}: all", []).append(total)
                        rows.setdefault(f"{label}: viewer's own side", []).append(own)
                        rows.setdefault(f"{label}: command layer", []).append(total - own)
                        rows.setdefault(f"{label}: next frame", []).append(frame)
                        rows.setdefault(f"{label}: simulation took it after", []).append(taken)
            for label, ms in rows.items():
                print(f"{label:40s} median {statistics.median(ms):7.2f} ms   worst {max(ms):7.2f} ms")
        finally:
            source = viewer.source
            viewer.close()
            source.close()


if __name__ == "__main__":
    main()
