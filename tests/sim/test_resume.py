"""Continuing runs with `tokenworld run --resume`: a run killed with SIGKILL and resumed equals one never interrupted.

Every run here is a real `python -m tokenworld` subprocess writing a real SQLite
store; the scene is the shipped village (25 agents) copied into a temporary
folder with a small override (200 ticks, a checkpoint every 20 ticks). One test
runs the village with the embedded language model instead (crowded, a few
agents model-driven, a Narrator line at tick 8, 22 ticks, a checkpoint every 10).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sim.runs_lab import query, ro, small_village, tw

TICKS = 200
CHECKPOINT_EVERY = 20
# Tables whose rows depend on wall time or hold binary engine states; every other table must match exactly.
NOT_COMPARED = {"timings", "checkpoints", "runs"}  # runs: the manifest (command, clock times, resumes)
WALL_TIME = {"decisions": {"latency_ms"}}  # columns of wall time (model answers), left out of the comparison
# Prompt tokens evaluated: a resumed process starts with empty agent KV caches (they are not checkpointed), so each
# agent's first model decision after the checkpoint evaluates its whole page; `assert_cold_cache_tokens` checks it.
COLD_CACHE = {"decisions": {"latency_ms", "tokens_in"}}
MODEL_TICKS = 22
MODEL_CHECKPOINT_EVERY = 10

# The second kill moment: "random", but the same on every run of the suite.
SECOND_KILL = random.Random("tokenworld-resume-kill").randint(101, 179)

# The village decided by Gemma 3 270M (llama.cpp, lockstep), everyone crowded in one spot so that people talk at once
# and all hear the Narrator at tick 8, two ticks before a checkpoint; a few agents are model-driven among rules-driven
# ones, so that model calls stay few.
MODEL_VILLAGE = f"""extends = "village.toml"
name = "model_small"
[sim]
ticks = {MODEL_TICKS}
[mind]
decide_every = 5
llm_fraction = 0.15
[store]
checkpoint_every = {MODEL_CHECKPOINT_EVERY}
snapshot_every = 10

[[tell]]
tick = 8
zone = "meadow"
text = "The well is dry, fetch water at the farm"

[[groups]]
mind = "model"
name = "farmers"
count = 9
archetype = "farmer"
spawn_area = [92.0, 84.0, 108.0, 90.0]
speed = [1.0, 1.4]

[[groups]]
mind = "model"
name = "merchants"
count = 8
archetype = "merchant"
spawn_area = [92.0, 84.0, 108.0, 90.0]
speed = [1.0, 1.4]
traits = {{ extraversion = {{ mean = 0.9, std = 0.05 }} }}

