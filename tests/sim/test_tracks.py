"""Position tracks in the run store: the compact encoding, `Recording.record`, and tracks across `--resume`."""

from __future__ import annotations

import numpy as np
import pytest

import tokenworld
from tests.sim.runs_lab import query, small_village, tw
from tokenworld.sim import Simulation
from tokenworld.sim.recording import Recording
from tokenworld.sim.records import decode_track, track_blobs


@pytest.mark.parametrize("size", [(200.0, 150.0), (4500.0, 4500.0)])
def test_track_round_trip_is_within_quantisation(size):
    """Decoded positions are within 1e-4 of the world size, headings within half a step of 2pi/256; 5 bytes an agent."""
    rng = np.random.default_rng(0)
    n = 10_000
    w, h = size
    pos = np.column_stack([rng.uniform(0, w, n), rng.uniform(0, h, n)]).astype(np.float32)
    pos[:4] = [[0, 0], [np.nextafter(np.float32(w), 0), 0], [0, np.nextafter(np.float32(h), 0)], [w / 2, h / 2]]
    heading = rng.uniform(-np.pi, np.pi, n).astype(np.float32)  # the engine's atan2 range
    heading[:3] = [np.pi, -np.pi + 1e-6, 2 * np.pi - 1e-4]
    xy, hd = track_blobs(pos, heading, size)
    assert len(xy) == 4 * n and len(hd) == n
    got_pos, got_heading = decode_track(xy, hd, size)
    assert got_pos.dtype == np.float32 and got_pos.shape == (n, 2)
    assert got_heading.dtype == np.float32 and got_heading.shape == (n,)
    assert (np.abs(got_pos - pos) / np.float32(size)).max() < 1e-4
    assert got_heading.min() >= 0 and got_heading.max() < 2 * np.pi
    off = np.abs(np.angle(np.exp(1j * (got_heading.astype(np.float64) - heading))))
    assert off.max() <= np.pi / 256 + 1e-5
    # Positions outside the world (never expected) are clipped, not wrapped.
    xy, hd = track_blobs(np.float32([[-5, w * 2]]), np.float32([0]), size)
    assert decode_track(xy, hd, size)[0].tolist() == [[0.0, h]]
    with pytest.raises(ValueError, match="expected"):
        decode_track(xy[:3], hd, size)


def test_recording_writes_tracks_every_track_every_ticks(tmp_path):
    """Recording.record adds checkpoints, snapshots and tracks on the multiples the scene's [store] asks for."""
    scene = tokenworld.Scene.from_dict(
        {
            "name": "tracked",
            "sim": {"seed": 3},
            "store": {"checkpoint_every": 4, "snapshot_every": 5, "track_every": 3},
            "groups": [{"name": "g", "count": 6, "spawn_area": [10.0, 10.0, 90.0, 90.0]}],
        }
    )
    sim = Simulation(scene)
    rec = Recording.create(sim, runs_dir=tmp_path, name="r", ticks=10)
    try:
        sim.build()
        rec.started()
        sim.run(9, on_tick=rec.record)
        engine = sim.world.engine.snapshot(("pos", "heading"))
        sim.run(1, on_tick=rec.record)
    finally:
        manifest = rec.finish("finished")
        sim.close()
    db = tmp_path / "r" / "run.sqlite"
    assert (
        manifest["ticks_done"] == 10 and manifest["status"] == "finished" and manifest["timings"]["step_ms_median"] > 0
    )
    assert query(db, "SELECT tick FROM tracks ORDER BY tick") == [(3,), (6,), (9,)]
    assert query(db, "SELECT DISTINCT tick FROM snapshots ORDER BY tick") == [(5,), (10,)]
    assert query(db, "SELECT tick FROM checkpoints ORDER BY tick") == [(4,), (8,)]
    xy, hd = query(db, "SELECT xy, heading FROM tracks WHERE tick = 9")[0]
    pos, heading = decode_track(xy, hd, scene.world.size)
    assert pos.shape == (6, 2) and np.abs(pos - engine["pos"]).max() < 1e-4 * max(scene.world.size)
    assert np.abs(np.angle(np.exp(1j * (heading - engine["heading"].astype(np.float64))))).max() <= np.pi / 256 + 1e-5


def test_resumed_run_rewrites_the_same_tracks(tmp_path):
    """A run resumed from a checkpoint (tracks after it taken back and written again) equals an uninterrupted run."""
    scene = small_village(tmp_path / "scenes", ticks=40, checkpoint_every=20, snapshot_every=0)
    runs = tmp_path / "runs"
    for args in (("--name", "whole"), ("--name", "part", "--ticks", "30")):
        r = tw("run", str(scene), "--runs-dir", str(runs), "--no-progress", *args)
        assert r.returncode == 0, r.stderr
    r = tw(
        "run", "--resume", str(runs / "part"), "--ticks", "40", "--no-progress"
    )  # from tick 20: 21..30 again, then on
    assert r.returncode == 0, r.stderr
    whole, part = runs / "whole" / "run.sqlite", runs / "part" / "run.sqlite"
    rows = query(part, "SELECT tick, xy, heading FROM tracks ORDER BY tick")
    assert [t for t, _, _ in rows] == list(range(1, 41))
    assert rows == query(whole, "SELECT tick, xy, heading FROM tracks ORDER BY tick")
