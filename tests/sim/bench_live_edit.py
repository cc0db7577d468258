"""How long a live edit takes in a running 10,000-agent simulation (not a test: run it and read the figures).

    python -m tests.sim.bench_live_edit

It builds the shipped scene metropolis.toml (10,000 agents, 50 zones, 300 entities) with the rules brain, runs a
few ticks, then times, after a warm-up, the two parts of a live edit of a zone and of an entity:

- planning (`LiveSource.apply_scene`'s own work in the caller's thread: the editor's change rebased onto the
  running scene, and what applies live split from what needs a restart);
- applying (`Simulation.apply_scene` between two ticks, in the simulation's thread: engine zones or entity grid,
  economy, brain, index maps);

and adding 100 agents (the engine rebuilt at the new size with everyone's state kept). Medians and worst cases in
milliseconds; the goal for an edit is one frame at 60 fps (16 ms).
"""

from __future__ import annotations

import dataclasses
import statistics
import time

from tokenworld.scene.schema import Scene
from tokenworld.scene.shipped import shipped_scene
from tokenworld.sim.live_edit import plan_live_change, rebase
from tokenworld.sim.simulation import Simulation


def _ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _moved_zone(scene: Scene, zone: int, dx: float) -> Scene:
    x0, y0, x1, y1 = scene.zones[zone].rect
    zones = list(scene.zones)
    zones[zone] = dataclasses.replace(zones[zone], rect=(x0 + dx, y0, x1 + dx, y1))
    return dataclasses.replace(scene, zones=zones)


def _moved_entity(scene: Scene, entity: int, dx: float) -> Scene:
    ents = list(scene.entities)
    x, y = ents[entity].pos
    ents[entity] = dataclasses.replace(ents[entity], pos=(x + dx, y))
    return dataclasses.replace(scene, entities=ents)


def main(repeats: int = 40) -> None:
    scene = Scene.load(shipped_scene("metropolis.toml"))
    scene = dataclasses.replace(scene, mind=dataclasses.replace(scene.mind, backend="rules"))
    sim = Simulation(scene, seed=1, profile=False).build()
    try:
        sim.run(3)
        print(
            f"{sim.n_agents:,} agents, {len(scene.zones)} zones, {len(scene.entities)} entities, engine on {sim.arch}"
        )
        zone = next(i for i, z in enumerate(scene.zones) if z.rect is not None and z.rect[0] > 2.0)
        rows: dict[str, list[float]] = {}
        for what, edit, index in (("zone", _moved_zone, zone), ("entity", _moved_entity, 0)):
            plans, applies = [], []
            for i in range(repeats + 5):
                now = sim.scene
                after = edit(now, index, 0.5 if i % 2 else -0.5)
                plan = _ms(lambda now=now, after=after: plan_live_change(now, rebase(now, now, after)))
                apply = _ms(lambda after=after: sim.apply_scene(after, "bench"))
                sim.step()
                if i >= 5:  # warm-up done
                    plans.append(plan)
                    applies.append(apply)
            rows[f"move a {what}: plan (caller's thread)"] = plans
            rows[f"move a {what}: apply (between ticks)"] = applies
        more = dataclasses.replace(
            sim.scene, groups=[*sim.scene.groups, dataclasses.replace(sim.scene.groups[0], name="more", count=100)]
        )
        rows["add 100 agents: apply (engine rebuilt)"] = [_ms(lambda: sim.apply_scene(more, "bench"))]
        sim.step()
        for name, ms in rows.items():
            print(f"{name:45s} median {statistics.median(ms):7.2f} ms   worst {max(ms):7.2f} ms   ({len(ms)} runs)")
    finally:
        sim.close()


if __name__ == "__main__":
    main()
