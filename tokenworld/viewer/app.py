"""The viewer: a Panda3D window (or offscreen buffer) showing a live or replayed world, with ImGui panels.

Each frame reads the source's latest `Frame` (never waiting for a tick or the
model), moves agents smoothly between ticks, uploads per-instance data from
numpy and draws: terrain with zones, entities, agents, the selection ring and
labels. Input goes to ImGui when a panel wants it and to the camera otherwise;
`click`, `move_pointer` and friends drive the same paths without a mouse, for
scripted runs and tests in an offscreen buffer.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from tokenworld.scene.schema import ARCHETYPES, Scene
from tokenworld.viewer.feed import BUSY, IDLE, TALKING, WALKING, Frame

ARCHETYPE_COLORS = np.array([
    (0.93, 0.93, 0.93), (0.95, 0.75, 0.25), (0.35, 0.6, 0.95), (0.9, 0.45, 0.3), (0.75, 0.35, 0.85), (0.3, 0.85, 0.8),
], np.float32)  # fmt: skip
STATE_COLORS = np.zeros((4, 3), np.float32)
STATE_COLORS[[IDLE, WALKING, BUSY, TALKING]] = [(0.7, 0.7, 0.7), (0.3, 0.6, 1.0), (0.95, 0.6, 0.2), (1.0, 0.35, 0.6)]
SELECTED = np.array([1.0, 0.95, 0.1], np.float32)
LOD_DISTANCE = 90.0  # m (times the agent scale): nearer agents are drawn in full
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


class Daylight:
    """Time of day from the sim clock: one simulated minute is one hour, the first tick at 9:00."""

    START_HOUR = 9.0

    def hour(self, sim_time: float) -> float:
        return (self.START_HOUR + sim_time / 60.0) % 24.0

    def hour_text(self, sim_time: float) -> str:
        h = self.hour(sim_time)
        return f"{int(h):02d}:{int((h % 1) * 60):02d}"

    def light(self, sim_time: float) -> dict[str, tuple[float, float, float]]:
        """Sun direction and colours for `lit.frag`, and the sky's background colour."""
        h = self.hour(sim_time)
        angle = (h - 6.0) / 12.0 * math.pi  # 0 at sunrise, pi at sunset
        elev = math.sin(angle)
        day = min(max(elev * 2.0 + 0.3, 0.0), 1.0)
        sun_dir = np.array([math.cos(angle), 0.35, max(elev, 0.05) + 0.25])
        sun_dir /= np.linalg.norm(sun_dir)
        warm = 1.0 - min(max(elev, 0.0) * 2.5, 1.0)  # redder near the horizon
        sun = np.array([1.0, 0.95 - 0.25 * warm, 0.85 - 0.45 * warm]) * 0.75 * day
        sky = np.array([0.55, 0.6, 0.7]) * (0.25 + 0.55 * day) + np.array([0.05, 0.05, 0.15]) * (1 - day)
        ground = np.array([0.3, 0.27, 0.22]) * (0.3 + 0.5 * day)
        background = np.array([0.55, 0.7, 0.9]) * (0.15 + 0.85 * day) + np.array([0.02, 0.03, 0.08]) * (1 - day)
        out = {"sun_dir": sun_dir, "sun_color": sun, "sky_color": sky, "ground_color": ground, "background": background}
        return {k: tuple(float(x) for x in v) for k, v in out.items()}