[[groups]]
mind = "model"
name = "citizens"
count = 8
archetype = "citizen"
spawn_area = [92.0, 84.0, 108.0, 90.0]
speed = [0.9, 1.5]
traits = {{ extraversion = {{ mean = 0.9, std = 0.05 }} }}
"""


# ------------------------------------------------------------------ helpers


def write_scenes(folder: Path) -> dict[str, Path]:
    """Copy the shipped village (and what it extends) into `folder` and add small override scenes."""
    small = small_village(folder, ticks=TICKS, checkpoint_every=CHECKPOINT_EVERY, snapshot_every=50)
    game = folder / "game.toml"
    game.write_text(
        'extends = "village_rules.toml"\nname = "village_game"\n'
        "[sim]\nticks = 120\n"
        "[store]\ncheckpoint_every = 25\nsnapshot_every = 40\n"
        '[game]\nkind = "guess_average"\nrounds = 12\nticks_per_round = 10\n'
    )
    model = folder / "model.toml"
    model.write_text(MODEL_VILLAGE)
    return {"small": small, "game": game, "model": model}


def run_scene(scene: Path, runs_dir: Path, name: str, *extra: str, timeout: float = 300) -> Path:
    """Run `scene` to the end in a subprocess; return its run folder."""
    r = tw("run", str(scene), "--runs-dir", str(runs_dir), "--name", name, "--no-progress", *extra, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return runs_dir / name


def tables(db: Path) -> list[str]:
    return [r[0] for r in query(db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]


def all_rows(db: Path, table: str, skip: dict = WALL_TIME) -> list[tuple]:
    """Every row of `table` but its `skip` columns (wall time), ordered by all those columns."""
    conn = ro(db)
    try:
        names = [d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description]
        cols = ", ".join(n for n in names if n not in skip.get(table, ()))
        return conn.execute(f"SELECT {cols} FROM {table} ORDER BY {cols}").fetchall()
    finally:
        conn.close()


def assert_same_rows(db_a: Path, db_b: Path, skip: dict = WALL_TIME) -> None:
    """Both stores hold the same tables and, but for timings (`skip`), checkpoints and the manifest, the same rows."""
    assert tables(db_a) == tables(db_b)
    for table in tables(db_a):
        if table in NOT_COMPARED:
            continue
        a, b = all_rows(db_a, table, skip), all_rows(db_b, table, skip)
        assert len(a) == len(b), f"{table}: {len(a)} rows uninterrupted, {len(b)} resumed"
        first = next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), None)
        assert first is None, f"{table} differs first at row {first}: {a[first]} != {b[first]}"
    # Checkpoints are taken at the same ticks (their blobs hold floats of the sorted engine state).
    assert query(db_a, "SELECT tick FROM checkpoints ORDER BY tick") == query(
        db_b, "SELECT tick FROM checkpoints ORDER BY tick"
    )


def max_tick(db: Path) -> int | None:
    """The last tick committed to `db`, read read-only; None while the store has no ticks table yet."""
    if not db.is_file():
        return None
    try:
        return query(db, "SELECT max(tick) FROM ticks")[0][0]
    except sqlite3.OperationalError:  # the schema is not written yet
        return None


def kill_at(cmd: list[str], db: Path, at: int, log: Path, timeout: float = 120) -> int:
    """Start `cmd`, wait until `db` has tick `at`, SIGKILL the process; return the tick the store had reached."""
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + timeout
            reached = None
            while time.monotonic() < deadline:
                reached = max_tick(db)
                if reached is not None and reached >= at:
                    break
                if proc.poll() is not None:
                    pytest.fail(
                        f"the run ended (exit {proc.returncode}) at tick {reached} before tick {at}: {log.read_text()}"
                    )
                time.sleep(0.002)
            else:
                pytest.fail(f"tick {at} not reached within {timeout} s (last seen {reached})")
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"the run was not killed but exited {proc.returncode}"
    return reached


def assert_consistent_after_kill(db: Path) -> int:
    """A killed store opens, passes integrity_check, and has every tick up to its last; returns that tick."""
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    count, first, last = query(db, "SELECT count(*), min(tick), max(tick) FROM ticks")[0]
    assert first == 1 and count == last, f"ticks has gaps: {count} rows for ticks {first}..{last}"
    # Each tick is one transaction, so every table stops at the same tick.
    assert query(db, "SELECT count(*), max(tick) FROM timings")[0] == (last, last)
    assert query(db, "SELECT max(tick) FROM zone_counts")[0][0] == last
    assert query(db, "SELECT max(tick) FROM items")[0][0] == last
    ck = query(db, "SELECT tick FROM checkpoints ORDER BY tick")
    assert [t for (t,) in ck] == list(range(CHECKPOINT_EVERY, last + 1, CHECKPOINT_EVERY))
    return last


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def heard_over_a_checkpoint(db: Path) -> tuple[int, int, int, int] | None:
    """The first (checkpoint, listener, tick heard, tick answered) where a model-driven agent heard a line at or
    before a checkpoint and was asked (the line in its prompt) only after it; None if the run has none.

    A line heard at tick t goes into the listener's next request, made at tick s >= t and recorded as the
    decision applied at s + 1; it spans checkpoint c when t <= c < s.
    """
    model = {a for (a,) in query(db, "SELECT DISTINCT agent FROM decisions WHERE source = 'model'")}
    asked = query(db, "SELECT agent, tick - 1 FROM decisions WHERE source IN ('model', 'fallback') ORDER BY tick")
    heard = query(db, "SELECT tick, listener FROM messages ORDER BY tick, listener")
    for (c,) in query(db, "SELECT tick FROM checkpoints ORDER BY tick"):
        for t, listener in heard:
            s = next((s for a, s in asked if a == listener and s >= t), None)
            if listener in model and s is not None and t <= c < s:
                return c, listener, t, s
    return None


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> dict[str, Path]:
    return write_scenes(tmp_path_factory.mktemp("scenes"))


@pytest.fixture(scope="module")
def uninterrupted(scenes, tmp_path_factory) -> Path:
    """Run A: the small village straight to 200 ticks."""
    return run_scene(scenes["small"], tmp_path_factory.mktemp("runs"), "a")


# ------------------------------------------------------------------ tests


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_tick", "ticks_arg"),
    [(90, ["--ticks", str(TICKS)]), (SECOND_KILL, [])],
    ids=["kill-at-90", f"kill-at-{SECOND_KILL}-default-ticks"],
)
def test_sigkill_then_resume_equals_uninterrupted_run(scenes, uninterrupted, tmp_path, kill_tick, ticks_arg):
    """A run killed with SIGKILL mid-way and resumed (to --ticks, or as first asked) equals an uninterrupted run."""
    folder = tmp_path / "b"
    db = folder / "run.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "tokenworld",
        "run",
        str(scenes["small"]),
        "--runs-dir",
        str(tmp_path),
        "--name",
        "b",
        "--no-progress",
    ]
    reached = kill_at(cmd, db, kill_tick, tmp_path / "b.log")
    assert reached < TICKS

    last = assert_consistent_after_kill(db)
    assert last >= kill_tick
    assert manifest(folder)["status"] == "running"  # the killed process could not say more
    checkpoint = query(db, "SELECT max(tick) FROM checkpoints")[0][0]

    r = tw("run", "--resume", str(folder), *ticks_arg, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert_same_rows(uninterrupted / "run.sqlite", db)
    m = manifest(folder)
    assert m["status"] == "finished" and m["ticks_done"] == TICKS and m["ticks_requested"] == TICKS
    assert [x["from_tick"] for x in m["resumes"]] == [checkpoint]
    assert m["seed"] == manifest(uninterrupted)["seed"]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


@pytest.mark.slow
def test_resume_finished_run_to_more_ticks_equals_longer_run(scenes, uninterrupted, tmp_path):
    """Resuming a finished 200-tick run with --ticks 250 equals an uninterrupted 250-tick run."""
    longer = run_scene(scenes["small"], tmp_path, "u250", "--ticks", "250")
    folder = tmp_path / "extended"
    shutil.copytree(uninterrupted, folder)
    r = tw("run", "--resume", str(folder), "--ticks", "250", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert_same_rows(longer / "run.sqlite", folder / "run.sqlite")
    m = manifest(folder)
    assert m["status"] == "finished" and m["ticks_done"] == 250 and m["ticks_requested"] == 250
    assert [x["from_tick"] for x in m["resumes"]] == [TICKS]


@pytest.mark.slow
def test_resume_mid_run_of_a_game_scene_equals_uninterrupted(scenes, tmp_path):
    """Guess-the-average rounds continue identically from a checkpoint that falls between rounds."""
    whole = run_scene(scenes["game"], tmp_path, "whole")
    part = run_scene(scenes["game"], tmp_path, "part", "--ticks", "60")  # stops 10 ticks past the checkpoint at 50
    assert query(part / "run.sqlite", "SELECT max(tick) FROM checkpoints") == [(50,)]
    r = tw("run", "--resume", str(part), "--ticks", "120", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert query(whole / "run.sqlite", "SELECT count(*) FROM rounds") == [(12,)]
    assert_same_rows(whole / "run.sqlite", part / "run.sqlite")
    assert [x["from_tick"] for x in manifest(part)["resumes"]] == [50]


@pytest.mark.slow
def test_model_run_killed_after_a_checkpoint_resumes_exactly(scenes, tmp_path):
    """A model-driven run (llama.cpp, lockstep) killed with SIGKILL after a checkpoint that holds lines heard but not
    yet answered, and resumed, equals the uninterrupted run (but for the answers' wall-time latency)."""
    whole = run_scene(scenes["model"], tmp_path, "whole", timeout=600)
    spans = heard_over_a_checkpoint(whole / "run.sqlite")
    assert spans is not None, "no heard line spans a checkpoint: the scene no longer shows what this test protects"
    checkpoint = spans[0]
    folder = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "tokenworld",
        "run",
        str(scenes["model"]),
        "--runs-dir",
        str(tmp_path),
        "--name",
        "killed",
        "--no-progress",
    ]
    reached = kill_at(cmd, folder / "run.sqlite", checkpoint + 1, tmp_path / "killed.log", timeout=600)
    assert checkpoint < reached < checkpoint + MODEL_CHECKPOINT_EVERY
    assert query(folder / "run.sqlite", "SELECT max(tick) FROM checkpoints") == [(checkpoint,)]
    r = tw("run", "--resume", str(folder), "--no-progress", timeout=600)
    assert r.returncode == 0, r.stderr
    assert_same_rows(whole / "run.sqlite", folder / "run.sqlite", skip=COLD_CACHE)
    assert_cold_cache_tokens(whole / "run.sqlite", folder / "run.sqlite", checkpoint)
    assert query(folder / "run.sqlite", "SELECT count(*) FROM decisions WHERE source = 'model'")[0][0] > 0


