"""Model minds through a checkpoint: what the next prompts depend on survives `state()` and `restore()`."""

from __future__ import annotations

import numpy as np

from tests.mind.mind_lab import through_npz, village
from tokenworld.inference.rules import RulesBackend
from tokenworld.mind.minds import ModelMinds


def test_lines_heard_but_not_yet_answered_survive_a_checkpoint():
    """Minds restored from a checkpoint hold the same heard lines and write the same next prompts; a checkpoint
    without heard lines (an older one) restores none."""
    sim = village(12)
    try:
        w, agents = sim.world, np.arange(sim.world.n_agents)

        def minds() -> ModelMinds:
            return ModelMinds(w, sim.brain, agents, sim.scene.mind, "number", RulesBackend().count_tokens)

        said = [
            (12, 1, 4, "Fine day!"),
            (12, 2, 4, 'The "well" is dry.'),
            (12, 5, 4, "Bread at the market."),
            (12, 1, 9, "Hello."),
        ]
        original = minds()
        original.observe(12, [], said)
        assert len(original.heard[4]) == 2 and len(original.heard[9]) == 1
        restored = minds()
        restored.restore(through_npz(original.state()))
        assert restored.heard == original.heard

        def prompts(m: ModelMinds) -> list[str]:
            ask = np.array([4, 9, 0])
            return [r.personal for r in m.requests(ask, np.zeros(0, np.int64), sim.tick, np.full(3, 0, np.int8))]

        assert prompts(restored) == prompts(original)
        assert restored.heard == original.heard == {}  # asked: the lines were shown once

        older = {k: v for k, v in through_npz(minds().state()).items() if k != "mind_heard"}
        restored.observe(12, [], said)
        restored.restore(older)
        assert restored.heard == {}
    finally:
        sim.close()
