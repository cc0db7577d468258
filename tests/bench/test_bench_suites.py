"""`tokenworld bench all` and its suites at quick sizes: every field measured, one JSON, a report, the plots."""

from __future__ import annotations

import json
import math

import pytest

from tests.bench.bench_lab import suite_report
from tokenworld.bench.suites import SUITES, run_all, run_suite, suite_sizes
from tokenworld.errors import TokenWorldError

PNG = b"\x89PNG\r\n\x1a\n"


def number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def test_registry_names_every_suite_with_default_and_quick_sizes():
    """One registry holds every suite, and quick sizes are smaller than the defaults (no model case in the viewer)."""
    assert list(SUITES) == ["engine", "world", "inference", "viewer", "alive", "record", "assets", "steering", "mesa"]
    for name, suite in SUITES.items():
        assert suite.about and suite.sizes and suite.quick, name
        full, quick = suite_sizes(name), suite_sizes(name, quick=True)
        if name == "inference":
            assert quick["requests"] < full["requests"] and max(quick["batch_sizes"]) < max(full["batch_sizes"])
        elif name == "alive":
            assert quick["seconds"] < full["seconds"] and quick["runs"] <= full["runs"]
        elif name == "assets":
            assert quick["seeds"] < full["seeds"] and quick["hits"] < full["hits"]
        elif name == "steering":
            assert quick["personas"] < full["personas"] and quick["situations"] == 1
        else:
            assert max(quick["agents"]) < max(full["agents"]), name
    assert suite_sizes("viewer", quick=True)["model_at"] == [] and suite_sizes("viewer")["model_at"]


def test_every_registered_size_has_a_flag():
    """Each suite's command can set every keyword its sizes and quick sizes set, with one flag per keyword."""
    for name, suite in SUITES.items():
        keys = [f.key for f in suite.flags]
        flags = [f.flag for f in suite.flags]
        assert len(set(keys)) == len(keys) and len(set(flags)) == len(flags), name
        missing = (set(suite.sizes) | set(suite.quick)) - set(keys)
        assert not missing, (name, missing)
        assert all(f.flag.startswith("--") and f.help for f in suite.flags), name


def test_engine_report_has_every_field(quick_all):
    """Engine: ms per step, p95, each stage and agent-steps/s, measured at every quick size."""
    r = suite_report(quick_all, "engine")
    assert r["arch"] == quick_all[0]["machine"]["taichi_arch"]
    assert [row["agents"] for row in r["results"]] == suite_sizes("engine", quick=True)["agents"]
    for row in r["results"]:
        for key in (
            "ms_per_step",
            "p95_ms_per_step",
            "hash_ms",
            "perception_ms",
            "motion_ms",
            "zones_ms",
            "move_and_zones_ms",
            "agent_steps_per_s",
            "setup_s",
            "world_side_m",
        ):
            assert number(row[key]) and row[key] > 0, (key, row)
        assert row["p95_ms_per_step"] >= row["ms_per_step"]


def test_world_report_has_every_field_and_the_game(quick_all):
    """World: per-stage ms per tick, recorder overhead, and guess-the-average at 1,000 and 64,000 participants."""
    r = suite_report(quick_all, "world")
    for row in r["results"]:
        for key in (
            "tick_ms",
            "engine_ms",
            "world_ms",
            "rules_ms",
            "brain_ms",
            "metrics_ms",
            "rules_and_brain_ms",
            "tick_ms_with_recorder",
            "recorder_overhead",
            "decisions_per_tick",
        ):
            assert number(row[key]), (key, row)
        assert row["tick_ms"] > 0 and row["decisions_per_tick"] > 0
    game = {g["participants"]: g for g in r["game"]}
    assert set(game) == {1000, 64000}
    assert all(number(g["round_s"]) and g["round_s"] > 0 for g in game.values())
    assert game[1000]["published_round_s"] == 4.0 and game[1000]["speedup_vs_published"] > 0
    assert game[64000]["published_round_s"] is None  # nothing published at that size


def test_inference_report_has_one_at_a_time_batched_and_the_batch_sweep(quick_all):
    """Inference: decisions/s one at a time and batched, the speedup, and decisions/s at each swept batch size."""
    r = suite_report(quick_all, "inference", may_skip=True)
    assert r["model"] and r["backend"] == "llama_cpp"
    for entry in (r["batched"], r["sequential_same_backend"]):
        assert entry["decisions"] == suite_sizes("inference", quick=True)["requests"]
        assert number(entry["decisions_per_s"]) and entry["decisions_per_s"] > 0 and entry["failed"] == 0
    assert number(r["speedup_same_backend"]) and r["speedup_same_backend"] > 0
    sweep = r["batch_sweep"]
    assert [s["batch_size"] for s in sweep] == list(suite_sizes("inference", quick=True)["batch_sizes"])
    for s in sweep:
        assert number(s["decisions_per_s"]) and s["decisions_per_s"] > 0
        assert 1 <= s["mean_batch"] <= s["batch_size"]
    assert "batched_together" not in r["modes"]["score"]  # quick mode leaves the realtime way out


