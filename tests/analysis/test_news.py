"""How far news travels: the word-cover rule, the reach table from a real village run, and its report section.

The runs are real: the shipped rules-driven village through `Simulation`, with
the Narrator's lines said through `Simulation.send_message` and
`Simulation.announce`, recorded by the run store as `tokenworld run` records
them. The rules brain does not retell news, but it says stock phrases; one
announced fact is worded so that one of them ("Meet me at the market later.")
carries it, so the retelling path is exercised by lines a real run said.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tokenworld
from tests.analysis.test_report import assert_real_png, headline
from tests.paths import ROOT
from tests.sim.runs_lab import query
from tokenworld.analysis.news import fact_reach
from tokenworld.analysis.report import analyze
from tokenworld.mind.memory import COVER, carries, content_words, cover
from tokenworld.sim.recording import Recording
from tokenworld.sim.run_folder import RunFolder
from tokenworld.sim.simulation import Simulation

SEED = 7
QUIET_TICKS = 60  # the run without the Narrator
MAX_WAIT = 2000  # ticks to wait for a line carrying MEETING, before and after it is told
TREASURE = "The mayor hid a chest of gold coins under the old oak tree"
MEETING = "Meet everyone at the market later tonight"  # the rules brain's "Meet me at the market later." carries it


def run_until_said(sim: Simulation, rec, fact: str) -> None:
    """Step `sim` (recording every tick) until an agent says a line carrying `fact`, then 10 ticks more."""
    for _ in range(MAX_WAIT):
        r = sim.run(1, on_tick=rec)
        if any(s >= 0 and carries(text, fact) for _, s, _, text in r.messages):
            sim.run(10, on_tick=rec)
            return
    pytest.fail(f"no agent said a line carrying {fact!r} within {MAX_WAIT} ticks")


def record(runs: Path, name: str, *, tell: bool) -> tuple[Path, str, np.ndarray]:
    """A real run of the village (rules brain) into `runs/name`. With `tell`: the Narrator tells TREASURE to agent 3
    at once; once an agent has said a line that carries MEETING, the Narrator announces MEETING in the busiest zone,
    and the run goes on until MEETING is carried again. Returns the folder, that zone and who was in it."""
    scene = tokenworld.Scene.load(ROOT / "scenes" / "village_rules.toml")
    sim = Simulation(scene, seed=SEED)
    recording = Recording.create(sim, runs_dir=runs, name=name)
    zone_name, inside = "", np.zeros(0, np.int64)
    try:
        sim.build()
        recording.started()
        rec = recording.record
        if not tell:
            sim.run(QUIET_TICKS, on_tick=rec)
        else:
            sim.send_message(3, TREASURE)
            run_until_said(sim, rec, MEETING)
            zone = sim.world.engine.snapshot(("zone",))["zone"]
            busiest = int(np.bincount(zone[zone >= 0]).argmax())
            zone_name, inside = scene.zones[busiest].name, np.flatnonzero(zone == busiest)
            assert sim.announce(busiest, MEETING) == len(inside) > 1
            run_until_said(sim, rec, MEETING)
    finally:
        recording.finish("finished")
        sim.close()
    return runs / name, zone_name, inside


@pytest.fixture(scope="module")
def told(tmp_path_factory) -> tuple[Path, str, np.ndarray]:
    return record(tmp_path_factory.mktemp("runs"), "told", tell=True)


@pytest.fixture(scope="module")
def quiet(tmp_path_factory) -> Path:
    return record(tmp_path_factory.mktemp("runs"), "quiet", tell=False)[0]


# ------------------------------------------------------------------ the rule


def test_cover_counts_content_words():
    """A paraphrase keeping half of a fact's content words carries it; fewer words, or an unrelated line, do not."""
    assert content_words(TREASURE) == {"mayor", "chest", "gold", "coins", "under", "tree"}
    assert carries("I heard the mayor buried gold under a tree!", TREASURE)  # 4 of 6
    assert cover("GOLD coins, said the MAYOR", TREASURE) == pytest.approx(COVER)  # exactly half counts
    assert carries("GOLD coins, said the MAYOR", TREASURE)
    assert not carries("I heard the mayor has gold", TREASURE)  # 2 of 6
    assert not carries("Do you need any wood?", TREASURE)
    assert cover("Do you need any wood?", TREASURE) == 0.0
    assert carries("the bridge is broken", "They said that the bridge is broken")  # stop words do not count
    assert carries("Hi!", "Hi!") and not carries("Hi there", "Hi!")  # no content words: only the line itself


