"""Form descriptions built from the scene schema: one `FieldSpec` per key of a table.

The viewer's Edit mode draws its property panels from these (a slider for a bounded float, a combo for a choice,
two boxes for `[x, y]`), so every options table and every zone, entity and group gets its form from one builder,
and a new schema option shows up in the editor with its doc, unit, range and choices.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Optional

from tokenworld.errors import TokenWorldError
from tokenworld.scene.options import REQUIRED
from tokenworld.scene.schema import Scene

_SCALARS = {int: "int", float: "float", bool: "bool", str: "str"}


@dataclass(frozen=True)
class FieldSpec:
    """One key of a scene table, as a form shows it.

    Attributes:
        name: the key.
        type: "int", "float", "bool", "str", "choice" (a str from `choices`), "list" (a fixed-length `[x, y]`
            or a list of `item`s) or "table" (a nested table or a table of entries).
        unit: the unit of its numbers, or "".
        choices: the allowed values of a "choice".
        doc: the schema's description.
        min, max: bounds of its numbers (each value of a "list", each entry of a table of numbers); None if
            unbounded; inclusive unless `min_exclusive` / `max_exclusive`.
        default: the value used when the file does not give one (None: unset, or `required`).
        required: the file must give it.
        optional: it may be unset (None).
        item: for a "list" or "table", the type of its values ("float", "table", ...); else "".
        length: for a fixed-length "list" (`[x0, y0, x1, y1]`), its length; else None.
        table: for a "table" or a list of tables, the dotted name `fields_of` takes for its own form; else "".
    """

    name: str
    type: str
    unit: str
    choices: tuple[str, ...]
    doc: str
    min: Optional[float]
    max: Optional[float]
    default: Any
    min_exclusive: bool = False
    max_exclusive: bool = False
    required: bool = False
    optional: bool = False
    item: str = ""
    length: Optional[int] = None
    table: str = ""


def _table_class(table: str) -> type:
    """The schema dataclass of a dotted table name: "" (top level), "sim", "world.terrain", "zones", "groups.flocking",
    "groups.traits" (one trait's distribution)."""
    cls: Any = Scene
    for part in [p for p in table.split(".") if p]:
        hints = typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
        if part not in hints:
            raise TokenWorldError(f"no scene table {table!r}; tables are {', '.join(t for t in tables() if t)}.")
        cls = _inner_class(hints[part])
        if cls is None:
            raise TokenWorldError(
                f"`{table}` is a value, not a table; tables are {', '.join(t for t in tables() if t)}."
            )
    return cls


def _unwrap(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) is typing.Union:
        return [a for a in typing.get_args(tp) if a is not type(None)][0], True
    return tp, False


def _inner_class(tp: Any) -> type | None:
    """The dataclass a field holds: itself, the item of a list, the value of a table; None for plain values."""
    tp, _ = _unwrap(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return tp
    if origin is list and dataclasses.is_dataclass(args[0]):
        return args[0]
    if origin is dict and dataclasses.is_dataclass(args[1]):
        return args[1]
    return None


def tables() -> list[str]:
    """Every table name `fields_of` takes: "", "world", "world.terrain", "sim", ..., "zones", "groups.flocking"."""
    out: list[str] = []

    def walk(cls: type, prefix: str) -> None:
        out.append(prefix)
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            inner = _inner_class(hints[f.name])
            if inner is not None:
                walk(inner, f"{prefix}.{f.name}" if prefix else f.name)

    walk(Scene, "")
    return out


def _kind(tp: Any) -> str:
    if tp in _SCALARS:
        return _SCALARS[tp]
    if dataclasses.is_dataclass(tp) or typing.get_origin(tp) is dict:
        return "table"
    if typing.get_origin(tp) in (list, tuple):
        return "list"
    return "table" if tp is object else "str"


def _spec(f: dataclasses.Field, tp: Any, table: str) -> FieldSpec:
    inner, optional = _unwrap(tp)
    origin, args = typing.get_origin(inner), typing.get_args(inner)
    kind = "choice" if f.metadata.get("choices") else _kind(inner)
    item, length = "", None
    if origin is tuple:
        item, length = _kind(args[0]), len(args)
    elif origin is list:
        item = _kind(_unwrap(args[0])[0]) if typing.get_origin(args[0]) is not tuple else "list"
    elif origin is dict:
        item = _kind(args[1])
    sub = f"{table}.{f.name}" if table else f.name
    rng = f.metadata.get("range")
    if f.default is REQUIRED:
        default = None
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
        default = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    else:
        default = f.default
    return FieldSpec(
        name=f.name,
        type=kind,
        unit=f.metadata.get("unit", ""),
        choices=tuple(f.metadata.get("choices", ())),
        doc=f.metadata.get("doc", ""),
        min=None if rng is None else rng.min,
        max=None if rng is None else rng.max,
        default=default,
        min_exclusive=bool(rng and rng.min_exclusive),
        max_exclusive=bool(rng and rng.max_exclusive),
        required=f.default is REQUIRED,
        optional=optional,
        item=item,
        length=length,
        table=sub if _inner_class(tp) is not None else "",
    )


def fields_of(table: str) -> list[FieldSpec]:
    """The form of one scene table, in schema order.

    Args:
        table: an options table ("world", "world.terrain", "sim", "engine", "mind", "economy", "store", "game"),
            "" for the top-level keys, or the entries of a list or table: "zones", "entities", "groups", "tell",
            "groups.flocking", "groups.traits" (see `tables()`).
    """
    cls = _table_class(table)
    hints = typing.get_type_hints(cls)
    return [_spec(f, hints[f.name], table) for f in dataclasses.fields(cls)]
