"""The analysis tests share the run helpers of tests/sim (a CLI runner, read-only queries, the small village)."""

from __future__ import annotations

import sys
from pathlib import Path

SIM_TESTS = Path(__file__).resolve().parents[1] / "sim"
if str(SIM_TESTS) not in sys.path:
    sys.path.insert(0, str(SIM_TESTS))
