"""Brute-force numpy references for the spatial engine, and small helpers to build engines.

Everything is float32 and computed exactly as the engine's contract states, so
results can be compared with `np.array_equal`.
"""

from __future__ import annotations

import numpy as np

from tokenworld.engine.engine import Engine
from tokenworld.scene.schema import EngineOptions

NO_KEY = np.iinfo(np.int64).max

# cohesion, alignment, separation, personal_space, wander
DEFAULT_GROUP = (0.0, 0.0, 1.5, 1.2, 0.5)


def group_params(*rows) -> np.ndarray:
    """A (groups, 5) float32 table; the default flocking row when none is given."""
    return np.array(rows or [DEFAULT_GROUP], np.float32)


def make_engine(n, size=(100.0, 100.0), seed=0, params=None, **options) -> Engine:
    """A CPU engine with `options` as EngineOptions fields."""
    params = group_params() if params is None else params
    return Engine(n, size, EngineOptions(**options), params, seed=seed, arch="cpu")


def place(engine: Engine, pos, max_speed=1.4, group=0) -> None:
    """set_state with scalar or per-agent speed and group."""
    n = engine.n
    pos = np.asarray(pos, np.float32).reshape(n, 2)
    speed = np.broadcast_to(np.float32(max_speed), (n,)).copy()
    engine.set_state(pos, speed, np.broadcast_to(np.int32(group), (n,)).copy())


def perceive_now(engine: Engine) -> dict[str, np.ndarray]:
    """Perception of the current positions (nobody moves), in agent-id order."""
    engine.build_hash()
    engine.perceive()
    return engine.snapshot(("pos", "nbr", "nbr_n", "ent", "ent_n"))


def ref_neighbours(pos: np.ndarray, radius: float, k: int, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """For each agent the k nearest other agents with d2 <= r*r, by (d2, id); -1 padded."""
    pos = np.asarray(pos, np.float32)
    n = len(pos)
    r2 = np.float32(radius) * np.float32(radius)
    nbr = np.full((n, k), -1, np.int32)
    ids = np.arange(n, dtype=np.int64)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        dx = pos[lo:hi, 0, None] - pos[None, :, 0]
        dy = pos[lo:hi, 1, None] - pos[None, :, 1]
        d2 = dx * dx + dy * dy  # float32, same expression as the kernel
        assert d2.dtype == np.float32
        keep = d2 <= r2
        keep[np.arange(hi - lo), np.arange(lo, hi)] = False  # not oneself
        key = (d2.view(np.int32).astype(np.int64) << 32) | ids[None, :]
        key = np.where(keep, key, NO_KEY)
        kk = min(k, n)
        if kk == 0:
            continue
        best = np.sort(np.partition(key, kk - 1, axis=1)[:, :kk] if kk < n else key, axis=1)[:, :kk]
        nbr[lo:hi, :kk] = np.where(best == NO_KEY, -1, best & 0xFFFFFFFF).astype(np.int32)
    return nbr, (nbr >= 0).sum(axis=1).astype(np.int32)


def entity_edges(pos: np.ndarray, epos: np.ndarray, eradius: np.ndarray) -> np.ndarray:
    """(agents, entities) float32 edge distances sqrt(d2) - radius."""
    pos = np.asarray(pos, np.float32)
    epos = np.asarray(epos, np.float32).reshape(-1, 2)
    eradius = np.asarray(eradius, np.float32)
    dx = pos[:, 0, None] - epos[None, :, 0]
    dy = pos[:, 1, None] - epos[None, :, 1]
    return np.sqrt(dx * dx + dy * dy) - eradius[None, :]


def ref_entities(pos, epos, eradius, reach: float, ke: int) -> tuple[np.ndarray, np.ndarray]:
    """For each agent the ke entities with edge <= reach, by (edge, id); -1 padded."""
    edge = entity_edges(pos, epos, eradius)
    n, m = edge.shape
    out = np.full((n, ke), -1, np.int32)
    if m:
        keep = edge <= np.float32(reach)
        ids = np.broadcast_to(np.arange(m), edge.shape)
        masked = np.where(keep, edge, np.inf)
        order = np.lexsort((ids, masked), axis=-1)[:, :ke]  # by edge, then id
        chosen = np.take_along_axis(keep, order, axis=1)
        out[:, : order.shape[1]] = np.where(chosen, order, -1)
    return out, (out >= 0).sum(axis=1).astype(np.int32)


def assert_neighbours_match(engine: Engine, snap: dict) -> None:
    """Engine neighbours equal the brute-force reference on the snapshot's positions."""
    nbr, nbr_n = ref_neighbours(snap["pos"], engine.options.perception_radius, engine.k)
    bad = np.flatnonzero((snap["nbr"] != nbr).any(axis=1) | (snap["nbr_n"] != nbr_n))
    if len(bad):
        i = bad[0]
        raise AssertionError(
            f"{len(bad)} agents differ; agent {i} at {snap['pos'][i].tolist()}: "
            f"engine {snap['nbr'][i].tolist()} (n={snap['nbr_n'][i]}), reference {nbr[i].tolist()} (n={nbr_n[i]})"
        )
