"""Edits of a scene: small frozen commands that turn old scene data into new.

Scene data is the plain dict a scene file holds once `extends` is resolved (the shape `Scene.to_dict()` gives,
keeping only the keys the files wrote). Each edit's `apply(data)` is pure: it returns new data and never changes
the old (only the parts it touches are copied), so the `Editor` can keep the old data for undo. An edit that cannot
be made at all (no zone 7, a zone that groups spawn in) raises `EditRefused`; whether the result is a valid scene is
the `Editor`'s check, made with the same validator as `tokenworld scene check`.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Union

from tokenworld.errors import TokenWorldError
from tokenworld.scene.schema import Scene

LISTS = {"zones": "zone", "entities": "entity", "groups": "group"}


class EditRefused(TokenWorldError):
    """An edit the scene cannot take; nothing was changed.

    Attributes:
        problems: one line per problem, worded as `tokenworld scene check` words them (key path first), without
            the file name.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def plain(value: Any) -> Any:
    """`value` as TOML-like data: tuples become lists, tables and lists are copied."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _items(data: dict, what: str, index: int) -> list:
    """A copy of the list `data[what]`, after checking that `index` is one of its rows."""
    items = list(data.get(what, []))
    if not 0 <= index < len(items):
        raise EditRefused([f"`{what}[{index}]`: there is no {LISTS[what]} {index}; the scene has {len(items)}."])
    return items


def _changed(item: dict, changes: dict) -> dict:
    """`item` with `changes` made; a change to None removes the key (its default applies)."""
    out = dict(item)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = plain(value)
    return out


def _add(data: dict, what: str, item: dict) -> dict:
    return {**data, what: [*data.get(what, []), plain(item)]}


def _set(data: dict, what: str, index: int, changes: dict) -> dict:
    items = _items(data, what, index)
    items[index] = _changed(items[index], changes)
    return {**data, what: items}


def _remove(data: dict, what: str, index: int) -> dict:
    items = _items(data, what, index)
    del items[index]
    return {**data, what: items}


def _zone_users(data: dict, name: str) -> list[str]:
    """The keys that refer to the zone called `name` (groups' `spawn_zone`, scripted lines' `zone`)."""
    users = [f"groups[{i}].spawn_zone" for i, g in enumerate(data.get("groups", [])) if g.get("spawn_zone") == name]
    return users + [f"tell[{i}].zone" for i, t in enumerate(data.get("tell", [])) if t.get("zone") == name]


def _changes_text(changes: dict) -> str:
    return ", ".join(f"{k} = {v!r}" if v is not None else f"{k} unset" for k, v in changes.items())


@dataclass(frozen=True)
class AddZone:
    """Append a zone (`{"name": ..., "rect": [...]}` or with a `polygon`)."""

    zone: dict

    def apply(self, data: dict) -> dict:
        """New data with the zone appended."""
        return _add(data, "zones", self.zone)

    def describe(self) -> str:
        """A line for the undo list."""
        return f"Add zone {self.zone.get('name', '')!r}"


@dataclass(frozen=True)
class SetZone:
    """Change keys of zone `index`; a value of None removes the key. Renaming it renames what refers to it."""

    index: int
    changes: dict

    def apply(self, data: dict) -> dict:
        """New data with the zone changed (and groups and scripted lines following a new name)."""
        old = _items(data, "zones", self.index)[self.index].get("name")
        data = _set(data, "zones", self.index, self.changes)
        new = data["zones"][self.index].get("name")
        if "name" in self.changes and old is not None and new != old:
            for what, key in (("groups", "spawn_zone"), ("tell", "zone")):
                if any(item.get(key) == old for item in data.get(what, [])):
                    items = [{**item, key: new} if item.get(key) == old else item for item in data[what]]
                    data = {**data, what: items}
        return data

    def describe(self) -> str:
        """A line for the undo list."""
        return f"Set zone {self.index}: {_changes_text(self.changes)}"


@dataclass(frozen=True)
class RemoveZone:
    """Remove zone `index`; refused while a group spawns in it or a scripted line is told there."""

    index: int

    def apply(self, data: dict) -> dict:
        """New data without the zone."""
        name = _items(data, "zones", self.index)[self.index].get("name")
        users = _zone_users(data, name)
        if users:
            raise EditRefused(
                [
                    f"`zones[{self.index}]`: zone {name!r} cannot be removed while "
                    + ", ".join(f"`{u}`" for u in users)
                    + " refers to it; change or remove those first."
                ]
            )
        return _remove(data, "zones", self.index)

    def describe(self) -> str:
        """A line for the undo list."""
        return f"Remove zone {self.index}"


@dataclass(frozen=True)
class AddEntity:
    """Append an entity (`{"kind": ..., "pos": [x, y], ...}`)."""

    entity: dict

    def apply(self, data: dict) -> dict:
        """New data with the entity appended."""
        return _add(data, "entities", self.entity)

    def describe(self) -> str:
        """A line for the undo list."""
        name = self.entity.get("name") or self.entity.get("kind", "")
        return f"Add entity {name!r}"


@dataclass(frozen=True)
class SetEntity:
    """Change keys of entity `index`; a value of None removes the key."""

    index: int
    changes: dict

    def apply(self, data: dict) -> dict:
        """New data with the entity changed."""
        return _set(data, "entities", self.index, self.changes)

    def describe(self) -> str:
        """A line for the undo list."""
        return f"Set entity {self.index}: {_changes_text(self.changes)}"


@dataclass(frozen=True)
class RemoveEntity:
    """Remove entity `index`."""

    index: int

    def apply(self, data: dict) -> dict:
        """New data without the entity."""
        return _remove(data, "entities", self.index)

    def describe(self) -> str:
        """A line for the undo list."""
        return f"Remove entity {self.index}"


@dataclass(frozen=True)
class AddGroup:
    """Append an agent group (`{"name": ..., "count": ..., "spawn_zone": ...}`)."""

    group: dict

    def apply(self, data: dict) -> dict:
        """New data with the group appended."""
        return _add(data, "groups", self.group)

    def describe(self) -> str:
        """A line for the undo list."""
        return f"Add group {self.group.get('name', '')!r}"


@dataclass(frozen=True)
class SetGroup:
    """Change keys of group `index`; a value of None removes the key."""

    index: int
    changes: dict

    def apply(self, data: dict) -> dict:
        """New data with the group changed."""
        return _set(data, "groups", self.index, self.changes)

    def describe(self) -> str:
        """A line for the undo list."""
        return f"Set group {self.index}: {_changes_text(self.changes)}"


@dataclass(frozen=True)
class RemoveGroup:
    """Remove group `index`."""

    index: int

    def apply(self, data: dict) -> dict:
        """New data without the group."""
        return _remove(data, "groups", self.index)

    def describe(self) -> str:
        """A line for the undo list."""
        return f"Remove group {self.index}"


def _moved(item: dict, what: str, dx: float, dy: float) -> dict:
    """`item` moved by (dx, dy): a zone's rect or polygon, an entity's pos, a group's spawn area."""
    out = dict(item)
    if what == "entities" and "pos" in item:
        x, y = item["pos"]
        out["pos"] = [x + dx, y + dy]
    for key in ("rect", "spawn_area") if what != "entities" else ():
        if key in item:
            x0, y0, x1, y1 = item[key]
            out[key] = [x0 + dx, y0 + dy, x1 + dx, y1 + dy]
    if what == "zones" and "polygon" in item:
        out["polygon"] = [[x + dx, y + dy] for x, y in item["polygon"]]
    return out


