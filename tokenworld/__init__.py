"""Token World: a simulator of LLM-driven societies.

The one obvious path::

    import tokenworld as tw
    scene = tw.Scene.load("scenes/village.toml")
    sim = tw.Simulation(scene, seed=7, arch="cpu")
    sim.build()
    sim.run(100)

Heavy modules (Taichi, the viewer, model backends) are imported lazily, so
``import tokenworld`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokenworld.errors import EngineError, RunError, SceneError, TokenWorldError

__version__ = "0.1.0"

__all__ = [
    "EngineError",
    "RunError",
    "Scene",
    "SceneError",
    "Simulation",
    "TokenWorldError",
    "__version__",
]

if TYPE_CHECKING:  # pragma: no cover
    from tokenworld.scene import Scene
    from tokenworld.sim import Simulation

_LAZY = {"Scene": "tokenworld.scene", "Simulation": "tokenworld.sim"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tokenworld' has no attribute {name!r}")
