"""`tokenworld bench compare`: the change per figure, the regression gate, added/removed figures, bad inputs."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from tokenworld.bench.compare import compare, compare_files, figures, load_results
from tokenworld.errors import TokenWorldError


def write(path, doc) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.fixture
def results(quick_all):
    """A deep copy of the quick run's results (tests change figures in it)."""
    return copy.deepcopy(quick_all[0])


def test_identical_files_pass_and_every_figure_is_listed(results, tmp_path, capsys):
    """Two identical files: exit 0, every figure printed with no change."""
    a = write(tmp_path / "a.json", results)
    assert compare_files(a, a) == 0
    out = capsys.readouterr().out
    assert "engine/agents=500/ms_per_step" in out and "world/game/participants=1000" not in out
    assert "world/participants=1000/round_s" in out and "+0.0%" in out
    assert "0 regressed" in out
    assert len(figures(results)) > 20


def test_planted_regression_fails_and_is_printed(results, tmp_path, capsys):
    """An ms figure 50% worse: exit 1, the figure marked with its +50% change."""
    a = write(tmp_path / "a.json", results)
    row = results["suites"]["engine"]["results"][0]
    row["ms_per_step"] = row["ms_per_step"] * 1.5
    b = write(tmp_path / "b.json", results)
    assert compare_files(a, b, threshold=0.2) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if f"engine/agents={row['agents']}/ms_per_step" in ln)
    assert "+50.0%" in line and "REGRESSED" in line
    assert "1 regressed past 20%" in out
    assert compare_files(a, b, threshold=0.6) == 0  # under a looser threshold it passes


def test_higher_is_better_figures_regress_when_they_fall(results, tmp_path):
    """A rate that falls (agent-steps/s, FPS) past the threshold is a regression; one that rises is not."""
    a = write(tmp_path / "a.json", results)
    worse = copy.deepcopy(results)
    worse["suites"]["engine"]["results"][0]["agent_steps_per_s"] *= 0.5
    assert compare_files(a, write(tmp_path / "b.json", worse)) == 1
    better = copy.deepcopy(results)
    better["suites"]["engine"]["results"][0]["agent_steps_per_s"] *= 2
    better["suites"]["engine"]["results"][0]["ms_per_step"] *= 0.5
    rows = {r["figure"]: r for r in compare(results, better)}
    assert rows["engine/agents=500/agent_steps_per_s"]["status"] == "improved"
    assert rows["engine/agents=500/ms_per_step"]["status"] == "improved"
    assert compare_files(a, write(tmp_path / "c.json", better)) == 0


def test_added_and_removed_figures_are_listed_not_failures(results, tmp_path, capsys):
    """A single suite's file against a bench-all file: the suites it lacks are 'removed', not regressions."""
    engine_only = {**results["suites"]["engine"], "machine": results["machine"]}
    a = write(tmp_path / "all.json", results)
    b = write(tmp_path / "engine.json", engine_only)
    assert load_results(b)["suite"] == "engine"
    assert compare_files(a, b) == 0
    out = capsys.readouterr().out
    assert "removed" in out and "world/agents=300/tick_ms" in out
    other_size = copy.deepcopy(engine_only)
    other_size["results"][0]["agents"] = 123
    rows = {r["figure"]: r["status"] for r in compare(engine_only, other_size)}
    assert rows["engine/agents=123/ms_per_step"] == "added" and rows["engine/agents=500/ms_per_step"] == "removed"


def test_bad_inputs_are_errors_that_say_what_to_do(results, tmp_path):
    """Missing, non-JSON, non-benchmark and unknown-suite files, and a bad threshold, raise TokenWorldError."""
    good = write(tmp_path / "good.json", results)
    (tmp_path / "notes.txt").write_text("ms per step: 3\n")
    with pytest.raises(TokenWorldError, match="does not exist.*--json"):
        compare_files(str(tmp_path / "missing.json"), good)
    with pytest.raises(TokenWorldError, match="is not JSON"):
        compare_files(good, str(tmp_path / "notes.txt"))
    with pytest.raises(TokenWorldError, match="not Token World benchmark results"):
        compare_files(good, write(tmp_path / "list.json", [1, 2, 3]))
    with pytest.raises(TokenWorldError, match="not Token World benchmark results"):
        compare_files(good, write(tmp_path / "other.json", {"name": "something else"}))
    with pytest.raises(TokenWorldError, match="suite 'physics'"):
        compare_files(good, write(tmp_path / "physics.json", {"suite": "physics"}))
    with pytest.raises(TokenWorldError, match="is a folder"):
        compare_files(good, str(tmp_path))
    with pytest.raises(TokenWorldError, match="--threshold"):
        compare_files(good, good, threshold=0)


def test_compare_through_the_command(results, tmp_path):
    """`python -m tokenworld bench compare` exits 1 on a regression, 0 without, 2 on a bad file (no traceback)."""
    a = write(tmp_path / "a.json", results)
    results["suites"]["world"]["game"][0]["round_s"] *= 1.5
    b = write(tmp_path / "b.json", results)

    def tw(*args):
        return subprocess.run(
            [sys.executable, "-m", "tokenworld", "bench", "compare", *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )

    r = tw(a, b, "--threshold", "0.2")
    assert r.returncode == 1, r.stderr
    assert "REGRESSED" in r.stdout and "+50.0%" in r.stdout and "world/participants=1000/round_s" in r.stdout
    assert tw(a, a).returncode == 0
    bad = tw(a, str(tmp_path / "nothing.json"))
    assert bad.returncode == 2 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr
