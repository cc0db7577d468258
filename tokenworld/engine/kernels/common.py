"""What every kernel module shares: array types, state flags, small Taichi functions."""

# No `from __future__ import annotations` in the kernel modules: Taichi reads the annotations as types.
import taichi as ti

vec2 = ti.math.vec2
V2 = ti.types.ndarray(dtype=vec2, ndim=1)
F1 = ti.types.ndarray(dtype=ti.f32, ndim=1)
F2 = ti.types.ndarray(dtype=ti.f32, ndim=2)
I1 = ti.types.ndarray(dtype=ti.i32, ndim=1)
I2 = ti.types.ndarray(dtype=ti.i32, ndim=2)
I64 = ti.types.ndarray(dtype=ti.i64, ndim=1)

# Agent state flags (bits of `flags`).
HAS_TARGET = 1
ARRIVED = 2
HOLD = 4  # stay put (busy with an action); forces still act, velocity is zeroed
REPORTED = 8  # the arrival was handed to the host by `collect_arrivals`

# Columns of the per-group parameter table.
G_COHESION, G_ALIGNMENT, G_SEPARATION, G_SPACE, G_WANDER = range(5)
GROUP_COLUMNS = 5

NO_KEY = 0xFFFFFFFFFFFFFFFF  # sorts after every real key


@ti.func
def _cell_xy(p, inv_cell: ti.f32, gw: ti.i32, gh: ti.i32):
    # Positions are never negative, so truncation is floor (and cheaper).
    cx = ti.min(ti.max(ti.cast(p.x * inv_cell, ti.i32), 0), gw - 1)
    cy = ti.min(ti.max(ti.cast(p.y * inv_cell, ti.i32), 0), gh - 1)
    return cx, cy


@ti.func
def _atan2(y, x):
    """atan2 to within 1e-5 rad by a minimax polynomial (libm's costs ~4x more)."""
    ax, ay = ti.abs(x), ti.abs(y)
    a = ti.min(ax, ay) / ti.max(ti.max(ax, ay), 1e-30)
    s = a * a
    r = ((-0.0464964749 * s + 0.15931422) * s - 0.327622764) * s * a + a
    if ay > ax:
        r = 1.57079637 - r
    if x < 0:
        r = 3.14159274 - r
    if y < 0:
        r = -r
    return r


@ti.func
def _key(x: ti.f32, idx: ti.i32) -> ti.u64:
    """A key that orders by the float x (any sign), then by the index idx >= 0.

    The float's bits are mapped so that unsigned order equals float order
    (negatives flipped whole, positives get the sign bit), then the index
    fills the low half: one integer compare replaces two float/int compares.
    """
    u = ti.bit_cast(x, ti.u32)
    u = ~u if u & ti.u32(0x80000000) else u | ti.u32(0x80000000)
    return (ti.cast(u, ti.u64) << ti.u64(32)) | ti.cast(idx, ti.u64)


@ti.func
def _key_value(key: ti.u64) -> ti.f32:
    """The float a `_key` was made from."""
    u = ti.cast(key >> ti.u64(32), ti.u32)
    u = u & ti.u32(0x7FFFFFFF) if u & ti.u32(0x80000000) else ~u
    return ti.bit_cast(u, ti.f32)


@ti.func
def _key_index(key: ti.u64) -> ti.i32:
    return ti.cast(key & ti.u64(0xFFFFFFFF), ti.i32)


@ti.func
def _insert(keys: ti.template(), extra: ti.template(), ck: ti.u64, ce: ti.i32):
    """Insert (ck, ce) into the ascending list `keys` (with `extra` alongside), dropping the last.

    Branchless: a chain of selects that carries the larger item onwards.
    """
    for k in ti.static(range(keys.n)):
        less = ck < keys[k]
        nk, ne = ti.select(less, ck, keys[k]), ti.select(less, ce, extra[k])
        ck, ce = ti.select(less, keys[k], ck), ti.select(less, extra[k], ce)
        keys[k], extra[k] = nk, ne


@ti.func
def _hash_u32(x: ti.u32) -> ti.u32:
    # lowbias32 (Chris Wellons): a good 32-bit integer mix.
    x ^= x >> 16
    x *= ti.u32(0x7FEB352D)
    x ^= x >> 15
    x *= ti.u32(0x846CA68B)
    x ^= x >> 16
    return x


@ti.func
def rand01(seed: ti.u32, i: ti.i32, tick: ti.i32, stream: ti.i32) -> ti.f32:
    """Counter-based uniform random number in [0, 1): same inputs, same number."""
    h = _hash_u32(
        seed ^ _hash_u32(ti.cast(i, ti.u32) ^ _hash_u32(ti.cast(tick, ti.u32) * ti.u32(4) + ti.cast(stream, ti.u32)))
    )
    return ti.cast(h >> 8, ti.f32) * (1.0 / 16777216.0)
