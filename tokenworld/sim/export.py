"""`tokenworld export`: every table of a run store as Parquet files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tokenworld.errors import RunError

SKIP = {"checkpoints"}  # binary engine states: not analysis data


def export_parquet(run_folder: str | Path, out_dir: str | Path) -> list[Path]:
    """Write `<table>.parquet` for each table of the run's store into `out_dir`; returns the files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    db = Path(run_folder) / "run.sqlite"
    if not db.is_file():
        raise RunError(f"{run_folder} has no run.sqlite; pass a run folder such as runs/<name>.")
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {out_dir}: {exc.strerror}.") from None
    written = []
    # Read-only, so exporting a run that is still going never disturbs it.
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for table in tables:
            if table in SKIP:
                continue
            cur = conn.execute(f"SELECT * FROM {table}")  # noqa: S608 (names from sqlite_master)
            names = [c[0] for c in cur.description]
            rows = cur.fetchall()
            columns = list(zip(*rows)) if rows else [[] for _ in names]
            arrays = [pa.array(list(col)) for col in columns]
            path = out_dir / f"{table}.parquet"
            pq.write_table(pa.table(dict(zip(names, arrays))), path)
            written.append(path)
    return written
