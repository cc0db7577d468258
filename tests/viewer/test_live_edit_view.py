"""Live edits as the viewer shows them: a live run that grows on screen, and the replay of an edited run.

Rendered for real, offscreen (EGL through Mesa).
"""

from __future__ import annotations

import numpy as np

from tests.sim.test_live_edit import EDIT_AFTER, _run, edited, village
from tests.viewer.view_lab import wait_until
from tokenworld.sim.live_source import LiveSource
from tokenworld.sim.replay_source import ReplaySource
from tokenworld.viewer.app import Viewer

SIZE = (480, 270)


def test_an_edit_of_a_live_run_shows_on_the_next_frames():
    sc = village()
    source = LiveSource(sc, seed=2, speed=0, playing=False).start()
    source.wait_ready()
    viewer = Viewer(source, sc, offscreen=True, size=SIZE, panels=False)
    try:
        viewer.render(2)
        n = source.frame.n
        source.apply_scene(edited(sc), "newcomers")
        wait_until(lambda: source.frame.n == n + 3, "the newcomers to reach a frame")
        viewer.render(2)
        assert viewer.agents.count + viewer.far_agents.count == n + 3  # every agent drawn, newcomers too
        viewer.color_by = "trait"
        viewer.render(1)
    finally:
        viewer.close()
        source.close()


def test_the_replay_of_an_edited_run_changes_its_population_and_entities_at_the_edit(tmp_path):
    folder = _run(tmp_path, "edited")
    source = ReplaySource(folder, playing=False)
    viewer = Viewer(source, source.scene, offscreen=True, size=SIZE, panels=True)
    try:
        source.seek(EDIT_AFTER)
        viewer.render(2)
        before = (source.frame.n, len(source.frame.entity_pos), len(source.scene.zones))
        source.seek(EDIT_AFTER + 3)
        viewer.render(2)
        after = (source.frame.n, len(source.frame.entity_pos), len(source.scene.zones))
        assert after == (before[0] + 3, before[1] + 1, before[2] + 1)
        img = viewer.image()
        assert img.shape == (SIZE[1], SIZE[0], 3) and np.ptp(img) > 0
        viewer.panels.kinds = {kind: kind == "edit" for kind in viewer.panels.kinds}
        viewer.render(1)
        assert viewer.panels.shown["conversations"]["last"] == "the scene was edited: grow"
        for tick in [*np.linspace(1, EDIT_AFTER + 4, 9), EDIT_AFTER + 0.5, 2.0]:  # scrubbing across the edit
            source.seek(float(tick))
            viewer.render(1)
            assert viewer.agents.count + viewer.far_agents.count == source.frame.n
    finally:
        viewer.close()
        source.close()
