"""One parametric recipe per category: what a hut, a well or a person is made of.

A recipe takes the spec (material, colour, size, parts), a random generator
seeded from the text and the seed (it varies proportions, counts and tints),
and a `Parts` to add solids to. Sizes are real (metres, before the spec's size
word scales the whole); the front faces +x.
"""

from __future__ import annotations

import math

import numpy as np
import trimesh

from tokenworld.assetgen.organic import blob
from tokenworld.assetgen.parts import RGB, Parts
from tokenworld.assetgen.spec import COLOR_RGB, MATERIAL_RGB, AssetSpec

WOOD = MATERIAL_RGB["wood"]
DARK_WOOD = (0.36, 0.24, 0.14)
STONE = MATERIAL_RGB["stone"]
THATCH = MATERIAL_RGB["thatch"]
PLASTER = (0.9, 0.86, 0.76)
ROOF_RED = (0.62, 0.26, 0.2)
GLASS = (0.2, 0.26, 0.34)
LEAF = (0.25, 0.5, 0.2)
SKIN = (0.86, 0.67, 0.52)


def _jitter(rng: np.random.Generator, rgb: RGB, amount: float = 0.06) -> RGB:
    return tuple(np.clip(np.asarray(rgb) * (1 + rng.uniform(-amount, amount, 3)), 0, 1).tolist())


def _main(spec: AssetSpec, default: RGB) -> RGB:
    """The body's colour: the colour word, else the material's, else the recipe's."""
    if spec.color:
        return COLOR_RGB[spec.color]
    return MATERIAL_RGB[spec.material] if spec.material else default


def _accent(spec: AssetSpec, default: RGB) -> RGB:
    """A part's colour that a colour word changes but a material does not (roofs, awnings)."""
    return COLOR_RGB[spec.color] if spec.color else default


