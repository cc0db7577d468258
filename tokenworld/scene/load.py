"""Reading and writing scene files.

Loading happens in three steps, each with errors that name the file and key path:

1. read TOML and resolve ``extends`` (tables merge key by key, lists replace);
2. convert the data to the typed dataclasses of `tokenworld.scene.schema`,
   rejecting unknown keys (with a "did you mean") and wrong types;
3. check meaning with `tokenworld.scene.validate` (zones inside the world, spawn
   zones that exist, no NaN, ...).

Scene files are data: nothing in them is executed.
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import functools
import math
import tomllib
import typing
from pathlib import Path
from typing import Any

from tokenworld.errors import SceneError
from tokenworld.scene.options import REQUIRED
from tokenworld.scene.schema import Scene

MAX_EXTENDS_DEPTH = 16
MAX_NESTING = 32  # arrays and tables inside one another; a scene needs a few (free-form `properties` a few more)
TOO_DEEP = "its arrays or tables are nested too deeply to read"


def load_scene(path: str | Path) -> Scene:
    """Read, resolve and validate the scene file at `path`."""
    path = Path(path)
    data = _read_with_extends(path, chain=())
    return scene_from_dict(data, source=str(path))


def read_scene_data(path: str | Path) -> dict:
    """The data of the scene file at `path` with `extends` resolved, before conversion and validation."""
    return _read_with_extends(Path(path), chain=())


def extends_target(path: str | Path, parent: str) -> Path:
    """The file that `extends = parent` names when written in the scene file at `path` (see `_extends_target`)."""
    return _extends_target(Path(path), parent)


# id(table) -> (table, converted): list items (zones, entities, groups) converted before, for `scene_from_dict`'s
# `reuse` (one per thread of conversion)
_REUSE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("tokenworld_scene_reuse", default=None)


def scene_from_dict(data: dict, *, source: str = "<scene>", reuse: dict | None = None) -> Scene:
    """Convert TOML-like data into a validated `Scene`.

    `reuse`: a dict the caller keeps between conversions of successive versions of one scene (an editor's): the
    tables of lists (zones, entities, groups) that are the very same objects as last time are not converted
    again. Tables must not be changed in place while it is kept (the editor's edits make new ones).
    """
    from tokenworld.scene.validate import validate_scene

    problems: list[str] = []
    _check_nesting(data, source)
    data = {k: v for k, v in data.items() if k != "extends"}
    token = _REUSE.set(reuse)
    try:
        scene = _convert(Scene, data, "", problems)
    finally:
        _REUSE.reset(token)
    if problems:
        raise SceneError([f"{source}: {p}" for p in problems])
    problems = validate_scene(scene)
    if problems:
        raise SceneError([f"{source}: {p}" for p in problems])
    scene.source = source
    return scene


def read_toml_file(path: Path, fail, *, missing: str, too_deep: str) -> dict:
    """The data of the TOML file at `path`, or `fail(message)` raised: `missing` when there is no such file,
    `too_deep` when it nests beyond the parser, else a message naming the path and what is wrong. Scene, sweep
    and price files are read here."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail(missing) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: cannot read the file ({exc}).") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"{path}: not valid TOML: {exc}.") from None
    except RecursionError:  # the parser recurses once per nested array or inline table
        raise fail(too_deep) from None


def _read_toml(path: Path) -> dict:
    data = read_toml_file(
        path,
        lambda message: SceneError([message]),
        missing=f"{path}: no such file. Check the path, or create one with `tokenworld scene new NAME`.",
        too_deep=f"{path}: not a usable scene: {TOO_DEEP}. A scene nests a few levels at most; check the file.",
    )
    _check_nesting(data, str(path))  # what the parser took (e.g. long dotted keys) may still be too deep for us
    return data


def _check_nesting(data: dict, source: str) -> None:
    """Refuse data nested more than `MAX_NESTING` arrays or tables deep, before anything recurses into it.

    Merging, conversion, validation and saving all recurse, so this check (which does not) keeps a pathological
    file from ending in a `RecursionError`.
    """
    stack: list[tuple[Any, tuple, int]] = [(data, (), 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if depth >= MAX_NESTING:
            at = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in where).lstrip(".")
            raise SceneError(
                [
                    f"{source}: not a usable scene: {TOO_DEEP} (more than {MAX_NESTING} levels, at `{at}`). "
                    "A scene nests a few levels at most; check the file."
                ]
            )
        stack.extend((v, (*where, k), depth + 1) for k, v in items)


def _read_with_extends(path: Path, chain: tuple[Path, ...]) -> dict:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p.name) for p in (*chain, resolved))
        raise SceneError([f"{path}: `extends` forms a cycle ({cycle}). Remove one of the links."])
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise SceneError([f"{path}: `extends` is nested more than {MAX_EXTENDS_DEPTH} deep."])
    data = _read_toml(path)
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent:
        raise SceneError([f"{path}: `extends` must be a file name (a string), found {parent!r}."])
    base = _read_with_extends(_extends_target(path, parent), (*chain, resolved))
    return merge(base, data)


