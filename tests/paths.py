"""Paths the tests share: the repository root (its scenes/, docs/ and tools/)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
