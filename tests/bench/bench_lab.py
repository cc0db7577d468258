"""Helpers of the bench tests."""

from __future__ import annotations

import pytest


def suite_report(quick_all, name: str, *, may_skip: bool = False) -> dict:
    """The quick run's report of suite `name`; skips the test when the suite could not run here and `may_skip`."""
    report = quick_all[0]["suites"][name]
    if "skipped" in report:
        if may_skip:
            pytest.skip(f"suite {name} could not run here: {report['skipped']}")
        raise AssertionError(f"suite {name} was skipped: {report['skipped']}")
    return report