def test_inference_report_scores_right_choices_by_way_of_deciding(quick_all):
    """Inference: right choices on a few hand-labelled situations and variety, for the rules brain and score mode
    at each quick prior weight (0, the model alone, and the default), beside decisions/s; in the Markdown report."""
    from tokenworld.scene.schema import MindOptions

    r = suite_report(quick_all, "inference", may_skip=True)
    c = r["choices"]
    quick = suite_sizes("inference", quick=True)
    assert c["situations"] == quick["situations"] and c["in_set"] >= 60 and sum(c["kinds"].values()) == c["situations"]
    assert [(row["backend"], row["prior_weight"]) for row in c["rows"]] == [
        ("rules", None),
        *(("llama_cpp", w) for w in quick["prior_weights"]),
    ]
    assert [row["prior_weight"] for row in c["rows"] if row["default"]] == [MindOptions().prior_weight]
    assert c["default_prior_weight"] == MindOptions().prior_weight
    for row in c["rows"]:
        assert 0 <= row["right_share"] <= 1 and row["right"] == round(row["right_share"] * c["situations"])
        assert set(row["right_by_kind"]) == set(c["kinds"]) and row["failed"] == 0
        assert number(row["decisions_per_s"]) and row["decisions_per_s"] > 0
        v = row["variety"]
        assert (
            v["action_entropy_bits"] >= 0
            and 0 <= v["archetype_spread"] <= 1
            and 0 <= v["differs_from_rules_share"] <= 1
        )
    assert c["rows"][0]["variety"]["differs_from_rules_share"] == 0  # the rules brain is its own best option
    comp = quick_all[0]["comparisons"]["inference"]
    assert {"right_share_model_alone", "right_share_default_prior", "right_share_rules"} <= set(comp)
    assert "right choices on the hand-labelled situations" in (quick_all[1] / "report.md").read_text()


def test_viewer_report_has_frame_times_without_the_model_case(quick_all):
    """Viewer: frame time median, p95 and FPS per size and case; quick mode skips the slow model case."""
    r = suite_report(quick_all, "viewer", may_skip=True)
    quick = suite_sizes("viewer", quick=True)
    cases = {(row.get("scene", "town"), row["agents"], row["case"]) for row in r["rows"]}
    towns = {("town", n, c) for n in quick["agents"] for c in ("render", "sim")}
    assert quick["scenes"] == ["village_rules"]
    assert cases == towns | {("village_rules", 25, c) for c in ("render", "sim")}
    for row in r["rows"]:
        for key in ("frame_ms_median", "frame_ms_p95", "fps"):
            assert number(row[key]) and row[key] > 0, (key, row)
        assert row["frames"] >= suite_sizes("viewer", quick=True)["frames"]


def test_assets_report_has_every_category_and_the_cache_hit(quick_all):
    """Assets: median ms, triangles and GLB bytes for every category, organic apart, a cache hit; in the report."""
    from tokenworld.assetgen import CATEGORIES

    r = suite_report(quick_all, "assets")
    assert sorted(row["category"] for row in r["results"]) == sorted(CATEGORIES)
    for row in r["results"]:
        assert row["read_as"] == row["category"] and row["median_ms"] > 0 and row["triangles"] > 0
        assert row["glb_bytes"] > 0 and row["lod1_triangles"] <= row["triangles"]
    assert r["organic_median_ms"] > 0 and r["cache_hit_median_ms"] > 0 and r["slowest_category"] in CATEGORIES
    assert "ms per asset (text to GLB bytes)" in (quick_all[1] / "report.md").read_text()


def test_steering_report_has_both_traits_and_ways(quick_all):
    """Steering: for extraversion (talk) and agreeableness (give), the prompt-only and steered effects, valid
    answers and decisions/s; in the report."""
    r = suite_report(quick_all, "steering")
    assert {t: e["target"] for t, e in r["traits"].items()} == {"extraversion": "talk", "agreeableness": "give"}
    for e in r["traits"].values():
        assert e["items"] >= 1 and set(e["ways"]) == {"prompt only", "steered x2"}
        for w in e["ways"].values():
            assert 0 <= w["p_high"] <= 1 and 0 <= w["p_low"] <= 1 and number(w["effect_pp"])
            assert w["valid_first"] == 1.0 and w["decisions_per_s"] > 0
    t = r["together"]
    assert t["requests"] == 4 and t["unsteered"]["decisions_per_s"] > 0 and t["steered"]["decisions_per_s"] > 0
    assert "effect of the trait on its target option" in (quick_all[1] / "report.md").read_text()


