"""`tokenworld export`: every table of a run store as Parquet files."""

from __future__ import annotations

from pathlib import Path

from tokenworld.sim.run_folder import RunFolder, make_folder

SKIP = {"checkpoints"}  # binary engine states: not analysis data


def export_parquet(run_folder: str | Path, out_dir: str | Path) -> list[Path]:
    """Write `<table>.parquet` for each table of the run's store into `out_dir`; returns the files.

    Every table is read from one moment of the store, so a run still being written gives one
    consistent picture, never a mix.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with RunFolder.open(run_folder, snapshot=True) as run:
        tables = {t: run.table_rows(t) for t in sorted(run.tables) if t not in SKIP}
    out_dir = Path(out_dir)
    make_folder(out_dir)
    written = []
    for table, (names, rows) in tables.items():
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
        path = out_dir / f"{table}.parquet"
        pq.write_table(pa.table({n: pa.array(list(col)) for n, col in zip(names, columns, strict=True)}), path)
        written.append(path)
    return written
