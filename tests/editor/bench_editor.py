"""How long the editor takes to edit a zone of a 10,000-agent scene (not a test: run it and read the figures).

    python -m tests.editor.bench_editor

It opens a copy of the shipped scene metropolis.toml (10,000 agents in 6 groups, 50 zones, 300 entities), then
times `apply` of a zone move (the edit plus building and validating the new scene, as `tokenworld scene check`
does), `undo`, and `save`, after a warm-up, and prints the median and worst of each in milliseconds. The goal for
an edit is one frame at 60 fps (16 ms).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from tokenworld.editor import Editor, SetZone, Translate
from tokenworld.scene.load import scene_from_dict
from tokenworld.scene.shipped import shipped_scene
from tokenworld.scene.validate import validate_scene


def _times(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main(repeats: int = 200) -> None:
    """Print median and worst milliseconds of apply, undo, validation alone and save."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "metropolis.toml"
        shutil.copy(shipped_scene("metropolis.toml"), path)
        editor = Editor.open(path)
        scene = editor.scene
        print(
            f"{scene.agent_count:,} agents in {len(scene.groups)} groups, {len(scene.zones)} zones, "
            f"{len(scene.entities)} entities"
        )
        zone = next(i for i, z in enumerate(scene.zones) if z.rect is not None and z.rect[0] > 1.0)
        moves = [Translate("zones", (zone,), 0.5 if i % 2 else -0.5, 0.25) for i in range(repeats)]
        for edit in moves[:10]:  # warm-up
            editor.apply(edit)
            editor.undo()
        applies, undos = [], []
        for edit in moves:  # each move is timed, then undone (timed too), so the zone stays put
            applies += _times(lambda edit=edit: editor.apply(edit), 1)
            undos += _times(editor.undo, 1)
        rows = {"apply (move a zone)": applies, "undo": undos}
        data = editor.data
        rows["of apply: build the Scene (convert + validate)"] = _times(lambda: scene_from_dict(data), repeats)
        rows["of that: validate_scene alone"] = _times(lambda: validate_scene(editor.scene), repeats)
        rows["apply (rename a zone)"] = _times(
            lambda: (editor.apply(SetZone(zone, {"name": "renamed"})), editor.undo()), repeats
        )
        editor.apply(moves[0])
        rows["save (one zone moved)"] = _times(editor.save, 20)
        for name, ms in rows.items():
            print(f"{name:48s} median {statistics.median(ms):7.2f} ms   worst {max(ms):7.2f} ms")


if __name__ == "__main__":
    main()
