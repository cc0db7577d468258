"""The Taichi spatial engine: agent state arrays and the kernels that advance them."""

from __future__ import annotations

import os

# Taichi prints a banner on import unless told not to; our CLI says what it needs.
os.environ.setdefault("ENABLE_TAICHI_HEADER_PRINT", "0")

from tokenworld.engine.engine import Engine, StepTimings

__all__ = ["Engine", "StepTimings"]
