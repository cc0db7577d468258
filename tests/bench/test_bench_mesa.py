"""`tokenworld bench mesa`: Mesa's boid flockers example against our engine, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tokenworld.bench.mesa import check_agents, run_mesa_bench
from tokenworld.errors import TokenWorldError


def test_mesa_comparison_at_100_agents(tmp_path):
    """At 100 boids and 3 steps: both sides timed, a positive ratio, the example's own parameters recorded."""
    pytest.importorskip("mesa.examples.basic.boid_flockers", reason="Mesa is not installed (extra `bench`)")
    path = tmp_path / "mesa.json"
    report = run_mesa_bench([100], steps=3, warmup=1, json_path=str(path))
    assert json.loads(path.read_text()) == json.loads(json.dumps(report))
    (row,) = report["results"]
    assert row["agents"] == 100
    for key in (
        "mesa_ms_per_step",
        "tokenworld_ms_per_step",
        "ratio",
        "mesa_p95_ms",
        "tokenworld_p95_ms",
        "mesa_mean_neighbours",
        "tokenworld_mean_neighbours",
    ):
        assert isinstance(row[key], float) and row[key] > 0, key
    assert row["ratio"] == pytest.approx(row["mesa_ms_per_step"] / row["tokenworld_ms_per_step"], rel=0.01)
    p, e = row["mesa_parameters"], row["tokenworld_parameters"]
    assert p["population_size"] == 100 and p["width"] == p["height"] == row["world_size"][0]
    assert e["perception_radius"] == p["vision"] and e["personal_space"] == p["separation"]
    assert report["example_defaults"]["vision"] == p["vision"]  # read from Mesa's example, not restated
    assert report["mesa_version"] and report["example"] == "mesa.examples.basic.boid_flockers"


@pytest.mark.parametrize("agents", [[], [0], [1000, 10**7], ["many"]])
def test_bad_agent_counts_are_errors(agents):
    """Empty, zero, huge or non-numeric agent counts raise TokenWorldError with an example of good ones."""
    with pytest.raises(TokenWorldError, match="agent count"):
        check_agents(agents)


def test_mesa_missing_says_how_to_install(tmp_path):
    """Without Mesa, `bench mesa` exits 2 naming the extra; `bench all` skips the suite with that note."""
    block = "import sys; sys.modules['mesa'] = None; "  # Mesa made unimportable in this child process only
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            block + "from tokenworld.cli import main; sys.exit(main(['bench', 'mesa', '--agents', '100']))",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "pip install" in r.stderr and "[bench]" in r.stderr and "Traceback" not in r.stderr
    out = tmp_path / "all.json"
    code = (
        block
        + f"from tokenworld.bench.suites import run_all; run_all(json_path={str(out)!r}, quick=True, suites=['mesa'])"
    )
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    skipped = json.loads(out.read_text())["suites"]["mesa"]["skipped"]
    assert "pip install" in skipped and "[bench]" in skipped
