"""The run store a headless run writes: tables, snapshots, checkpoints, manifest, and the errors before a run starts.

Runs are real `python -m tokenworld run` subprocesses over a copy of the shipped
village (25 agents) with a small override: 200 ticks, a checkpoint every 20
ticks, a snapshot every 50.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tokenworld
from tests.sim.runs_lab import query, small_village, tw
from tokenworld.scene.schema import ITEMS
from tokenworld.world.actions import ACTIONS
from tokenworld.world.decisions import REASONS, SOURCES

TICKS, CHECKPOINT_EVERY, SNAPSHOT_EVERY, AGENTS = 200, 20, 50, 25
ACTION_NAMES = {a.name for a in ACTIONS}


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    """The village copied next to an override file (`extends` is relative to the file)."""
    return small_village(
        tmp_path_factory.mktemp("scenes"), ticks=TICKS, checkpoint_every=CHECKPOINT_EVERY, snapshot_every=SNAPSHOT_EVERY
    )


@pytest.fixture(scope="module")
def run(scene, tmp_path_factory) -> Path:
    """One finished 200-tick run of the small village."""
    runs = tmp_path_factory.mktemp("runs")
    r = tw("run", str(scene), "--runs-dir", str(runs), "--name", "s", "--no-progress")
    assert r.returncode == 0, r.stderr
    return runs / "s"


@pytest.fixture(scope="module")
def db(run) -> Path:
    return run / "run.sqlite"


# ------------------------------------------------------------------ what a run writes


def test_store_is_wal_with_one_row_per_tick(db):
    """The store is in WAL mode, passes integrity_check and has exactly one `ticks` row per tick."""
    assert query(db, "PRAGMA journal_mode") == [("wal",)]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT count(*), count(DISTINCT tick), min(tick), max(tick) FROM ticks") == [
        (TICKS, TICKS, 1, TICKS)
    ]
    assert query(db, "SELECT count(*), min(tick), max(tick) FROM timings") == [(TICKS, 1, TICKS)]
    # sim_time follows the village's dt of 0.5 s.
    assert query(db, "SELECT count(*) FROM ticks WHERE abs(sim_time - tick * 0.5) > 1e-9") == [(0,)]
    zones = query(db, "SELECT count(*) FROM zones")[0][0]
    assert zones == 8
    assert query(db, "SELECT count(*) FROM zone_counts") == [(TICKS * zones,)]
    assert query(db, "SELECT count(*) FROM items") == [(TICKS * len(ITEMS),)]
    assert {r[0] for r in query(db, "SELECT DISTINCT item FROM items")} == set(ITEMS)


def test_decisions_events_and_messages_are_recorded(db):
    """Over 200 ticks the village decides, acts and talks, and every table says so."""
    for table in ("decisions", "events", "messages"):
        assert query(db, f"SELECT count(*) FROM {table}")[0][0] > 0, table
    # The per-tick counter matches the decisions table.
    assert query(db, "SELECT sum(decisions) FROM ticks") == query(db, "SELECT count(*) FROM decisions")
    assert query(db, "SELECT sum(talks) FROM ticks") == query(
        db, "SELECT count(*) FROM events WHERE kind = 'talk' AND ok = 1"
    )


def test_events_reference_valid_agents_and_actions(db):
    """Every decision and event names an existing agent, a known action, reason and source."""
    rows = query(db, "SELECT tick, agent, action, source FROM decisions")
    assert all(
        1 <= t <= TICKS and 0 <= a < AGENTS and act in ACTION_NAMES and src in SOURCES for t, a, act, src in rows
    )
    rows = query(db, "SELECT tick, agent, kind, ok, reason, zone FROM events")
    assert all(
        1 <= t <= TICKS and 0 <= a < AGENTS and k in ACTION_NAMES and r in REASONS and ok == (r == "ok") and -1 <= z < 8
        for t, a, k, ok, r, z in rows
    )
    # Every event is what some decision of that agent did at that tick.
    orphans = query(
        db,
        "SELECT * FROM events e WHERE NOT EXISTS"
        " (SELECT 1 FROM decisions d WHERE d.tick = e.tick AND d.agent = e.agent AND d.action = e.kind)",
    )
    assert orphans == []
    # Every message was said by a talk that went ahead, to its partner, with its text.
    msgs = query(db, "SELECT tick, speaker, listener, text FROM messages")
    assert all(0 <= s < AGENTS and 0 <= li < AGENTS and s != li for _, s, li, _ in msgs)
    talks = set(query(db, "SELECT tick, agent, other, text FROM events WHERE kind = 'talk' AND ok = 1"))
    assert set(msgs) <= talks


def test_snapshots_every_snapshot_every_ticks_one_row_per_agent(db):
    """Snapshots (and social summaries) are taken every `snapshot_every` ticks, one row per agent."""
    expected = list(range(SNAPSHOT_EVERY, TICKS + 1, SNAPSHOT_EVERY))
    per_tick = query(
        db,
        "SELECT tick, count(*), min(agent), max(agent), count(DISTINCT agent)"
        " FROM snapshots GROUP BY tick ORDER BY tick",
    )
    assert per_tick == [(t, AGENTS, 0, AGENTS - 1, AGENTS) for t in expected]
    assert [t for (t,) in query(db, "SELECT tick FROM social ORDER BY tick")] == expected
    for x, y, zone, hunger, energy, inventory in query(
        db, "SELECT x, y, zone, hunger, energy, inventory FROM snapshots"
    ):
        assert 0 <= x <= 200 and 0 <= y <= 200 and -1 <= zone < 8
        assert hunger is not None and energy is not None
        inv = json.loads(inventory)
        assert set(inv) == set(ITEMS) and all(v >= 0 for v in inv.values())


def test_checkpoints_every_checkpoint_every_ticks_load_without_pickle(db):
    """A checkpoint every `checkpoint_every` ticks whose blob loads with allow_pickle=False and holds engine_pos."""
    rows = query(db, "SELECT tick, state, meta FROM checkpoints ORDER BY tick")
    assert [t for t, _, _ in rows] == list(range(CHECKPOINT_EVERY, TICKS + 1, CHECKPOINT_EVERY))
    for tick, blob, meta in rows:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}  # loading every array proves none needs pickle
        assert "engine_pos" in arrays
        assert arrays["engine_pos"].shape[0] == AGENTS and np.isfinite(arrays["engine_pos"]).all()
        assert all(a.dtype != object for a in arrays.values())
        m = json.loads(meta)
        assert m["tick"] == tick and set(m["rng"]) >= {"world", "brain", "game"}


def test_manifest_records_the_run(run):
    """The manifest holds seed, arch, status, ticks and timings of the run."""
    m = json.loads((run / "manifest.json").read_text())
    assert m["seed"] == 7 and m["seed_given"] is True
    assert m["arch"] in ("cpu", "cuda", "vulkan", "metal", "opengl") and m["requested_arch"] == "auto/env"
    assert m["status"] == "finished" and m["ticks_done"] == TICKS and m["ticks_requested"] == TICKS
    assert m["agents"] == AGENTS and m["scene"] == "small" and m["resumes"] == []
    assert m["tokenworld_version"] == tokenworld.__version__
    assert m["command"][:2] == ["tokenworld", "run"]
    t = m["timings"]
    assert t["ticks_per_second"] > 0 and t["run_seconds"] > 0
    assert 0 < t["step_ms_median"] <= t["step_ms_p95"]
    assert t["total_seconds"] >= t["run_seconds"]
    assert m["build_seconds"] >= 0 and m["started_at"] and m["finished_at"]
    assert not (run / "manifest.json.tmp").exists()


# ------------------------------------------------------------------ errors before the run starts


def test_existing_run_name_is_exit_2_and_folder_untouched(scene, tmp_path):
    """A run name that exists already is exit 2 and the existing folder is left as it was."""
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine\n")
    r = tw("run", str(scene), "--ticks", "5", "--runs-dir", str(tmp_path), "--name", "taken", "--no-progress")
    assert r.returncode == 2
    assert "exists already" in r.stderr and "--resume" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]
    assert (taken / "notes.txt").read_text() == "mine\n"


def test_runs_dir_that_is_a_file_is_exit_2(scene, tmp_path):
    """--runs-dir naming an existing regular file is exit 2 with a message, and the file is kept."""
    afile = tmp_path / "runs"
    afile.write_text("not a folder\n")
    r = tw("run", str(scene), "--ticks", "5", "--runs-dir", str(afile), "--name", "x", "--no-progress")
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and str(afile) in r.stderr and "--runs-dir" in r.stderr
    assert "Traceback" not in r.stderr
    assert afile.read_text() == "not a folder\n"


@pytest.mark.parametrize("name", ["a/b", "two words", "../up", " lead", "-dash"])
def test_unusable_run_name_is_exit_2(scene, tmp_path, name):
    """A run name with a slash, spaces or a leading dash is exit 2 and nothing is created."""
    runs = tmp_path / "runs"
    r = tw("run", str(scene), "--ticks", "5", "--runs-dir", str(runs), f"--name={name}", "--no-progress")
    assert r.returncode == 2
    assert "not usable as a folder name" in r.stderr and "Traceback" not in r.stderr
    assert not runs.exists() or list(runs.rglob("*")) == []
    assert not (tmp_path / "up").exists()


# ------------------------------------------------------------------ run folder names

SAME_SECOND = """
import sys, time
from pathlib import Path
from tokenworld.scene import Scene
from tokenworld.sim.store import RunStore

