"""Writing edited scene data back into the user's TOML text with tomlkit.

The file keeps what the user wrote around the data: comments, key order, inline or section tables, the `extends`
line. `sync` changes a tomlkit document in place until it holds exactly the wanted data, touching only the keys
whose values differ; arrays of tables (`[[zones]]`) are matched item by item, so an unchanged zone keeps its
comments when another is added, moved or removed. For a file that `extends` another, `overrides` works out what
the file itself must say: only the keys that differ from its parent (lists whole, since lists replace in a merge).
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, InlineTable, Table

from tokenworld.editor.edits import EditRefused, plain
from tokenworld.errors import SceneError, TokenWorldError
from tokenworld.scene.load import extends_target, load_scene, read_scene_data
from tokenworld.scene.schema import Scene


def _unwrap(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _key(value: Any) -> str:
    return json.dumps(_unwrap(value), sort_keys=True, default=str)


def sync(table: Any, wanted: dict) -> None:
    """Change the tomlkit table (or document) `table` in place so that it holds `wanted`, keeping the rest."""
    for key in [k for k in table.keys() if k not in wanted]:
        del table[key]
    for key, value in wanted.items():
        if key not in table:
            table[key] = value
            continue
        current = table[key]
        if _unwrap(current) == value:
            continue
        if isinstance(value, dict) and isinstance(current, (Table, InlineTable)):
            sync(current, value)
        elif isinstance(current, AoT) and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            _sync_tables(current, value)
        else:
            table[key] = value


def _sync_tables(aot: AoT, wanted: list[dict]) -> None:
    """Make the array of tables `aot` hold `wanted`: equal items stay, changed ones are synced in place."""
    ops = difflib.SequenceMatcher(a=[_key(t) for t in aot], b=[_key(w) for w in wanted], autojunk=False)
    for tag, i1, i2, j1, j2 in reversed(ops.get_opcodes()):  # from the end, so earlier indices stay valid
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1)
        for i in range(i2 - 1, i1 + paired - 1, -1):
            del aot[i]
        for k in range(paired):
            sync(aot[i1 + k], wanted[j1 + k])
        for k in range(paired, j2 - j1):
            table = tomlkit.item(wanted[j1 + k])
            table.add(tomlkit.nl())  # a blank line before whatever follows, as people write them
            aot.insert(i1 + k, table)


def overrides(data: dict, parent: dict, resolved: dict, where: str = "") -> dict:
    """What a file extending `parent` must say so that the merge gives `data`.

    Tables recurse; any other value (lists included) is written whole where it differs from the parent's, and
    left out where it equals it. A key the parent gives but `data` lacks cannot be removed by a merge: the file
    then states the value it resolves to (`resolved`, the scene's data with defaults), or, for an option that has
    none (an unset optional), the edit cannot be saved.
    """
    out: dict = {}
    for key, value in data.items():
        if key not in parent:
            out[key] = value
        elif isinstance(value, dict) and isinstance(parent[key], dict):
            inner = resolved.get(key) if isinstance(resolved, dict) else None
            sub = overrides(value, parent[key], inner if isinstance(inner, dict) else {}, f"{where}{key}.")
            if sub:
                out[key] = sub
        elif value != parent[key]:
            out[key] = value
    for key in parent:
        if key in data or key == "extends":
            continue
        if isinstance(resolved, dict) and key in resolved:
            out[key] = plain(resolved[key])
        else:
            raise EditRefused(
                [
                    f"`{where}{key}`: the scene this file extends sets it, and a file cannot unset what it "
                    "inherits; give it a value instead."
                ]
            )
    return out


def render(doc: Any, data: dict, scene: Scene, target: Path, extends: str | None) -> tuple[str, str | None]:
    """The TOML text to write at `target` for `data`, edited into a copy of `doc`; and the `extends` it keeps.

    A file that extends another keeps its `extends` line and only its overrides when the parent resolves from
    `target`'s folder; otherwise (a save-as elsewhere) it is written self-contained, without `extends`.
    """
    doc = tomlkit.parse(doc.as_string())  # a copy: nothing changes until the file is written
    wanted = dict(data)
    if extends is not None:
        try:
            parent = read_scene_data(extends_target(target, extends))
        except SceneError:
            extends = None
        else:
            parent.pop("extends", None)
            wanted = {"extends": extends, **overrides(data, parent, plain(scene.to_dict()))}
    if extends is None and "extends" in doc:
        del doc["extends"]
    sync(doc, wanted)
    return tomlkit.dumps(doc), extends


def write_checked(text: str, target: Path, scene: Scene) -> None:
    """Write `text` at `target` atomically (a temporary file in the same folder, then `os.replace`), after
    checking that it loads back equal to `scene`; on any failure the old file is left as it was."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".toml.tmp")
    except OSError as exc:
        raise TokenWorldError(f"cannot write {target}: {exc.strerror}.") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        reloaded = load_scene(tmp)
        if reloaded != scene:
            raise TokenWorldError(
                f"not saved: {target} would not load back as the edited scene (a bug in the editor's save; the "
                "file on disk is unchanged)."
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise TokenWorldError(f"cannot write {target}: {exc.strerror}.") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