def _extends_target(path: Path, parent: str) -> Path:
    """The file `extends = parent` in `path` names: a scene file in the same folder or a subfolder of it, or,
    when no such file is there, a shipped scene by name (``village.toml`` or ``village``). Scene files are data:
    they never reach outside those (an absolute path, ``..`` above the folder or a link pointing out is an error).
    """
    from tokenworld.scene.shipped import shipped_scene

    allowed = (
        "`extends` may name a scene file in this scene's folder or a subfolder of it (a relative path such as "
        '"base.toml" or "parts/base.toml"), or a shipped scene by name (see `tokenworld scene list`)'
    )
    if Path(parent).is_absolute():
        raise SceneError([f"{path}: `extends` names {parent!r}, an absolute path; {allowed}."])
    folder = path.parent.resolve()
    target = (path.parent / parent).resolve()
    if not target.is_relative_to(folder):
        raise SceneError([f"{path}: `extends` names {parent!r}, which is outside this scene's folder; {allowed}."])
    if target.is_file():
        return target
    if not target.exists():
        try:
            return shipped_scene(parent)  # a bare name only; it refuses anything with a folder in it
        except SceneError:
            pass
    what = "is not a regular file" if target.exists() else "does not exist"
    raise SceneError([f"{path}: `extends` names {parent!r}, which {what} ({target}); {allowed}."])


def merge(base: dict, override: dict) -> dict:
    """Tables merge key by key (recursively); any other value replaces the base's."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


# ---------------------------------------------------------------- conversion


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(tp: Any, value: Any, path: str, problems: list[str]) -> Any:
    """Convert `value` to type `tp`, appending a message per problem found."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:  # Optional[X]
        inner = [a for a in args if a is not type(None)][0]
        return _convert(inner, value, path, problems)
    if dataclasses.is_dataclass(tp):
        return _convert_dataclass(tp, value, path, problems)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"`{path}`: expected a number, found {_describe(value)}.")
            return None
        if not math.isfinite(value):
            problems.append(f"`{path}`: expected a finite number, found {value}.")
            return None
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"`{path}`: expected a whole number, found {_describe(value)}.")
            return None
        return value
    if tp is str or tp is bool:
        if not isinstance(value, tp):
            kind = "a string" if tp is str else "true or false"
            problems.append(f"`{path}`: expected {kind}, found {_describe(value)}.")
            return None
        return value
    if origin is tuple:
        if not isinstance(value, list) or len(value) != len(args):
            problems.append(f"`{path}`: expected a list of {len(args)} numbers, found {_describe(value)}.")
            return None
        return tuple(
            _convert(a, v, f"{path}[{i}]", problems) for i, (a, v) in enumerate(zip(args, value, strict=False))
        )
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"`{path}`: expected a list, found {_describe(value)}.")
            return None
        reuse = _REUSE.get()
        if reuse is None or not dataclasses.is_dataclass(args[0]):
            return [_convert(args[0], v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
        out = []
        for i, v in enumerate(value):
            hit = reuse.get(id(v))
            if hit is not None and hit[0] is v:
                out.append(hit[1])
                continue
            before = len(problems)
            converted = _convert(args[0], v, f"{path}[{i}]", problems)
            if len(problems) == before:  # only what converted cleanly is reused
                reuse[id(v)] = (v, converted)
            out.append(converted)
        return out
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"`{path}`: expected a table, found {_describe(value)}.")
            return None
        if args[1] is object:
            return {k: _free_value(v, _join(path, k), problems) for k, v in value.items()}
        return {k: _convert(args[1], v, _join(path, k), problems) for k, v in value.items()}
    raise TypeError(f"scene schema uses an unsupported type {tp!r} at {path}")  # a bug, not user input


def _free_value(value: Any, path: str, problems: list[str]) -> Any:
    """Free-form property values: scalars and lists of scalars, finite numbers only."""
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"`{path}`: expected a finite number, found {value}.")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _free_value(v, f"{path}[{i}]", problems)
    elif isinstance(value, dict):
        for k, v in value.items():
            _free_value(v, _join(path, k), problems)
    return value


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a schema class (resolving them is most of a conversion's time; once per class)."""
    return typing.get_type_hints(cls)


def _convert_dataclass(cls: type, value: Any, path: str, problems: list[str]) -> Any:
    if not isinstance(value, dict):
        problems.append(f"`{path or 'scene'}`: expected a table, found {_describe(value)}.")
        return None
    hints = _type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in value:
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else f"; known keys: {', '.join(fields)}."
            problems.append(f"Unrecognized key `{_join(path, key)}`{hint}")
    kwargs = {}
    for name, f in fields.items():
        sub = _join(path, name)
        if name in value:
            converted = _convert(hints[name], value[name], sub, problems)
            choices = f.metadata.get("choices", ())
            if choices and converted is not None and converted not in choices:
                close = difflib.get_close_matches(str(converted), choices, n=1)
                hint = f" Did you mean `{close[0]}`?" if close else ""
                problems.append(f"`{sub}`: {converted!r} is not one of {', '.join(choices)}.{hint}")
            kwargs[name] = converted
        elif f.default is REQUIRED:
            problems.append(f"`{sub}`: missing; {f.metadata['doc'][0].lower()}{f.metadata['doc'][1:]}")
    return cls(**kwargs)


# ------------------------------------------------------------------- writing


def scene_to_dict(scene: Scene) -> dict:
    """The scene as TOML-ready data: unset (None) options are left out."""

    def clean(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj):
            return {
                f.name: clean(getattr(obj, f.name)) for f in dataclasses.fields(obj) if getattr(obj, f.name) is not None
            }
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if v is not None}
        if isinstance(obj, (list, tuple)):
            return [clean(v) for v in obj]
        return obj

    data = clean(scene)
    data.pop("extends", None)
    return data


def save_scene(scene: Scene, path: str | Path) -> None:
    """Write `scene` as a self-contained TOML file at `path`."""
    import tomli_w

    Path(path).write_text(tomli_w.dumps(scene_to_dict(scene)), encoding="utf-8")
