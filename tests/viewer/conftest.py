"""Keeps `python -m pytest` (run from the repository root) able to open the viewer's panels.

p3dimgui's backend runs `from shaders import *` before `from .shaders import *`;
with the repository root on sys.path (as `python -m` puts it) that finds our
GLSL folder `shaders/` as an empty namespace package, and the panels fail with
"name 'VERT_SHADER' is not defined". Here p3dimgui's own shaders module is
registered as `shaders` first. The bug itself is kept visible by
test_view.py::test_python_m_tokenworld_view_from_the_repository_root (xfail).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _p3dimgui_shaders_first() -> None:
    found = importlib.util.find_spec("shaders")
    if found is not None and found.origin is not None:
        return  # a real `shaders` module (p3dimgui's, or anything else): nothing to mend
    pkg = importlib.util.find_spec("p3dimgui")
    if pkg is None or "p3dimgui.backend" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location("shaders", Path(pkg.submodule_search_locations[0]) / "shaders.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["shaders"] = module


_p3dimgui_shaders_first()
