"""The scenes shipped with Token World, and finding a scene by path or by name.

The repository keeps its example scenes in the top-level ``scenes/`` folder; the
package links it as ``tokenworld/scenes`` and installs it as package data, so a
wheel installed anywhere finds them through `importlib.resources`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tokenworld.errors import SceneError

SUFFIX = ".toml"
SWEEP_PREFIX = "sweep_"  # shipped sweep files (`tokenworld sweep sweep_village`) sit beside the scenes


def shipped_dir() -> Path:
    """The folder that holds the shipped scenes (inside the installed package)."""
    return Path(str(resources.files("tokenworld") / "scenes"))


def shipped_names() -> list[str]:
    """Names of the shipped scenes (file names without `.toml`, sweep files left out), sorted."""
    return sorted(p.stem for p in shipped_dir().glob(f"*{SUFFIX}") if not p.stem.startswith(SWEEP_PREFIX))


def shipped_scene(name: str) -> Path:
    """The file of the shipped scene `name` (`village` or `village.toml`).

    Raises:
        SceneError: there is no shipped scene of that name (the message lists them).
    """
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name
    path = shipped_dir() / f"{stem}{SUFFIX}"
    if stem.startswith(SWEEP_PREFIX) and path.is_file():
        raise SceneError([f"{name} is a sweep file, not a scene: run it with `tokenworld sweep {stem}`."])
    if "/" in stem or "\\" in stem or not path.is_file():
        raise SceneError(
            [
                f"{name}: no such file here, and no shipped scene of that name; shipped scenes: "
                f"{', '.join(shipped_names())} (see `tokenworld scene list`)."
            ]
        )
    return path


def find_scene(arg: str | Path) -> Path:
    """A scene file given by path (tried first) or by the name of a shipped scene (`tokenworld run village`)."""
    path = Path(arg)
    if path.exists():
        return path
    if path.parent == Path(".") and path.suffix in ("", SUFFIX):
        return shipped_scene(path.name)
    raise SceneError(
        [
            f"{path}: no such file. Check the path, or name a shipped scene: "
            f"{', '.join(shipped_names())} (see `tokenworld scene list`)."
        ]
    )


@dataclass(frozen=True)
class ShippedScene:
    """One line of `tokenworld scene list`.

    Attributes:
        name: what `tokenworld run NAME` takes.
        description: the scene's `description`.
        agents: agents in all (the groups' counts, after `extends`); None where the scene does not load.
    """

    name: str
    description: str
    agents: int | None


def shipped_scenes() -> list[ShippedScene]:
    """Every shipped scene with its description and agent count, sorted by name."""
    from tokenworld.scene.load import load_scene

    out = []
    for name in shipped_names():
        try:
            scene = load_scene(shipped_scene(name))
        except SceneError as exc:  # a broken install: still listed, with what is wrong
            out.append(ShippedScene(name, f"(does not load: {exc.problems[0]})", None))
            continue
        out.append(ShippedScene(name, scene.description, sum(g.count for g in scene.groups)))
    return out
