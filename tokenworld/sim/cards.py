"""`AgentCard`: what the Inspector shows about one agent, for a live run or a replayed one.

A live card is read from the simulation between ticks (`Simulation.agent_card`);
a replayed card from the run store (`RunReplay.agent_card`). Fields a source
does not know are None (a replay records no plans or prompts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenworld.mind.personas import agent_name, persona
from tokenworld.scene.schema import ITEMS, TRAITS

TIES_SHOWN = 6


@dataclass(frozen=True)
class AgentCard:
    """One agent as a person inspects it."""

    id: int
    name: str
    persona: str | None = None
    archetype: str | None = None
    group: str | None = None
    mind: str | None = None  # 'model (llama_cpp)', 'rules', 'rules (outside llm_fraction)', ...
    traits: dict[str, float] | None = None  # Big Five, each in [0, 1]
    zone: str | None = None
    state: str | None = None  # idle / walking / busy / talking
    needs: dict[str, float] | None = None  # hunger, energy
    inventory: dict[str, float] | None = None
    plan: str | None = None
    memories: list[str] | None = None
    last_prompt: str | None = None
    last_answer: str | None = None
    ties: list[tuple[str, float]] | None = None  # (name, weight or count), strongest first
    recent: list[str] | None = None  # what it did lately, one line each


def live_card(sim, agent: int, *, state: str | None = None, recent: list[str] | None = None) -> AgentCard:
    """The card of `agent` in a built simulation, read between ticks (see `Simulation.agent_card`)."""
    w, scene = sim.world, sim.scene
    if not 0 <= agent < sim.n_agents:
        return AgentCard(id=agent, name=f"no agent {agent}")
    a = w.agents
    g = scene.groups[int(a.group[agent])]
    zone = int(w.engine.read("zone", np.array([agent], np.int32))[0])
    eco = w.economy
    ties_ids, ties_w = w.social.ties_of(agent)
    order = np.argsort(-np.asarray(ties_w), kind="stable")[:TIES_SHOWN]
    mind, plan, memories, last_prompt, last_answer = g.mind, None, None, None, None
    minds = sim.minds
    if minds is not None and minds.is_model[agent]:
        mind = f"model ({scene.mind.backend})"
        plan = minds.plan_text(agent) or None
        memories, _ = minds.memory.retrieve(agent, sim.tick, set(), working=8, k=0)
        last = minds.last.get(agent)
        if last is not None:
            last_prompt, last_answer = last
    elif g.mind == "model":
        mind = "rules (outside llm_fraction)" if scene.mind.backend != "rules" else "rules (backend rules)"
    return AgentCard(
        id=agent,
        name=agent_name(agent),
        persona=persona(agent, int(a.archetype[agent]), a.traits[agent]),
        archetype=g.archetype,
        group=g.name,
        mind=mind,
        traits={t: float(v) for t, v in zip(TRAITS, a.traits[agent], strict=True)},
        zone=scene.zones[zone].name if 0 <= zone < len(scene.zones) else "outside",
        state=state,
        needs={"hunger": float(eco.hunger[agent]), "energy": float(eco.energy[agent])},
        inventory={it: float(v) for it, v in zip(ITEMS, eco.inventory[agent], strict=True) if v},
        plan=plan,
        memories=memories,
        last_prompt=last_prompt,
        last_answer=last_answer,
        ties=[(agent_name(int(ties_ids[i])), float(ties_w[i])) for i in order],
        recent=recent,
    )