def assert_cold_cache_tokens(whole: Path, resumed: Path, checkpoint: int) -> None:
    """The prompt tokens each model decision evaluated are the same in both runs, but for each agent's first model
    decision after the checkpoint: the resumed run's agent caches start empty, so it evaluates at least as many."""
    sql = "SELECT tick, agent, tokens_in FROM decisions WHERE source = 'model' ORDER BY tick, agent, tokens_in"
    a, b = query(whole, sql), query(resumed, sql)
    assert [r[:2] for r in a] == [r[:2] for r in b]
    cold = set()
    for (tick, agent, x), (_, _, y) in zip(a, b, strict=True):
        if tick > checkpoint and agent not in cold:
            cold.add(agent)
            assert y >= x, (tick, agent, x, y)
        else:
            assert x == y, (tick, agent, x, y)


def test_resume_below_recorded_ticks_is_a_clear_error(uninterrupted, tmp_path):
    """--ticks smaller than the ticks already recorded exits 2 with a message and leaves the run as it was."""
    folder = tmp_path / "copy"
    shutil.copytree(uninterrupted, folder)
    before = (folder / "manifest.json").read_bytes()
    r = tw("run", "--resume", str(folder), "--ticks", "100", "--no-progress")
    assert r.returncode == 2
    assert "already holds 200 ticks" in r.stderr and "--ticks 200" in r.stderr
    assert "Traceback" not in r.stderr
    assert (folder / "manifest.json").read_bytes() == before
    assert query(folder / "run.sqlite", "SELECT count(*), max(tick) FROM ticks") == [(TICKS, TICKS)]


