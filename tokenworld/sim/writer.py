"""The run store's writer process: `python -m tokenworld.sim.writer RUN_FOLDER PARENT_PID`.

Reads pickled tick records from stdin until it closes and commits each in
its own transaction. Started by `RunStore.start_writer`; not meant to be run
by hand. It asks Linux to kill it when its parent dies, so a killed run stops
writing at once and a resume never races with a leftover writer.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from pathlib import Path


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: be killed when the parent dies (Linux; no-op elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def main(argv: list[str]) -> int:
    folder, parent = Path(argv[0]), int(argv[1])
    _die_with_parent()
    # Ctrl-C reaches the whole process group: the writer keeps going and drains
    # what it was sent; the parent decides when to stop (by closing stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent:  # the parent died before we could ask
        return 1
    from tokenworld.errors import RunError
    from tokenworld.sim.store import STORE_FILE, RunStore, _connect

    store = RunStore(folder, _connect(folder / STORE_FILE))
    stdin = sys.stdin.buffer
    try:
        while True:
            try:
                rec = pickle.load(stdin)
            except (EOFError, pickle.UnpicklingError):
                # The end, or a record cut short because the parent stopped mid-send
                # (Ctrl-C): that tick was never handed over; everything before it is committed.
                return 0
            store._write(rec)
    except RunError as exc:
        print(exc, file=sys.stderr)
        return 3
    finally:
        store.conn.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
