"""`tokenworld analyze`: every plot from short real runs, the empty run, a run still being written, and user mistakes.

Runs are real `python -m tokenworld run` subprocesses: the shipped village
(rules brain, 25 agents) for 120 ticks with a snapshot every 20 ticks, the
guess-the-average game with 50 players for 4 rounds, a run of 0 ticks, and
(marked slow) the village decided by the embedded language model.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.paths import ROOT
from tests.sim.runs_lab import VILLAGE, query, small_village, tw, village_variant
from tokenworld.analysis.prices import PriceTableError
from tokenworld.analysis.report import analyze
from tokenworld.errors import RunError, TokenWorldError
from tokenworld.scene.schema import Scene

TICKS, SNAPSHOT_EVERY = 120, 20
VILLAGE_PLOTS = {"actions", "activity", "needs", "trade", "social", "traits"}
IMG = re.compile(r'<img src="([^"]+)"')


def run_cli(*args: str, timeout: float = 300) -> None:
    r = tw("run", *args, "--no-progress", timeout=timeout)
    assert r.returncode == 0, r.stderr


def headline(summary: str, label: str) -> str:
    """The value of `label` in summary.md's headline table."""
    m = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", summary, re.MULTILINE)
    assert m, f"no {label!r} row in:\n{summary}"
    return m.group(1)


def assert_real_png(path: Path) -> None:
    """`path` is a PNG that decodes to a picture with something drawn on it (not one flat colour)."""
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    img = imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300, (path, img.shape)
    rgb = img[..., :3].reshape(-1, 3)
    assert rgb.std(axis=0).max() > 0.05, f"{path} is (nearly) uniform"
    assert (rgb.min(axis=1) < 0.9).mean() > 0.01, f"{path} is nearly blank"
    assert len(np.unique((rgb * 255).astype(np.uint8), axis=0)) > 8, f"{path} has too few colours"


# ------------------------------------------------------------------ runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def village(runs, tmp_path_factory) -> Path:
    """A finished 120-tick run of the village (rules brain), a snapshot every 20 ticks."""
    scene = small_village(
        tmp_path_factory.mktemp("scenes"), name="small", ticks=TICKS, checkpoint_every=60, snapshot_every=SNAPSHOT_EVERY
    )
    run_cli(str(scene), "--runs-dir", str(runs), "--name", "village")
    return runs / "village"


