"""`Recording`: one run being written into its run folder, from creation (or resumption) to its end.

Every way of running a scene that records it (`tokenworld run`, the live viewer,
the recorder and the editor) goes through here, so a run folder is created,
described and finished one way::

    sim = Simulation(scene, seed=seed, arch=arch)
    sim.preflight()                                   # fails before any folder is made
    rec = Recording.create(sim, runs_dir="runs", ticks=600)
    sim.build(); rec.started()                        # the agents table, arch, build time
    sim.run(600, on_tick=rec.record)
    rec.finish("finished")                            # commits, and the manifest says how it ended

`Recording.resume(folder)` reopens a run folder at its last checkpoint instead.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

import tokenworld
from tokenworld.errors import RunError
from tokenworld.scene.schema import Scene
from tokenworld.sim.run_folder import SCENE_FILE
from tokenworld.sim.simulation import Simulation, TickResult
from tokenworld.sim.store import RunStore, default_run_name

STATUSES = ("running", "finished", "stopped", "interrupted", "failed")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class Recording:
    """A run folder being written: its store, its manifest (kept true at every step) and its simulation.

    Make one with `Recording.create` or `Recording.resume`; call `started()` once the
    simulation is built, `record(result)` for every tick (a `Simulation.run` callback),
    and `finish(status)` at the end, whatever stopped the run.
    """

    def __init__(self, sim: Simulation, store: RunStore, manifest: dict):
        self.sim = sim
        self.store = store
        self.manifest = manifest
        self._steps_ms: list[float] = []
        self._t_start = time.perf_counter()
        self._t_run: float | None = None
        self._finished = False

    @classmethod
    def create(
        cls,
        sim: Simulation,
        *,
        runs_dir: str | Path = "runs",
        name: str | None = None,
        ticks: int | None = None,
        command: list[str] | None = None,
        **describe,
    ) -> Recording:
        """Make a new run folder for `sim` (not built yet) and start its writer.

        Args:
            sim: the simulation to record; call `sim.preflight()` first so that a missing GPU or model fails
                before any folder is made.
            runs_dir: where run folders go.
            name: the folder's name (default: the scene's name and the time, unique).
            ticks: the ticks the run means to reach (default: the scene's `sim.ticks`).
            command: the command line to record (default: this process's).
            **describe: more manifest keys (e.g. `clock="realtime"`, `recorded_by="viewer"`).
        """
        scene = sim.scene
        store = RunStore.create(runs_dir, name or default_run_name(scene), scene, unique=name is None)
        manifest = {
            "tokenworld_version": tokenworld.__version__,
            "scene": scene.name,
            "scene_source": str(scene.source),
            "seed": sim.seed,
            "seed_given": sim.seed_was_given,
            "agents": scene.agent_count,
            "ticks_requested": scene.sim.ticks if ticks is None else int(ticks),
            "ticks_done": 0,
            "status": "running",
            "requested_arch": sim.requested_arch or "auto/env",
            "clock": sim.clock,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "command": command or sys.argv,
            "started_at": _now(),
            "resumes": [],
            **describe,
        }
        steering = scene.mind.steering
        if steering.vectors and sim.uses_model:  # which vectors, how strong, where: the profiles are in the store
            manifest["steering"] = {
                "vectors": steering.vectors,
                "strength": steering.strength,
                "layers": list(steering.layers),
                "levels": steering.levels,
            }
        try:
            store.write_manifest(manifest)  # before building: a run killed while it builds can still be resumed
            store.start_writer()  # in the thread that made the store: SQLite connections belong to it
        except BaseException:
            store.close()
            raise
        return cls(sim, store, manifest)

    @classmethod
    def resume(
        cls, folder: str | Path, *, ticks: int | None = None, arch: str | None = None, on_build=None
    ) -> Recording:
        """Reopen the run in `folder` at its last checkpoint, with its simulation built and restored.

        Args:
            folder: a run folder that a killed or finished run left.
            ticks: the ticks to reach in all (default: as first asked); fewer than it holds is an error.
            arch: the engine's arch for the rest of the run.
            on_build: called with the simulation just before it builds (e.g. to say that it is building).
        """
        store = RunStore.reopen(folder)
        try:
            manifest = store.manifest()
            scene = Scene.load(Path(folder) / SCENE_FILE)
            total = manifest.get("ticks_requested", scene.sim.ticks) if ticks is None else ticks
            recorded = store.conn_ticks()
            if total < recorded:
                raise RunError(
                    f"{folder} already holds {recorded} ticks; --ticks {total} would throw some away. "
                    f"Pass --ticks {recorded} or more (or leave it out to finish the run as first asked)."
                )
            sim = Simulation(scene, seed=int(manifest["seed"]), arch=arch, profile=True)
            sim.preflight()
            if on_build is not None:
                on_build(sim)
            sim.build()
            found = store.last_checkpoint()
            start = found[0] if found is not None else 0
            for tick, label, data in store.scene_edits(until=start):  # the world as the checkpoint left it
                sim.tick = tick - 1
                sim.apply_scene(Scene.from_dict(data, source=str(Path(folder) / SCENE_FILE)), label)
            sim.take_edits()  # recorded already
            if found is not None:
                sim.restore(found[1], found[2])
            else:
                sim.tick = 0
            store.truncate_after(start, agents=sim.n_agents)
            manifest.update(ticks_requested=total, status="running")
            manifest.setdefault("resumes", []).append({"from_tick": start, "at": _now()})
            store.start_writer()
        except BaseException:
            store.close()
            raise
        return cls(sim, store, manifest)

    # ------------------------------------------------------------ the run

    @property
    def folder(self) -> Path:
        return self.store.folder

    @property
    def ticks_requested(self) -> int:
        return int(self.manifest["ticks_requested"])

    def started(self) -> None:
        """The simulation is built: record its agents, arch and build time. Call it before the first tick."""
        sim = self.sim
        self.manifest["arch"] = sim.arch
        self.manifest["build_seconds"] = round(sim.build_seconds, 4)
        self.store.write_agents(sim)
        self.store.write_manifest(self.manifest)
        self._t_run = time.perf_counter()

    def record(self, result: TickResult) -> None:
        """Write one tick as the scene's `[store]` options ask (a `Simulation.run` callback).

        Checkpoints, snapshots and position tracks are added on the ticks that are
        multiples of `checkpoint_every`, `snapshot_every` and `track_every` (0: never).
        """
        opts = self.sim.scene.store

        def due(every: int) -> bool:
            return bool(every) and result.tick % every == 0

        self.store.write_tick(
            self.sim,
            result,
            checkpoint=due(opts.checkpoint_every),
            snapshot=due(opts.snapshot_every),
            track=due(opts.track_every),
        )
        self._steps_ms.append(result.step_ms)

    def finish(self, status: str) -> dict:
        """Commit what the writer holds and leave the manifest saying how the run ended; returns the manifest.

        Args:
            status: 'finished', 'stopped' (by the user, before its ticks), 'interrupted' (Ctrl-C) or 'failed'.
                A store that cannot commit makes it 'failed' and raises `RunError` after the manifest is written.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, found {status!r}")
        if self._finished:
            return self.manifest
        self._finished = True
        m = self.manifest
        error = None
        try:
            self.store.close()  # commits what the writer still holds
        except RunError as exc:
            status, error = "failed", exc
        m["status"] = status
        m["agents"] = self.sim.n_agents  # live edits may have added some
        m["ticks_done"] = self.store.conn_ticks()  # what is committed, whatever stopped the run
        m["finished_at"] = _now()
        if self.sim.worker is not None:
            m["inference"] = self.sim.mind_stats()
        if self._steps_ms and self._t_run is not None:
            run_seconds = time.perf_counter() - self._t_run
            m["timings"] = {
                "run_seconds": round(run_seconds, 4),
                "ticks_per_second": round(len(self._steps_ms) / run_seconds, 3) if run_seconds > 0 else None,
                "step_ms_median": round(float(np.median(self._steps_ms)), 4),
                "step_ms_p95": round(float(np.percentile(self._steps_ms, 95)), 4),
                "total_seconds": round(time.perf_counter() - self._t_start, 4),
            }
        self.store.write_manifest(m)
        if error is not None:
            raise error
        return m
