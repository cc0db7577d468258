"""The Assets panel: a description becomes a generated mesh, seen on a turntable and placed in the scene.

Three parts, so that what the panel does is tested without a window or an ImGui frame:
- `AssetsPanelModel`: the panel's state and actions (generate, the list of this session's assets and of the
  scene's `kind = "asset"` entities, the entity that "Place in scene" adds); no ImGui, no Panda3D.
- `TurntablePreview`: the selected mesh rendered into an offscreen texture on its own scene graph and camera,
  turning slowly; ImGui shows the texture through panda3d-imgui's `loadGraphicsBuffer`.
- `AssetsPanel`: the ImGui window drawing the two (F3, or the "assets" box of the Simulation panel, shows it).

Placing goes through the Edit mode's `add_entity` (the Entity tool's own path), so it is one edit: validated,
undone with Ctrl+Z and saved with the scene.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import numpy as np
from imgui_bundle import imgui

from tokenworld.assetgen import Asset, AssetError, generate
from tokenworld.assetgen.spec import MAX_TEXT

MIN_RADIUS = 0.5  # m: the smallest footprint an asset entity gets
PREVIEW_PX = 256  # the turntable texture's side
TURN_DEG_PER_S = 24.0
BACKGROUND = (0.13, 0.14, 0.17, 1.0)  # the preview's clear colour
LIGHT = {  # lit.frag's inputs for the preview: a fixed sun, a soft sky
    "sun_dir": (0.45, -0.55, 0.70),
    "sun_color": (0.78, 0.74, 0.66),
    "sky_color": (0.52, 0.56, 0.62),
    "ground_color": (0.30, 0.27, 0.24),
}
RED = imgui.ImVec4(1.0, 0.45, 0.4, 1.0)
GREY = imgui.ImVec4(0.7, 0.7, 0.7, 1.0)
_INT = re.compile(r"[+-]?\d{1,40}")


def prompt_text(text: str) -> str:
    """The description as an entity keeps it: control characters gone, spaces collapsed, at most MAX_TEXT
    characters (the generator reads no more), case and language as typed."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text)[: MAX_TEXT * 4])
    return " ".join(text.split())[:MAX_TEXT]


def read_seed(seed) -> object:
    """A typed seed as an int when it is written as one; anything else is passed on for `generate` to refuse."""
    if isinstance(seed, str) and _INT.fullmatch(seed.strip()):
        return int(seed.strip())
    return seed


def footprint(asset: Asset) -> float:
    """The radius (m) of the circle around the asset's origin that holds its ground plan, at least MIN_RADIUS."""
    xy = np.asarray(asset.mesh.vertices)[:, :2]
    return max(MIN_RADIUS, round(float(np.linalg.norm(xy, axis=1).max(initial=0.0)), 2))


@dataclass
class AssetEntry:
    """One row of the panel's list: a prompt and a seed, where it came from, and (once made) its mesh."""

    prompt: str
    seed: object  # an int, or what a scene file holds (an invalid one gives `error`)
    origin: str  # "panel": generated here this session; "scene": an entity of kind asset
    asset: Asset | None = None
    ms: float = 0.0  # generation time
    error: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.prompt, repr(self.seed)

    def label(self) -> str:
        text = self.prompt if len(self.prompt) <= 48 else self.prompt[:47] + "..."
        return f"{text or '(empty)'}  [seed {self.seed}{', in scene' if self.origin == 'scene' else ''}]"


