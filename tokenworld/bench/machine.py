"""The machine a benchmark ran on, and what every suite's report shares: its header, console, table and file."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys


def describe_machine(*, arch: str | None = None, inference: dict | None = None) -> dict:
    """CPU model, cores, memory, OS, Python and GPU (if any) of this machine.

    Args:
        arch: the Taichi arch the figures were measured on; default: the one this
            process started Taichi on, if it did.
        inference: the model and backend an inference suite used (``model``,
            ``backend``, ``gpu_offload``), added as they are.
    """
    from tokenworld.engine import arch as engine_arch

    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "gpu": _gpu(),
    }
    try:
        import taichi

        info["taichi"] = ".".join(map(str, taichi.__version__))
    except ImportError:  # pragma: no cover
        pass
    chosen = arch or engine_arch.current()
    if chosen:
        info["taichi_arch"] = chosen
    if inference:
        info["inference"] = dict(inference)
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _gpu() -> str | None:
    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def new_report(suite: str, arch: str, **fields) -> dict:
    """A suite's report before measuring: suite, arch, machine, `fields` in order, the command line, no results."""
    return {
        "suite": suite,
        "arch": arch,
        "machine": describe_machine(arch=arch),
        **fields,
        "command": "tokenworld " + " ".join(sys.argv[1:]),
        "results": [],
    }


def report_console(width: int = 140):
    """A rich console for a suite's tables: the terminal's width, or `width` columns when the output is piped."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else width)


def results_table(title: str, columns: tuple[str, ...], rows):
    """A rich table of right-aligned `columns`, one row of cell strings per entry of `rows`."""
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def write_report(report: dict, json_path: str | None, console) -> None:
    """Write a suite's report as JSON when asked, with a clear error if the file cannot be written."""
    if not json_path:
        return
    from pathlib import Path

    from tokenworld.errors import TokenWorldError

    try:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise TokenWorldError(f"cannot write {json_path}: {exc.strerror}.") from None
    console.print(f"wrote {json_path}")


def prepare_report_path(json_path: str | None, option: str = "--json") -> None:
    """Make sure a report (`option` names its command-line flag) can be written before measuring anything
    (creates its folder)."""
    if not json_path:
        return
    from pathlib import Path

    from tokenworld.errors import TokenWorldError

    path = Path(json_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise TokenWorldError(f"cannot write {json_path}: {exc.strerror}. Pick another {option} path.") from None