def _door_and_windows(p: Parts, rng, spec: AssetSpec, w: float, d: float, h: float) -> None:
    """A door on the front (+x) wall and windows on the sides, for box-shaped buildings w (x) by d (y)."""
    p.box((0.1, 0.9, min(1.9, h * 0.7)), (w / 2, 0, 0), DARK_WOOD)
    if "windows" in spec.parts or w * d > 14:
        for side in (-1, 1):
            for k in range(max(1, int(w // 2.5))):
                x = -w / 2 + (k + 0.5) * w / max(1, int(w // 2.5))
                p.box((0.6, 0.1, 0.6), (x, side * d / 2, h * 0.5), GLASS)


def house(p: Parts, spec: AssetSpec, rng) -> None:
    w, d, h = rng.uniform(6.0, 7.0), rng.uniform(3.8, 4.4), rng.uniform(2.6, 3.0)
    p.box((w, d, h), rgb=_jitter(rng, _main(spec, PLASTER)))
    p.prism(w + 0.6, d + 0.6, rng.uniform(1.6, 2.2), (0, 0, h), _jitter(rng, _accent(spec, ROOF_RED)), yaw=math.pi / 2)
    _door_and_windows(p, rng, spec, w, d, h)
    if "chimney" in spec.parts or rng.random() < 0.6:
        p.box((0.5, 0.5, 1.8), (-w * 0.25, d * 0.25, h + 0.5), _jitter(rng, MATERIAL_RGB["brick"]))


def hut(p: Parts, spec: AssetSpec, rng) -> None:
    r, h = rng.uniform(1.6, 1.9), rng.uniform(1.4, 1.7)
    p.cylinder(r, h, rgb=_jitter(rng, _main(spec, WOOD)), sides=max(p.sides, 10))
    p.cone(r * 1.3, rng.uniform(2.6, 3.0), (0, 0, h), _jitter(rng, _accent(spec, THATCH)), sides=max(p.sides, 10))
    p.box((0.3, 0.8, 1.5), (r - 0.1, 0, 0), DARK_WOOD)


def storehouse(p: Parts, spec: AssetSpec, rng) -> None:
    w, d, h = rng.uniform(3.6, 4.2), rng.uniform(8.5, 9.5), rng.uniform(2.8, 3.2)
    p.box((w, d, h), rgb=_jitter(rng, _main(spec, WOOD)))
    p.prism(w + 0.5, d + 0.5, rng.uniform(1.8, 2.2), (0, 0, h), _jitter(rng, _accent(spec, DARK_WOOD)))
    p.box((0.1, 2.4, h * 0.75), (w / 2, 0, 0), DARK_WOOD)
    p.box((0.12, 2.6, 0.15), (w / 2 + 0.02, 0, h * 0.5), WOOD, yaw=0.0)


def hall(p: Parts, spec: AssetSpec, rng) -> None:
    w, d, h = rng.uniform(7.5, 8.5), rng.uniform(10, 11.5), rng.uniform(4.2, 4.8)
    body = _jitter(rng, _main(spec, STONE))
    p.box((w + 1.2, d + 1.2, 0.5), rgb=_jitter(rng, STONE))
    p.box((w, d, h), (0, 0, 0.5), body)
    p.prism(w + 0.8, d + 0.8, 2.6, (0, 0, h + 0.5), _jitter(rng, _accent(spec, ROOF_RED)))
    for y in np.linspace(-d / 2 + 0.6, d / 2 - 0.6, 4):
        p.cylinder(0.3, h, (w / 2 + 0.5, y, 0.5), PLASTER)
    p.box((0.1, 1.6, 2.6), (w / 2, 0, 0.5), DARK_WOOD)
    p.box((0.6, 0.6, 2.2), (0, 0, h + 2.0), body)  # a bell turret


def well(p: Parts, spec: AssetSpec, rng) -> None:
    r, h = rng.uniform(0.9, 1.1), rng.uniform(0.8, 1.0)
    wall = trimesh.creation.cylinder(radius=r, height=h, sections=max(p.sides, 12))
    shaft = trimesh.creation.cylinder(radius=r * 0.72, height=h * 1.5, sections=max(p.sides, 12))
    ring = trimesh.boolean.difference([wall, shaft], engine="manifold")  # a hollow stone ring
    ring.apply_translation((0, 0, h / 2))
    p.add(ring, _jitter(rng, _main(spec, STONE)))
    p.cylinder(r * 0.72, 0.05, (0, 0, h * 0.4), (0.15, 0.3, 0.55))  # water
    for side in (-1, 1):
        p.box((0.15, 0.15, 2.2), (0, side * r, h * 0.2), DARK_WOOD)
    p.cylinder(0.07, 2 * r + 0.3, (0, -r - 0.15, 1.8), DARK_WOOD, tilt=(-math.pi / 2, 0.0))
    p.prism(1.0, 2 * r + 0.8, 0.8, (0, 0, 2.35), _jitter(rng, _accent(spec, ROOF_RED)), yaw=math.pi / 2)
    p.frustum(0.18, 0.22, 0.3, (0, 0, 1.2), WOOD)  # the bucket


def tower(p: Parts, spec: AssetSpec, rng) -> None:
    r, h = rng.uniform(1.5, 1.9), rng.uniform(8.0, 10.0)
    body = _jitter(rng, _main(spec, STONE))
    p.frustum(r * 1.15, r, h, rgb=body, sides=max(p.sides, 10))
    if "roof" in spec.parts or rng.random() < 0.5:
        p.cone(r * 1.35, r * 1.8, (0, 0, h), _jitter(rng, _accent(spec, ROOF_RED)), sides=max(p.sides, 10))
    else:  # battlements
        for a in np.linspace(0, 2 * math.pi, 8, endpoint=False):
            p.box((0.5, 0.5, 0.6), (r * 0.9 * math.cos(a), r * 0.9 * math.sin(a), h), body, yaw=a)
    p.box((0.1, 0.9, 2.0), (r * 1.12, 0, 0), DARK_WOOD)
    p.box((0.1, 0.4, 0.7), (r * 1.05, 0, h * 0.6), GLASS)


def bridge(p: Parts, spec: AssetSpec, rng) -> None:
    length, width, rise = rng.uniform(5.5, 7.0), rng.uniform(1.6, 2.0), rng.uniform(0.8, 1.2)
    deck = _jitter(rng, _main(spec, WOOD))
    n = 6
    seg = length / n
    for k in range(n):  # an arched deck of planks
        x0, x1 = -length / 2 + k * seg, -length / 2 + (k + 1) * seg
        z = rise * math.sin(math.pi * (k + 0.5) / n)
        tilt = math.atan2(rise * (math.sin(math.pi * (k + 1) / n) - math.sin(math.pi * k / n)), seg)
        p.box((seg * 1.05, width, 0.15), ((x0 + x1) / 2, 0, z), deck, tilt=(0.0, -tilt))
    for x in (-length / 2, length / 2):
        for side in (-1, 1):
            p.box((0.25, 0.25, 0.5), (x, side * width / 2, -0.1), DARK_WOOD)
    if "rails" in spec.parts:
        for side in (-1, 1):
            for k in range(n + 1):
                x = -length / 2 + k * seg
                z = rise * math.sin(math.pi * k / n)
                p.box((0.1, 0.1, 0.9), (x, side * width / 2, z), DARK_WOOD)
            for k in range(n):
                x0 = -length / 2 + k * seg
                z0, z1 = rise * math.sin(math.pi * k / n), rise * math.sin(math.pi * (k + 1) / n)
                tilt = math.atan2(z1 - z0, seg)
                p.box((seg, 0.08, 0.08), (x0 + seg / 2, side * width / 2, (z0 + z1) / 2 + 0.85), deck, tilt=(0, -tilt))


def fence(p: Parts, spec: AssetSpec, rng) -> None:
    length, h = rng.uniform(3.5, 4.5), rng.uniform(1.0, 1.3)
    wood = _jitter(rng, _main(spec, WOOD))
    posts = int(rng.integers(4, 6))
    for y in np.linspace(-length / 2, length / 2, posts):
        p.box((0.14, 0.14, h), (0, y, 0), DARK_WOOD)
    for z in (h * 0.35, h * 0.75):
        p.box((0.06, length + 0.2, 0.12), (0.08, 0, z), wood)


def stall(p: Parts, spec: AssetSpec, rng) -> None:
    w, d = rng.uniform(2.2, 2.8), rng.uniform(1.4, 1.8)
    wood = _jitter(rng, _main(spec, WOOD))
    p.box((d * 0.5, w, 0.95), (d * 0.2, 0, 0), wood)  # the counter
    for x in (-d / 2, d / 2):
        for y in (-w / 2, w / 2):
            p.box((0.1, 0.1, 2.3 if x > 0 else 2.0), (x, y, 0), DARK_WOOD)
    cloth = _accent(spec, tuple(rng.choice(list(COLOR_RGB.values())[:6])))
    tilt = math.atan2(0.3, d)
    stripes = 6 if "striped" in spec.parts or rng.random() < 0.5 else 1
    for k in range(stripes):  # the awning, sloping down to the back
        y = -w / 2 + (k + 0.5) * w / stripes
        rgb = cloth if k % 2 == 0 else (0.95, 0.93, 0.88)
        p.box((d + 0.5, w / stripes, 0.05), (0.05, y, 2.15), rgb, tilt=(0.0, tilt))
    for k in range(int(rng.integers(2, 5))):  # wares on the counter
        y = -w / 2 + 0.4 + k * (w - 0.8) / 3
        p.blob(0.15, (d * 0.2, y, 1.08), tuple(rng.choice([(0.85, 0.3, 0.2), (0.9, 0.7, 0.2), (0.4, 0.6, 0.25)])))


def cart(p: Parts, spec: AssetSpec, rng) -> None:
    length, w = rng.uniform(2.0, 2.6), rng.uniform(1.2, 1.5)
    wood = _jitter(rng, _main(spec, WOOD))
    r = rng.uniform(0.45, 0.55)
    p.box((length, w, 0.5), (0, 0, r + 0.05), wood)
    for side in (-1, 1):
        p.cylinder(r, 0.12, (0, side * (w / 2 + 0.12), r), DARK_WOOD, tilt=(math.pi / 2, 0.0), sides=max(p.sides, 12))
        p.box((1.6, 0.08, 0.08), (length / 2 + 0.8, side * w * 0.3, r + 0.1), DARK_WOOD)
    if rng.random() < 0.6:
        p.blob((length * 0.35, w * 0.35, 0.3), (0, 0, r + 0.55), THATCH)  # a load of hay


def bench(p: Parts, spec: AssetSpec, rng) -> None:
    length = rng.uniform(1.6, 2.2)
    wood = _jitter(rng, _main(spec, WOOD))
    p.box((0.45, length, 0.08), (0, 0, 0.45), wood)
    for y in (-length / 2 + 0.15, length / 2 - 0.15):
        p.box((0.4, 0.08, 0.45), (0, y, 0), DARK_WOOD)
    if rng.random() < 0.7:
        p.box((0.06, length, 0.4), (-0.2, 0, 0.55), wood)  # a back


def crate(p: Parts, spec: AssetSpec, rng) -> None:
    wood = _jitter(rng, _main(spec, WOOD))
    if "barrel" in spec.parts:
        r, h = rng.uniform(0.35, 0.42), rng.uniform(0.9, 1.05)
        p.revolve([(0, 0), (r * 0.85, 0), (r, h / 2), (r * 0.85, h), (0, h)], rgb=wood, sides=max(p.sides, 10))
        return
    s = rng.uniform(0.7, 0.9)
    p.box((s, s, s), rgb=wood)
    for z in (0.05, s - 0.1):
        p.box((s + 0.04, s + 0.04, 0.1), (0, 0, z), DARK_WOOD)


def crops(p: Parts, spec: AssetSpec, rng) -> None:
    length = rng.uniform(3.5, 4.5)
    p.box((0.7, length, 0.15), rgb=(0.4, 0.3, 0.2))  # a ridge of soil
    grain = "grain" in spec.parts or spec.color == "yellow"
    leaf = _accent(spec, (0.85, 0.72, 0.3) if grain else LEAF)
    for y in np.linspace(-length / 2 + 0.25, length / 2 - 0.25, int(rng.integers(6, 9))):
        h = rng.uniform(0.5, 0.8)
        if grain:
            p.cone(0.14, h * 1.4, (rng.uniform(-0.1, 0.1), y, 0.1), _jitter(rng, leaf), sides=5)
        else:
            p.blob((0.25, 0.25, min(h * 0.4, 0.28)), (rng.uniform(-0.08, 0.08), y, 0.25), _jitter(rng, leaf))


def tree(p: Parts, spec: AssetSpec, rng) -> None:
    h = rng.uniform(5.0, 7.5)
    bark = _jitter(rng, WOOD)
    leaf = _jitter(rng, _accent(spec, LEAF), 0.15)
    if "pine" in spec.parts:
        p.cylinder(0.22, h * 0.3, rgb=bark, sides=6)
        for k in range(3):
            r = 1.6 * (1 - 0.25 * k) * rng.uniform(0.9, 1.1)
            p.cone(r, h * 0.35, (0, 0, h * (0.22 + 0.22 * k)), (leaf[0] * 0.7, leaf[1] * 0.85, leaf[2] * 0.8))
        return
    p.frustum(0.3, 0.18, h * 0.55, rgb=bark, sides=6)
    crown = blob(rng, (1.9, 1.9, h * 0.28), roughness=0.3, lumps=4, faces=_faces(p, 160))
    crown.apply_translation((0, 0, h * 0.68))
    p.add(crown, leaf)
    if "flowers" in spec.parts:
        for k in range(6):
            a = 2 * math.pi * k / 6
            p.blob(0.2, (1.7 * math.cos(a), 1.7 * math.sin(a), h * 0.68), (0.95, 0.7, 0.8))


def stump(p: Parts, spec: AssetSpec, rng) -> None:
    r, h = rng.uniform(0.28, 0.36), rng.uniform(0.35, 0.5)
    p.frustum(r * 1.6, r, h * 0.3, rgb=_jitter(rng, WOOD), sides=7)  # the roots' flare
    p.cylinder(r, h, rgb=_jitter(rng, WOOD), sides=7)
    p.cylinder(r * 0.8, 0.04, (0, 0, h), (0.85, 0.72, 0.5), sides=7)  # the cut


def bush(p: Parts, spec: AssetSpec, rng) -> None:
    r = rng.uniform(0.8, 1.1)
    leaf = _jitter(rng, _accent(spec, (0.22, 0.46, 0.2)), 0.15)
    shape = blob(rng, (r, r * 0.9, r * 1.1), roughness=0.35, lumps=5, flat_base=0.7, faces=_faces(p, 140))
    shape.apply_translation((0, 0, -shape.bounds[0, 2]))
    p.add(shape, leaf)
    if "flowers" in spec.parts or "berries" in spec.parts:
        top = shape.vertices[shape.vertices[:, 2] > shape.bounds[1, 2] * 0.6]
        for v in top[rng.choice(len(top), min(6, len(top)), replace=False)]:
            p.blob(0.08, v, (0.8, 0.15, 0.25))


def rock(p: Parts, spec: AssetSpec, rng) -> None:
    r = rng.uniform(0.7, 1.0)
    shape = blob(rng, (r * 1.4, r, r * 0.75), roughness=0.3, lumps=3, flat_base=0.25, faces=_faces(p, 120))
    shape.apply_translation((0, 0, -shape.bounds[0, 2]))
    p.add(shape, _jitter(rng, _main(spec, STONE), 0.1))
    if "moss" in spec.parts:
        p.blob((r * 0.5, r * 0.4, 0.1), (0, 0, shape.bounds[1, 2] - 0.05), (0.3, 0.5, 0.2))


def log(p: Parts, spec: AssetSpec, rng) -> None:
    length, r = rng.uniform(1.0, 1.4), rng.uniform(0.12, 0.16)
    p.cylinder(r, length, (-length / 2, 0, r), _jitter(rng, _main(spec, WOOD)), tilt=(0.0, math.pi / 2), sides=7)
    p.cylinder(r * 0.85, 0.02, (length / 2, 0, r), (0.85, 0.72, 0.5), tilt=(0.0, math.pi / 2), sides=7)


def basket(p: Parts, spec: AssetSpec, rng) -> None:
    r, h = rng.uniform(0.25, 0.32), rng.uniform(0.22, 0.3)
    p.revolve([(0, 0), (r * 0.75, 0), (r, h), (0, h)], rgb=_jitter(rng, _main(spec, THATCH)), sides=max(p.sides, 10))
    for k in range(3):  # what it holds
        a = 2 * math.pi * k / 3
        p.blob(r * 0.35, (r * 0.4 * math.cos(a), r * 0.4 * math.sin(a), h), (0.8, 0.25, 0.15))
    p.box((0.04, 2 * r, 0.04), (0, 0, h + r * 0.7), DARK_WOOD)  # the handle
    for side in (-1, 1):
        p.box((0.04, 0.04, r * 0.7), (0, side * r * 0.95, h), DARK_WOOD)


def pot(p: Parts, spec: AssetSpec, rng) -> None:
    r, h = rng.uniform(0.22, 0.28), rng.uniform(0.75, 0.9)
    profile = [(0, 0), (r * 0.5, 0), (r, h * 0.35), (r * 0.35, h * 0.8), (r * 0.5, h), (0, h)]
    p.revolve(profile, rgb=_jitter(rng, _main(spec, MATERIAL_RGB["brick"])), sides=max(p.sides, 10))


def tool(p: Parts, spec: AssetSpec, rng) -> None:
    length = rng.uniform(0.8, 1.0)
    p.cylinder(0.03, length, rgb=_jitter(rng, WOOD), sides=6)
    metal = _main(spec, MATERIAL_RGB["metal"]) if spec.material != "wood" else MATERIAL_RGB["metal"]
    if "axe" in spec.parts or rng.random() < 0.5:
        p.box((0.22, 0.04, 0.16), (0.1, 0, length - 0.18), metal)  # an axe head
    else:
        p.box((0.08, 0.22, 0.08), (0, 0, length - 0.08), metal)  # a hammer head


def person(p: Parts, spec: AssetSpec, rng) -> None:
    """1.75 m, facing +x; clothes take the viewer's tint (alpha 1), skin and hair keep theirs."""
    clothes = _accent(spec, (0.92, 0.92, 0.92))
    trousers = (0.3, 0.28, 0.3)
    for side in (-1, 1):
        p.box((0.16, 0.14, 0.82), (0, side * 0.11, 0), trousers)
        p.box((0.12, 0.1, 0.62), (0, side * 0.3, 0.78), clothes, tint=1.0, tilt=(side * 0.08, 0.0))
    p.frustum(0.2, 0.25, 0.62, (0, 0, 0.8), clothes, tint=1.0, sides=6)
    p.blob((0.13, 0.12, 0.15), (0.01, 0, 1.58), _jitter(rng, SKIN, 0.12))
    hair = tuple(rng.choice([(0.2, 0.14, 0.1), (0.45, 0.3, 0.15), (0.1, 0.1, 0.1), (0.7, 0.6, 0.4)]))
    p.blob((0.13, 0.13, 0.07), (-0.02, 0, 1.7), hair)
    p.box((0.05, 0.05, 0.05), (0.13, 0, 1.56), _jitter(rng, SKIN, 0.12))  # the nose: which way it faces


RECIPES = {
    "house": house,
    "hut": hut,
    "storehouse": storehouse,
    "hall": hall,
    "well": well,
    "tower": tower,
    "bridge": bridge,
    "fence": fence,
    "stall": stall,
    "cart": cart,
    "bench": bench,
    "crate": crate,
    "crops": crops,
    "tree": tree,
    "stump": stump,
    "bush": bush,
    "rock": rock,
    "log": log,
    "basket": basket,
    "pot": pot,
    "tool": tool,
    "person": person,
}
ORGANIC = frozenset({"tree", "bush", "rock"})  # the categories with a marching-cubes part


def _faces(p: Parts, default: int) -> int:
    """An organic part's triangle budget at the Parts' detail (8 sides = default)."""
    return int(default * p.sides / 8)
