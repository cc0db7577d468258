"""The viewer: a Panda3D window (or offscreen buffer) showing a live or replayed world, with ImGui panels.

Each frame reads the source's latest `Frame` (never waiting for a tick or the
model), moves agents smoothly between ticks, uploads per-instance data from
numpy and draws: terrain with zones, props scattered in them (props.py), entities
with their generated looks (entities.py), agents as people (people.py), the
selection ring and labels. Input goes to ImGui when a panel wants it and to the camera otherwise;
`click`, `move_pointer` and friends drive the same paths without a mouse, for
scripted runs and tests in an offscreen buffer.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from tokenworld.scene.schema import ARCHETYPES, Scene
from tokenworld.sim.cards import AgentCard
from tokenworld.sim.frames import BUSY, IDLE, TALKING, WALKING, Frame
from tokenworld.viewer.daylight import Daylight
from tokenworld.viewer.editing import ViewerEditing
from tokenworld.viewer.input import ViewerInput

ARCHETYPE_COLORS = np.array(
    [
        (0.93, 0.93, 0.93),
        (0.95, 0.75, 0.25),
        (0.35, 0.6, 0.95),
        (0.9, 0.45, 0.3),
        (0.75, 0.35, 0.85),
        (0.3, 0.85, 0.8),
    ],
    np.float32,
)
STATE_COLORS = np.zeros((4, 3), np.float32)
STATE_COLORS[[IDLE, WALKING, BUSY, TALKING]] = [(0.7, 0.7, 0.7), (0.3, 0.6, 1.0), (0.95, 0.6, 0.2), (1.0, 0.35, 0.6)]
SELECTED = np.array([1.0, 0.95, 0.1], np.float32)
LOD_DISTANCE = 90.0  # m (times the agent scale): nearer agents are drawn in full
WINDOW_FPS = 60.0  # a window draws at most this many frames a second (where vsync is not honoured: software GL, Xvfb)
# With a software renderer a 1280x720 frame costs about 30 ms of CPU (drawing and rasterizing, BENCHMARKS.md): at
# 60 frames a second it would take both cores of a 2-core machine from the model. 30 a second, with a margin (33:
# the village's props and people made frames dearer; at 36 the model missed its first-10-s goals, at 33 it met them).
SOFTWARE_GL_FPS = 33.0
SOFTWARE_GL = ("llvmpipe", "softpipe", "swrast", "swiftshader", "software")  # in the GL renderer's name
assert len(ARCHETYPE_COLORS) == len(ARCHETYPES)

PRC = """
audio-library-name null
sync-video {vsync}
show-frame-rate-meter false
window-title {title}
win-size {w} {h}
framebuffer-multisample 0
notify-level-device fatal
notify-level-display error
notify-level-glgsg error
notify-level-egldisplay fatal
print-pipe-types false
"""


def per_agent(values: np.ndarray, n: int, fill) -> np.ndarray:
    """`values` (one per agent of the whole run) for the `n` agents of a frame: a replay's agents table holds those
    who join later too, and a live run's arrays may grow a moment before its next frame shows the newcomers."""
    if len(values) >= n:
        return values[:n]
    return np.concatenate([values, np.full(n - len(values), fill, values.dtype)])


class WindowError(RuntimeError):
    """Panda3D could not open a window (or an offscreen buffer): no display, no OpenGL."""


def _open_showbase(offscreen: bool, pages: list):
    """ShowBase with its window or buffer; a failure leaves no half-made ShowBase behind."""
    import builtins

    from direct.showbase.ShowBase import ShowBase
    from panda3d.core import unloadPrcFile

    def undo(reason: str):
        half = getattr(builtins, "base", None)
        if half is not None:
            try:
                half.destroy()
            except Exception:  # it never finished opening; what matters is that it is gone
                pass
        for page in pages:
            unloadPrcFile(page)
        return WindowError(reason)

    try:
        base = ShowBase(windowType="offscreen" if offscreen else "onscreen")
    except Exception as exc:  # Panda3D raises a plain Exception ("Could not open window.")
        raise undo(str(exc) or type(exc).__name__) from None
    if base.win is None:
        raise undo("Panda3D opened no window or offscreen buffer")
    return base