@dataclass(frozen=True)
class Translate:
    """Move zones, entities or groups' spawn areas by (dx, dy) metres; several indices move together.

    A group that spawns in a zone (`spawn_zone`) has no area of its own and stays as it is.
    """

    what: str
    indices: tuple[int, ...]
    dx: float
    dy: float

    def apply(self, data: dict) -> dict:
        """New data with the items moved."""
        if self.what not in LISTS:
            raise EditRefused([f"Translate: {self.what!r} is not one of {', '.join(LISTS)}."])
        items = list(data.get(self.what, []))
        for i in sorted(set(self.indices)):
            _items(data, self.what, i)
            items[i] = _moved(items[i], self.what, float(self.dx), float(self.dy))
        return {**data, self.what: items}

    def describe(self) -> str:
        """A line for the undo list."""
        n = len(set(self.indices))
        which = f"{LISTS[self.what]} {self.indices[0]}" if n == 1 else f"{n} {self.what}"
        return f"Move {which} by ({self.dx:g}, {self.dy:g}) m"


def option_tables() -> list[str]:
    """The options tables `SetOption` takes: "" (the top-level keys), world, world.terrain, sim, engine, ..."""
    out = [""]

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            if dataclasses.is_dataclass(tp):
                out.append(f"{prefix}{f.name}")
                walk(tp, f"{prefix}{f.name}.")

    walk(Scene, "")
    return out


@dataclass(frozen=True)
class SetOption:
    """Set `key` of an options table (`world`, `world.terrain`, `sim`, `mind`, ...; "" for `name` and
    `description`); a value of None removes the key, so the default (or an `extends` parent's value) applies."""

    table: str
    key: str
    value: Union[Any, None]

    def apply(self, data: dict) -> dict:
        """New data with the option set."""
        tables = option_tables()
        if self.table not in tables:
            raise EditRefused(
                [f"`{self.table}`: not an options table; tables are {', '.join(t for t in tables if t)}."]
            )
        parts = self.table.split(".") if self.table else []
        return _set_in(data, [*parts, self.key], self.value)

    def describe(self) -> str:
        """A line for the undo list."""
        key = f"{self.table}.{self.key}" if self.table else self.key
        return f"Set {key} = {self.value!r}" if self.value is not None else f"Unset {key}"


def _set_in(data: dict, keys: list[str], value: Any) -> dict:
    """A copy of `data` with the nested key set (None: removed), copying only the tables on the way."""
    out = dict(data)
    head = keys[0]
    if len(keys) == 1:
        if value is None:
            out.pop(head, None)
        else:
            out[head] = plain(value)
        return out
    inner = out.get(head)
    out[head] = _set_in(inner if isinstance(inner, dict) else {}, keys[1:], value)
    return out


@dataclass(frozen=True)
class Together:
    """Several edits made as one: applied in order, validated once, undone and redone in one step (deleting a
    selection of several items, for instance)."""

    edits: tuple
    label: str = ""

    def apply(self, data: dict) -> dict:
        """New data with every edit made in turn."""
        for edit in self.edits:
            data = edit.apply(data)
        return data

    def describe(self) -> str:
        """A line for the undo list."""
        return self.label or "; ".join(edit.describe() for edit in self.edits)


Edit = Union[
    AddZone,
    SetZone,
    RemoveZone,
    AddEntity,
    SetEntity,
    RemoveEntity,
    AddGroup,
    SetGroup,
    RemoveGroup,
    Translate,
    SetOption,
    Together,
]
