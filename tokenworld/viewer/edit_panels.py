"""The Edit mode's ImGui panels: the toolbar, the outliner, the selection's properties and the scene settings.

Every form is drawn by one builder, `FormBuilder`, from the scene schema's `FieldSpec`s (tokenworld/editor/forms.py):
a zone, an entity, a group and each options table (world, sim, mind, economy, ...) get the same widgets for the
same kinds of keys, so a new schema option appears here with its doc, unit and choices. A typed value is applied
when the field is left (Enter, Tab or a click elsewhere), so one change is one undo step; what the validator
refuses shows in red in the Edit panel and changes nothing.

Like the other panels, these note what they drew in `shown`, and where their buttons are in `rects` (pixels),
which tests use to click them.
"""

from __future__ import annotations

import tomllib
from typing import Any, Callable

from imgui_bundle import imgui

from tokenworld.editor import SetEntity, SetGroup, SetOption, SetZone
from tokenworld.editor.forms import FieldSpec, fields_of, tables
from tokenworld.scene.schema import ENTITY_KINDS, ITEMS, TRAITS
from tokenworld.viewer.edit_mode import TOOLS
from tokenworld.viewer.panels import begin_window

TOOL_NAMES = {"select": "Select", "rect": "Rectangle", "polygon": "Polygon", "entity": "Entity", "spawn": "Spawn area"}
TOOL_HINTS = {
    "select": "Click to select, Shift+click to add, drag to move; drag on empty ground (or Shift+drag) for a box. "
    "Corner squares resize. Delete removes, Ctrl+Z / Ctrl+Y undo and redo, Ctrl+S saves.",
    "rect": "Drag a rectangle on the ground to add a zone. Esc goes back to Select.",
    "polygon": "Click the corners of a zone; click the first corner (or press Enter) to close it. "
    "Backspace removes the last corner, Esc cancels.",
    "entity": "Click the ground to place an entity of the kind chosen below.",
    "spawn": "Drag a rectangle: the selected group starts there (or a new group does).",
}
RED = imgui.ImVec4(1.0, 0.45, 0.4, 1.0)
GREY = imgui.ImVec4(0.7, 0.7, 0.7, 1.0)
AMBER = imgui.ImVec4(1.0, 0.8, 0.35, 1.0)
LISTS = ("zones", "entities", "groups", "tell")  # the scene's [[...]] entries, edited in the Outliner, not as settings
SETTINGS = [t for t in tables() if t.split(".")[0] not in LISTS]  # the options tables, in the schema's order
ITEM_SETTERS = {"zones": SetZone, "entities": SetEntity, "groups": SetGroup}
SINGULAR = {"zones": "zone", "entities": "entity", "groups": "group"}