@pytest.fixture(scope="module")
def village_report(village, tmp_path_factory) -> Path:
    """The village's report, written once (the tests below read it)."""
    return analyze(village, out_dir=tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def game(runs) -> Path:
    """Guess the average with 50 players, 4 rounds of 10 ticks."""
    run_cli(
        str(ROOT / "scenes" / "guess_average.toml"),
        "--agents",
        "50",
        "--ticks",
        "40",
        "--runs-dir",
        str(runs),
        "--name",
        "game",
    )
    return runs / "game"


# ------------------------------------------------------------------ the village


def test_village_report_has_every_plot(village_report):
    """Every plot of a village run exists and is a real picture; the model and game plots are left out with a reason."""
    out = village_report.parent
    assert {p.stem for p in out.glob("*.png")} == VILLAGE_PLOTS
    for key in VILLAGE_PLOTS:
        assert_real_png(out / f"{key}.png")
    page = village_report.read_text()
    assert "No plot: no language model in this run" in page
    assert "No plot: this scene plays no game" in page


def test_html_references_every_png(village_report):
    """report.html shows every PNG beside it, by relative path, and lists no image that is missing."""
    out = village_report.parent
    page = village_report.read_text()
    srcs = IMG.findall(page)
    assert sorted(srcs) == sorted(p.name for p in out.glob("*.png"))
    assert all("/" not in s for s in srcs)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    summary = (out / "summary.md").read_text()
    for name in srcs:
        assert f"({name})" in summary, name


def test_summary_has_the_headline_figures(village, village_report):
    """summary.md states the run, agents, ticks, status and the counts the store holds."""
    summary = (village_report.parent / "summary.md").read_text()
    db = village / "run.sqlite"
    assert headline(summary, "Run").startswith("village ")
    assert headline(summary, "Status") == "finished"
    assert headline(summary, "Agents") == "25"
    assert headline(summary, "Ticks") == f"{TICKS} of {TICKS} asked for"
    assert headline(summary, "Simulated time") == "1 min 0 s (tick of 0.5 s)"
    decisions = query(db, "SELECT count(*) FROM decisions")[0][0]
    assert headline(summary, "Decisions").startswith(f"{decisions:,} (")
    talks = query(db, "SELECT sum(talks) FROM ticks")[0][0]
    assert headline(summary, "Talks") == f"{talks:,}"
    ties = query(db, "SELECT ties FROM ticks WHERE tick = ?", (TICKS,))[0][0]
    assert headline(summary, "Ties at the end") == f"{ties:,}"
    assert "Cost per agent-hour" not in summary


def test_agents_table_holds_the_agents_the_run_drew(village):
    """The `agents` table written at build time holds the traits, groups and names the run's World drew."""
    from tokenworld.mind.personas import agent_name
    from tokenworld.sim.run_folder import RunFolder
    from tokenworld.world.agents import spawn_agents, world_rng

    manifest = json.loads((village / "manifest.json").read_text())
    scene = Scene.load(village / "scene.toml")
    drawn = spawn_agents(scene, world_rng(manifest["seed"]))
    with RunFolder.open(village) as run:
        agents = run.agents
    np.testing.assert_array_equal(agents.traits, drawn.traits)
    np.testing.assert_array_equal(agents.group, drawn.group)
    np.testing.assert_array_equal(agents.archetype, drawn.archetype)
    assert agents.name == [agent_name(i) for i in range(25)] and not agents.model.any()


# ------------------------------------------------------------------ the game, the empty run


def test_guess_plot_only_for_the_game(game, tmp_path):
    """The game's report has the convergence plot, with the rounds the store holds; it has no social or model plot."""
    report = analyze(game, out_dir=tmp_path)
    assert_real_png(tmp_path / "guess.png")
    assert not (tmp_path / "model.png").exists()
    summary = (tmp_path / "summary.md").read_text()
    rounds = query(
        game / "run.sqlite", "SELECT count(*), (SELECT average FROM rounds ORDER BY round DESC LIMIT 1) FROM rounds"
    )[0]
    assert rounds[0] == 4
    assert headline(summary, "Game rounds").startswith("4 (last average guess ")
    assert "4 rounds of 50 guesses" in report.read_text()
    by_mind = r"Round 1: target [0-9.]+; winner \d+ \((rules|random)\); rules mean [0-9.]+, median"
    assert re.search(by_mind, report.read_text())


def test_empty_run(runs, tmp_path):
    """A run of 0 ticks gets a report that says there is nothing to plot, and no PNG."""
    run_cli(str(VILLAGE), "--ticks", "0", "--runs-dir", str(runs), "--name", "empty")
    report = analyze(runs / "empty", out_dir=tmp_path)
    assert not list(tmp_path.glob("*.png"))
    page = report.read_text()
    assert "nothing to plot" in page and "<img" not in page
    summary = (tmp_path / "summary.md").read_text()
    assert headline(summary, "Ticks") == "0 of 0 asked for"
    assert "- none yet" in summary


def test_default_out_dir_and_stale_plots(village, tmp_path):
    """Without out_dir the report goes to run/report; a plot left out on a later report does not keep its old PNG."""
    run = tmp_path / "village"
    shutil.copytree(village, run, ignore=shutil.ignore_patterns("report"))
    (run / "report").mkdir()
    (run / "report" / "guess.png").write_bytes(b"an old plot")
    report = analyze(run)
    assert report == run / "report" / "report.html"
    assert not (run / "report" / "guess.png").exists()


# ------------------------------------------------------------------ a run still being written


def test_run_still_being_written(village, tmp_path):
    """While a process holds the run, the report says it is still running; a tick committed since is seen next time."""
    run = tmp_path / "running"
    shutil.copytree(village, run, ignore=shutil.ignore_patterns("report"))
    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(status="running", ticks_requested=1000)
    (run / "manifest.json").write_text(json.dumps(manifest))
    with open(run / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the run holds it while it writes
        analyze(run, out_dir=tmp_path / "r1")
        first = (tmp_path / "r1" / "summary.md").read_text()
        assert headline(first, "Status") == "still running"
        assert headline(first, "Ticks") == f"{TICKS} of 1,000 asked for"
        assert "The run is still going" in first
        writer = sqlite3.connect(run / "run.sqlite")  # a second writer, kept open: the tick stays in the WAL
        try:
            with writer:
                writer.execute(
                    "INSERT INTO ticks SELECT tick + 1, sim_time + 0.5, moving, mean_speed, arrived, mean_neighbours, "
                    "outside_zones, mean_hunger, mean_energy, decisions, refused, trades, talks, ties, mean_degree "
                    "FROM ticks WHERE tick = ?",
                    (TICKS,),
                )
            analyze(run, out_dir=tmp_path / "r2")
        finally:
            writer.close()
        second = (tmp_path / "r2" / "summary.md").read_text()
        assert headline(second, "Ticks") == f"{TICKS + 1} of 1,000 asked for"
    analyze(run, out_dir=tmp_path / "r3")  # nobody holds the run now: killed, not running
    third = (tmp_path / "r3" / "summary.md").read_text()
    assert headline(third, "Status").startswith("stopped without finishing")
    assert "--resume" in headline(third, "Status")


def test_live_run(tmp_path):
    """A real run analysed while it goes: the report says so, and a later report has more ticks."""
    scene = small_village(tmp_path / "scenes", name="long", ticks=100_000, checkpoint_every=0, snapshot_every=50)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tokenworld",
            "run",
            str(scene),
            "--runs-dir",
            str(tmp_path),
            "--name",
            "live",
            "--no-progress",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = tmp_path / "live" / "run.sqlite"
    try:
        deadline = time.monotonic() + 120
        while not (db.exists() and query(db, "SELECT count(*) FROM ticks")[0][0] >= 20):
            assert proc.poll() is None and time.monotonic() < deadline, "the run did not get going"
            time.sleep(0.2)
        analyze(tmp_path / "live", out_dir=tmp_path / "a")  # the run goes on while it is made
        analyze(tmp_path / "live", out_dir=tmp_path / "b")
        assert proc.poll() is None, "the run ended before the reports were made"
    finally:
        proc.kill()
        proc.wait()
    a, b = ((tmp_path / d / "summary.md").read_text() for d in "ab")
    assert headline(a, "Status") == "still running"
    ticks = [int(headline(s, "Ticks").split()[0].replace(",", "")) for s in (a, b)]
    assert 20 <= ticks[0] < ticks[1]
    assert_real_png(tmp_path / "b" / "actions.png")


# ------------------------------------------------------------------ user mistakes


def test_missing_and_wrong_folders(tmp_path):
    """A missing folder, a folder that is not a run, and a database that is no run store each say what is wrong."""
    with pytest.raises(RunError, match="no run folder at .*tokenworld run SCENE"):
        analyze(tmp_path / "nope")
    (tmp_path / "plain").mkdir()
    with pytest.raises(RunError, match="is not a run folder"):
        analyze(tmp_path / "plain")
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(VILLAGE, other / "scene.toml")
    sqlite3.connect(other / "run.sqlite").execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(RunError, match="not a Token World run store"):
        analyze(other)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_store(village, tmp_path, damage):
    """A store overwritten with junk or cut short gives a RunError naming the file, not a traceback."""
    run = tmp_path / "damaged"
    shutil.copytree(village, run, ignore=shutil.ignore_patterns("report", "run.sqlite-*"))
    db = run / "run.sqlite"
    data = db.read_bytes()
    db.write_bytes(b"this is not a database " * 400 if damage == "garbage" else data[: len(data) // 3])
    with pytest.raises(RunError, match=r"run\.sqlite.*damaged"):
        analyze(run, out_dir=tmp_path / "out")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no price table at"),
        ("[model\ninput_per_million = 0.1", "not valid TOML"),
        ("[model]\ninput_per_milion = 0.1\noutput_per_million = 0.4", "did you mean `input_per_million`"),
        (
            "[model]\ninput_per_million = -1\noutput_per_million = 0.4",
            "`model.input_per_million` must be a number of 0 or more",
        ),
        ("[model]\ninput_per_million = 0.1", "`model.output_per_million` is missing"),
        ("input_per_million = 0.1", "no `\\[model\\]` table"),
        ("x = " + "[" * 5000 + "]" * 5000, "nests arrays or tables too deeply"),
    ],
)
def test_bad_price_table(village, tmp_path, text, message):
    """A missing or wrong price table is a TokenWorldError that names the key and shows the right form."""
    path = tmp_path / "prices.toml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(PriceTableError, match=message) as err:
        analyze(village, out_dir=tmp_path / "out", prices_path=path)
    assert isinstance(err.value, TokenWorldError)
    assert "input_per_million = 0.10" in str(err.value)  # the example


def test_cli(village, tmp_path):
    """`tokenworld analyze` writes the report and names it; a wrong folder exits non-zero with one line, no trace."""
    r = tw("analyze", str(village), "--out", str(tmp_path / "cli"))
    assert r.returncode == 0, r.stderr
    assert str(tmp_path / "cli" / "report.html") in r.stderr
    r = tw("analyze", str(tmp_path / "nope"))
    assert r.returncode != 0 and "Traceback" not in r.stderr and "no run folder" in r.stderr
    prices = tmp_path / "p.toml"
    prices.write_text("[model]\noutput_per_million = 'x'\ninput_per_million = 1")
    r = tw("analyze", str(village), "--out", str(tmp_path / "cli2"), "--prices", str(prices))
    assert r.returncode != 0 and "Traceback" not in r.stderr and "output_per_million" in r.stderr


# ------------------------------------------------------------------ the language model


@pytest.mark.slow
def test_model_run(tmp_path):
    """A short run of the village with the embedded model: the model section is drawn, its cost follows the prices."""
    scene = village_variant(tmp_path / "scenes", "model", "[mind]\nreflect_every = 0\n[store]\nsnapshot_every = 20\n")
    run_cli(str(scene), "--ticks", "60", "--runs-dir", str(tmp_path), "--name", "model", timeout=900)  # 25 model minds
    prices = tmp_path / "prices.toml"
    prices.write_text('[model]\ninput_per_million = 1.5\noutput_per_million = 6.0\ncurrency = "EUR"\n')
    report = analyze(tmp_path / "model", out_dir=tmp_path / "out", prices_path=prices)
    assert_real_png(tmp_path / "out" / "model.png")
    assert 'src="model.png"' in report.read_text()
    summary = (tmp_path / "out" / "summary.md").read_text()
    inference = json.loads((tmp_path / "model" / "manifest.json").read_text())["inference"]
    model_decisions = query(tmp_path / "model" / "run.sqlite", "SELECT count(*) FROM decisions WHERE source = 'model'")[
        0
    ][0]
    assert model_decisions > 0
    assert headline(summary, "Model decisions").startswith(f"{model_decisions:,} (")
    assert headline(summary, "Tokens") == f"{inference['tokens_in']:,} in, {inference['tokens_out']:,} out"
    cost = (inference["tokens_in"] * 1.5 + inference["tokens_out"] * 6.0) / 1e6
    agent_hours = 25 * 30.0 / 3600  # every villager is model-driven; 60 ticks of 0.5 s
    value, unit = headline(summary, "Cost per agent-hour").split()[:2]
    assert unit == "EUR"
    assert float(value) == pytest.approx(cost / agent_hours, rel=5e-3)