runs, go = Path(sys.argv[1]), Path(sys.argv[2])
scene = Scene.from_dict({"name": "twins"})
while not go.exists():
    time.sleep(0.001)
store = RunStore.create(runs, "twins-20260101-120000", scene, unique=True)
print(store.folder.name)
store.close()
"""


def test_runs_started_together_in_several_processes_get_their_own_folders(tmp_path):
    """Processes creating a run under one default name at once each get a folder of their own (atomic mkdir)."""
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", SAME_SECOND, str(tmp_path / "runs"), str(go)], stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    time.sleep(1.0)  # let them import and wait at the line
    go.touch()
    names = [p.communicate(timeout=60)[0].decode().strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    base = "twins-20260101-120000"
    assert sorted(names) == [base, f"{base}-02", f"{base}-03", f"{base}-04"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(names)


@pytest.mark.parametrize("scene_name", ["x" * 150, "_hidden", ".dot", "村の祭り", "a b/c..", "-"])
def test_default_run_name_is_usable_whatever_the_scene_name(tmp_path, scene_name):
    """A run named by its scene and time is a usable folder name (with room for a suffix), whatever the scene's
    name: the user did not choose it, so it must never be refused."""
    from tokenworld.scene import Scene
    from tokenworld.sim.store import NAME_RE, RunStore, default_run_name

    scene = Scene.from_dict({"name": scene_name})
    name = default_run_name(scene)
    assert NAME_RE.match(f"{name}-99"), name
    stores = [RunStore.create(tmp_path, name, scene, unique=True) for _ in range(2)]
    try:
        assert [s.folder.name for s in stores] == [name, f"{name}-02"]
    finally:
        for s in stores:
            s.close()


def test_a_failed_mkdir_never_removes_the_run_whose_name_was_taken(tmp_path, monkeypatch):
    """When the suffixed folder cannot be made, the run that holds the plain name is left as it was."""
    from tokenworld.errors import RunError
    from tokenworld.scene import Scene
    from tokenworld.sim.store import RunStore

    taken = tmp_path / "twins-20260101-120000"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine\n")
    mkdir = Path.mkdir

    def refuse_suffix(self, *args, **kwargs):
        if self.name.endswith("-02"):
            raise PermissionError(13, "Permission denied")
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse_suffix)
    with pytest.raises(RunError, match="cannot create the run folder .*-02: Permission denied; pass --runs-dir"):
        RunStore.create(tmp_path, taken.name, Scene.from_dict({"name": "twins"}), unique=True)
    assert (taken / "notes.txt").read_text() == "mine\n"


# ------------------------------------------------------------------ reading a run while it is written


@pytest.mark.slow
def test_a_run_being_written_can_be_read(scene, tmp_path):
    """While a run is going, a read-only connection sees every committed tick, without gaps."""
    folder = tmp_path / "live"
    db = folder / "run.sqlite"
    log = tmp_path / "live.log"
    seen: list[int] = []
    with log.open("w") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tokenworld",
                "run",
                str(scene),
                "--ticks",
                "400",
                "--runs-dir",
                str(tmp_path),
                "--name",
                "live",
                "--no-progress",
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                if db.is_file():
                    try:
                        count, last = query(db, "SELECT count(*), max(tick) FROM ticks")[0]
                    except sqlite3.OperationalError as exc:  # only before the schema exists
                        assert "no such table" in str(exc)
                    else:
                        if last is not None:
                            assert count == last, f"gap: {count} rows up to tick {last}"
                            if proc.poll() is None:
                                seen.append(last)
                time.sleep(0.01)
            assert proc.wait(timeout=120) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert seen, "never saw a tick while the run was going"
    assert seen == sorted(seen) and seen[0] < 400
    assert len(set(seen)) > 1, "saw only one state of the run"
    assert query(db, "SELECT count(*), max(tick) FROM ticks") == [(400, 400)]


def test_a_version_2_store_is_continued_with_the_replica_column(tmp_path):
    """A store written before `decisions.replica` (version 2) is read, and a resumed run adds the column."""
    import sqlite3

    from tests.sim.runs_lab import query, tw
    from tokenworld.sim.run_folder import STORE_VERSION

    runs = tmp_path / "runs"
    r = tw("run", "village_rules", "--ticks", "20", "--runs-dir", str(runs), "--name", "old", "--no-progress")
    assert r.returncode == 0, r.stderr
    db = runs / "old" / "run.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE decisions DROP COLUMN replica")
        conn.execute("PRAGMA user_version = 2")
    before = query(db, "SELECT COUNT(*) FROM decisions")[0][0]
    r = tw("run", "--resume", str(runs / "old"), "--ticks", "40", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert query(db, "PRAGMA user_version")[0][0] == STORE_VERSION
    assert query(db, "SELECT COUNT(*) FROM decisions WHERE replica IS NULL")[0][0] > before
