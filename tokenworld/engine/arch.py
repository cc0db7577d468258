"""Choosing and starting Taichi's backend.

`auto` prefers cuda, then vulkan, then the CPU (x64/arm64), and says which it
took. `TOKENWORLD_ARCH` sets the default; `--arch` on the command line wins over
it. Taichi runs one backend per process, so the first call decides.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os

from tokenworld.errors import EngineError

log = logging.getLogger(__name__)

ARCHS = ("auto", "cpu", "cuda", "vulkan")
_started: str | None = None


def requested_arch(arch: str | None = None) -> str:
    """The arch asked for: the argument, else `TOKENWORLD_ARCH`, else `auto`."""
    choice = (arch or os.environ.get("TOKENWORLD_ARCH") or "auto").strip().lower()
    if choice not in ARCHS:
        source = "--arch" if arch else "TOKENWORLD_ARCH"
        raise EngineError(f"{source}={choice!r} is not an arch Token World knows; use one of {', '.join(ARCHS)}.")
    return choice


def init(arch: str | None = None, *, seed: int = 0) -> str:
    """Start Taichi once per process and return the arch it runs on ('cpu', 'cuda', 'vulkan').

    Raises `EngineError` if an explicit arch cannot start, or if Taichi already
    runs on a different arch in this process.
    """
    global _started
    choice = requested_arch(arch)
    if _started is not None:
        if choice not in ("auto", _started):
            raise EngineError(
                f"Taichi already runs on {_started} in this process and cannot switch to {choice}; "
                "start a new process to change the arch."
            )
        return _started
    import taichi as ti
    from taichi.lang.misc import is_arch_supported

    ti.set_logging_level(ti.ERROR)  # probing a missing GPU driver is not worth a warning
    candidates = ["cuda", "vulkan", "cpu"] if choice == "auto" else [choice]
    for name in candidates:
        if name != "cpu" and not (_compiled_with(ti, name) and is_arch_supported(getattr(ti, name))):
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # Taichi prints its arch on stdout
                ti.init(
                    arch=getattr(ti, name),
                    enable_fallback=False,
                    offline_cache=True,
                    random_seed=seed & 0x7FFFFFFF,  # Taichi takes a signed 32-bit seed; ours may use all 32 bits
                    fast_math=False,  # exact float32 arithmetic: neighbour queries match numpy to the bit
                    log_level=ti.ERROR,
                )
        except RuntimeError as exc:
            log.info("Taichi could not start on %s: %s", name, exc)
            ti.reset()
            continue
        # Materialise Taichi's root field tree now, in this thread: it must happen on the thread that
        # called ti.init, and otherwise happens at the first kernel launch, which may be on another
        # thread (the viewer steps the simulation in a background thread).
        ti.lang.impl.get_runtime().materialize()
        got = _arch_name(ti.lang.impl.current_cfg().arch)
        _started = got
        log.info("Taichi arch: %s (asked for %s)", got, choice)
        return got
    raise EngineError(
        f"Taichi cannot run on {choice} here (no {choice} device or driver found). "
        "Use --arch cpu, or --arch auto to take the best available."
    )


def current() -> str | None:
    """The arch Taichi was started on in this process, or None."""
    return _started


def _compiled_with(ti, name: str) -> bool:
    core = ti._lib.core
    probe = {"cuda": "with_cuda", "vulkan": "with_vulkan"}[name]
    return bool(getattr(core, probe, lambda: False)())


def _arch_name(arch) -> str:
    name = str(arch).split(".")[-1]
    return {"x64": "cpu", "arm64": "cpu"}.get(name, name)
