"""End-to-end tests of the `tokenworld` command, each in a real subprocess."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sim.runs_lab import VILLAGE, tw


def table(db: Path | str, sql: str) -> list[tuple]:
    """Rows of `sql` on a store (a path, or a `file:` URI for read-only access)."""
    conn = sqlite3.connect(db, uri=str(db).startswith("file:"))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_run_writes_a_complete_run_folder(tmp_path):
    """`run` writes the scene copy, a finished manifest and one metrics row per tick."""
    r = tw(
        "run",
        str(VILLAGE),
        "--ticks",
        "40",
        "--seed",
        "7",
        "--runs-dir",
        str(tmp_path),
        "--name",
        "v1",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "v1"
    assert (folder / "scene.toml").is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert manifest["seed"] == 7 and manifest["ticks_done"] == 40 and manifest["agents"] == 25
    assert manifest["arch"] == "cpu"
    assert manifest["timings"]["ticks_per_second"] > 0
    assert table(folder / "run.sqlite", "SELECT count(*), min(tick), max(tick) FROM ticks") == [(40, 1, 40)]
    assert table(folder / "run.sqlite", "PRAGMA journal_mode") == [("wal",)]
    # Every agent is counted in exactly one zone (or none) at every tick.
    sums = table(
        folder / "run.sqlite",
        "SELECT t.tick, sum(z.agents) + t.outside_zones FROM ticks t JOIN zone_counts z USING (tick) GROUP BY t.tick",
    )
    assert {s for _, s in sums} == {25}
    # The copied scene is self-contained and loads on its own.
    assert tw("scene", "check", str(folder / "scene.toml")).returncode == 0


def test_same_seed_same_metrics_other_seed_differs(tmp_path):
    """Two runs with the same seed write identical metrics; another seed does not."""
    args = ["--ticks", "60", "--runs-dir", str(tmp_path), "--no-progress", "--arch", "cpu"]
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert tw("run", str(VILLAGE), "--seed", seed, "--name", name, *args).returncode == 0
    q = "SELECT * FROM ticks ORDER BY tick"
    qz = "SELECT * FROM zone_counts ORDER BY tick, zone"
    a, b, c = (tmp_path / n / "run.sqlite" for n in "abc")
    assert table(a, q) == table(b, q) and table(a, qz) == table(b, qz)
    assert table(a, q) != table(c, q)


def test_run_refuses_an_existing_run_name(tmp_path):
    """An existing run folder is an error before anything is written."""
    (tmp_path / "taken").mkdir()
    r = tw("run", str(VILLAGE), "--ticks", "5", "--runs-dir", str(tmp_path), "--name", "taken", "--no-progress")
    assert r.returncode == 2
    assert "exists already" in r.stderr and "Traceback" not in r.stderr
    assert list((tmp_path / "taken").iterdir()) == []


def test_run_refuses_a_missing_gpu_before_making_a_folder(tmp_path):
    """--arch cuda without a GPU is a clear error and leaves no run folder."""
    r = tw(
        "run",
        str(VILLAGE),
        "--ticks",
        "5",
        "--runs-dir",
        str(tmp_path),
        "--name",
        "gpu",
        "--arch",
        "cuda",
        "--no-progress",
    )
    if r.returncode == 0:
        pytest.skip("this machine has a CUDA device")
    assert r.returncode == 2 and "cannot run on cuda" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "gpu").exists()


def test_run_agents_override(tmp_path):
    """--agents resizes the population and the run records it."""
    r = tw(
        "run",
        str(VILLAGE),
        "--ticks",
        "3",
        "--agents",
        "300",
        "--runs-dir",
        str(tmp_path),
        "--name",
        "big",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "big" / "manifest.json").read_text())["agents"] == 300


def test_bad_scene_gives_key_path_and_no_traceback(tmp_path):
    """`scene check` and `run` on a bad file name the key path and exit 2 without a traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[zones]]\nname = "a"\nrect = [0, 0, 10, 10]\ncolour = [1, 0, 0]\n')
    for cmd in (("scene", "check", str(bad)), ("run", str(bad), "--runs-dir", str(tmp_path))):
        r = tw(*cmd)
        assert r.returncode == 2
        assert "`zones[0].colour`" in r.stderr and "did you mean `color`" in r.stderr
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


