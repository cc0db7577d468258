"""Shared fixtures for the scene tests: real TOML files in pytest's tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

from tokenworld.errors import SceneError
from tokenworld.scene.load import load_scene

# A small valid scene; tests append to it or replace parts of it.
HEAD = """\
name = "t"

[world]
size = [100.0, 80.0]
"""


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented TOML text to a file under tmp_path and return its path."""

    def _write(text: str, name: str = "scene.toml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def scene_error(write) -> Callable[..., str]:
    """Write TOML text, load it, and return the `SceneError` message it must raise."""

    def _error(text: str, name: str = "scene.toml") -> str:
        path = write(text, name)
        with pytest.raises(SceneError) as info:
            load_scene(path)
        message = str(info.value)
        for problem in info.value.problems:
            assert problem.startswith(f"{path}: "), problem  # every problem names the file
        return message

    return _error