class FormBuilder:
    """Draws the form of a scene table from its `FieldSpec`s and returns the changes made this frame."""

    def __init__(self, panels: EditPanels):
        self.p = panels
        self.pending: dict[str, Any] = {}  # widget id -> the value being typed, applied when the field is left
        self.text: dict[str, str] = {}  # widget id -> free-form text being typed (properties)

    def form(self, table: str, values: dict, wid: str, *, skip: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
        """Widgets for every key of `table` showing `values` (the table's effective values); returns (key, value)
        pairs changed this frame (None: unset the key, its default applies)."""
        changes = []
        for spec in fields_of(table):
            if spec.name in skip:
                continue
            imgui.push_id(f"{wid}.{spec.name}")
            try:
                changed, value = self.field(spec, values.get(spec.name), f"{wid}.{spec.name}")
            finally:
                imgui.pop_id()
            self.p._noted(f"{wid}.{spec.name}")  # its last widget (tests click it)
            if spec.doc and imgui.is_item_hovered():
                imgui.set_tooltip(spec.doc + (f" ({spec.unit})" if spec.unit else ""))
            if changed:
                changes.append((spec.name, value))
        return changes

    def field(self, spec: FieldSpec, value: Any, wid: str) -> tuple[bool, Any]:
        """One key's widget; (changed, new value)."""
        label = spec.name + (f" ({spec.unit})" if spec.unit else "")
        if spec.optional and value is None and spec.type not in ("choice", "str"):
            imgui.text_colored(GREY, f"{label}: not set")
            imgui.same_line()
            if imgui.small_button("set"):
                return True, _initial(spec)
            return False, None
        if spec.type == "bool":
            return imgui.checkbox(label, bool(value))
        if spec.type == "choice" or spec.name == "spawn_zone":
            choices = list(spec.choices) if spec.type == "choice" else [z.name for z in self.p.edit.editor.scene.zones]
            if spec.optional:
                choices = ["(none)", *choices]
            shown = "(none)" if value is None else str(value)
            if shown not in choices:
                choices.append(shown)
            changed, k = imgui.combo(label, choices.index(shown), choices)
            return changed, (None if choices[k] == "(none)" else choices[k])
        if spec.type == "int":
            return self._deferred(wid, int(value), lambda v: imgui.input_int(label, v, 1, 10))
        if spec.type == "float":
            return self._deferred(wid, float(value), lambda v: imgui.input_double(label, v, 0.0, 0.0, "%.6g"))
        if spec.type == "str":
            return self._deferred(wid, "" if value is None else str(value), lambda v: imgui.input_text(label, v))
        if spec.type == "list" and spec.length in (2, 3, 4) and spec.item in ("float", "int"):
            if spec.name == "color":
                return self._deferred(wid, list(value), lambda v: _color(label, v))
            draw = {2: imgui.input_float2, 3: imgui.input_float3, 4: imgui.input_float4}[spec.length]
            return self._deferred(wid, [float(x) for x in value], lambda v: _vector(draw, label, v))
        if spec.type == "list":
            imgui.text(f"{label}: {len(value)} corners (drag the handles)")
            return False, None
        if spec.type == "table" and spec.table and spec.item == "":  # a nested table (flocking, terrain)
            if imgui.tree_node(label):
                changes = self.form(spec.table, value, wid)
                imgui.tree_pop()
                if changes:
                    return True, {**value, **dict(changes)}
            return False, None
        if spec.type == "table" and spec.table:  # a table of tables: the traits' distributions
            return self._traits(spec, label, value or {}, wid)
        if spec.type == "table" and spec.item in ("float", "int"):
            return self._numbers(label, value or {}, wid)
        return self._free_form(label, value or {}, wid)

    def _deferred(self, wid: str, current: Any, draw: Callable[[Any], tuple[bool, Any]]) -> tuple[bool, Any]:
        """Draw with the value being typed; report it once the field is left (one edit per change, not per key)."""
        value = self.pending.get(wid, current)
        changed, new = draw(value)
        if changed:
            self.pending[wid] = new
        if imgui.is_item_deactivated_after_edit():
            final = self.pending.pop(wid, new)
            return final != current, final
        if not imgui.is_item_active():
            self.pending.pop(wid, None)
        return False, None

    def _traits(self, spec: FieldSpec, label: str, value: dict, wid: str) -> tuple[bool, Any]:
        if not imgui.tree_node(label):
            return False, None
        out = None
        defaults = {f.name: f.default for f in fields_of(spec.table)}
        for trait in TRAITS:
            current = {**defaults, **(value.get(trait) or {})}
            imgui.push_id(trait)
            imgui.text(trait)
            changes = self.form(spec.table, current, f"{wid}.{trait}")
            imgui.pop_id()
            if changes:
                out = {**value, trait: {**current, **dict(changes)}}
        imgui.tree_pop()
        return out is not None, out

    def _numbers(self, label: str, value: dict, wid: str) -> tuple[bool, Any]:
        """A table of amounts (resources, inventory): one field per item, a button to add another."""
        imgui.text(label)
        out = None
        for key in list(value):
            imgui.push_id(key)
            changed, new = self._deferred(
                f"{wid}.{key}", float(value[key]), lambda v, k=key: imgui.input_double(k, v, 0.0, 0.0, "%.6g")
            )
            if changed:
                out = {**value, key: new}
            imgui.same_line()
            if imgui.small_button("x"):
                out = {k: v for k, v in value.items() if k != key}
            imgui.pop_id()
        missing = [i for i in ITEMS if i not in value]
        if missing:
            if imgui.small_button(f"+ {missing[0]}"):
                out = {**value, missing[0]: 1.0}
        return out is not None, out

    def _free_form(self, label: str, value: dict, wid: str) -> tuple[bool, Any]:
        """Free-form data (properties) as TOML lines, `key = value`; applied when the box is left."""
        import tomlkit

        current = tomlkit.dumps(value)
        text = self.text.get(wid, current)
        imgui.text(f"{label} (TOML: key = value)")
        changed, text = imgui.input_text_multiline(f"##{wid}", text, imgui.ImVec2(-1, 60))
        if changed:
            self.text[wid] = text
        if imgui.is_item_deactivated_after_edit():
            self.text.pop(wid, None)
            try:
                return True, tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                self.p.edit.message = f"`{label}`: not TOML ({exc}); write one `key = value` a line."
                return False, None
        if not imgui.is_item_active():
            self.text.pop(wid, None)
        return False, None


class EditPanels:
    """Draws the Edit mode's windows each frame (call inside the ImGui frame)."""

    def __init__(self, viewer):
        self.v = viewer
        self.forms = FormBuilder(self)
        self.save_as = ""
        self.shown: dict[str, dict] = {}
        self.rects: dict[str, tuple[float, float, float, float]] = {}  # button label -> (x0, y0, x1, y1) in pixels

    @property
    def edit(self):
        return self.v.edit

    def draw(self, top: float = 8.0) -> None:
        w, h = self.v.size
        self.rects = {}
        left, right = min(300, w // 3), min(360, w // 3)
        self.edit.draw_overlay()
        if self.v.closing_asked:
            self._closing((w / 2 - 190, h / 2 - 70), (380, 140))
        self._toolbar((8, top), (left, 300))
        self._outliner((8, top + 308), (left, max(h - top - 316, 120)))
        self._properties((w - right - 8, 8), (right, max(h * 0.55, 120)))
        self._settings((w - right - 8, h * 0.55 + 16), (right, max(h * 0.45 - 24, 100)))

    def _noted(self, name: str) -> None:
        a, b = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.rects[name] = (a.x, a.y, b.x, b.y)

    def _button(self, label: str, name: str | None = None, *, enabled: bool = True) -> bool:
        imgui.begin_disabled(not enabled)
        pressed = imgui.button(label)
        imgui.end_disabled()
        self._noted(name or label)
        return pressed and enabled

    # ------------------------------------------------------------ Edit: tools, undo, save, messages

    def _toolbar(self, pos, size) -> None:
        e = self.edit
        editor = e.editor
        if begin_window("Edit", pos, size):
            imgui.text(editor.title)
            for k, tool in enumerate(TOOLS):
                if k % 3:
                    imgui.same_line()
                if imgui.radio_button(f"{TOOL_NAMES[tool]} {k + 1}", e.tool == tool):
                    e.set_tool(tool)
                self._noted(TOOL_NAMES[tool])
            if e.tool == "entity":
                imgui.set_next_item_width(140)
                changed, k = imgui.combo("kind", ENTITY_KINDS.index(e.entity_kind), list(ENTITY_KINDS))
                if changed:
                    e.entity_kind = ENTITY_KINDS[k]
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(GREY, TOOL_HINTS[e.tool])
            imgui.pop_text_wrap_pos()
            _, e.snap = imgui.checkbox("snap to grid", e.snap)
            imgui.same_line()
            imgui.set_next_item_width(80)
            changed, grid = imgui.input_float("grid (m)", e.grid, 0.0, 0.0, "%.2f")
            if changed and grid > 0:
                e.grid = grid
            if self._button("Undo", enabled=editor.can_undo):
                e.undo()
            imgui.same_line()
            if self._button("Redo", enabled=editor.can_redo):
                e.redo()
            imgui.same_line()
            if self._button("Save"):
                e.save()
            imgui.set_next_item_width(-80)
            _, self.save_as = imgui.input_text("##saveas", self.save_as)
            self._noted("save-as path")
            imgui.same_line()
            if self._button("Save as") and e.save(self.save_as):
                self.save_as = ""
            _, self.v.panels.show_assets = imgui.checkbox("Assets panel (F3)", self.v.panels.show_assets)
            if e.message:
                imgui.push_text_wrap_pos(0.0)
                imgui.text_colored(RED, e.message)
                imgui.pop_text_wrap_pos()
            elif e.note:
                imgui.text_colored(GREY, e.note)
            if e.restart_needed:
                imgui.push_text_wrap_pos(0.0)
                imgui.text_colored(AMBER, "Not running yet (the simulation needs a restart for these):")
                for line in e.restart_needed:
                    imgui.text_colored(AMBER, line)
                imgui.pop_text_wrap_pos()
                if self._button("Restart from the edited scene"):
                    e.restart()
            self.shown["edit"] = {
                "title": editor.title,
                "tool": e.tool,
                "message": e.message,
                "restart_needed": list(e.restart_needed),
                "history": editor.history,
            }
        imgui.end()

    def _closing(self, pos, size) -> None:
        """The window was asked to close with unsaved edits: save them, drop them, or keep editing."""
        e = self.edit
        imgui.set_next_window_pos(imgui.ImVec2(*pos), imgui.Cond_.always.value)
        imgui.set_next_window_size(imgui.ImVec2(*size), imgui.Cond_.always.value)
        imgui.set_next_window_focus()
        if imgui.begin("Unsaved changes")[0]:
            imgui.push_text_wrap_pos(0.0)
            imgui.text(f"{e.editor.path.name} has edits that are not saved.")
            imgui.pop_text_wrap_pos()
            if e.message:
                imgui.text_colored(RED, e.message)
            if self._button("Save and close"):
                if e.save():
                    self.v.close_soon()
            imgui.same_line()
            if self._button("Close without saving"):
                self.v.close_soon()
            imgui.same_line()
            if self._button("Keep editing"):
                self.v.closing_asked = False
        imgui.end()

    # ------------------------------------------------------------ Outliner

    def _outliner(self, pos, size) -> None:
        e = self.edit
        scene = e.editor.scene
        if begin_window("Outliner", pos, size):
            if self._button("Delete selected (Del)", enabled=bool(e.selection)):
                e.delete_selection()
            listed = {}
            for what, items in (("zones", scene.zones), ("entities", scene.entities), ("groups", scene.groups)):
                flags = imgui.TreeNodeFlags_.default_open.value
                if imgui.tree_node_ex(f"{what.capitalize()} ({len(items)})", flags):
                    clipper = imgui.ListClipper()  # only the rows in view are made (300 entities cost no more)
                    clipper.begin(len(items))
                    while clipper.step():
                        for i in range(clipper.display_start, clipper.display_end):
                            self._row(what, i, items[i])
                    clipper.end()
                    imgui.tree_pop()
                listed[what] = len(items)
            self.shown["outliner"] = listed
        imgui.end()

    def _row(self, what: str, i: int, item) -> None:
        e = self.edit
        name = getattr(item, "name", "") or f"{item.kind} {i}"
        detail = item.kind if what != "groups" else f"{item.count} {item.archetype}"
        clicked, _ = imgui.selectable(f"{name}  ({detail})##{what}{i}", (what, i) in e.selection)
        self._noted(f"{what}:{name}")
        if clicked:
            e.select(what, i, add=imgui.get_io().key_shift)
            if what == "zones":
                self.v.focus_zone(i)

    # ------------------------------------------------------------ Properties of the selection

    def _properties(self, pos, size) -> None:
        e = self.edit
        scene = e.editor.scene
        if begin_window("Properties", pos, size):
            if not e.selection:
                imgui.text_wrapped("Select a zone, an entity or a group (click it, or pick it in the Outliner).")
                self.shown["properties"] = {}
            elif len(e.selection) > 1:
                what = e.selection[0][0]
                imgui.text(f"{len(e.selection)} {what} selected: drag one to move them all, or use the gizmo.")
                self.shown["properties"] = {"count": len(e.selection), "what": what}
            else:
                what, i = e.selection[0]
                item = getattr(scene, what)[i]
                imgui.text(f"{SINGULAR[what]} {i}")
                values = _values(item)
                for key, value in self.forms.form(what, values, f"{what}{i}"):
                    e.apply(ITEM_SETTERS[what](i, {key: value}))
                self.shown["properties"] = {"what": what, "index": i}
        imgui.end()

    # ------------------------------------------------------------ Scene settings: every options table

    def _settings(self, pos, size) -> None:
        e = self.edit
        scene = e.editor.scene
        if begin_window("Scene settings", pos, size):
            for table in SETTINGS:
                opened = imgui.collapsing_header(table or "scene", 0)
                self._noted(f"settings:{table or 'scene'}")
                if not opened:
                    continue
                obj = scene
                for part in [p for p in table.split(".") if p]:
                    obj = getattr(obj, part)
                values = _values(obj)
                skip = ("extends", *LISTS, *_inner_tables(table))
                for key, value in self.forms.form(table, values, f"settings.{table}", skip=skip):
                    e.apply(SetOption(table, key, value))
        imgui.end()


def _inner_tables(table: str) -> list[str]:
    """The tables one level inside `table` (shown under their own headers, not as fields of it)."""
    prefix = f"{table}." if table else ""
    return [t[len(prefix) :] for t in SETTINGS if t.startswith(prefix) and t != table and "." not in t[len(prefix) :]]


def _values(obj) -> dict:
    """The effective values of a schema object's keys, as plain data (tuples as lists, tables as dicts)."""
    import dataclasses

    from tokenworld.editor.edits import plain

    return {f.name: plain(_asdict(getattr(obj, f.name))) for f in dataclasses.fields(obj)}


def _asdict(value):
    import dataclasses

    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _asdict(v) for k, v in value.items()}
    return value


def _initial(spec: FieldSpec):
    """The value a "set" button gives an unset optional key."""
    if spec.default is not None:
        return spec.default
    if spec.type == "int":
        return 0
    if spec.type == "float":
        return 0.0
    if spec.type == "list" and spec.length:
        return [0.5] * spec.length if spec.name == "color" else [0.0] * spec.length
    return ""


def _vector(draw, label: str, v: list[float]) -> tuple[bool, list[float]]:
    changed, out = draw(label, v)
    values = out if isinstance(out, (list, tuple)) else _components(out, len(v))
    return changed, [_short(x) for x in values]


def _short(x: float) -> float:
    """A number typed in a float32 box, as typed (0.9, not 0.8999999761581421)."""
    return float(f"{float(x):.6g}")


def _components(vec, n: int) -> list[float]:
    return [vec.x, vec.y, vec.z, vec.w][:n] if n > 2 else [vec.x, vec.y]


def _color(label: str, v: list[float]) -> tuple[bool, list[float]]:
    changed, out = imgui.color_edit3(label, list(v))
    return changed, [round(float(x), 3) for x in (out if isinstance(out, (list, tuple)) else _components(out, 3))]
