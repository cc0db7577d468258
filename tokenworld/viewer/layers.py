"""What the 3D view is made of: meshes built in numpy, instanced layers, terrain, zones and labels.

Agents and entities are `InstancedLayer`s: one mesh, one draw call, and a
buffer texture of per-instance data (position, heading, colour, scale) written
from numpy every frame. Their bounds are omni (the instances are placed by the
shader, so Panda3D cannot cull them per instance).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
from panda3d.core import (
    Geom,
    GeomEnums,
    GeomNode,
    GeomTriangles,
    GeomVertexArrayFormat,
    GeomVertexData,
    GeomVertexFormat,
    LineSegs,
    NodePath,
    OmniBoundingVolume,
    Shader,
    TextNode,
    Texture,
)

from tokenworld.scene.geometry import polygon_area, zone_membership, zone_polygon
from tokenworld.scene.schema import Scene
from tokenworld.world.terrain import heights

SHADERS = resources.files("tokenworld") / "shaders"  # the top-level shaders/, installed as package data
MEADOW = np.array([0.42, 0.58, 0.34], np.float32)
GROUND_CELL = 2.5  # m between the ground mesh's grid points (within 64 to 128 points a side)


def load_shader(vert: str, frag: str) -> Shader:
    """A GLSL shader from `shaders/`; a missing file is a broken install, said plainly."""
    paths = [SHADERS / vert, SHADERS / frag]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"shader {p} is missing: reinstall Token World (shaders ship as package data).")
    return Shader.make(Shader.SL_GLSL, paths[0].read_text(), paths[1].read_text())


# ------------------------------------------------------------------ meshes


def _v3n3() -> GeomVertexFormat:
    return GeomVertexFormat.get_v3n3()


def _v3n3c4() -> GeomVertexFormat:
    arr = GeomVertexArrayFormat()
    arr.add_column("vertex", 3, Geom.NT_float32, Geom.C_point)
    arr.add_column("normal", 3, Geom.NT_float32, Geom.C_normal)
    arr.add_column("color", 4, Geom.NT_float32, Geom.C_color)
    return GeomVertexFormat.register_format(GeomVertexFormat(arr))


def make_geom(
    vertices: np.ndarray, normals: np.ndarray, triangles: np.ndarray, colors: np.ndarray | None = None
) -> Geom:
    """A Geom from numpy arrays: vertices and normals (k, 3), optional colours (k, 4), triangles (t, 3)."""
    cols = [vertices, normals] + ([colors] if colors is not None else [])
    data = np.ascontiguousarray(np.hstack(cols), dtype=np.float32)
    vdata = GeomVertexData("mesh", _v3n3c4() if colors is not None else _v3n3(), Geom.UH_static)
    vdata.unclean_set_num_rows(len(data))
    memoryview(vdata.modify_array(0)).cast("B")[:] = data.tobytes()
    prim = GeomTriangles(Geom.UH_static)
    prim.set_index_type(Geom.NT_uint32)
    handle = prim.modify_vertices()
    handle.unclean_set_num_rows(triangles.size)
    memoryview(handle).cast("B")[:] = np.ascontiguousarray(triangles, np.uint32).tobytes()
    geom = Geom(vdata)
    geom.add_primitive(prim)
    return geom


def flat_mesh(faces: np.ndarray) -> Geom:
    """A flat-shaded mesh from triangles given as corner positions (t, 3, 3)."""
    faces = np.asarray(faces, np.float32)
    n = np.cross(faces[:, 1] - faces[:, 0], faces[:, 2] - faces[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
    verts = faces.reshape(-1, 3)
    normals = np.repeat(n, 3, axis=0)
    return make_geom(verts, normals, np.arange(len(verts), dtype=np.uint32).reshape(-1, 3))


def _ring(radius: float, z: float, sides: int) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    return np.stack([radius * np.cos(a), radius * np.sin(a), np.full(sides, z)], axis=1)


def frustum_faces(r0: float, r1: float, z0: float, z1: float, sides: int, *, cap_top: bool = True) -> np.ndarray:
    """Side (and top cap) triangles of a cone frustum around +z."""
    lo, hi = _ring(r0, z0, sides), _ring(r1, z1, sides)
    nxt = np.roll(np.arange(sides), -1)
    faces = [np.stack([lo, lo[nxt], hi[nxt]], 1)]
    if r1 > 0:
        faces.append(np.stack([lo, hi[nxt], hi], 1))
        if cap_top:
            faces.append(np.stack([hi, hi[nxt], np.repeat([[0, 0, z1]], sides, 0)], 1))
    return np.concatenate(faces).astype(np.float32)


def box_faces(sx: float, sy: float, z0: float, z1: float) -> np.ndarray:
    x, y = sx / 2, sy / 2
    c = np.array(
        [[-x, -y, z0], [x, -y, z0], [x, y, z0], [-x, y, z0], [-x, -y, z1], [x, -y, z1], [x, y, z1], [-x, y, z1]],
        np.float32,
    )
    quads = [(0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7), (4, 5, 6, 7)]
    tris = [(q[0], q[1], q[2]) for q in quads] + [(q[0], q[2], q[3]) for q in quads]
    return c[np.array(tris)]


def agent_mesh() -> Geom:
    """A person-sized pawn (1.7 m) with a nose pointing +x, so heading shows; unit scale = 1 (21 triangles)."""
    body = frustum_faces(0.32, 0.18, 0.0, 1.35, 6, cap_top=False)
    head = frustum_faces(0.2, 0.0, 1.35, 1.75, 6)
    nose = np.array(
        [
            [[0.15, -0.12, 1.15], [0.5, 0.0, 1.25], [0.15, 0.12, 1.15]],
            [[0.15, 0.12, 1.15], [0.5, 0.0, 1.25], [0.15, 0.0, 1.4]],
            [[0.15, 0.0, 1.4], [0.5, 0.0, 1.25], [0.15, -0.12, 1.15]],
        ],
        np.float32,
    )
    return flat_mesh(np.concatenate([body, head, nose]))


def far_agent_mesh() -> Geom:
    """The same pawn seen from afar: a wedge leaning towards +x, 4 triangles (software GL pays per vertex)."""
    base = np.array([[-0.3, -0.3, 0.0], [-0.3, 0.3, 0.0], [0.4, 0.0, 0.0]], np.float32)
    top = np.array([0.1, 0.0, 1.75], np.float32)
    faces = [[base[0], base[2], top], [base[2], base[1], top], [base[1], base[0], top], [base[0], base[1], base[2]]]
    return flat_mesh(np.array(faces, np.float32))


def ring_mesh(inner: float = 0.75, outer: float = 1.0, sides: int = 24) -> Geom:
    """A flat ring on the ground (selection marker), facing up."""
    a, b = _ring(inner, 0.05, sides), _ring(outer, 0.05, sides)
    nxt = np.roll(np.arange(sides), -1)
    faces = np.concatenate([np.stack([a, b, b[nxt]], 1), np.stack([a, b[nxt], a[nxt]], 1)])
    return flat_mesh(faces)


def entity_mesh(kind: str) -> Geom:
    """Unit-radius meshes per entity kind (scaled by each entity's radius)."""
    if kind == "resource":  # a tree / rock pile: trunk and crown
        return flat_mesh(np.concatenate([frustum_faces(0.25, 0.2, 0.0, 0.8, 6), frustum_faces(1.0, 0.0, 0.8, 2.6, 8)]))
    if kind == "building":  # walls and a pyramid roof
        walls = box_faces(1.5, 1.5, 0.0, 1.3)
        roof = frustum_faces(1.1, 0.0, 1.3, 2.1, 4)
        return flat_mesh(np.concatenate([walls, roof]))
    if kind == "item":
        return flat_mesh(box_faces(0.7, 0.7, 0.0, 0.5))
    if kind == "obstacle":
        return flat_mesh(frustum_faces(1.0, 0.7, 0.0, 1.0, 7))
    return flat_mesh(box_faces(1.4, 1.4, 0.0, 1.4))  # asset (until generated assets exist) and built structures


ENTITY_COLORS = {
    "resource": (0.16, 0.42, 0.18),
    "building": (0.72, 0.52, 0.38),
    "item": (0.85, 0.75, 0.3),
    "asset": (0.55, 0.55, 0.7),
    "obstacle": (0.45, 0.45, 0.45),
}


class InstancedLayer:
    """One mesh drawn for every instance in one call; per-instance data uploaded from numpy.

    `update(xyzh, rgbs)` takes (n, 4) float32 arrays: x, y, z, heading and r, g, b, scale.
    """

    def __init__(self, parent: NodePath, name: str, geom: Geom, shader: Shader, capacity: int = 1024):
        node = GeomNode(name)
        node.add_geom(geom)
        node.set_bounds(OmniBoundingVolume())
        node.set_final(True)
        self.np = parent.attach_new_node(node)
        self.np.set_shader(shader)
        self.capacity = 0
        self.count = 0
        self.enabled = True  # False keeps the layer hidden whatever `update` is given
        self._data = np.zeros((0, 2, 4), np.float32)
        self._reserve(max(capacity, 1))

    def _reserve(self, n: int) -> None:
        if n <= self.capacity:
            return
        cap = max(n, int(self.capacity * 1.5))
        tex = Texture(f"{self.np.name}-instances")
        tex.setup_buffer_texture(cap * 2, Texture.T_float, Texture.F_rgba32, GeomEnums.UH_dynamic)
        self.tex = tex
        self.np.set_shader_input("instances", tex)
        self.capacity = cap
        self._data = np.zeros((cap, 2, 4), np.float32)

    def update(self, xyzh: np.ndarray, rgbs: np.ndarray) -> None:
        n = len(xyzh)
        self._reserve(n)
        d = self._data
        d[:n, 0] = xyzh
        d[:n, 1] = rgbs
        memoryview(self.tex.modify_ram_image()).cast("B")[: n * 32] = d[:n].tobytes()
        self.count = n
        self.np.set_instance_count(n)
        if n and self.enabled:
            self.np.show()
        else:
            self.np.hide()


# ------------------------------------------------------------------ ground and zones


class Ground:
    """Terrain heights, zones coloured onto the ground, zone outlines and labels.

    `set_scene(scene)` follows an edited scene: zone colours are rewritten into the terrain mesh's vertex colours
    and only the outlines and labels of zones that changed are rebuilt; a new world size or terrain rebuilds the
    mesh.
    """

    def __init__(self, parent: NodePath, scene: Scene, shader: Shader, resolution: int | None = None):
        self.parent, self.shader, self._resolution = parent, shader, resolution
        self.scene = scene
        self.np: NodePath | None = None
        self.outlines = parent.attach_new_node("zone-outlines")
        self._outlines: dict[tuple, NodePath] = {}  # zone key -> its outline
        self._labels: dict[tuple, NodePath | None] = {}  # zone key -> its label (None: none)
        self._build_mesh()
        self._zone_nodes()

    def height(self, xy: np.ndarray) -> np.ndarray:
        return heights(self.scene.world.terrain, xy)

    def zone_color(self, i: int) -> np.ndarray:
        z = self.scene.zones[i]
        if z.color is not None:
            return np.array(z.color, np.float32)
        rng = np.random.default_rng(i + 7)
        return rng.uniform(0.35, 0.85, 3).astype(np.float32)

    def set_scene(self, scene: Scene) -> None:
        """Show `scene` (an edit of the one shown): recolour the ground, redraw changed zones' outlines and labels."""
        old, self.scene = self.scene, scene
        if old.world.size != scene.world.size or old.world.terrain != scene.world.terrain:
            self.np.remove_node()
            self._build_mesh()
        elif old.zones != scene.zones:
            self._vertex_data[:, 6:9] = self._zone_colors(self._changed_area(old, scene))
            vdata = self.np.node().modify_geom(0).modify_vertex_data()
            memoryview(vdata.modify_array(0)).cast("B")[:] = self._vertex_data.tobytes()
        else:
            return  # the zones and the ground are as they were (an entity or a group changed)
        self._zone_nodes()

    @property
    def labels(self) -> list[NodePath]:
        """The zone labels shown."""
        return [label for label in self._labels.values() if label is not None]

    def _changed_area(self, old: Scene, new: Scene) -> np.ndarray | None:
        """Mask of the ground's grid points whose zone may have changed (None: all of them): those within the old
        or new bounds of a zone that changed, when no zone was added or removed (a zone's default colour follows
        its row)."""
        if len(old.zones) != len(new.zones):
            return None
        x, y = self._xy[:, 0], self._xy[:, 1]
        mask = np.zeros(len(self._xy), bool)
        for a, b in zip(old.zones, new.zones, strict=True):
            if a != b:
                for poly in (zone_polygon(a), zone_polygon(b)):
                    (x0, y0), (x1, y1) = poly.min(axis=0), poly.max(axis=0)
                    mask |= (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        return mask

    def _zone_colors(self, where: np.ndarray | None = None) -> np.ndarray:
        """Each grid point's colour: its zone's (the last zone holding it), else the meadow; with `where`, only
        those points are looked at again, the rest keep the colours they have."""
        zones = self.scene.zones
        xy = self._xy if where is None else self._xy[where]
        zone = zone_membership(xy, zones) if zones else np.full(len(xy), -1)
        palette = np.array([self.zone_color(i) for i in range(len(zones))] + [MEADOW], np.float32)
        colors = palette[np.where(zone >= 0, zone, len(zones))]
        if where is None:
            return colors
        out = self._vertex_data[:, 6:9].copy()
        out[where] = colors
        return out

    @property
    def resolution(self) -> int:
        """Grid points per side: the one given, else one every `GROUND_CELL` metres, 64 to 128 (software GL pays
        per vertex: the village's 80x80 ground costs about 5 ms a frame less than 128x128)."""
        if self._resolution is not None:
            return self._resolution
        return int(np.clip(round(max(self.scene.world.size) / GROUND_CELL), 64, 128))

    def _build_mesh(self) -> None:
        w, h = self.scene.world.size
        g = self.resolution
        xs, ys = np.linspace(0, w, g, dtype=np.float32), np.linspace(0, h, g, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)
        xy = np.stack([gx.ravel(), gy.ravel()], 1)
        self._xy = xy
        z = self.height(xy)
        zz = z.reshape(g, g)
        dzdx = np.gradient(zz, xs, axis=1)
        dzdy = np.gradient(zz, ys, axis=0)
        normals = np.stack([-dzdx.ravel(), -dzdy.ravel(), np.ones(g * g, np.float32)], 1)
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        idx = np.arange(g * g, dtype=np.uint32).reshape(g, g)
        a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
        tris = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
        verts = np.column_stack([xy, z]).astype(np.float32)
        colors = self._zone_colors()
        rgba = np.column_stack([colors, np.ones(len(colors), np.float32)])
        geom = make_geom(verts, normals.astype(np.float32), tris, rgba)
        self._vertex_data = np.ascontiguousarray(np.hstack([verts, normals, rgba]), dtype=np.float32)
        node = GeomNode("ground")
        node.add_geom(geom)
        self.np = self.parent.attach_new_node(node)
        self.np.set_shader(self.shader)
        # Drawn first, always: in the state-sorted opaque bin the order would follow memory addresses, so where
        # agents' feet touch the ground a pixel could go either way from one process to the next.
        self.np.set_bin("background", 0)
        self._outlines, self._labels = self._drop(self._outlines), self._drop(self._labels)

    @staticmethod
    def _drop(nodes: dict) -> dict:
        for node in nodes.values():
            if node is not None:
                node.remove_node()
        return {}

    def _zone_nodes(self) -> None:
        """Outlines and labels of the zones, reusing those of zones that did not change."""
        outlines, labels = {}, {}
        w, h = self.scene.world.size
        for i, zone in enumerate(self.scene.zones):
            poly = zone_polygon(zone)
            colour = tuple(self.zone_color(i).tolist())
            key = (i, zone.name, tuple(map(tuple, poly.tolist())), colour)
            outlines[key] = self._outlines.pop(key, None) or self._outline(poly, colour)
            if key in self._labels:
                labels[key] = self._labels.pop(key)
            else:  # the background zone (meadow, commons) needs no label in the middle of the map
                labels[key] = self._label(zone.name, poly) if polygon_area(poly) <= 0.5 * w * h else None
        self._drop(self._outlines)
        self._drop(self._labels)
        self._outlines, self._labels = outlines, labels

    def _outline(self, poly: np.ndarray, colour: tuple) -> NodePath:
        segs = LineSegs("zone-outline")
        segs.set_thickness(2.0)
        poly = poly.astype(np.float32)
        closed = np.concatenate([poly, poly[:1]])
        # Dense points along the edges so the outline follows the hills.
        pts = [closed[0]]
        for p, q in zip(closed[:-1], closed[1:], strict=False):
            k = max(int(np.linalg.norm(q - p) / 2.0), 1)
            t = np.linspace(0, 1, k + 1, dtype=np.float32)[1:, None]
            pts.extend(p + (q - p) * t)
        pts = np.array(pts, np.float32)
        z = self.height(pts) + 0.12
        col = np.clip(np.array(colour) * 0.55, 0, 1)
        segs.set_color(float(col[0]), float(col[1]), float(col[2]), 1.0)
        segs.move_to(float(pts[0, 0]), float(pts[0, 1]), float(z[0]))
        for (x, y), zz in zip(pts[1:].tolist(), z[1:].tolist(), strict=False):
            segs.draw_to(x, y, zz)
        return self.outlines.attach_new_node(segs.create())

    def _label(self, name: str, poly: np.ndarray) -> NodePath:
        size = max(self.scene.world.size) / 60.0
        cx, cy = poly.mean(axis=0)
        text = TextNode(f"zone-{name}")
        text.set_text(name)
        text.set_align(TextNode.A_center)
        text.set_text_color(1, 1, 1, 1)
        text.set_shadow(0.06, 0.06)
        text.set_shadow_color(0, 0, 0, 0.8)
        label = self.parent.attach_new_node(text)
        label.set_pos(float(cx), float(cy), float(self.height(np.array([[cx, cy]]))[0]) + size * 3.0)
        label.set_scale(size)
        label.set_billboard_point_eye()
        label.set_light_off()
        label.set_depth_write(False)
        label.set_bin("fixed", 10)
        return label


class Labels:
    """A pool of billboard text labels over agents (names, speech), reused every frame."""

    def __init__(self, parent: NodePath, size: int = 16):
        self.pool: list[tuple[NodePath, TextNode]] = []
        for i in range(size):
            t = TextNode(f"label-{i}")
            t.set_align(TextNode.A_center)
            t.set_text_color(0.1, 0.1, 0.1, 1)
            t.set_card_color(1, 1, 1, 0.85)
            t.set_card_as_margin(0.25, 0.25, 0.15, 0.15)
            t.set_card_decal(True)
            t.set_wordwrap(16)
            np_ = parent.attach_new_node(t)
            np_.set_billboard_point_eye()
            np_.set_depth_test(False)
            np_.set_depth_write(False)
            np_.set_bin("fixed", 20)
            np_.hide()
            self.pool.append((np_, t))

    def show(self, items: list[tuple[np.ndarray, str, float]]) -> None:
        """(position xyz, text, scale) per label; the rest are hidden."""
        for i, (np_, t) in enumerate(self.pool):
            if i < len(items):
                pos, text, scale = items[i]
                if t.get_text() != text:
                    t.set_text(text)
                np_.set_pos(float(pos[0]), float(pos[1]), float(pos[2]))
                np_.set_scale(scale)
                np_.show()
            else:
                np_.hide()
