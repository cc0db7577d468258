"""The argparse types of the `tokenworld` command's flags: each turns a flag's text into a value or says, in one
line, what was expected."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An argparse type: a whole number of 1 or more (`--steps 0` is a usage error)."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, found {value}")
    return value


def nonnegative_int(text: str) -> int:
    """An argparse type: a whole number of 0 or more (seeds, warm-ups, ticks of an empty run)."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, found {value}")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, found {text}")
    return value


def size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, found {text!r}")
    w, h = int(parts[0]), int(parts[1])
    if not (64 <= w <= 7680 and 64 <= h <= 4320):
        raise argparse.ArgumentTypeError(f"window size {w}x{h} is out of range (64x64 to 7680x4320)")
    return w, h


def int_list(text: str) -> list[int]:
    try:
        values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers such as 1000,10000, found {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected counts of 1 or more, found {text!r}")
    return values


def weight_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 0,1,2, found {text!r}") from None
    if not values or not all(0 <= v <= 100 for v in values):
        raise argparse.ArgumentTypeError(f"expected weights between 0 and 100, found {text!r}")
    return values


def mode_list(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in ("score", "generate")]
    if not modes or bad:
        raise argparse.ArgumentTypeError(f"expected modes from score,generate, found {text!r}")
    return list(dict.fromkeys(modes))


def scene_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["none"]:
        return []
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated scenes such as village_rules,metropolis, or none")
    return names


# How the text of a bench suite's flag is read, by `Flag.kind` (tokenworld.bench.suites).
FLAG_TYPES = {
    "counts": int_list,
    "count": positive_int,
    "count0": nonnegative_int,
    "number": positive_float,
    "size": size,
    "modes": mode_list,
    "weights": weight_list,
    "scene": str,
    "scenes": scene_list,
}


def shown(value) -> str:
    """A default as a user would type it: 1000,10000 for lists, 1280x720 for a size."""
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value) and value[0] >= 64:
        return f"{value[0]}x{value[1]}"
    if isinstance(value, (list, tuple)):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
