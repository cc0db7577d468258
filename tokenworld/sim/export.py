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

    folder = Path(run_folder)
    db = folder / "run.sqlite"
    if not db.is_file() or not (folder / "manifest.json").is_file():
        raise RunError(f"{run_folder} is not a run folder (it needs run.sqlite and manifest.json); pass runs/<name>.")
    try:
        tables = _read_tables(db)
    except sqlite3.Error as exc:
        raise RunError(f"cannot read {db}: {exc}.") from None
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {out_dir}: {exc.strerror}.") from None
    written = []
    for table, (names, rows) in tables.items():
        columns = list(zip(*rows)) if rows else [[] for _ in names]
        path = out_dir / f"{table}.parquet"
        pq.write_table(pa.table({n: pa.array(list(col)) for n, col in zip(names, columns)}), path)
        written.append(path)
    return written


def _read_tables(db: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table's rows, all from one read transaction: a run still being written
    gives one consistent moment, never a mix."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        out = {}
        for table in names:
            if table in SKIP:
                continue
            cur = conn.execute(f"SELECT * FROM {table}")  # noqa: S608 (names from sqlite_master)
            out[table] = ([c[0] for c in cur.description], cur.fetchall())
        conn.execute("COMMIT")
        if not out:
            raise RunError(f"{db} holds no tables; it is not a Token World run store.")
        return out
    finally:
        conn.close()