@pytest.mark.parametrize("kind", ["empty-folder", "missing-folder", "scene-file", "not-a-database"])
def test_resume_of_something_that_is_not_a_run_is_exit_2(scenes, uninterrupted, tmp_path, kind):
    """--resume of a folder that is not a run folder exits 2 with a message naming it."""
    target = tmp_path / "target"
    if kind == "empty-folder":
        target.mkdir()
    elif kind == "scene-file":
        target = scenes["small"]
    elif kind == "not-a-database":
        target.mkdir()
        for name in ("manifest.json", "scene.toml"):
            shutil.copy(uninterrupted / name, target / name)
        (target / "run.sqlite").write_text("this is not a database\n")
    r = tw("run", "--resume", str(target), "--no-progress")
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and str(target) in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "extra",
    [["SCENE"], ["--seed", "3"], ["--name", "other"], ["--agents", "10"]],
    ids=["scene", "seed", "name", "agents"],
)
def test_resume_with_scene_or_seed_is_exit_2(scenes, uninterrupted, tmp_path, extra):
    """--resume continues a run as it was: a scene, --seed, --name or --agents beside it is exit 2."""
    folder = tmp_path / "copy"
    shutil.copytree(uninterrupted, folder)
    before = (folder / "manifest.json").read_bytes()
    args = [str(scenes["small"]) if a == "SCENE" else a for a in extra]
    r = tw("run", *args, "--resume", str(folder), "--no-progress")
    assert r.returncode == 2
    assert "--resume" in r.stderr and "Traceback" not in r.stderr
    assert (folder / "manifest.json").read_bytes() == before


def test_resume_never_shrinks_a_run(uninterrupted, tmp_path):
    """--ticks between the last checkpoint and the recorded end is refused: no recorded tick is thrown away."""
    folder = tmp_path / "copy"
    shutil.copytree(uninterrupted, folder)
    r = tw("run", "--resume", str(folder), "--ticks", str(TICKS - 5), "--no-progress")
    assert r.returncode == 2 and "would throw some away" in r.stderr
    assert query(folder / "run.sqlite", "SELECT count(*), max(tick) FROM ticks") == [(TICKS, TICKS)]


def test_resume_of_a_run_still_going_is_refused(tmp_path):
    """A run being written by one process cannot be resumed by another (it holds the run's lock)."""
    import tokenworld
    from tokenworld.errors import RunError
    from tokenworld.sim.store import RunStore

    scene = tokenworld.Scene.from_dict(
        {"name": "locked", "groups": [{"name": "g", "count": 2, "spawn_area": [1.0, 1.0, 9.0, 9.0]}]}
    )
    store = RunStore.create(tmp_path, "live", scene)
    store.write_manifest({"seed": 1, "ticks_requested": 5})
    r = tw("run", "--resume", str(tmp_path / "live"), "--no-progress")
    assert r.returncode == 2 and "is being written by process" in r.stderr and "Traceback" not in r.stderr
    with pytest.raises(RunError, match="being written"):
        RunStore.reopen(tmp_path / "live")
    store.close()
    RunStore.reopen(tmp_path / "live").close()  # free again once the writer closed it