class Viewer(ViewerInput, ViewerEditing):
    """Shows `source` (a `FrameSource`: a `LiveSource` or a `ReplaySource`) for `scene`.

    Args:
        offscreen: render into an offscreen EGL buffer (no display needed).
        size: window or buffer size in pixels.
        panels: draw the ImGui panels.
        vsync: wait for the display's refresh (windows only; off for benchmarks), and draw at most `max_fps`
            frames a second (60, or 33 with a software renderer, which draws on the CPU the model needs).
        clock: what "now" is, in seconds (default `time.perf_counter`): frames move agents between ticks by
            it, and the source advances by its steps. A recorder passes its own clock, stepped a fixed time
            per frame, so a recording never reads the wall clock.
    """

    def __init__(
        self,
        source,
        scene: Scene,
        *,
        offscreen: bool = False,
        size: tuple[int, int] = (1280, 720),
        panels: bool = True,
        vsync: bool = True,
        title: str | None = None,
        clock=None,
    ):
        from panda3d.core import loadPrcFileData

        self.source = source
        self.scene = scene
        self.clock = clock or time.perf_counter
        self.size = (int(size[0]), int(size[1]))
        self.offscreen = offscreen
        self.is_replay = not source.live
        title = title or f"Token World - {scene.name}"
        self._prc_pages = [
            loadPrcFileData(
                "tokenworld-viewer",
                PRC.format(
                    vsync="true" if vsync and not offscreen else "false", title=title, w=self.size[0], h=self.size[1]
                ),
            )
        ]
        if offscreen:
            self._prc_pages.append(loadPrcFileData("tokenworld-offscreen", "load-display p3headlessgl\n"))
        elif vsync:  # a frame rate limit even where vsync is not honoured (software GL, Xvfb)
            self._prc_pages.append(
                loadPrcFileData("tokenworld-window", f"clock-mode limited\nclock-frame-rate {WINDOW_FPS:g}\n")
            )
        self._closed = False
        self.gui = None
        self.base = _open_showbase(offscreen, self._prc_pages)
        renderer = self.base.win.get_gsg().get_driver_renderer() if self.base.win.get_gsg() else ""
        self.software_gl = any(name in renderer.lower() for name in SOFTWARE_GL)
        self.max_fps = SOFTWARE_GL_FPS if self.software_gl else WINDOW_FPS  # frames a second a window draws at most
        if vsync and not offscreen and self.software_gl:
            from panda3d.core import ClockObject

            ClockObject.get_global_clock().set_frame_rate(self.max_fps)
        try:
            self._setup(panels)
        except BaseException:
            self.close()
            raise

    def _setup(self, panels: bool) -> None:
        self._build_scene()
        self.color_by = "archetype"
        self.trait = 0
        self.show_labels = True
        self.selected = -1
        self.selected_entity = -1
        self.fps = 0.0
        self.frame_ms = 0.0
        self.frame_times: list[float] = []  # ms of every frame, for the bench
        self._pointer_px: tuple[float, float] | None = None
        self._scripted_pointer = False  # move_pointer() was called: ignore the real mouse
        self._scripted_shift: bool | None = None  # a scripted drag says whether Shift is held
        self._edit_down = False  # the Edit mode took the left button's press
        self.edit_error = ""  # why Edit mode could not open
        self._last_editor = None  # the editor of the last Edit mode, taken up again by the next
        self.edit = None  # the Edit mode (tokenworld/viewer/edit_mode.py) while it is on
        self.closing_asked = False  # the window was asked to close with unsaved edits: the Edit panel asks what to do
        self._close_soon = False  # close once the frame being drawn is done (asked from inside it)
        self._source_scene = getattr(self.source, "scene", None)  # the source's scene last seen (see _update)
        self.last_screenshot: Path | None = None  # the last F12 screenshot
        self.recorder = None  # a ScreenRecorder while the Record button (F9) records
        self.last_recording: Path | None = None  # the last video it wrote
        self._down: dict[str, tuple[float, float]] = {}
        self._last_drag: tuple[float, float] | None = None
        self._colors_key = None
        self._z_cache: dict[int, np.ndarray] = {}
        self._label_cache: tuple[int, list] = (-1, [])
        self._last_focus = 0.0
        self._t_last = self.clock()
        self.panels = None
        if panels:
            from tokenworld.viewer.gui import PanelBackend
            from tokenworld.viewer.panels import Panels

            self.gui = PanelBackend(self.base.win, self.base.pixel2d, self.pointer)
            self.panels = Panels(self)
            self.base.accept("imgui-new-frame", self.panels.draw)
        self._bind_input()
        self.base.taskMgr.add(self._update, "tokenworld-update", sort=-10)

    # ------------------------------------------------------------ scene graph

    def _build_scene(self) -> None:
        from panda3d.core import PerspectiveLens

        from tokenworld.viewer.camera import OrbitCamera
        from tokenworld.viewer.entities import EntityLayers
        from tokenworld.viewer.layers import Ground, InstancedLayer, Labels, load_shader, ring_mesh
        from tokenworld.viewer.meshes import MeshLibrary
        from tokenworld.viewer.people import Crowd
        from tokenworld.viewer.props import Props

        base, scene = self.base, self.scene
        base.disableMouse()
        render = base.render
        self.inst_shader = load_shader("instanced.vert", "lit.frag")
        ground_shader = load_shader("ground.vert", "lit.frag")
        self.daylight = Daylight()
        self._apply_light(0.0)
        self.ground = Ground(render, scene, ground_shader)
        self.meshes = MeshLibrary()
        self.crowd = Crowd(render, self.inst_shader, self.meshes, capacity=max(scene.agent_count, 1))
        self.agents, self.far_agents = self.crowd.near, self.crowd.far
        self.ring = InstancedLayer(render, "selection", ring_mesh(), self.inst_shader, capacity=1)
        self.ring.update(np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32))
        self.entity_layers = EntityLayers(render, self.inst_shader, self.meshes)
        self._entities_key = None
        self.props = Props(render, self.inst_shader, self.meshes, self.ground.height)
        self.props.set_scene(scene)
        self.labels = Labels(render)
        self.camera = OrbitCamera(scene.world.size)
        span = max(scene.world.size)
        lens = PerspectiveLens()
        lens.set_fov(50)
        lens.set_near_far(0.5, span * 10)
        lens.set_aspect_ratio(self.size[0] / self.size[1])
        base.cam.node().set_lens(lens)
        self.lens = lens
        self.camera.vfov_deg = lens.get_vfov()

    def _apply_light(self, sim_time: float) -> None:
        from panda3d.core import LVecBase3f

        light = self.daylight.light(sim_time)
        render = self.base.render
        for key in ("sun_dir", "sun_color", "sky_color", "ground_color"):
            render.set_shader_input(key, LVecBase3f(*light[key]))
        self.base.setBackgroundColor(*light["background"], 1)

    # ------------------------------------------------------------ per frame

    def _update(self, task):
        now = self.clock()
        dt = now - self._t_last
        self._t_last = now
        if dt > 0:
            self.frame_times.append(dt * 1000.0)
            self.frame_ms = dt * 1000.0
            self.fps = 0.9 * self.fps + 0.1 / dt if self.fps else 1.0 / dt
        self.source.advance(dt)
        if self.source.scene is not self._source_scene:  # the run took an edit (live) or reached one (replay)
            self._source_scene = self.source.scene
            if self.edit is None:  # while editing, the editor's scene is shown
                self.set_scene(self._source_scene)
        self._keys(dt)
        frame = self.source.frame
        if frame is None:
            return task.cont
        pos3 = self._positions(frame, now)
        self._draw_agents(frame, pos3)
        self._draw_entities(frame)
        eye = self.camera.position().astype(np.float32)
        self.entity_layers.place(eye)  # near / far levels of detail, sorted again when the camera moved
        self.props.update(eye, frame.zone_stock if len(frame.zone_stock) else None)
        self._draw_selection(frame, pos3)
        self._draw_labels(frame, pos3)
        cam = self.camera
        if cam.follow is not None and 0 <= cam.follow < len(pos3):
            cam.target = pos3[cam.follow].astype(np.float64)
        self.base.camera.set_pos(*cam.position())
        self.base.camera.look_at(*cam.target)
        self._apply_light(frame.sim_time)
        if not self.is_replay and now - self._last_focus > 1.0 and frame.n:
            self._last_focus = now
            from tokenworld.viewer.picking import on_screen

            self.source.set_focus(np.flatnonzero(on_screen(pos3, self.view_proj(), self.size)).astype(np.int64))
        return task.cont

    def _positions(self, frame: Frame, now: float) -> np.ndarray:
        """Agents' interpolated 3D positions (feet on the ground)."""
        key = id(frame)
        if key not in self._z_cache:
            prev = self._z_cache.get("current")
            z = self.ground.height(frame.pos)
            self._z_cache = {key: z, "current": z, "prev": prev if prev is not None and len(prev) == len(z) else z}
            self._z_cache["frame"] = frame  # held, so that no later frame gets its id while it keys the cache
        xy = frame.positions_at(now)
        if frame.interval > 0:
            alpha = min(max((now - frame.wall) / frame.interval, 0.0), 1.0)
            z = self._z_cache["prev"] + (self._z_cache[key] - self._z_cache["prev"]) * np.float32(alpha)
        else:
            z = self.ground.height(xy) if self.is_replay else self._z_cache[key]
        return np.column_stack([xy, z]).astype(np.float32)

    def agent_scale(self) -> float:
        """Agents grow when the camera is far, so a crowd stays visible from above (1 = life size)."""
        return float(np.clip(self.camera.distance / 120.0, 1.0, 3.0))

    def _colors(self, frame: Frame) -> np.ndarray:
        key = (id(frame), self.color_by, self.trait, self.selected, round(self.agent_scale(), 2))
        if self._colors_key == key:
            return self._rgbs
        n = frame.n
        if self.color_by == "state":
            rgb = STATE_COLORS[frame.state]
        elif self.color_by == "trait":
            v = (
                per_agent(self.source.traits[:, self.trait], n, 0.5)
                if getattr(self.source, "traits", None) is not None
                else np.full(n, 0.5)
            )
            rgb = np.column_stack([0.25 + 0.75 * v, 0.35 + 0.3 * (1 - np.abs(v - 0.5) * 2), 1.0 - 0.75 * v]).astype(
                np.float32
            )
        elif self.color_by == "zone":
            from tokenworld.viewer.layers import MEADOW

            palette = np.array([self.ground.zone_color(i) for i in range(len(self.scene.zones))] + [MEADOW], np.float32)
            known = (frame.zone >= 0) & (frame.zone < len(self.scene.zones))  # an edit may have just removed one
            rgb = np.clip(palette[np.where(known, frame.zone, len(self.scene.zones))] * 1.25, 0, 1)
        else:
            rgb = (
                ARCHETYPE_COLORS[per_agent(self.source.archetype, n, 0)]
                if getattr(self.source, "archetype", None) is not None
                else np.full((n, 3), 0.8, np.float32)
            )
        rgbs = np.empty((n, 4), np.float32)
        rgbs[:, :3] = rgb
        rgbs[:, 3] = self.agent_scale()
        if 0 <= self.selected < n:
            rgbs[self.selected, :3] = SELECTED
        self._colors_key, self._rgbs = key, rgbs
        self._colors_frame = frame  # held, so that no later frame gets its id while it keys the cache
        return rgbs

    def _draw_agents(self, frame: Frame, pos3: np.ndarray) -> None:
        """Agents as people (tokenworld/viewer/people.py): near ones in full, far ones as wedges."""
        cam = self.camera.position().astype(np.float32)
        self.crowd.draw(frame, pos3, self._colors(frame), cam, LOD_DISTANCE * self.agent_scale(), self.clock())

    def _draw_entities(self, frame: Frame) -> None:
        """Entities with their generated looks (tokenworld/viewer/entities.py); Edit mode shows the scene's."""
        from tokenworld.world.looks import entity_look, entity_seed

        if self.edit is not None:  # Edit mode shows the entities of the scene being edited
            ents = self.scene.entities
            key = ("scene", id(ents))
            if key == self._entities_key:
                return
            pos = np.array([e.pos for e in ents], np.float32).reshape(-1, 2)
            radius = np.array([e.radius for e in ents], np.float32)
            kinds, looks, stock = [e.kind for e in ents], [entity_look(e) for e in ents], np.ones(len(ents), np.float32)
        else:
            key = (id(frame.entity_pos), id(frame.entity_look), id(frame.entity_stock))
            if key == self._entities_key:
                return
            pos, radius, kinds, stock = frame.entity_pos, frame.entity_radius, frame.entity_kind, frame.entity_stock
            looks = frame.entity_look if len(frame.entity_look) == len(pos) else kinds
        self._entities_key = key
        self._entities_frame = frame  # held, so that no later frame's arrays get the ids that key the cache
        z = self.ground.height(pos) if len(pos) else np.zeros(0, np.float32)
        seeds = [entity_seed(e) for e in self.scene.entities[: len(pos)]]  # the scene's entities come first
        self.entity_layers.draw(pos, radius, kinds, looks, stock, z, seeds + [0] * (len(pos) - len(seeds)))

    def _draw_selection(self, frame: Frame, pos3: np.ndarray) -> None:
        if 0 <= self.selected < frame.n:
            xyzh = np.array([[*pos3[self.selected], 0.0]], np.float32)
            self.ring.update(xyzh, np.array([[*SELECTED, self.agent_scale()]], np.float32))
        elif self.selected_entity >= 0 and self.selected_entity < len(frame.entity_pos):
            e = self.selected_entity
            p = frame.entity_pos[e]
            z = float(self.ground.height(p[None])[0])
            self.ring.update(
                np.array([[p[0], p[1], z, 0.0]], np.float32),
                np.array([[*SELECTED, float(frame.entity_radius[e]) * 1.3]], np.float32),
            )
        else:
            self.ring.update(np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32))

    def _draw_labels(self, frame: Frame, pos3: np.ndarray) -> None:
        if not self.show_labels:
            self.labels.show([])
            return
        if self._label_cache[0] != frame.tick:
            said = self.source.last_said()  # agent -> latest line, for agents talking now
            talking = [a for a in said if 0 <= a < frame.n and frame.state[a] == TALKING]
            self._label_cache = (frame.tick, [(a, said[a]) for a in talking])
        items = []
        cam = self.camera.position().astype(np.float32)
        # Text about 15 px tall at 720 lines (more on taller frames: 22 at 1080), whatever the distance: world metres
        # per pixel grow with distance.
        text_px = 15.0 * max(1.0, self.size[1] / 720.0)
        per_px = 2.0 * math.tan(math.radians(self.lens.get_vfov() / 2)) / max(self.size[1], 1) * text_px
        lift = np.float32([0, 0, 2.1 * self.agent_scale()])
        chosen = self._label_cache[1]
        if chosen:
            d = np.linalg.norm(pos3[[a for a, _ in chosen]] - cam, axis=1)
            chosen = [chosen[i] for i in np.argsort(d)[: len(self.labels.pool) - 1]]
        from tokenworld.mind.personas import agent_name

        if 0 <= self.selected < frame.n:
            line = dict(chosen).get(self.selected)
            text = agent_name(self.selected) + (f': "{line}"' if line else "")
            chosen = [(a, t) for a, t in chosen if a != self.selected]
            p = pos3[self.selected] + lift
            items.append((p, text, float(np.linalg.norm(p - cam)) * per_px))
        for a, text in chosen:
            p = pos3[a] + lift
            items.append((p, f'{agent_name(a)}: "{text}"', float(np.linalg.norm(p - cam)) * per_px * 0.85))
        self.labels.show(items)

    def gl_matrices(self) -> tuple[list[float], list[float]]:
        """The camera's view and projection matrices as OpenGL (and ImGuizmo) take them: 16 floats each, the view
        looking down -z with y up (Panda3D's camera looks down +y with z up; the product is the same)."""
        cam = self.base.cam.get_mat(self.base.render)
        cam.invert_in_place()
        view = np.array([[cam.get_cell(r, c) for c in range(4)] for r in range(4)], np.float64)
        p = self.lens.get_projection_mat()
        proj = np.array([[p.get_cell(r, c) for c in range(4)] for r in range(4)], np.float64)
        to_gl = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], np.float64)  # row vectors
        return (view @ to_gl).ravel().tolist(), (to_gl.T @ proj).ravel().tolist()

    # ------------------------------------------------------------ geometry helpers

    def view_proj(self) -> np.ndarray:
        """World-to-clip matrix (row-vector convention) of the current camera."""
        cam = self.base.cam
        m = cam.get_mat(self.base.render)
        m.invert_in_place()
        view = np.array([[m.get_cell(r, c) for c in range(4)] for r in range(4)], np.float64)
        p = self.lens.get_projection_mat()
        proj = np.array([[p.get_cell(r, c) for c in range(4)] for r in range(4)], np.float64)
        return view @ proj

    def screen_positions(self) -> np.ndarray:
        """Pixels (x, y down) of every agent's body centre as last drawn."""
        from tokenworld.viewer.picking import project

        pos3 = self._positions(self.source.frame, self.clock()) + np.float32([0, 0, 0.9 * self.agent_scale()])
        return project(pos3, self.view_proj(), self.size)[0]

    def arch_text(self) -> str:
        return getattr(self.source, "arch", None) or "-"

    # ------------------------------------------------------------ selection and camera

    def select(self, agent: int) -> None:
        self.selected = int(agent)
        self.selected_entity = -1
        self.source.inspect(self.selected if self.selected >= 0 else None)
        if self.selected < 0 and self.camera.follow is not None:
            self.camera.follow = None

    def select_entity(self, entity: int) -> None:
        self.select(-1)
        self.selected_entity = int(entity)

    def card(self) -> AgentCard | None:
        """The selected agent's card (a placeholder until the source has read it), or None."""
        if self.selected < 0:
            return None
        card = self.source.card
        return card if card is not None and card.id == self.selected else AgentCard(id=self.selected, name="...")

    def focus_selection(self) -> None:
        frame = self.source.frame
        if frame is None:
            return
        if 0 <= self.selected < frame.n:
            p = frame.pos[self.selected]
        elif 0 <= self.selected_entity < len(frame.entity_pos):
            p = frame.entity_pos[self.selected_entity]
        else:
            return
        z = float(self.ground.height(p[None])[0])
        self.camera.focus(np.array([p[0], p[1], z]), distance=min(self.camera.distance, 30.0))

    def focus_zone(self, zone: int) -> None:
        from tokenworld.scene.geometry import zone_polygon

        poly = zone_polygon(self.scene.zones[zone])
        c = poly.mean(axis=0)
        extent = float(np.ptp(poly, axis=0).max())
        self.camera.focus(np.array([c[0], c[1], float(self.ground.height(c[None])[0])]), distance=extent * 1.2 + 10)

    def pick_at(self, x: float, y: float) -> None:
        """Select the agent (or else the entity) under pixel (x, y), or clear the selection."""
        from tokenworld.viewer.picking import pick

        frame = self.source.frame
        if frame is None:
            return
        vp = self.view_proj()
        pos3 = self._positions(frame, self.clock()) + np.float32([0, 0, 0.9 * self.agent_scale()])
        # Radius: an agent's size on screen, at least 8 px.
        px_per_m = 1.0 / max(self.camera.metres_per_px(self.size[1]), 1e-6)
        hit = pick(pos3, vp, self.size, (x, y), max(8.0, 0.6 * px_per_m * self.agent_scale()))
        if hit >= 0:
            self.select(hit)
            return
        if len(frame.entity_pos):
            ez = self.ground.height(frame.entity_pos) + 0.8
            ent = pick(
                np.column_stack([frame.entity_pos, ez]),
                vp,
                self.size,
                (x, y),
                np.maximum(frame.entity_radius * px_per_m, 10.0),
            )
            if ent >= 0:
                self.select_entity(ent)
                return
        self.select(-1)

    # ------------------------------------------------------------ running

    def render(self, frames: int = 1) -> None:
        """Run `frames` frames of the viewer's loop (tasks, panels, drawing)."""
        for _ in range(frames):
            if self._closed:
                return
            self.base.taskMgr.step()
            if self._close_soon:
                self.close()

    def image(self) -> np.ndarray:
        """The last rendered frame as an (h, w, 3) uint8 array, top row first."""
        tex = self.base.win.get_screenshot()
        data = np.frombuffer(bytes(tex.get_ram_image_as("RGB")), np.uint8)
        img = data.reshape(tex.get_y_size(), tex.get_x_size(), 3)
        return img[::-1].copy()

    def screenshot(self, path: str | Path) -> Path:
        from panda3d.core import Filename

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.base.win.save_screenshot(Filename.from_os_specific(str(path.resolve()))):
            raise OSError(f"could not write the screenshot {path}")
        return path

    def run(self) -> None:
        """The interactive loop, until the window closes."""
        try:
            while not self._closed:
                self.base.taskMgr.step()
                if self._close_soon:
                    self.close()
        except SystemExit:
            pass

    def close_soon(self) -> None:
        """Close the viewer once the frame being drawn is done (for buttons and events inside a frame)."""
        self._close_soon = True

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.recorder is not None:  # a recording in progress is finished, not lost
            self.toggle_recording()
        if self.edit is not None:
            self.edit.close()
        if self.gui is not None:
            self.base.ignore("imgui-new-frame")
            self.gui.close()
        self.base.ignoreAll()
        self.base.taskMgr.remove("tokenworld-update")
        try:
            self.base.destroy()
        except Exception:  # a half-open window must not hide what the run recorded
            pass
        from panda3d.core import unloadPrcFile

        for page in self._prc_pages:  # the next viewer in this process starts from clean settings
            unloadPrcFile(page)
