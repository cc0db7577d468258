"""The report's Steering section: did the trait vectors change what agents did?

For a run with `[mind.steering]` (or any run given a baseline): per trait, the effect of the trait on the share
of the action it should move (extraversion: talk, agreeableness: give, conscientiousness: gather, openness:
move_to, neuroticism: rest) across the model-driven agents: the difference in share between agents high
(>= 0.5) and low on the trait, in percentage points, with Spearman's rank correlation and its p-value; beside
it the same from a baseline run (the same scene and seed without steering, `tokenworld analyze RUN --baseline
OTHER`). The plot shows the agents' steering profiles (a heatmap) and the effects. `checks` says loudly when a
run meant to be steered shows no sign of it (no decision carries a profile, or every agent has the same one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tokenworld.analysis.behaviour import decisions_per_agent
from tokenworld.analysis.figures import Section, pyplot, save, skipped
from tokenworld.mind.steering import TRAIT_ACTIONS
from tokenworld.scene.schema import TRAITS
from tokenworld.sim.run_folder import RunFolder
from tokenworld.world.actions import ACTIONS

KEY, TITLE = "steering", "Trait steering"


def steered(run: RunFolder) -> bool:
    return bool(run.scene.mind.steering.vectors)


def checks(run: RunFolder) -> list[str]:
    """Loud notices for a run configured to steer that shows no sign of it; [] when all is well or not steered."""
    if not steered(run) or run.last_tick == 0:
        return []
    s = run.scene.mind.steering
    model = int(run.scalar("SELECT count(*) FROM decisions WHERE source = 'model'") or 0)
    if not model:
        return []
    out = []
    with_profile = int(run.scalar("SELECT count(*) FROM decisions WHERE source = 'model' AND steer IS NOT NULL") or 0)
    if "steering" not in run.tables or with_profile == 0:
        out.append(
            f"STEERING NOT ACTIVE: the scene sets mind.steering.vectors = {s.vectors!r}, but none of the {model:,} "
            "model decisions carries a steering profile. The vectors were not applied; check the backend "
            "(llama_cpp) and the run's Token World version."
        )
    elif with_profile < model:
        out.append(f"Steering incomplete: {model - with_profile:,} of {model:,} model decisions carry no profile.")
    profiles = run.q("SELECT coefficients FROM steering") if "steering" in run.tables else []
    if len(profiles) == 1:
        out.append(
            "STEERING CONSTANT: every model agent has the same steering profile "
            f"({profiles[0][0]}), so steering cannot make their behaviour differ by trait."
        )
    if s.strength == 0:
        out.append("Steering strength is 0: the vectors add nothing.")
    return out


def trait_effects(run: RunFolder) -> dict[str, dict]:
    """Per trait: its target action, the effect (pp, high minus low), Spearman's rho and p, over model agents."""
    from scipy import stats

    model = run.agents.model.astype(bool)
    traits = run.agents.traits[model]
    names = [a.name for a in ACTIONS]
    counts = decisions_per_agent(run, names, len(run.agents.traits), source="model")[model]  # what the model chose
    totals = counts.sum(axis=1)
    out = {}
    for t, trait in enumerate(TRAITS):
        target = TRAIT_ACTIONS[trait]
        have = totals > 0
        share = np.where(have, counts[:, names.index(target)] / np.maximum(totals, 1), np.nan)[have]
        x = traits[have, t]
        high, low = share[x >= 0.5], share[x < 0.5]
        entry = {"target": target, "agents": int(have.sum()), "effect_pp": None, "rho": None, "p": None}
        if len(high) and len(low):
            entry["effect_pp"] = round(100 * float(high.mean() - low.mean()), 2)
        if len(share) > 2 and np.ptp(x) > 0 and np.ptp(share) > 0:
            rho, p = stats.spearmanr(x, share)
            entry.update(rho=round(float(rho), 3), p=float(p))
        out[trait] = entry
    return out


def steering_section(run: RunFolder, out_dir: Path, baseline: RunFolder | None = None) -> Section:
    """The section: effects per trait (beside a baseline's), the profiles' heatmap, and the checks."""
    about = (
        "Left: each model-driven agent's steering profile (its traits rounded to the steps of mind.steering.levels, "
        "-1 low to +1 high). Right: per trait, the share of the action it should move among the model's decisions "
        "for agents high on the trait minus that share for agents low on it (percentage points; plan steps and "
        "rules-brain decisions, which follow traits by rule, are left out), in this run and in the baseline "
        "(the same scene and seed without steering) when one was given."
    )
    if not steered(run) and baseline is None:
        return skipped(KEY, TITLE, about, "the run was not steered (no mind.steering.vectors) and no baseline given.")
    if run.last_tick == 0 or not run.agents.model.any():
        return skipped(KEY, TITLE, about, "no model-driven agent has decided yet.")
    mine = trait_effects(run)
    base = trait_effects(baseline) if baseline is not None else None
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    _profiles_panel(run, left)
    y = np.arange(len(TRAITS))
    h = 0.38 if base else 0.7
    right.barh(y + (h / 2 if base else 0), [mine[t]["effect_pp"] or 0 for t in TRAITS], h, label="this run")
    if base:
        right.barh(y - h / 2, [base[t]["effect_pp"] or 0 for t in TRAITS], h, label=f"baseline {baseline.name}")
        right.legend(fontsize=8)
    right.set_yticks(y, [f"{t} -> {TRAIT_ACTIONS[t]}" for t in TRAITS])
    right.axvline(0, color="grey", linewidth=0.8)
    right.set_xlabel("share high minus share low (pp)")
    right.set_title("Effect of each trait on its action")
    notes = [_note(t, mine[t], base[t] if base else None) for t in TRAITS]
    return Section(KEY, TITLE, about, save(fig, out_dir, KEY), notes=notes)


def _profiles_panel(run: RunFolder, ax) -> None:
    from tokenworld.mind.steering import profiles

    model = run.agents.model.astype(bool)
    coef = profiles(run.agents.traits[model], run.scene.mind.steering.levels)
    order = np.lexsort(coef.T[::-1])
    im = ax.imshow(coef[order], cmap="coolwarm", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(len(TRAITS)), TRAITS, rotation=30, ha="right")
    ax.set_ylabel(f"model agents ({int(model.sum()):,}, sorted by profile)")
    ax.set_title("Steering profiles" + ("" if steered(run) else " (had the run been steered)"))
    ax.figure.colorbar(im, ax=ax, label="coefficient")


def _note(trait: str, mine: dict, base: dict | None) -> str:
    def one(e: dict) -> str:
        if e["effect_pp"] is None:
            return "no agents on one side of 0.5"
        rho = f", rho {e['rho']:+.2f} (p {e['p']:.2g})" if e["rho"] is not None else ""
        return f"{e['effect_pp']:+.1f} pp{rho}"

    text = f"{trait} on {mine['target']}: {one(mine)} over {mine['agents']:,} agents"
    return text + (f"; baseline {one(base)}" if base is not None else "")
