"""Sweep files: expanding a grid and variants into runs, and a clear error naming the key for every mistake."""

from __future__ import annotations

import sys

import pytest

from tests.sim.runs_lab import tw
from tokenworld.errors import RunError, SweepError
from tokenworld.inference.base import BackendError
from tokenworld.sim.store import lock_folder
from tokenworld.sweep import load_sweep, run_sweep
from tokenworld.sweep.summary import columns


def sweep_file(tmp_path, text: str, name: str = "s.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_grid_variants_and_seeds_expand_into_runs(tmp_path):
    path = sweep_file(
        tmp_path,
        """
[sweep]
scene = "village_rules"
ticks = 50
seeds = 2
[grid]
agents = [10, 20]
"groups.*.traits.extraversion.mean" = [0.2, 0.9]
[[variants]]
name = "calm"
"economy.hunger_rate" = 0.0001
[[variants]]
name = "farm_heavy"
"groups.farmers.count" = 30
"mind.decide_every" = 7
""",
    )
    sweep = load_sweep(path)
    assert len(sweep.runs) == 2 * 2 * 2 * 2  # variants x agents x extraversion x seeds
    assert sweep.columns == ["variant", "economy.hunger_rate", "agents", "groups.*.traits.extraversion.mean",
                             "groups.farmers.count", "mind.decide_every"]  # fmt: skip
    names = [r.name for r in sweep.runs]
    assert len(set(names)) == len(names) and names == [r.name for r in load_sweep(path).runs]  # stable
    run = next(r for r in sweep.runs if r.values.get("variant") == "farm_heavy" and r.values["agents"] == 20)
    assert run.scene.agent_count == 20 and run.scene.mind.decide_every == 7
    assert all(
        g.traits["extraversion"].mean == run.values["groups.*.traits.extraversion.mean"] for g in run.scene.groups
    )
    calm = next(r for r in sweep.runs if r.values.get("variant") == "calm")
    assert calm.scene.economy.hunger_rate == 0.0001 and calm.scene.mind.decide_every != 7
    assert {r.seed for r in sweep.runs} == {1, 2}
    assert columns(sweep).count("agents") == 1  # a varied key that is also a figure is one column


@pytest.mark.parametrize(
    "text, named",
    [
        ('[sweep]\nscene = "village_rules"\n[gird]\nagents = [1]', "'gird'"),
        ('[sweep]\nscene = "village_rules"\nseed = [1]', "did you mean 'seeds'"),
        ("[sweep]\nticks = 5", "scene"),
        ('[sweep]\nscene = "no_such_scene"', "no_such_scene"),
        ('[sweep]\nscene = "village_rules"\nticks = -1', "ticks"),
        ('[sweep]\nscene = "village_rules"\nseeds = [1, 1]', "seeds"),
        ('[sweep]\nscene = "village_rules"\nparallel = "two"', "parallel"),
        ('[sweep]\nscene = "village_rules"\n[grid]\nagents = 10', "agents"),
        ('[sweep]\nscene = "village_rules"\n[grid]\n"mind.bakend" = ["rules"]', "mind.bakend"),
        ('[sweep]\nscene = "village_rules"\n[grid]\n"mnid.backend" = ["rules"]', "did you mean 'mind'"),
        ('[sweep]\nscene = "village_rules"\n[grid]\n"mind.decide_every" = [5, 0]', "mind.decide_every"),
        ('[sweep]\nscene = "village_rules"\n[grid]\n"groups.bakers.count" = [3]', "'bakers'"),
        ('[sweep]\nscene = "village_rules"\n[grid]\n"groups.count" = [3]', "groups.count"),
        ('[sweep]\nscene = "village_rules"\n[grid]\nagents = ["many"]', "agents"),
        ('[sweep]\nscene = "village_rules"\n[[variants]]\nname = "a b"', "variants[0].name"),
        ('[sweep]\nscene = "village_rules"\nname = "../up"', "name"),
        ("[sweep\nscene = 1", "not valid TOML"),
    ],
)
def test_bad_sweep_file_names_what_is_wrong(tmp_path, text, named):
    with pytest.raises(SweepError) as err:
        load_sweep(sweep_file(tmp_path, text))
    assert named in str(err.value) and "s.toml" in str(err.value)


def test_bad_sweep_file_on_the_command_line(tmp_path):
    """The command says what is wrong in one message (exit 2), no traceback, and makes no folder."""
    path = sweep_file(tmp_path, '[sweep]\nscene = "village_rules"\n[grid]\n"mind.decide_every" = [5, -3]')
    out = tw("sweep", str(path), "--runs-dir", str(tmp_path / "runs"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "mind.decide_every" in out.stderr and out.stderr.startswith("error:")
    assert not (tmp_path / "runs").exists()
    listed = tw("sweep", "sweep_village", "--check")
    assert listed.returncode == 0 and "8 runs of village_rules" in listed.stdout
    assert tw("run", "sweep_village").stderr.count("tokenworld sweep sweep_village") == 1


def test_a_busy_sweep_folder_is_not_run_twice(tmp_path):
    path = sweep_file(tmp_path, '[sweep]\nname = "busy"\nscene = "village_rules"\nticks = 5')
    folder = tmp_path / "runs" / "sweeps" / "busy"
    folder.mkdir(parents=True)
    held = lock_folder(folder, what="that sweep")
    try:
        with pytest.raises(RunError, match="that sweep"):
            run_sweep(path, runs_dir=tmp_path / "runs")
    finally:
        held.close()


def test_without_ray_the_message_names_the_extra(tmp_path, monkeypatch):
    from tokenworld.inference.ray_pool import connect

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as it does where the extra is missing
    with pytest.raises(BackendError, match=r"tokenworld\[cluster\]"):
        connect("", what="tokenworld sweep")
