"""What every plot module shares: the Agg backend, the `Section` a plot returns, tick windows, saving.

matplotlib is imported here, inside `tokenworld.analysis`, and nowhere else in
Token World; `pyplot` is used only with the non-interactive Agg backend, so a
report can be made on a machine with no display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tokenworld.errors import TokenWorldError

MAX_WINDOWS = 60  # time series are summed over about this many tick windows
DPI = 100


@dataclass
class Section:
    """One part of the report: a plot (a PNG beside the report) or the reason it was left out.

    Attributes:
        key: short id, also the PNG's stem (`actions` -> actions.png).
        title: heading in the report.
        about: what the plot shows and how to read it (one or two sentences).
        image: the PNG's file name (relative to the report), or None when skipped.
        skipped: why there is no plot (the data is absent), or None.
        notes: extra lines with figures worked out for this section.
    """

    key: str
    title: str
    about: str
    image: str | None = None
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed), or an error naming the package to install."""
    try:
        import matplotlib
    except ImportError:
        raise TokenWorldError(
            "the analysis report draws its plots with matplotlib: install it with `pip install 'matplotlib>=3.8'`."
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def window_size(last_tick: int) -> int:
    """Ticks per window so a run of `last_tick` ticks gives at most `MAX_WINDOWS` windows."""
    return max(1, -(-int(last_tick) // MAX_WINDOWS))


def window_starts(last_tick: int, window: int) -> np.ndarray:
    """First tick of every window, ticks 1..last_tick grouped as (tick - 1) // window."""
    return np.arange(-(-int(last_tick) // window), dtype=np.int64) * window + 1


def per_window(window: int) -> str:
    """'per tick' or 'per 10 ticks'."""
    return "per tick" if window == 1 else f"per {window} ticks"


def save(fig, out_dir: Path, key: str) -> str:
    """Write `fig` as `out_dir/key.png`, close it, and return the file name."""
    name = f"{key}.png"
    fig.savefig(out_dir / name, dpi=DPI)
    pyplot().close(fig)
    return name


def skipped(key: str, title: str, about: str, why: str) -> Section:
    """A section with no plot, saying why."""
    return Section(key, title, about, skipped=why)


def fmt(x: float, digits: int = 3) -> str:
    """A number for people: thousands separators, a few significant digits."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def empty_note(ax, text: str) -> None:
    """Say in the middle of an empty panel why it is empty ('no trades yet')."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
