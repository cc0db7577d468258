"""What decides for the agents. For now: `Roaming`, agents walking between zones."""

from __future__ import annotations

from tokenworld.mind.roam import Roaming

__all__ = ["Roaming"]
