"""Sweeps: many runs of scene variants and seeds on Ray, each writing its own run folder, with a summary table
and report across them (`tokenworld sweep sweep.toml`; docs/sweeps.md).

`load_sweep` reads and expands a sweep file (`spec`), `run_sweep` runs or continues it (`runner`), and
`write_summary` writes the table and report (`summary`). Ray is needed only to run: `pip install
'tokenworld[cluster]'`.
"""

from tokenworld.sweep.runner import SweepResult, run_sweep
from tokenworld.sweep.spec import PlannedRun, Sweep, load_sweep

__all__ = ["PlannedRun", "Sweep", "SweepResult", "load_sweep", "run_sweep"]