def test_bad_arguments_are_usage_errors():
    """Malformed CLI arguments exit 2 with a message naming the option."""
    r = tw("run", str(VILLAGE), "--ticks", "many")
    assert r.returncode == 2 and "--ticks" in r.stderr and "Traceback" not in r.stderr
    r = tw("bench", "engine", "--agents", "10,lots")
    assert r.returncode == 2 and "--agents" in r.stderr
    r = tw("run", "no/such/scene.toml")
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_scene_new_then_check(tmp_path):
    """`scene new` writes a valid starter scene and refuses to overwrite it."""
    r = tw("scene", "new", "hamlet", "--dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    r = tw("scene", "check", str(tmp_path / "hamlet.toml"))
    assert r.returncode == 0 and "valid scene 'hamlet'" in r.stdout
    r = tw("scene", "new", "hamlet", "--dir", str(tmp_path))
    assert r.returncode == 2 and "--force" in r.stderr


def test_bench_engine_writes_json(tmp_path):
    """`bench engine` at small sizes writes one result per size with every stage."""
    out = tmp_path / "engine.json"
    r = tw(
        "bench",
        "engine",
        "--agents",
        "500,2000",
        "--steps",
        "5",
        "--warmup",
        "2",
        "--no-cold-start",
        "--json",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert report["arch"] == "cpu" and report["machine"]["cores"] >= 1
    assert [row["agents"] for row in report["results"]] == [500, 2000]
    for row in report["results"]:
        for key in (
            "ms_per_step",
            "hash_ms",
            "perception_ms",
            "motion_ms",
            "zones_ms",
            "agent_steps_per_s",
            "move_and_zones_ms",
        ):
            assert row[key] > 0, key


def test_ctrl_c_keeps_every_committed_tick(tmp_path):
    """Ctrl-C (SIGINT) ends a run with exit 130, no traceback, and a manifest counting exactly the committed ticks."""
    import signal
    import time

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tokenworld",
            "run",
            str(VILLAGE),
            "--ticks",
            "100000",
            "--runs-dir",
            str(tmp_path),
            "--name",
            "c",
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = tmp_path / "c" / "run.sqlite"
    deadline = time.time() + 120
    while time.time() < deadline:
        if db.exists():
            try:
                if (table(f"file:{db}?mode=ro", "SELECT coalesce(max(tick), 0) FROM ticks")[0][0] or 0) > 30:
                    break
            except sqlite3.Error:
                pass
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["ticks_done"] == table(db, "SELECT max(tick) FROM ticks")[0][0] > 30


def test_seeds_use_all_32_bits(tmp_path):
    """A seed above 2^31 runs (Taichi's own seed is signed 32-bit; ours is not)."""
    r = tw(
        "run",
        str(VILLAGE),
        "--ticks",
        "3",
        "--seed",
        "3000000000",
        "--runs-dir",
        str(tmp_path),
        "--name",
        "s",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["seed"] == 3000000000


def test_an_empty_world_runs_checkpoints_and_resumes(tmp_path):
    """A run with no agents writes checkpoints and resumes from them."""
    scene = tmp_path / "empty.toml"
    scene.write_text(
        'name = "empty"\n[store]\ncheckpoint_every = 5\n'
        '[[groups]]\nname = "g"\ncount = 0\nspawn_area = [1.0, 1.0, 5.0, 5.0]\n'
    )
    assert (
        tw("run", str(scene), "--ticks", "12", "--runs-dir", str(tmp_path), "--name", "e", "--no-progress").returncode
        == 0
    )
    r = tw("run", "--resume", str(tmp_path / "e"), "--ticks", "20", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert table(tmp_path / "e" / "run.sqlite", "SELECT count(*), max(tick) FROM ticks") == [(20, 20)]


def test_scene_list_and_shipped_names(tmp_path):
    """`scene list` names every shipped scene with its agents and description; `run` and `scene check` take a name."""
    from tokenworld.scene.shipped import shipped_names

    r = tw("scene", "list")
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert set(shipped_names()) <= set(lines) and {"village", "village_rules", "metropolis"} <= set(lines)
    assert "25 agents" in lines["village_rules"] and "rules brain" in lines["village_rules"]
    assert "10,000 agents" in lines["metropolis"]
    r = tw("scene", "check", "village_rules")
    assert r.returncode == 0 and "valid scene 'village_rules'" in r.stdout
    r = tw("run", "village_rules", "--ticks", "3", "--runs-dir", str(tmp_path), "--name", "n", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "n" / "manifest.json").read_text())["status"] == "finished"
    r = tw("run", "hamlet_nowhere", "--runs-dir", str(tmp_path))
    assert (
        r.returncode == 2 and "village_rules" in r.stderr and "scene list" in r.stderr and "Traceback" not in r.stderr
    )


def test_counts_refuse_zero_where_zero_means_nothing():
    """Steps, frames, requests and the like refuse 0 as a usage error naming the flag; seeds and warm-ups take it."""
    from tokenworld.cli import build_parser

    for argv in (
        ("bench", "engine", "--steps", "0"),
        ("bench", "viewer", "--frames", "0"),
        ("bench", "inference", "--requests", "0"),
        ("bench", "alive", "--runs", "0"),
        ("view", "--frames", "0"),
    ):
        r = tw(*argv)
        assert r.returncode == 2 and "must be 1 or more, found 0" in r.stderr and argv[-2] in r.stderr, argv
    args = build_parser().parse_args(["bench", "world", "--warmup", "0"])
    assert args.warmup == 0
    assert build_parser().parse_args(["run", "x.toml", "--seed", "0", "--ticks", "0"]).seed == 0


def test_bench_commands_come_from_the_registry(monkeypatch, capsys):
    """Every registered suite is a `bench` command whose defaults are the registry's sizes; flags override them."""
    import tokenworld.bench.suites as suites
    from tokenworld.cli import build_parser, main

    calls = []
    monkeypatch.setattr(suites, "run_suite", lambda name, **kw: calls.append((name, kw)) or {})
    for name, suite in suites.SUITES.items():
        assert main(["bench", name]) == 0
        assert calls[-1] == (name, {"quick": False, "arch": None}), name  # run_suite fills in suite.sizes
        with pytest.raises(SystemExit):
            build_parser().parse_args(["bench", name, "--help"])
        text = capsys.readouterr().out
        for flag in suite.flags:
            assert flag.flag in text, (name, flag.flag)
    assert main(["bench", "world", "--ticks", "7", "--agents", "300", "--arch", "cpu", "--json", "w.json"]) == 0
    assert calls[-1] == ("world", {"quick": False, "arch": "cpu", "ticks": 7, "agents": [300], "json_path": "w.json"})
    assert main(["bench", "engine", "--quick", "--no-cold-start"]) == 0
    assert calls[-1] == ("engine", {"quick": True, "arch": None, "cold_start": False})
    assert main(["bench", "alive", "--scene", "village_rules"]) == 0
    assert calls[-1][1]["scene"].endswith("village_rules.toml")
    assert suites.SUITES["engine"].sizes["steps"] == 100  # the default `bench engine --help` shows
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "engine", "--help"])
    assert "(default 100)" in capsys.readouterr().out