def test_mesa_suite_in_the_run(quick_all):
    """Mesa: both sides' ms per step and the ratio at every quick size (skipped with a reason without Mesa)."""
    r = suite_report(quick_all, "mesa", may_skip=True)
    for row in r["results"]:
        assert row["mesa_ms_per_step"] > 0 and row["tokenworld_ms_per_step"] > 0 and row["ratio"] > 0


def test_run_all_describes_the_machine_once_and_compares(quick_all):
    """The results file: the machine (arch, model) once, every suite, the side-by-side ratios, the plots named."""
    out = quick_all[0]
    m = out["machine"]
    assert m["cores"] >= 1 and m["taichi_arch"] in ("cpu", "cuda", "vulkan") and m["cpu"]
    assert all("machine" not in rep for rep in out["suites"].values())
    assert set(out["suites"]) == set(SUITES) and out["quick"] is True and out["wall_s"] > 0
    game = {g["participants"]: g for g in out["comparisons"]["guess_the_average"]["rows"]}
    assert set(game) == {1000, 64000}
    assert all(g["ratio"] > 0 and g["published_round_s"] == 4.0 for g in game.values())
    assert "16 cores" in out["comparisons"]["guess_the_average"]["published"]["source"]
    if "skipped" not in out["suites"]["inference"]:
        assert m["inference"]["backend"] == "llama_cpp" and m["inference"]["model"]
        assert out["comparisons"]["inference"]["speedup_same_backend"] > 0
    if "skipped" not in out["suites"]["mesa"]:
        assert all(r["ratio"] > 0 for r in out["comparisons"]["mesa"]["rows"])


def test_run_all_writes_the_report_and_plots_beside_it(quick_all):
    """The Markdown report has a section per suite, the comparisons and links to PNGs that exist beside it."""
    out, folder = quick_all
    text = (folder / "report.md").read_text()
    assert "Quick mode" in text and "## Machine" in text and "## Side by side" in text
    for name in SUITES:
        assert f"## {name}" in text
    assert set(out["plots"]) >= {"engine", "world"}
    for name, file in out["plots"].items():
        png = folder / file
        assert f"]({file})" in text
        assert png.read_bytes()[:8] == PNG and png.stat().st_size > 5000, name
    expected = {"engine", "world"} | {
        n for n in ("inference", "viewer", "mesa") if "skipped" not in out["suites"][n]
    }  # alive: no plot
    assert set(out["plots"]) == expected


def test_run_all_subset_and_bad_paths(tmp_path):
    """A subset of suites runs alone; unknown suites and unwritable paths are errors that say what to do."""
    out = run_all(json_path=str(tmp_path / "sub" / "r.json"), quick=True, suites=["world"])
    assert list(out["suites"]) == ["world"] and (tmp_path / "sub" / "r.json").is_file()
    assert (tmp_path / "sub" / "r-world.png").is_file()  # plots beside the JSON when there is no report
    with pytest.raises(TokenWorldError, match="unknown benchmark suite 'physics'"):
        run_all(json_path=str(tmp_path / "x.json"), suites=["physics"])
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(TokenWorldError, match="cannot write"):
        run_all(json_path=str(blocker / "r.json"), quick=True, suites=["world"])
    with pytest.raises(TokenWorldError, match="--report"):
        run_all(json_path=str(tmp_path / "r.json"), report_path=str(blocker / "r.md"), quick=True, suites=["world"])
    with pytest.raises(TokenWorldError, match="same file"):
        run_all(json_path=str(tmp_path / "r.json"), report_path=str(tmp_path / "r.json"), quick=True)
    with pytest.raises(TokenWorldError, match="unknown benchmark suite"):
        run_suite("nope")


def test_run_suite_takes_overrides(tmp_path):
    """A registered suite runs at its quick sizes with overrides and writes its own JSON."""
    path = tmp_path / "engine.json"
    report = run_suite("engine", quick=True, agents=[300], json_path=str(path))
    assert [r["agents"] for r in report["results"]] == [300]
    assert json.loads(path.read_text())["results"][0]["ms_per_step"] == report["results"][0]["ms_per_step"]