class AssetsPanelModel:
    """The Assets panel without ImGui: generate, list, select, and the entity "Place in scene" adds."""

    def __init__(self):
        self.entries: list[AssetEntry] = []
        self.selected = -1
        self.error = ""  # why the last action did nothing (a bad seed, a refused edit)
        self.note = ""  # what the last action did
        self._scene = None

    @property
    def entry(self) -> AssetEntry | None:
        """The selected entry, or None."""
        return self.entries[self.selected] if 0 <= self.selected < len(self.entries) else None

    def generate(self, text: str, seed=0) -> AssetEntry | None:
        """Generate `text` with `seed` and select it (the same prompt and seed again selects the one made);
        None, with the reason in `error`, when the seed is refused. Any text gives a mesh."""
        entry = AssetEntry(prompt_text(text), read_seed(seed), "panel")
        known = next((i for i, e in enumerate(self.entries) if e.key == entry.key), None)
        if known is not None:
            self.select(known)
            return self.entry if self.entry.asset is not None else None
        if not _make(entry):
            self.error = entry.error
            return None
        self.entries.insert(sum(e.origin == "panel" for e in self.entries), entry)  # this session's first
        self.selected = self.entries.index(entry)
        self.error, self.note = "", ""
        return entry

    def select(self, index: int) -> None:
        """Select row `index`, generating its mesh on first selection (a scene's bad seed shows as its error)."""
        self.selected = index
        entry = self.entry
        if entry is not None and entry.asset is None and not entry.error:
            _make(entry)
        self.error = entry.error if entry is not None else ""

    def sync_scene(self, scene) -> None:
        """List the scene's asset entities (after this session's own); cheap when `scene` did not change."""
        if scene is self._scene:
            return
        self._scene = scene
        chosen = self.entry.key if self.entry is not None else None
        old = {e.key: e for e in self.entries if e.origin == "scene"}
        mine = [e for e in self.entries if e.origin == "panel"]
        taken = {e.key for e in mine}
        for ent in scene.entities:
            if ent.kind != "asset":
                continue
            row = AssetEntry(str(ent.properties.get("prompt", "")), ent.properties.get("seed", 0), "scene")
            if row.key not in taken:
                taken.add(row.key)
                mine.append(old.get(row.key, row))
        self.entries = mine
        self.selected = next((i for i, e in enumerate(mine) if e.key == chosen), -1)

    def entity(self, entry: AssetEntry, xy) -> dict:
        """The `[[entities]]` entry of `entry` standing at ground point `xy`."""
        return {
            "kind": "asset",
            "name": entry.asset.spec.category,
            "pos": [round(float(xy[0]), 3), round(float(xy[1]), 3)],
            "radius": footprint(entry.asset),
            "properties": {"prompt": entry.prompt, "seed": entry.seed},
        }

    def place(self, edit, xy) -> bool:
        """Add the selected asset at ground point `xy` (snapped as the Edit mode snaps) through `edit`
        (an `EditMode`): one edit, undone by Ctrl+Z. True if placed; else the reason is in `error`."""
        entry = self.entry
        if entry is None or entry.asset is None:
            self.error = entry.error if entry is not None and entry.error else "Generate or pick an asset first."
            return False
        p = edit.snapped(np.asarray(xy[:2], np.float64))
        if not edit.add_entity(self.entity(entry, p)):
            self.error = edit.message
            return False
        self.error, self.note = "", f"placed {entry.asset.spec.category!r} at ({p[0]:.1f}, {p[1]:.1f})"
        return True


def _make(entry: AssetEntry) -> bool:
    t0 = time.perf_counter()
    try:
        entry.asset = generate(entry.prompt, seed=entry.seed)
    except AssetError as exc:
        entry.error = str(exc)
        return False
    entry.ms = (time.perf_counter() - t0) * 1000.0
    return True


def reading(asset: Asset) -> list[str]:
    """What the text was read as, one line per attribute."""
    s = asset.spec
    return [
        f"category  {s.category}",
        f"material  {s.material or '(recipe default)'}",
        f"colour    {s.color or '(recipe default)'}",
        f"size      {s.size}",
        f"parts     {', '.join(sorted(s.parts)) or '(none)'}",
    ]


