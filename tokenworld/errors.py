"""The one exception family of Token World.

Every error a user can cause (a bad scene file, a bad CLI argument, a run folder
that already exists) is a `TokenWorldError`. The CLI prints its message without
a traceback; anything else that escapes is a bug in Token World.
"""

from __future__ import annotations


class TokenWorldError(Exception):
    """Base class for errors a user can act on; the message says what to do."""


class SceneError(TokenWorldError):
    """A scene file is unreadable or invalid.

    Attributes:
        problems: one line per problem, each naming the file and key path.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        head = "Scene is invalid:" if len(problems) > 1 else "Scene is invalid:"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in problems))


class EngineError(TokenWorldError):
    """The spatial engine was misused or cannot start on the requested arch."""


class RunError(TokenWorldError):
    """A run folder cannot be created, written or read."""


class SweepError(TokenWorldError):
    """A sweep file is unreadable or invalid, or a sweep cannot run (its folder is busy, Ray is missing)."""
