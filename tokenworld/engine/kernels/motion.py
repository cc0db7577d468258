"""Stage 3, motion: steering (seek with arrival, wander, boundary push) and
integration; and new targets from the host."""

# No `from __future__ import annotations` here: Taichi reads the annotations as types.
import taichi as ti

from tokenworld.engine.kernels.common import (
    ARRIVED,
    F1,
    F2,
    G_WANDER,
    HAS_TARGET,
    HOLD,
    I1,
    REPORTED,
    V2,
    _atan2,
    _hash_u32,
    vec2,
)


@ti.kernel
def move(
    n: ti.i32,
    dt: ti.f32,
    tick: ti.i32,
    seed: ti.u32,
    id_of: I1,
    pos: V2,
    vel: V2,
    heading: F1,
    target: V2,
    max_speed: F1,
    flags: I1,
    group: I1,
    gparams: F2,
    force: V2,
    arrive_radius: ti.f32,
    slow_radius: ti.f32,
    max_force: ti.f32,
    margin: ti.f32,
    width: ti.f32,
    height: ti.f32,
):
    """Steer (seek with arrival, wander, boundary) and integrate one step."""
    tick_key = _hash_u32(seed ^ _hash_u32(ti.cast(tick, ti.u32) + ti.u32(0x9E3779B9)))
    for i in range(n):
        p = pos[i]
        v = vel[i]
        vmax = max_speed[i]
        fl = flags[i]
        acc = force[i]
        if fl & HAS_TARGET:
            to = target[i] - p
            dist = to.norm()
            if dist <= arrive_radius:
                fl = (fl & ~HAS_TARGET) | ARRIVED
                v = vec2(0.0)
            else:
                desired = to / dist * vmax * ti.min(1.0, dist / slow_radius)
                acc += (desired - v) * 2.0
        else:
            wander = 0.0
            if (fl & ARRIVED) == 0:
                wander = gparams[group[i], G_WANDER]
            if wander <= 0:  # no target and no wandering: come to rest instead of coasting
                acc -= v * 2.0
            else:
                # Keep going roughly the same way, turned a little at random
                # (trig-free: jitter along the perpendicular, then normalise).
                h = _hash_u32(ti.cast(id_of[i], ti.u32) ^ tick_key)
                turn = ti.cast(h & ti.u32(0xFFFF), ti.f32) * (1.0 / 65536.0) - 0.5
                sp = v.norm()
                dirv = vec2(1.0, 0.0)
                if sp > 1e-3:
                    dirv = v / sp
                else:  # standing still: any direction
                    a = ti.cast(h >> 16, ti.f32) * (6.2831853 / 65536.0)
                    dirv = vec2(ti.cos(a), ti.sin(a))
                dirv += vec2(-dirv.y, dirv.x) * turn * 1.5
                desired = dirv.normalized(1e-12) * vmax * 0.5
                acc += (desired - v) * wander
        # Push back from the world's edge.
        if p.x < margin:
            acc.x += max_force * (margin - p.x) / margin
        if p.x > width - margin:
            acc.x -= max_force * (p.x - (width - margin)) / margin
        if p.y < margin:
            acc.y += max_force * (margin - p.y) / margin
        if p.y > height - margin:
            acc.y -= max_force * (p.y - (height - margin)) / margin
        a2 = acc.norm_sqr()
        if a2 > max_force * max_force:
            acc *= max_force / ti.sqrt(a2)
        v += acc * dt
        if fl & HOLD:
            v = vec2(0.0)
        s2 = v.norm_sqr()
        if s2 > vmax * vmax:
            v *= vmax / ti.sqrt(s2)
        p += v * dt
        p.x = ti.min(ti.max(p.x, 0.0), width * (1.0 - 1e-6))
        p.y = ti.min(ti.max(p.y, 0.0), height * (1.0 - 1e-6))
        if s2 > 1e-4:
            heading[i] = _atan2(v.y, v.x)
        pos[i] = p
        vel[i] = v
        flags[i] = fl


@ti.kernel
def set_targets(
    ids: ti.types.ndarray(dtype=ti.i32, ndim=1),
    tgt: ti.types.ndarray(dtype=ti.f32, ndim=2),
    row_of: I1,
    target: V2,
    flags: I1,
):
    """Give agents `ids` new targets (rows of `tgt`); clears ARRIVED."""
    for k in range(ids.shape[0]):
        i = row_of[ids[k]]
        target[i] = vec2(tgt[k, 0], tgt[k, 1])
        flags[i] = (flags[i] | HAS_TARGET) & ~(ARRIVED | REPORTED)
