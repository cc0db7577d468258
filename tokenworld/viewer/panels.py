"""The ImGui panels: Simulation, Inspector, Conversations, Plots, Inference, Zones; Assets (F3, assets_panel.py).

Panels read the viewer's source (a live simulation or a replayed run) and the
viewer's own state (selection, colouring); they change things only through the
source's commands (play, step, speed, seek, interventions) and the viewer's
methods (select, focus). Everything drawn here is also noted in `shown`, a
dict of what each panel displayed last frame, which tests and the bench read.
"""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot

from tokenworld.sim.frames import SERIES, describe

COLOR_MODES = ("archetype", "state", "trait", "zone")
KINDS = ("talk", "trade", "gather", "craft", "build", "give", "refused", "intervention", "round", "edit")
PLOTS = (
    ("Needs", ("mean_hunger", "mean_energy")),
    ("Activity", ("trades", "talks", "decisions")),
    ("Resources", ("total_food", "total_water", "total_wood", "total_stone", "total_tools")),
    ("Prices", ("price_food", "price_water", "price_wood", "price_stone", "price_tools")),
    ("Social ties", ("ties",)),
    ("Model decisions/s", ("decisions_per_s",)),
    ("Model tokens/s", ("tokens_per_s",)),
    ("Model latency (ms)", ("latency_p50_ms", "latency_p95_ms")),
)
LABELS = {
    **SERIES,
    "decisions_per_s": "decisions/s",
    "tokens_per_s": "tokens/s",
    "latency_p50_ms": "p50",
    "latency_p95_ms": "p95",
}


