"""One quick `run_all` of every suite, shared by the bench tests (it is the slow part: about 40 s on 2 cores)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def quick_all(tmp_path_factory):
    """(results, folder) of `run_all(quick=True)` with a JSON file, a Markdown report and its plots."""
    from tokenworld.bench.suites import run_all

    folder = tmp_path_factory.mktemp("bench_all")
    out = run_all(json_path=str(folder / "results.json"), report_path=str(folder / "report.md"), quick=True)
    assert json.loads((folder / "results.json").read_text()) == json.loads(json.dumps(out))
    return out, folder