# ------------------------------------------------------------------ the reach table


def reference(db: Path, fact: str, zones: set[str]) -> dict[int, int]:
    """Listener -> first tick it heard `fact`, row by row from the store (the rule written out plainly)."""
    rows = query(db, "SELECT tick, speaker, listener, text FROM messages ORDER BY tick, rowid")
    told = min(t for t, s, _, text in rows if s == -1 and re.sub(r"^\[[^\]]+\] ", "", text) == fact)
    first: dict[int, int] = {}
    for tick, speaker, listener, text in rows:
        if speaker == -1:
            m = re.match(r"^\[([^\]]+)\] ", text)
            text = text[m.end() :] if m and m.group(1) in zones else text
        if tick >= told and carries(text, fact):
            first.setdefault(listener, tick)
    return first


def test_reach_from_a_real_run(told):
    """Who heard each fact and when matches the store row by row: the Narrator's listeners, then real retellings."""
    folder, zone, inside = told
    db = folder / "run.sqlite"
    with RunFolder.open(folder, snapshot=True) as run:
        facts = fact_reach(run)
    assert [f.text for f in facts] == [TREASURE, MEETING]  # in the order told; the zone prefix is stripped
    treasure, meeting = facts
    assert treasure.zones == () and meeting.zones == (zone,)
    told_tick = int(treasure.told[0, 0])
    assert treasure.told.tolist() == [[told_tick, 3]]
    assert sorted(meeting.told[:, 1].tolist()) == inside.tolist()
    for f in facts:
        want = reference(db, f.text, {zone})
        assert {int(a): int(t) for a, t in enumerate(f.first_tick) if t >= 0} == want
        assert f.reached == len(want) and f.population == 25 and f.share == pytest.approx(len(want) / 25)
        ticks, reached = f.curve()
        assert np.all(np.diff(ticks) > 0) and np.all(np.diff(reached) > 0) and reached[-1] == f.reached
        assert f.reached_within(0) == int((f.first_tick == f.told_tick).sum())
    # Nobody retells the treasure (the rules brain never says those words): only agent 3 heard it.
    assert treasure.reached == 1 and treasure.retold == 0 and treasure.first_tick[3] == told_tick
    # The meeting is carried by real lines said after it was announced; those said before do not count.
    said = query(db, "SELECT tick, speaker, listener, text FROM messages WHERE speaker >= 0 ORDER BY tick, rowid")
    carrying = [r for r in said if carries(r[3], MEETING)]
    assert any(told_tick <= t < meeting.told_tick for t, *_ in carrying)  # between the two tellings: not counted
    after = [r for r in carrying if r[0] >= meeting.told_tick]
    assert meeting.retold == len(after) > 0
    assert list(meeting.retellings) == after[: len(meeting.retellings)]


# ------------------------------------------------------------------ the report


def test_report_section(told, tmp_path):
    """With Narrator lines the report draws news.png and says who was told, the reach and the first retellings."""
    folder, zone, _ = told
    report = analyze(folder, out_dir=tmp_path)
    assert_real_png(tmp_path / "news.png")
    page = report.read_text()
    assert 'src="news.png"' in page
    with RunFolder.open(folder, snapshot=True) as run:
        treasure, meeting = fact_reach(run)
    assert f"told to Dan (3) at tick {treasure.told_tick}; reached 1 agent (4%)" in page
    assert f"announced in {zone} to" in page
    assert f"was retold in {meeting.retold} line" in page
    t, s, li, _ = meeting.retellings[0]
    assert f"tick {t}, " in page and f"({s}) -&gt; " in page and f"({li}): " in page
    best = max(treasure.reached_within(600), meeting.reached_within(600))
    summary = (tmp_path / "summary.md").read_text()
    assert headline(summary, "News reach").startswith("2 facts told by the Narrator; the farthest")
    assert f"reached {best} of 25 agents" in headline(summary, "News reach")


def test_report_without_narrator(quiet, tmp_path):
    """A run where the Narrator said nothing gets no news plot and no headline row, and the report says why."""
    assert query(quiet / "run.sqlite", "SELECT count(*) FROM messages WHERE speaker = -1")[0][0] == 0
    with RunFolder.open(quiet, snapshot=True) as run:
        assert fact_reach(run) == []
    report = analyze(quiet, out_dir=tmp_path)
    assert not (tmp_path / "news.png").exists()
    assert "No plot: the Narrator told nothing in this run" in report.read_text()
    assert "News reach" not in (tmp_path / "summary.md").read_text()