class TurntablePreview:
    """One mesh drawn into an offscreen texture, on a scene graph and camera of its own, turning slowly.

    Args:
        base: the viewer's ShowBase (its window makes the buffer, sharing its GL context).
        size: the texture's side in pixels.
    """

    def __init__(self, base, *, size: int = PREVIEW_PX):
        from panda3d.core import Camera, FrameBufferProperties, LVecBase3f, NodePath, PerspectiveLens, Texture

        from tokenworld.viewer.layers import load_shader

        self.base = base
        self.texture = Texture("asset-preview")
        fbp = FrameBufferProperties()
        fbp.set_rgba_bits(8, 8, 8, 8)
        fbp.set_depth_bits(16)
        self.buffer = base.win.make_texture_buffer("asset-preview", size, size, self.texture, False, fbp)
        if self.buffer is None:
            raise RuntimeError("the graphics driver could not make an offscreen buffer for the asset preview")
        self.buffer.set_clear_color(BACKGROUND)
        self.buffer.set_clear_color_active(True)
        self.buffer.set_active(False)
        self.root = NodePath("asset-preview")
        self.root.set_shader(load_shader("ground.vert", "lit.frag"))
        for key, value in LIGHT.items():
            v = np.asarray(value, np.float64)
            self.root.set_shader_input(key, LVecBase3f(*(v / np.linalg.norm(v) if key == "sun_dir" else v)))
        self.pivot = self.root.attach_new_node("pivot")
        self.lens = PerspectiveLens()
        self.lens.set_fov(30.0)
        self.lens.set_aspect_ratio(1.0)
        cam = Camera("asset-preview-camera", self.lens)
        cam.set_scene(self.root)
        self.camera = self.pivot.attach_new_node(cam)
        region = self.buffer.make_display_region()
        region.set_camera(self.camera)
        self.model = self.root.attach_new_node("model")
        self.shown: Asset | None = None
        self.heading = 30.0

    def show(self, asset: Asset | None) -> None:
        """Draw `asset` (None: nothing), framed whole by the camera."""
        if asset is self.shown:
            return
        from panda3d.core import GeomNode

        from tokenworld.assetgen.generate import flat_arrays
        from tokenworld.viewer.meshes import mesh_from_arrays

        self.model.node().remove_all_children()
        self.shown = asset
        if asset is None:
            return
        mesh = asset.mesh
        verts, normals, rgba, triangles = flat_arrays(mesh)  # flat shaded, as the GLB is
        colors = rgba.astype(np.float32) / 255.0
        colors[:, 3] = 1.0  # alpha is the share of a per-instance tint, not opacity
        node = GeomNode("asset")
        node.add_geom(mesh_from_arrays(verts.astype(np.float32), normals.astype(np.float32), colors, triangles).geom)
        self.model.attach_new_node(node)
        lo, hi = np.asarray(mesh.bounds, np.float64)
        centre, radius = (lo + hi) / 2.0, max(float(np.linalg.norm(hi - lo)) / 2.0, 0.05)
        distance = radius / math.sin(math.radians(15.0)) * 1.05
        pitch = math.radians(22.0)
        self.pivot.set_pos(*centre)
        self.camera.set_pos(0.0, -distance * math.cos(pitch), distance * math.sin(pitch))
        self.camera.look_at(0.0, 0.0, 0.0)
        self.lens.set_near_far(distance * 0.05, distance * 4.0)

    def turn(self, dt: float) -> None:
        """Turn the camera around the asset by `dt` seconds' worth and render this frame."""
        self.heading = (self.heading + TURN_DEG_PER_S * dt) % 360.0
        self.pivot.set_h(self.heading)
        self.buffer.set_active(self.shown is not None)

    def pause(self) -> None:
        """Stop rendering (the panel is hidden or collapsed)."""
        self.buffer.set_active(False)

    def image(self) -> np.ndarray:
        """The last rendered preview as an (h, w, 3) uint8 array (for tests and screenshots)."""
        self.base.graphicsEngine.extract_texture_data(self.texture, self.base.win.get_gsg())
        data = np.frombuffer(bytes(self.texture.get_ram_image_as("RGB")), np.uint8)
        return data.reshape(self.texture.get_y_size(), self.texture.get_x_size(), 3)

    def close(self) -> None:
        self.base.graphicsEngine.remove_window(self.buffer)
        self.root.remove_node()


