"""Inference on a local Ray: actors answer as the in-process backend does, and a killed actor is replaced."""

from __future__ import annotations

import os
import signal

import pytest

from tests.paths import ROOT
from tests.sim.runs_lab import query, tw, village_variant
from tokenworld.inference.base import BackendError
from tokenworld.scene.schema import Scene
from tokenworld.sim.simulation import Simulation
from tokenworld.world.decisions import SOURCES

ray = pytest.importorskip("ray", reason="Ray is the `cluster` extra")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray with 2 CPUs for the module (as the backend would start without `ray_address`)."""
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def village(**mind) -> Scene:
    sc = Scene.load(ROOT / "scenes" / "village.toml")
    for k, v in {"reflect_every": 0, **mind}.items():
        setattr(sc.mind, k, v)
    return sc


def decisions(scene: Scene, ticks: int, *, kill_at: int | None = None) -> tuple[list[tuple], object]:
    """(tick, agent, action, target, item, source) of every decision of a lockstep run, and its backend."""
    sim = Simulation(scene, seed=5).build()
    rows = []
    try:
        for _ in range(ticks):
            r = sim.step()
            if kill_at is not None and r.tick == kill_at:
                os.kill(sim.worker.backend.pids[0], signal.SIGKILL)
            d = r.decisions
            if d is not None:
                cols = (d.agent, d.action, d.target, d.item, d.source)
                rows += [(r.tick, *row) for row in zip(*(c.tolist() for c in cols), strict=True)]
        return rows, sim.worker.backend
    finally:
        sim.close()


@pytest.mark.slow
def test_a_lockstep_run_through_two_actors_equals_the_in_process_run():
    """The embedded model on two Ray actors decides exactly as in-process; both actors answered."""
    here, _ = decisions(village(backend="llama_cpp"), 30)
    there, backend = decisions(village(backend="ray", ray_backend="llama_cpp", ray_actors=2), 30)
    assert there == here
    assert sum(1 for r in there if r[-1] == SOURCES.index("model")) >= 10
    assert min(backend.answered_by) > 0 and len(set(backend.pids)) == 2


def test_a_killed_actor_is_replaced_and_no_decision_is_lost_or_doubled():
    """An actor killed by its process id mid-run is started again; the run's decisions equal an unbroken run."""
    scene = village(backend="ray", ray_backend="rules", ray_actors=2)
    unbroken, _ = decisions(scene, 30)
    broken, backend = decisions(scene, 30, kill_at=12)
    assert backend.replaced >= 1
    assert broken == unbroken
    assert len({r[:2] for r in broken}) == len(broken)  # one decision per agent and tick


def test_requests_travel_packed_and_arrive_whole():
    """A request with blocks sends its personal text once; the actor's side gets back an equal request."""
    import pickle

    from tokenworld.inference.ray_pool import packed, unpacked
    from tokenworld.mind.protocol import Request

    shared = "the world. " * 200
    batch = [
        Request(agent=i, tick=3, kind="decide", shared=shared, personal=f"Ada {i}. Hungry.", options=["eat", "rest"],
                talk=[False, False], blocks=(("persona", f"Ada {i}. "), ("needs", "Hungry.")))
        for i in range(3)
    ] + [
        Request(agent=9, tick=3, kind="decide", shared=shared, personal="no blocks", options=["idle"], talk=[False]),
    ]  # fmt: skip
    sent = pickle.dumps(packed(batch))
    assert len(sent) < len(pickle.dumps(batch)) and sent.count(shared.encode()) == 1
    back = unpacked(pickle.loads(sent))
    assert [(r.personal, r.prompt, r.blocks, r.cache_key) for r in back] == [
        (r.personal, r.prompt, r.blocks, r.cache_key) for r in batch
    ]


def test_a_bad_inner_backend_is_a_clear_error():
    """An actor whose backend cannot start says why, through the ray backend's error."""
    scene = village(backend="ray", ray_backend="llama_cpp", ray_actors=1, model="no/such/model.gguf")
    with pytest.raises(BackendError, match="could not start their llama_cpp backend"):
        Simulation(scene, seed=5).build()


@pytest.mark.slow
def test_the_decisions_table_records_which_actor_answered(tmp_path):
    """`tokenworld run` through two Ray actors: every model decision names its actor, and both actors served."""
    scene = village_variant(
        tmp_path,
        "ray",
        '[sim]\nticks = 25\n[mind]\nbackend = "ray"\nray_backend = "llama_cpp"\nray_actors = 2\nreflect_every = 0\n',
    )
    r = tw("run", str(scene), "--runs-dir", str(tmp_path / "runs"), "--name", "r", "--no-progress")
    assert r.returncode == 0, r.stderr
    rows = query(tmp_path / "runs" / "r" / "run.sqlite", "SELECT source, replica FROM decisions")
    model = [replica for source, replica in rows if source == "model"]
    assert model and set(model) == {0, 1}
    assert all(replica is None for source, replica in rows if source != "model")