class Panels:
    """Draws every panel once per frame (call `draw()` between ImGui's new_frame and render)."""

    def __init__(self, viewer):
        self.v = viewer
        self.shown: dict[str, dict] = {}
        self.filter_agent_only = False
        self.filter_zone = 0  # 0 = all zones, else zone index + 1
        self.kinds = {k: True for k in KINDS}
        self.message = ""
        self.event_text = ""
        self.event_zone = 0
        self.trait = 0
        self.sent: list[str] = []
        self.edit_panels = None  # the Edit mode's panels, made when it first opens
        self.show_assets = False  # the Assets panel (F3)
        self.assets = None  # made when first shown

    def draw(self) -> None:
        imgui.dock_space_over_viewport(0, None, imgui.DockNodeFlags_.passthru_central_node.value)
        v = self.v
        w, h = v.size
        # Laid out around the 3D view at 1280x720; never smaller than a usable panel on small windows
        # (ImGui clamps windows that do not fit, and they can be moved, docked and resized).
        side, right = min(320, w // 3), min(360, w // 3)
        mid = max(w - side - right - 40, 120)
        self._assets((side + 16, 8), (min(400, mid), max(h - 204, 200)))
        if v.edit is not None:  # Edit mode: its own panels (tokenworld/viewer/edit_panels.py), the run's controls above
            if self.edit_panels is None:
                from tokenworld.viewer.edit_panels import EditPanels

                self.edit_panels = EditPanels(v)
            if not v.edit.preview:
                self._simulation((8, 8), (side, 215))
            self.edit_panels.draw(top=8 if v.edit.preview else 231)
            return
        self._simulation((8, 8), (side, 215))
        self._inference((8, 231), (side, 150))
        self._plots((8, 389), (side, max(h - 397, 120)))
        self._inspector((w - right - 8, 8), (right, max(h * 0.6, 120)))
        self._zones((w - right - 8, h * 0.6 + 16), (right, max(h * 0.4 - 24, 100)))
        self._conversations((side + 16, max(h - 188, 0)), (mid, 180))

    # ------------------------------------------------------------ Simulation

    def _simulation(self, pos, size) -> None:
        v, src = self.v, self.v.source
        if begin_window("Simulation", pos, size):
            frame = src.frame
            tick = frame.tick if frame is not None else 0
            self.shown["simulation"] = {"tick": tick, "status": src.status, "fps": v.fps}
            imgui.text(f"{v.scene.name}: {src.status}")
            if src.error:
                imgui.text_colored(imgui.ImVec4(1, 0.4, 0.4, 1), src.error)
            playing = src.playing
            if imgui.button("Pause" if playing else "Play"):
                src.set_playing(not playing)
            imgui.same_line()
            if imgui.button("Step"):
                src.step_once()
            if v.is_replay:
                imgui.same_line()
                if imgui.button("Restart"):
                    src.seek(src.tick_range[0])
            changed, speed = imgui.slider_float(
                "speed (x real time)", float(src.speed), 0.25, 64.0, "%.2f", imgui.SliderFlags_.logarithmic.value
            )
            if changed:
                src.set_speed(speed)
            if v.is_replay:
                lo, hi = src.tick_range
                changed, t = imgui.slider_int("tick", round(src.playhead), lo, max(hi, lo + 1))
                if changed:
                    src.seek(t)
            sim_time = frame.sim_time if frame is not None else 0.0
            imgui.text(f"tick {tick:,}   sim time {_clock(sim_time)}   day {v.daylight.hour_text(sim_time)}")
            imgui.text(f"{v.fps:5.1f} FPS   frame {v.frame_ms:5.1f} ms   {src.ticks_per_s:5.1f} ticks/s")
            imgui.text(f"{v.scene.agent_count:,} agents   backend {v.scene.mind.backend}   arch {v.arch_text()}")
            if v.last_screenshot is not None:
                imgui.text(f"saved {v.last_screenshot}")
            if imgui.button("Stop recording (F9)" if v.recorder is not None else "Record (F9)"):
                v.toggle_recording()
            if v.recorder is not None:
                imgui.same_line()
                imgui.text_colored(imgui.ImVec4(1, 0.35, 0.35, 1), f"recording {v.recorder.path}")
            elif v.last_recording is not None:
                imgui.same_line()
                imgui.text(f"saved {v.last_recording}")
            if not v.is_replay:
                if imgui.button("Leave Edit mode (F2)" if v.edit is not None else "Edit scene (F2)"):
                    v.toggle_edit()
                if v.edit_error:
                    imgui.same_line()
                    imgui.text_colored(imgui.ImVec4(1, 0.4, 0.4, 1), v.edit_error)
            changed, mode = imgui.combo("colour by", COLOR_MODES.index(v.color_by), list(COLOR_MODES))
            if changed:
                v.color_by = COLOR_MODES[mode]
            if v.color_by == "trait":
                from tokenworld.scene.schema import TRAITS

                changed, self.trait = imgui.combo("trait", self.trait, list(TRAITS))
                v.trait = self.trait
            _, v.show_labels = imgui.checkbox("speech and names", v.show_labels)
            imgui.same_line()
            cam = v.camera
            follow = cam.follow is not None
            changed, follow = imgui.checkbox("follow", follow)
            if changed:
                cam.follow = v.selected if follow and v.selected >= 0 else None
            imgui.same_line()
            if imgui.checkbox("top-down", cam.top_down)[0]:
                cam.toggle_top_down()
            _, self.show_assets = imgui.checkbox("assets (F3)", self.show_assets)
        imgui.end()

    def _assets(self, pos, size) -> None:
        """The Assets panel (tokenworld/viewer/assets_panel.py), while shown."""
        if self.show_assets and self.assets is None:
            from tokenworld.viewer.assets_panel import AssetsPanel

            self.assets = AssetsPanel(self.v)
        if self.assets is not None:
            if self.show_assets:
                self.assets.draw(pos, size)
            else:
                self.assets.hide()
            self.shown["assets"] = self.assets.shown if self.show_assets else {}

    # ------------------------------------------------------------ Inspector

    def _inspector(self, pos, size) -> None:
        v = self.v
        if begin_window("Inspector", pos, size):
            card = v.card()
            if v.selected_entity >= 0 and v.source.frame is not None:
                f = v.source.frame
                e = v.selected_entity
                if e < len(f.entity_kind):
                    imgui.text(f"{f.entity_name[e] or f.entity_kind[e]} ({f.entity_kind[e]})")
                    imgui.text(
                        f"at ({f.entity_pos[e, 0]:.1f}, {f.entity_pos[e, 1]:.1f}), radius {f.entity_radius[e]:.1f} m"
                    )
                    self.shown["inspector"] = {"entity": e, "name": f.entity_name[e]}
            elif card is None:
                imgui.text_wrapped(
                    "Click an agent (or an entity) to inspect it. "
                    "F focuses the camera on it, L follows it, Esc lets go. "
                    "Drag: left orbits, right pans, middle or wheel zooms; WASD or arrows fly, Q/E turn, T top-down; "
                    "Space plays or pauses, Tab hides the panels, F12 saves a screenshot, F9 records a video."
                )
                self.shown["inspector"] = {}
            else:
                self.shown["inspector"] = {"agent": card.id, "name": card.name}
                imgui.text(f"{card.name}  (agent {card.id})")
                if card.persona:
                    imgui.text_wrapped(card.persona)
                imgui.text(f"{card.archetype} in group {card.group}, mind: {card.mind}")
                imgui.text(f"in {card.zone}, {card.state}")
                if imgui.button("Focus"):
                    v.focus_selection()
                imgui.same_line()
                if imgui.button("Follow"):
                    v.camera.follow = v.selected
                imgui.same_line()
                if imgui.button("Deselect"):
                    v.select(-1)
                if card.needs:
                    for k, val in card.needs.items():
                        imgui.progress_bar(float(np.clip(val, 0, 1)), imgui.ImVec2(-1, 0), f"{k} {val:.2f}")
                if card.traits and imgui.collapsing_header("Traits", imgui.TreeNodeFlags_.default_open.value):
                    for k, val in card.traits.items():
                        imgui.progress_bar(float(val), imgui.ImVec2(-1, 0), f"{k} {val:.2f}")
                inv = card.inventory
                if inv is not None:
                    imgui.text("inventory: " + (", ".join(f"{val:g} {k}" for k, val in inv.items()) or "nothing"))
                if card.plan:
                    imgui.text_wrapped(f"plan: {card.plan}")
                for title, key in (("Memories", "memories"), ("Recent", "recent")):
                    lines = getattr(card, key)
                    if lines and imgui.collapsing_header(title, imgui.TreeNodeFlags_.default_open.value):
                        for line in lines:
                            imgui.bullet_text(line)
                if card.ties and imgui.collapsing_header("Relationships"):
                    for name, weight in card.ties:
                        imgui.bullet_text(f"{name}: {weight:.2f}")
                if card.last_prompt and imgui.collapsing_header("Last prompt"):
                    imgui.text_wrapped(card.last_prompt)
                if card.last_answer is not None:
                    imgui.text_wrapped(f"last answer: {card.last_answer}")
                if not v.is_replay:
                    imgui.separator()
                    _, self.message = imgui.input_text("##say", self.message)
                    imgui.same_line()
                    if imgui.button("Say to agent") and self.message.strip():
                        v.source.send_message(v.selected, self.message)
                        self.sent.append(self.message)
                        self.message = ""
        imgui.end()

    # ------------------------------------------------------------ Conversations and events

    def _conversations(self, pos, size) -> None:
        v = self.v
        if begin_window("Conversations and events", pos, size):
            _, self.filter_agent_only = imgui.checkbox("selected agent only", self.filter_agent_only)
            imgui.same_line()
            zones = ["all zones"] + [z.name for z in v.scene.zones]
            imgui.set_next_item_width(140)
            _, self.filter_zone = imgui.combo("zone", self.filter_zone, zones)
            for i, k in enumerate(KINDS):
                if i % 5:
                    imgui.same_line()
                _, self.kinds[k] = imgui.checkbox(k, self.kinds[k])
            agent = v.selected if self.filter_agent_only and v.selected >= 0 else None
            zone = self.filter_zone - 1 if self.filter_zone > 0 else None
            kinds = {k for k, on in self.kinds.items() if on}
            lines = v.source.recent_lines(150, agent=agent, zone=zone, kinds=kinds)
            texts = [describe(line) for line in lines]
            self.shown["conversations"] = {"lines": len(lines), "last": texts[-1] if texts else ""}
            imgui.begin_child("lines")
            for line, text in zip(lines, texts, strict=False):
                color = _KIND_COLORS.get(line.kind, (0.85, 0.85, 0.85))
                imgui.text_colored(imgui.ImVec4(*color, 1), f"{line.tick:>6}  {text}")
            if imgui.get_scroll_y() >= imgui.get_scroll_max_y() - 4:
                imgui.set_scroll_here_y(1.0)
            imgui.end_child()
        imgui.end()

    # ------------------------------------------------------------ Plots

    def _plots(self, pos, size) -> None:
        v = self.v
        if begin_window("Plots", pos, size):
            series = v.source.series()
            drawn = []
            flags = implot.AxisFlags_.auto_fit.value
            for title, keys in PLOTS:
                have = [k for k in keys if k in series and len(series[k][0]) > 1]
                if not have:
                    continue
                if implot.begin_plot(title, imgui.ImVec2(-1, 150), implot.Flags_.no_mouse_text.value):
                    implot.setup_axes("tick", "", flags, flags)
                    for k in have:
                        xs, ys = series[k]
                        implot.plot_line(
                            LABELS.get(k, k.replace("_", " ")), np.array(xs, np.float64), np.array(ys, np.float64)
                        )
                    implot.end_plot()
                    drawn.append(title)
            if not drawn:
                imgui.text("No metrics yet.")
            self.shown["plots"] = {"plots": drawn}
        imgui.end()

    # ------------------------------------------------------------ Inference

    def _inference(self, pos, size) -> None:
        v = self.v
        if begin_window("Inference", pos, size):
            inf = v.source.inference
            if not inf:
                imgui.text_wrapped(f"No language model in this run (backend {v.scene.mind.backend}).")
            else:
                imgui.text(f"backend {inf.get('backend')}   queue {inf.get('queue_depth', 0)}")
                imgui.text(f"decisions {inf.get('decisions', 0):,}   reflections {inf.get('reflections', 0):,}")
                imgui.text(
                    f"{inf.get('decisions_per_s', 0):.2f} decisions/s   mean batch {inf.get('mean_batch', 0):.1f}"
                )
                imgui.text(
                    f"latency p50 {inf.get('latency_p50_ms', 0):.0f} ms   p95 {inf.get('latency_p95_ms', 0):.0f} ms"
                )
                imgui.text(
                    f"wait p50 {inf.get('wait_p50_ms', 0):.0f} ms   p95 {inf.get('wait_p95_ms', 0):.0f} ms   in flight "
                    f"{inf.get('in_flight', 0)}/{inf.get('in_flight_cap', 0)}"
                )
                imgui.text(
                    f"model made {100 * inf.get('model_share', 0):.0f}% of decisions   stale {inf.get('stale', 0):,}"
                )
                imgui.text(
                    f"tokens in {inf.get('tokens_in', 0):,} (saved {inf.get('prefill_saved', 0):,})   "
                    f"out {inf.get('tokens_out', 0):,}"
                )
                imgui.text(f"cache hits {inf.get('cache_hits', 0):,}   fallbacks {inf.get('fallbacks', 0):,}")
                if inf.get("last_error"):
                    imgui.text_wrapped(f"last error: {inf['last_error']}")
            self.shown["inference"] = dict(inf or {})
        imgui.end()

    # ------------------------------------------------------------ Zones

    def _zones(self, pos, size) -> None:
        v = self.v
        if begin_window("Zones", pos, size):
            frame = v.source.frame
            counts = (
                np.bincount(frame.zone[frame.zone >= 0], minlength=len(v.scene.zones))
                if frame is not None
                else np.zeros(len(v.scene.zones), int)
            )
            self.shown["zones"] = {z.name: int(c) for z, c in zip(v.scene.zones, counts, strict=False)}
            if imgui.begin_table("zones", 3, imgui.TableFlags_.row_bg.value | imgui.TableFlags_.borders_inner_v.value):
                imgui.table_setup_column("zone")
                imgui.table_setup_column("kind")
                imgui.table_setup_column("agents")
                imgui.table_headers_row()
                for i, (z, c) in enumerate(zip(v.scene.zones, counts.tolist(), strict=False)):
                    imgui.table_next_row()
                    imgui.table_next_column()
                    if imgui.selectable(f"{z.name}##zone{i}", False)[0]:
                        v.focus_zone(i)
                    imgui.table_next_column()
                    imgui.text(z.kind)
                    imgui.table_next_column()
                    imgui.text(f"{c:,}")
                imgui.end_table()
            if not v.is_replay and v.scene.zones:
                imgui.separator()
                imgui.text("Inject an event")
                imgui.set_next_item_width(-1)
                _, self.event_zone = imgui.combo("##ezone", self.event_zone, [z.name for z in v.scene.zones])
                imgui.set_next_item_width(-1)
                _, self.event_text = imgui.input_text("##etext", self.event_text)
                if imgui.button("Announce in zone") and self.event_text.strip():
                    v.source.announce(self.event_zone, self.event_text)
                    self.sent.append(self.event_text)
                    self.event_text = ""
        imgui.end()


def begin_window(title: str, pos, size) -> bool:
    """Begin a panel laid out at `pos` with `size` the first time it is seen (then where the user left it);
    whether it is expanded. Call `imgui.end()` after it, whatever it returns."""
    imgui.set_next_window_pos(imgui.ImVec2(*pos), imgui.Cond_.first_use_ever.value)
    imgui.set_next_window_size(imgui.ImVec2(*size), imgui.Cond_.first_use_ever.value)
    expanded, _ = imgui.begin(title)
    return expanded


_KIND_COLORS = {
    "talk": (0.75, 0.9, 1.0),
    "trade": (1.0, 0.85, 0.45),
    "refused": (1.0, 0.55, 0.5),
    "intervention": (1.0, 0.6, 1.0),
    "round": (0.7, 1.0, 0.7),
    "edit": (1.0, 0.8, 0.3),  # a live edit of the scene
}


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"