class AssetsPanel:
    """The "Assets" window: a description and a seed in, the reading, the list, the turntable, placing."""

    def __init__(self, viewer):
        self.v = viewer
        self.model = AssetsPanelModel()
        self.text = ""
        self.seed = "0"
        self.preview: TurntablePreview | None = None
        self.preview_error = ""
        self._tex = None  # the preview's ImGui texture reference
        self._t = None
        self.shown: dict = {}
        self.rects: dict[str, tuple[float, float, float, float]] = {}  # button -> (x0, y0, x1, y1) pixels

    def draw(self, pos, size) -> None:
        from tokenworld.viewer.panels import begin_window

        m, v = self.model, self.v
        m.sync_scene(v.scene)
        turning = False
        if begin_window("Assets", pos, size):
            self._inputs()
            if m.error:
                imgui.push_text_wrap_pos(0.0)
                imgui.text_colored(RED, m.error)
                imgui.pop_text_wrap_pos()
            entry = m.entry
            if entry is not None and entry.asset is not None:
                turning = self._selected(entry)
            self._list()
            self._place_button()
            if m.note:
                imgui.text_colored(GREY, m.note)
            self.shown = {
                "entries": [e.label() for e in m.entries],
                "selected": m.selected,
                "error": m.error,
                "reading": reading(entry.asset) if entry is not None and entry.asset is not None else [],
                "preview": turning,
            }
        imgui.end()
        if not turning:
            self.hide()

    def hide(self) -> None:
        """The window is not drawn: the preview stops rendering."""
        if self.preview is not None:
            self.preview.pause()
        self._t = None

    def _noted(self, name: str) -> None:
        a, b = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.rects[name] = (a.x, a.y, b.x, b.y)

    def _inputs(self) -> None:
        imgui.text("Describe a thing to make:")
        imgui.set_next_item_width(-1)
        entered, self.text = imgui.input_text("##asset-text", self.text, imgui.InputTextFlags_.enter_returns_true.value)
        self._noted("text")
        imgui.set_next_item_width(110)
        _, self.seed = imgui.input_text("seed", self.seed)
        self._noted("seed")
        imgui.same_line()
        if imgui.button("Generate") or entered:
            self.model.generate(self.text, self.seed)
        self._noted("Generate")

    def _selected(self, entry: AssetEntry) -> bool:
        """The turntable and the reading of `entry`; whether the turntable is drawn."""
        turning = self._turntable(entry.asset)
        if turning:
            imgui.same_line()
        imgui.begin_group()
        for line in reading(entry.asset):
            imgui.text(line)
        imgui.text(f"{entry.asset.triangles:,} triangles")
        imgui.text(f"made in {entry.ms:.0f} ms" if entry.ms else "")
        imgui.end_group()
        if self.preview_error:
            imgui.text_colored(GREY, self.preview_error)
        return turning

    def _turntable(self, asset: Asset) -> bool:
        if self.preview is None and not self.preview_error:
            try:
                self.preview = TurntablePreview(self.v.base)
                self._tex = self.v.gui.loadGraphicsBuffer(self.preview.buffer)  # rendered upside down for ImGui
            except Exception as exc:  # no offscreen buffers on this driver: the panel works without a preview
                self.preview_error = f"no preview: {exc}"
        if self.preview is None:
            return False
        now = time.perf_counter()
        self.preview.show(asset)
        self.preview.turn(0.0 if self._t is None else min(now - self._t, 0.1))
        self._t = now
        side = min(imgui.get_content_region_avail().x * 0.5, 200.0)
        imgui.image(self._tex, imgui.ImVec2(side, side))
        return True

    def _list(self) -> None:
        m = self.model
        imgui.separator()
        imgui.text("Assets (this session's, then the scene's):")
        if imgui.begin_child("asset-list", imgui.ImVec2(0, 110), imgui.ChildFlags_.borders.value):
            if not m.entries:
                imgui.text_colored(GREY, "None yet: type a description and press Generate.")
            for i, e in enumerate(m.entries):
                if imgui.selectable(f"{e.label()}##asset{i}", i == m.selected)[0]:
                    m.select(i)
        imgui.end_child()

    def _place_button(self) -> None:
        v, m = self.v, self.model
        if v.is_replay:
            imgui.text_colored(
                GREY, "Placing needs Edit mode, which a replay has not: open the scene with `tokenworld edit`."
            )
            return
        label = "Place in scene" if v.edit is not None else "Place in scene (opens Edit mode, F2)"
        imgui.begin_disabled(m.entry is None or m.entry.asset is None)
        pressed = imgui.button(label)
        imgui.end_disabled()
        self._noted("Place in scene")
        if pressed:
            self.place()

    def place(self) -> bool:
        """ "Place in scene": at the camera's target on the ground; outside Edit mode, Edit mode opens first."""
        v, m = self.v, self.model
        if v.edit is None:
            v.toggle_edit()
            if v.edit is None:
                m.error = f"Placing needs Edit mode (F2), which did not open. {v.edit_error}".strip()
                return False
        return m.place(v.edit, v.camera.target)
