"""The Panda3D viewer with Dear ImGui panels; `tokenworld view` is `view(ViewOptions(...))` (see `command`).

Panda3D and ImGui are imported only here and below (never by the simulation);
the viewer reads a `FrameSource` (tokenworld/sim/source.py) and never owns
simulation state.
"""

from __future__ import annotations

from tokenworld.viewer.command import (
    DEFAULT_SCENE,
    ViewOptions,
    has_display,
    leave_cores_for_the_model,
    open_source,
    open_viewer,
    view,
)

__all__ = [
    "DEFAULT_SCENE",
    "ViewOptions",
    "has_display",
    "leave_cores_for_the_model",
    "open_source",
    "open_viewer",
    "view",
]