class Viewer:
    """Shows `source` (a `LiveFeed` or a `Playback`) for `scene`.

    Args:
        offscreen: render into an offscreen EGL buffer (no display needed).
        size: window or buffer size in pixels.
        panels: draw the ImGui panels.
        vsync: wait for the display's refresh (windows only; off for benchmarks).
    """

    def __init__(self, source, scene: Scene, *, offscreen: bool = False, size: tuple[int, int] = (1280, 720),
                 panels: bool = True, vsync: bool = True, title: str | None = None):  # fmt: skip
        from panda3d.core import loadPrcFileData

        self.source = source
        self.scene = scene
        self.size = (int(size[0]), int(size[1]))
        self.offscreen = offscreen
        self.is_replay = hasattr(source, "seek")
        title = title or f"Token World - {scene.name}"
        self._prc_pages = [loadPrcFileData("tokenworld-viewer", PRC.format(vsync="true" if vsync and not offscreen else "false", title=title,
                                                        w=self.size[0], h=self.size[1]))]  # fmt: skip
        if offscreen:
            self._prc_pages.append(loadPrcFileData("tokenworld-offscreen", "load-display p3headlessgl\n"))
        elif vsync:  # at most 60 frames a second even where vsync is not honoured (software GL, Xvfb)
            self._prc_pages.append(loadPrcFileData("tokenworld-window", "clock-mode limited\nclock-frame-rate 60\n"))
        self._closed = False
        self.gui = None
        self.base = _open_showbase(offscreen, self._prc_pages)
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
        self.last_screenshot: Path | None = None  # the last F12 screenshot
        self._down: dict[str, tuple[float, float]] = {}
        self._last_drag: tuple[float, float] | None = None
        self._colors_key = None
        self._z_cache: dict[int, np.ndarray] = {}
        self._label_cache: tuple[int, list] = (-1, [])
        self._last_focus = 0.0
        self._t_last = time.perf_counter()
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
        from tokenworld.viewer.layers import Ground, InstancedLayer, Labels, agent_mesh, far_agent_mesh, load_shader, ring_mesh

        base, scene = self.base, self.scene
        base.disableMouse()
        render = base.render
        self.inst_shader = load_shader("instanced.vert", "lit.frag")
        ground_shader = load_shader("ground.vert", "lit.frag")
        self.daylight = Daylight()
        self._apply_light(0.0)
        self.ground = Ground(render, scene, ground_shader)
        self.agents = InstancedLayer(render, "agents", agent_mesh(), self.inst_shader, capacity=max(scene.agent_count, 1))
        self.far_agents = InstancedLayer(render, "agents-far", far_agent_mesh(), self.inst_shader, capacity=max(scene.agent_count, 1))
        self.ring = InstancedLayer(render, "selection", ring_mesh(), self.inst_shader, capacity=1)
        self.ring.update(np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32))
        self.entity_layers: dict[str, InstancedLayer] = {}
        self._entities_key = None
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
        now = time.perf_counter()
        dt = now - self._t_last
        self._t_last = now
        if dt > 0:
            self.frame_times.append(dt * 1000.0)
            self.frame_ms = dt * 1000.0
            self.fps = 0.9 * self.fps + 0.1 / dt if self.fps else 1.0 / dt
        if self.is_replay:
            self.source.advance(dt)
        self._keys(dt)
        frame = self.source.frame
        if frame is None:
            return task.cont
        pos3 = self._positions(frame, now)
        self._draw_agents(frame, pos3)
        self._draw_entities(frame)
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
            v = self.source.traits[:, self.trait] if getattr(self.source, "traits", None) is not None else np.full(n, 0.5)
            rgb = np.column_stack([0.25 + 0.75 * v, 0.35 + 0.3 * (1 - np.abs(v - 0.5) * 2), 1.0 - 0.75 * v]).astype(np.float32)
        elif self.color_by == "zone":
            from tokenworld.viewer.layers import MEADOW

            palette = np.array([self.ground.zone_color(i) for i in range(len(self.scene.zones))] + [MEADOW], np.float32)
            rgb = np.clip(palette[np.where(frame.zone >= 0, frame.zone, len(self.scene.zones))] * 1.25, 0, 1)
        else:
            rgb = ARCHETYPE_COLORS[self.source.archetype] if getattr(self.source, "archetype", None) is not None else np.full((n, 3), 0.8, np.float32)
        rgbs = np.empty((n, 4), np.float32)
        rgbs[:, :3] = rgb
        rgbs[:, 3] = self.agent_scale()
        if 0 <= self.selected < n:
            rgbs[self.selected, :3] = SELECTED
        self._colors_key, self._rgbs = key, rgbs
        return rgbs

    def _draw_agents(self, frame: Frame, pos3: np.ndarray) -> None:
        """Agents near the camera as pawns, the rest as 4-triangle wedges (level of detail)."""
        xyzh = np.empty((frame.n, 4), np.float32)
        xyzh[:, :3] = pos3
        xyzh[:, 3] = frame.heading
        rgbs = self._colors(frame)
        cam = self.camera.position().astype(np.float32)
        near = ((pos3 - cam) ** 2).sum(axis=1) < np.float32(LOD_DISTANCE * self.agent_scale()) ** 2
        if near.all():
            self.agents.update(xyzh, rgbs)
            self.far_agents.update(xyzh[:0], rgbs[:0])
        else:
            self.agents.update(xyzh[near], rgbs[near])
            self.far_agents.update(xyzh[~near], rgbs[~near])

    def _draw_entities(self, frame: Frame) -> None:
        key = (len(frame.entity_pos), id(frame.entity_pos) if len(frame.entity_pos) else 0)
        if key == self._entities_key:
            return
        self._entities_key = key
        from tokenworld.viewer.layers import ENTITY_COLORS, InstancedLayer, entity_mesh

        kinds = np.array(frame.entity_kind, dtype=object)
        z = self.ground.height(frame.entity_pos) if len(frame.entity_pos) else np.zeros(0, np.float32)
        for kind in sorted(set(frame.entity_kind) | set(self.entity_layers)):
            rows = np.flatnonzero(kinds == kind) if len(kinds) else np.zeros(0, int)
            if kind not in self.entity_layers:
                self.entity_layers[kind] = InstancedLayer(self.base.render, f"entities-{kind}", entity_mesh(kind), self.inst_shader, capacity=max(len(rows), 1))
            xyzh = np.zeros((len(rows), 4), np.float32)
            xyzh[:, :2] = frame.entity_pos[rows]
            xyzh[:, 2] = z[rows]
            xyzh[:, 3] = (rows * 2.399) % (2 * np.pi)  # varied orientations
            rgbs = np.empty((len(rows), 4), np.float32)
            rgbs[:, :3] = ENTITY_COLORS.get(kind, (0.6, 0.6, 0.6))
            rgbs[:, 3] = np.maximum(frame.entity_radius[rows], 0.3)
            self.entity_layers[kind].update(xyzh, rgbs)

    def _draw_selection(self, frame: Frame, pos3: np.ndarray) -> None:
        if 0 <= self.selected < frame.n:
            xyzh = np.array([[*pos3[self.selected], 0.0]], np.float32)
            self.ring.update(xyzh, np.array([[*SELECTED, self.agent_scale()]], np.float32))
        elif self.selected_entity >= 0 and self.selected_entity < len(frame.entity_pos):
            e = self.selected_entity
            p = frame.entity_pos[e]
            z = float(self.ground.height(p[None])[0])
            self.ring.update(np.array([[p[0], p[1], z, 0.0]], np.float32), np.array([[*SELECTED, float(frame.entity_radius[e]) * 1.3]], np.float32))
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
        # Text about 15 px tall whatever the distance: world metres per pixel grow with distance.
        per_px = 2.0 * math.tan(math.radians(self.lens.get_vfov() / 2)) / max(self.size[1], 1) * 15.0
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

        pos3 = self._positions(self.source.frame, time.perf_counter()) + np.float32([0, 0, 0.9 * self.agent_scale()])
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

    def card(self) -> dict | None:
        if self.selected < 0:
            return None
        card = self.source.card
        return card if card is not None and card.get("id") == self.selected else {"id": self.selected, "name": "..."}

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
        pos3 = self._positions(frame, time.perf_counter()) + np.float32([0, 0, 0.9 * self.agent_scale()])
        # Radius: an agent's size on screen, at least 8 px.
        px_per_m = 1.0 / max(self.camera.metres_per_px(self.size[1]), 1e-6)
        hit = pick(pos3, vp, self.size, (x, y), max(8.0, 0.6 * px_per_m * self.agent_scale()))
        if hit >= 0:
            self.select(hit)
            return
        if len(frame.entity_pos):
            ez = self.ground.height(frame.entity_pos) + 0.8
            ent = pick(np.column_stack([frame.entity_pos, ez]), vp, self.size, (x, y), np.maximum(frame.entity_radius * px_per_m, 10.0))
            if ent >= 0:
                self.select_entity(ent)
                return
        self.select(-1)

    # ------------------------------------------------------------ input

    def pointer(self) -> tuple[float, float] | None:
        """Pointer position in pixels (None outside the window)."""
        if not self.offscreen and not self._scripted_pointer:
            mw = self.base.mouseWatcherNode
            if mw is not None and mw.has_mouse():
                m = mw.get_mouse()
                self._pointer_px = ((m.x + 1) * 0.5 * self.size[0], (1 - m.y) * 0.5 * self.size[1])
            else:
                self._pointer_px = None
        return self._pointer_px

    def _bind_input(self) -> None:
        b = self.base
        for name, button in (("mouse1", "left"), ("mouse3", "right"), ("mouse2", "middle")):
            b.accept(name, self._button, [button, True])
            b.accept(f"{name}-up", self._button, [button, False])
        b.accept("wheel_up", self._wheel, [1.0])
        b.accept("wheel_down", self._wheel, [-1.0])
        for key, fn in (("f", self.focus_selection), ("l", self._toggle_follow), ("t", self.camera.toggle_top_down),
                        ("space", self._toggle_play), ("escape", lambda: self.select(-1)), ("tab", self._toggle_panels),
                        ("f12", self._save_screenshot)):  # fmt: skip
            b.accept(key, self._key_action, [fn])
        b.accept("window-event", self._window_event)

    def _window_event(self, win) -> None:
        if win is not self.base.win:
            return
        props = win.get_properties()
        if not props.get_open():
            self.close()
            return
        if props.has_size():
            self.size = (props.get_x_size(), props.get_y_size())
            self.lens.set_aspect_ratio(self.size[0] / max(self.size[1], 1))
            self.camera.vfov_deg = self.lens.get_vfov()

    def _key_action(self, fn) -> None:
        if self.gui is not None and self.gui.wants_keyboard:
            return
        fn()

    def _toggle_follow(self) -> None:
        self.camera.follow = None if self.camera.follow is not None or self.selected < 0 else self.selected

    def _toggle_play(self) -> None:
        self.source.set_playing(not self.source.playing)

    def _save_screenshot(self) -> None:
        """F12: the current frame to screenshots/tokenworld-<time>.png (the path shows in the Simulation panel)."""
        self.last_screenshot = self.screenshot(Path("screenshots") / time.strftime("tokenworld-%Y%m%d-%H%M%S.png"))

    def _toggle_panels(self) -> None:
        if self.gui is not None:
            self.gui.toggle()

    def _keys(self, dt: float) -> None:
        """WASD / arrows fly, Q / E turn (held keys, windows only)."""
        mw = self.base.mouseWatcherNode
        if self.offscreen or mw is None or (self.gui is not None and self.gui.wants_keyboard):
            self._drag()
            return
        from panda3d.core import KeyboardButton

        def down(*names):
            return any(mw.is_button_down(KeyboardButton.ascii_key(n) if len(n) == 1 else getattr(KeyboardButton, n)()) for n in names)

        step = self.camera.distance * 0.8 * dt
        fwd = down("w", "up") - down("s", "down")
        right = down("d", "right") - down("a", "left")
        if fwd or right:
            self.camera.move(right * step, fwd * step)
        turn = down("e") - down("q")
        if turn:
            self.camera.orbit(turn * 200 * dt, 0)
        self._drag()

    def _button(self, button: str, down: bool) -> None:
        pos = self.pointer()
        if down:
            if self.gui is not None and self.gui.wants_mouse:
                return
            if pos is not None:
                self._down[button] = pos
                self._last_drag = pos
            return
        start = self._down.pop(button, None)
        if start is None or pos is None:
            return
        if button == "left" and math.dist(start, pos) < 5:
            self.pick_at(*pos)

    def _drag(self) -> None:
        pos = self.pointer()
        if not self._down or pos is None or self._last_drag is None:
            return
        dx, dy = pos[0] - self._last_drag[0], pos[1] - self._last_drag[1]
        self._last_drag = pos
        if not (dx or dy):
            return
        if "left" in self._down:
            self.camera.orbit(dx, dy)
        elif "right" in self._down:
            self.camera.pan(dx, dy, self.size[1])
        elif "middle" in self._down:
            self.camera.zoom(-dy / 40.0)

    def _wheel(self, amount: float) -> None:
        if self.gui is not None and self.gui.wants_mouse:
            return
        self.camera.zoom(amount)

    # ------------------------------------------------------------ scripted input (offscreen, tests)

    def move_pointer(self, x: float, y: float) -> None:
        """Put the pointer at pixel (x, y); from now on the real mouse is ignored (scripted input)."""
        self._scripted_pointer = True
        self._pointer_px = (float(x), float(y))

    def click(self, x: float, y: float, button: str = "left") -> None:
        """A full click at pixel (x, y): pointer there, press, release, a frame after each (as a mouse would)."""
        index = {"left": 0, "right": 1, "middle": 2}[button]
        self.move_pointer(x, y)
        self.render()
        if self.gui is not None:
            self.gui.press(index, True)
        self._button(button, True)
        self.render()
        if self.gui is not None:
            self.gui.press(index, False)
        self._button(button, False)
        self.render()

    def type_text(self, text: str) -> None:
        if self.gui is not None:
            self.gui.type_text(text)
        self.render()

    # ------------------------------------------------------------ running

    def render(self, frames: int = 1) -> None:
        """Run `frames` frames of the viewer's loop (tasks, panels, drawing)."""
        for _ in range(frames):
            self.base.taskMgr.step()

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
        except SystemExit:
            pass

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
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
