"""What decides for the agents: the rules brain (and, later, language-model minds)."""

from __future__ import annotations

from tokenworld.mind.rules_brain import RulesBrain

__all__ = ["RulesBrain"]
