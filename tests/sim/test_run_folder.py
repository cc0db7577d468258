"""`RunFolder`, the one reader of run folders: the agents table, the store's version, and refusing other versions."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest

from tests.sim.runs_lab import small_village, tw
from tokenworld.errors import RunError
from tokenworld.mind.personas import agent_name
from tokenworld.scene.schema import Scene
from tokenworld.sim.headless import run_headless
from tokenworld.sim.run_folder import STORE_VERSION, RunFolder, is_run_folder
from tokenworld.world.agents import spawn_agents, world_rng


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A short village run (rules brain) recorded by `run_headless`."""
    tmp = tmp_path_factory.mktemp("rf")
    scene = Scene.load(small_village(tmp / "scenes", ticks=12, checkpoint_every=6, snapshot_every=6))
    return run_headless(scene, seed=5, runs_dir=tmp / "runs", name="r", progress=False)


def with_version(recorded, tmp_path, version: int):
    """A copy of the recorded run folder whose store says it was written by store `version`."""
    copy = tmp_path / f"v{version}"
    shutil.copytree(recorded, copy, ignore=shutil.ignore_patterns(".lock"))
    with sqlite3.connect(copy / "run.sqlite") as conn:
        conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    return copy


def test_run_folder_reads_the_agents_the_run_built(recorded):
    """The agents table holds each agent's group, archetype, traits and name as the World drew them; the store
    carries the current version; the manifest and scene come with it."""
    with RunFolder.open(recorded) as run:
        assert run.scalar("PRAGMA user_version") == STORE_VERSION
        assert run.manifest["status"] == "finished" and run.manifest["clock"] == "lockstep"
        drawn = spawn_agents(run.scene, world_rng(5))
        agents = run.agents
        np.testing.assert_array_equal(agents.traits, drawn.traits)
        np.testing.assert_array_equal(agents.group, drawn.group)
        np.testing.assert_array_equal(agents.archetype, drawn.archetype)
        assert agents.name == [agent_name(i) for i in range(run.n_agents)] and not agents.model.any()
        assert run.last_tick == 12 and run.zone_names == [z.name for z in run.scene.zones]
    assert is_run_folder(recorded) and not is_run_folder(recorded / "scene.toml")


@pytest.mark.parametrize("version", [0, STORE_VERSION + 1])
def test_other_store_versions_are_refused_by_every_reader(recorded, tmp_path, version):
    """A store of another version is refused by open, replay, analyze, export and resume, naming the versions."""
    folder = with_version(recorded, tmp_path, version)
    said = "older Token World" if version == 0 else f"newer Token World \\(store version {version}\\)"
    with pytest.raises(RunError, match=said):
        RunFolder.open(folder)
    for args in (
        ("analyze", str(folder)),
        ("export", str(folder), "--parquet", str(tmp_path / "pq")),
        ("run", "--resume", str(folder), "--no-progress"),
        ("view", str(folder), "--frames", "1"),
    ):
        r = tw(*args)
        assert r.returncode != 0 and "Traceback" not in r.stderr, (args, r.stderr)
        assert f"reads store version {STORE_VERSION}" in r.stderr, (args, r.stderr)


def test_not_a_run_folder(tmp_path):
    """A missing folder, a folder without a store, and a SQLite file that is no run store are named as such."""
    with pytest.raises(RunError, match="no run folder"):
        RunFolder.open(tmp_path / "nope")
    with pytest.raises(RunError, match="not a run folder"):
        RunFolder.open(tmp_path)
    (tmp_path / "scene.toml").write_text('name = "x"\n')
    sqlite3.connect(tmp_path / "run.sqlite").close()
    with pytest.raises(RunError, match="not a Token World run store"):
        RunFolder.open(tmp_path)


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path):
    """Run folders named by scene and time get a suffix when the name is taken, and still sort by time;
    a name the user chose that is taken stays an error."""
    from tokenworld.sim.store import RunStore, default_run_name

    scene = Scene.from_dict({"name": "twins", "groups": [{"name": "g", "count": 2, "spawn_area": [1, 1, 9, 9]}]})
    name = default_run_name(scene)
    stores = [RunStore.create(tmp_path, name, scene, unique=True) for _ in range(3)]
    try:
        names = [s.folder.name for s in stores]
        assert names == [name, f"{name}-02", f"{name}-03"] and names == sorted(names)
        assert sorted([*names, "twins-99999999-999999"])[-1] == "twins-99999999-999999"  # a later second sorts after
        with pytest.raises(RunError, match="exists already"):
            RunStore.create(tmp_path, name, scene)
    finally:
        for s in stores:
            s.close()
