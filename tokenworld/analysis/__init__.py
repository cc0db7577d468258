"""Post-run analysis: `tokenworld analyze runs/<name>` writes an HTML report, PNG plots and a Markdown summary.

Reads the run folder only (read-only SQLite, so a run still being written can
be analysed). matplotlib is imported here and nowhere else in Token World.

    from tokenworld.analysis import analyze
    analyze("runs/village-20260101-120000")  # -> runs/village-.../report/report.html
"""

from __future__ import annotations

from typing import Any

__all__ = ["Prices", "analyze", "load_prices"]


def __getattr__(name: str) -> Any:  # lazy: `import tokenworld.analysis` does not import matplotlib or numpy work
    if name == "analyze":
        from tokenworld.analysis.report import analyze

        return analyze
    if name in ("load_prices", "Prices"):
        from tokenworld.analysis import prices

        return getattr(prices, name)
    raise AttributeError(f"module 'tokenworld.analysis' has no attribute {name!r}")
