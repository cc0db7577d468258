"""The text side of a replayed run: feed lines, plot series and agent cards, read from the run store.

A mixin of `RunReplay` (tokenworld/sim/replay.py), which opens the store and
provides `_q` (one read-only query), the scene, the agent table and the manifest.
"""

from __future__ import annotations

import json
import math

import numpy as np

from tokenworld.errors import TokenWorldError
from tokenworld.mind.personas import NARRATOR, agent_name, persona
from tokenworld.scene.schema import ITEMS, TRAITS
from tokenworld.sim.cards import AgentCard
from tokenworld.sim.frames import (
    SERIES,
    STATE_NAMES,
    FeedLine,
    event_text,
)
from tokenworld.sim.frames import num as _num
from tokenworld.world.items import BUILD_RECIPES, CRAFT_RECIPES

PARTNER_KINDS = ("talk", "trade", "give")  # events whose `other` is an agent


def _add_filter(cond: list[str], params: list, clause: str, value) -> None:
    """Add `clause` to the WHERE conditions, with `value` for each of its `?`, unless `value` is None."""
    if value is not None:
        cond.append(clause)
        params += [value] * clause.count("?")


class RunLog:
    """Feed lines, series and agent cards of a run (see `RunReplay`)."""

    def lines(
        self,
        until_tick: float,
        *,
        limit: int = 200,
        agent: int | None = None,
        zone: int | None = None,
        kinds: set[str] | list[str] | tuple[str, ...] | None = None,
    ) -> list[FeedLine]:
        """Conversations, notable events and game rounds at or before `until_tick`, oldest first, at most `limit`.

        Args:
            until_tick: the newest tick shown.
            limit: most lines returned (the newest ones).
            agent: only lines this agent takes part in (as actor, speaker, listener or partner).
            zone: only lines in this zone (a message is in its speaker's zone; rounds have none).
            kinds: only these kinds: 'talk', 'intervention' (the Narrator), 'round', 'edit' (of the scene),
                'refused', or the action of an event that went ahead ('gather', 'trade', 'craft', 'build', 'give', ...).
        """
        until = math.floor(_tick_value(until_tick))
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
            raise TokenWorldError(f"limit must be a whole number, 0 or more, found {limit!r}.")
        if agent is not None:
            agent = self._check_agent(agent)
        if zone is not None and not (isinstance(zone, (int, np.integer)) and -1 <= zone < len(self._scene.zones)):
            raise TokenWorldError(f"no zone {zone!r}: the scene's zones run from 0 to {len(self._scene.zones) - 1}.")
        wanted = None if kinds is None else {str(k) for k in kinds}
        if limit == 0:
            return []
        found: list[tuple[int, int, int, FeedLine]] = []
        if wanted is None or wanted & {"talk", "intervention"}:
            found += self._message_lines(until, limit, agent, zone, wanted)
        acts = None if wanted is None else wanted - {"talk", "intervention", "round", "edit", "refused"}
        if wanted is None or acts or "refused" in wanted:
            found += self._event_lines(until, limit, agent, zone, acts, wanted is None or "refused" in wanted)
        if (wanted is None or "round" in wanted) and zone is None:
            found += self._round_lines(until, limit, agent)
        if (wanted is None or "edit" in wanted) and zone is None and agent is None:
            found += [  # live edits of the scene, at the tick they took effect
                (e.tick, -1, i, FeedLine(e.tick, "edit", -1, -1, -1, e.label))
                for i, e in enumerate(self.run.scene_edits)
                if e.tick <= until
            ][-limit:]
        found.sort(key=lambda f: f[:3])
        return [f[3] for f in found[-limit:]]

    def _newest(self, select: str, cond: list[str], params: list, order: str, limit: int, *, group: str = "") -> list:
        """The first `limit` rows of `select` (up to its FROM) that meet every one of `cond`, by `order`."""
        grouped = f" GROUP BY {group}" if group else ""
        return self._q(f"{select} WHERE {' AND '.join(cond)}{grouped} ORDER BY {order} LIMIT ?", (*params, limit))

    def _message_lines(self, until: int, limit: int, agent, zone, wanted) -> list:
        speaker_zone = (
            "coalesce((SELECT e.zone FROM events e WHERE e.tick = m.tick AND e.agent = m.speaker AND e.kind = 'talk' "
            "AND e.ok = 1 LIMIT 1), -1)"
        )
        out = []
        if wanted is None or "talk" in wanted:
            cond, params = ["m.tick <= ?", "m.speaker != ?"], [until, NARRATOR]
            _add_filter(cond, params, "(m.speaker = ? OR m.listener = ?)", agent)
            _add_filter(cond, params, f"{speaker_zone} = ?", zone)
            rows = self._newest(
                f"SELECT m.rowid, m.tick, m.speaker, m.listener, {speaker_zone}, m.text FROM messages m",
                cond,
                params,
                "m.tick DESC, m.rowid DESC",
                limit,
            )
            out += [(t, 1, rid, FeedLine(t, "talk", s, li, z, text)) for rid, t, s, li, z, text in rows]
        if (wanted is None or "intervention" in wanted) and zone in (None, -1):
            # What the Narrator said: an announcement to a zone reached many agents; it is one line.
            cond, params = ["tick <= ?", "speaker = ?"], [until, NARRATOR]
            _add_filter(cond, params, "listener = ?", agent)
            rows = self._newest(
                "SELECT min(rowid), tick, CASE count(*) WHEN 1 THEN min(listener) ELSE -1 END, text FROM messages",
                cond,
                params,
                "tick DESC, min(rowid) DESC",
                limit,
                group="tick, text",
            )
            out += [(t, 1, rid, FeedLine(t, "intervention", NARRATOR, li, -1, text)) for rid, t, li, text in rows]
        return out

    def _event_lines(self, until: int, limit: int, agent, zone, acts, refused: bool) -> list:
        partner = f"kind IN ({', '.join(repr(k) for k in PARTNER_KINDS)})"
        cond, params = ["tick <= ?", "NOT (kind = 'talk' AND ok = 1)"], [until]  # talks are in messages
        _add_filter(cond, params, f"(agent = ? OR (other = ? AND {partner}))", agent)
        _add_filter(cond, params, "zone = ?", zone)
        which = []
        if acts is None:
            which.append("ok = 1")
        elif acts:
            which.append(f"(ok = 1 AND kind IN ({', '.join('?' * len(acts))}))")
            params += sorted(acts)
        if refused:
            which.append("ok = 0")
        cond.append(f"({' OR '.join(which)})")
        trade = (
            "CASE WHEN kind = 'trade' AND ok = 1 THEN (SELECT d.{0} FROM decisions d "
            "WHERE d.tick = events.tick AND d.agent = events.agent AND d.action = 'trade' LIMIT 1) END"
        )
        rows = self._newest(
            f"SELECT rowid, tick, agent, kind, ok, reason, zone, other, item, amount, {trade.format('item2')}, "
            f"{trade.format('amount2')} FROM events",
            cond,
            params,
            "tick DESC, rowid DESC",
            limit,
        )
        out = []
        for rid, t, a, kind, ok, reason, z, other, item, amount, item2, amount2 in rows:
            other = other if kind in PARTNER_KINDS and other is not None else -1
            text = event_text(kind, ok, reason, other, item, amount, item2, amount2)
            out.append((t, 0, rid, FeedLine(t, kind if ok else "refused", a, other, -1 if z is None else z, text)))
        return out

    def _round_lines(self, until: int, limit: int, agent) -> list:
        cond, params = ["tick <= ?"], [until]
        _add_filter(cond, params, "winner = ?", agent)
        rows = self._newest(
            "SELECT round, tick, guesses, average, target, winner, winners, winning_guess FROM rounds",
            cond,
            params,
            "tick DESC",
            limit,
        )
        out = []
        for rnd, t, guesses, average, target, winner, winners, best in rows:
            text = f"round {rnd}: {guesses} guesses, average {_num(average)}, target {_num(target)}"
            if winner is not None and winner >= 0:
                others = f" (and {winners - 1} more)" if winners and winners > 1 else ""
                text += f"; {agent_name(winner)} won with {_num(best)}{others}"
            out.append((t, 2, rnd, FeedLine(t, "round", -1, -1 if winner is None else winner, -1, text)))
        return out

    # ------------------------------------------------------------ series

    def series(self, until_tick: float | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per-tick series for the Plots panel: name -> (ticks, values), all on the `ticks` table's ticks.

        Every key of `feed.SERIES`, `price_<item>` and `total_<item>` for each
        item, and for runs with a language model `model_decisions` (per tick),
        `latency_ms` (mean per tick, NaN without one) and `tokens_out` (per tick).
        Arrays are read-only and shared between calls.
        """
        self._grow_series()
        cat = self._series_cat
        ticks = cat["tick"]
        end = len(ticks) if until_tick is None else int(np.searchsorted(ticks, _tick_value(until_tick), side="right"))
        return {k: (ticks[:end], v[:end]) for k, v in cat.items() if k != "tick"}

    def _grow_series(self) -> None:
        """Read the metrics rows committed since the last call.

        Reads up to the newest `ticks` row, so every table is complete there.
        """
        hi = self._q("SELECT max(tick) FROM ticks")[0][0]
        if self._series_cat is not None and (hi is None or hi <= self._series_upto):
            return
        lo = self._series_upto
        hi = lo if hi is None else hi
        cols = ("tick", *SERIES)
        rows = self._q(f"SELECT {', '.join(cols)} FROM ticks WHERE tick > ? AND tick <= ? ORDER BY tick", (lo, hi))
        arr = np.array(rows, np.float64).reshape(-1, len(cols))
        ticks = arr[:, 0].astype(np.int64)
        part = {"tick": ticks, **{k: arr[:, i + 1] for i, k in enumerate(SERIES)}}
        rows = self._q("SELECT tick, item, total, price FROM items WHERE tick > ? AND tick <= ?", (lo, hi))
        col = {it: i for i, it in enumerate(ITEMS)}
        totals = np.full((len(ticks), len(ITEMS)), np.nan)
        prices = np.full((len(ticks), len(ITEMS)), np.nan)
        if rows:
            t = np.array([r[0] for r in rows], np.int64)
            it = np.array([col.get(r[1], -1) for r in rows], np.int64)
            where = np.searchsorted(ticks, t)
            ok = (it >= 0) & (where < len(ticks))
            ok[ok] &= ticks[where[ok]] == t[ok]
            totals[where[ok], it[ok]] = np.array([r[2] for r in rows], np.float64)[ok]
            prices[where[ok], it[ok]] = np.array([r[3] for r in rows], np.float64)[ok]
        for i, it in enumerate(ITEMS):
            part[f"price_{it}"] = prices[:, i]
            part[f"total_{it}"] = totals[:, i]
        if self._uses_model:
            part.update(self._model_series(ticks, lo, hi))
        self._series_parts.append(part)
        self._series_upto = hi
        cat = {k: np.concatenate([p[k] for p in self._series_parts]) for k in part}
        for v in cat.values():
            v.setflags(write=False)
        self._series_parts = [cat]
        self._series_cat = cat

    def _model_series(self, ticks: np.ndarray, lo: int, hi: int) -> dict[str, np.ndarray]:
        """Model decisions, mean latency and tokens written per tick, binned onto `ticks` (metrics may skip ticks)."""
        rows = self._q(
            "SELECT tick, count(*), sum(latency_ms), sum(tokens_out) FROM decisions "
            "WHERE source = 'model' AND tick > ? AND tick <= ? GROUP BY tick",
            (lo, hi),
        )
        arr = np.array(rows, np.float64).reshape(-1, 4)
        m = len(ticks)
        if not m:
            return {k: np.zeros(0) for k in ("model_decisions", "latency_ms", "tokens_out")}
        width = np.diff(np.concatenate([[lo], ticks])).astype(np.float64)  # ticks each metrics row stands for
        b = np.minimum(np.searchsorted(ticks, arr[:, 0].astype(np.int64), side="left"), m - 1)
        count = np.bincount(b, arr[:, 1], minlength=m)
        latency = np.bincount(b, np.nan_to_num(arr[:, 2]), minlength=m)
        tokens = np.bincount(b, np.nan_to_num(arr[:, 3]), minlength=m)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_latency = np.where(count > 0, latency / count, np.nan)
        return {"model_decisions": count / width, "latency_ms": mean_latency, "tokens_out": tokens / width}

    # ------------------------------------------------------------ agent cards

    def agent_card(self, agent: int, tick: float) -> AgentCard:
        """What the Inspector shows about `agent` at `tick`.

        Who it is comes from the run's `agents` table; needs and inventory from the
        newest snapshot at or before `tick` (None without one); plan and prompts
        are not recorded (None).
        """
        a = self._check_agent(agent)
        t = _tick_value(tick)
        frame = self.frame(t)
        whole = frame.tick
        agents = self.run.agents
        group = self.run.final_scene.groups[int(agents.group[a])]
        traits = agents.traits
        z = int(frame.zone[a])
        info = {
            "id": a,
            "name": agents.name[a],
            "archetype": group.archetype,
            "group": group.name,
            "mind": self._mind_of(a),
            "zone": self._zone_names[z] if z >= 0 else None,
            "state": STATE_NAMES[int(frame.state[a])],
            "traits": {name: float(traits[a, i]) for i, name in enumerate(TRAITS)},
            "persona": persona(a, int(agents.archetype[a]), traits[a]),
        }
        snap = self._q("SELECT max(tick) FROM social WHERE tick <= ?", (whole,))[0][0]
        if snap is not None:
            row = self._q("SELECT hunger, energy, inventory FROM snapshots WHERE tick = ? AND agent = ?", (snap, a))
            if row:
                hunger, energy, inventory = row[0]
                info["needs"] = {"hunger": hunger, "energy": energy}
                info["inventory"] = json.loads(inventory) if inventory else {}
        info["memories"] = [_memory_line(line, a) for line in self.lines(whole, limit=8, agent=a)]
        rows = self._q(
            "SELECT tick, action, target_kind, target, item, amount, item2, amount2, text, source FROM decisions "
            "WHERE agent = ? AND tick <= ? ORDER BY tick DESC, rowid DESC LIMIT 5",
            (a, whole),
        )
        if rows:
            info["last_answer"] = self._decision_text(rows[0][1:])
        info["recent"] = [f"tick {r[0]}: {self._decision_text(r[1:])}" for r in reversed(rows)]
        ties = self._q(
            "SELECT CASE WHEN agent = ? THEN other ELSE agent END AS p, count(*) AS c FROM events "
            f"WHERE ok = 1 AND kind IN ({', '.join(repr(k) for k in PARTNER_KINDS)}) AND tick <= ? "
            "AND (agent = ? OR other = ?) GROUP BY p ORDER BY c DESC, p LIMIT 5",
            (a, whole, a, a),
        )
        info["ties"] = [(agent_name(p), c) for p, c in ties if p is not None and p >= 0]
        return AgentCard(**info)

    def _check_agent(self, agent) -> int:
        if isinstance(agent, bool) or not isinstance(agent, (int, np.integer)) or not 0 <= agent < self._n:
            raise TokenWorldError(f"no agent {agent!r} in {self._folder}: agent ids run from 0 to {self._n - 1}.")
        return int(agent)

    def _mind_of(self, agent: int) -> str:
        """'model' if the language model decided for the agent in this run, else its group's mind ('model' groups
        without a model backend, or outside `llm_fraction`, are decided by the rules brain)."""
        group_mind = self.run.final_scene.groups[int(self.run.agents.group[agent])].mind
        if group_mind != "model":
            return group_mind
        return "model" if self.run.agents.model[agent] else "rules"

    def _decision_text(self, row: tuple) -> str:
        """'move_to market (rules)', 'trade Ben 2 wood for 1 food (model)', 'talk Ada "Hello" (rules)'."""
        action, target_kind, target, item, amount, item2, amount2, text, source = row
        parts = [action]
        if target_kind == "agent" and target is not None and target >= 0:
            parts.append(agent_name(target))
        elif target_kind == "zone" and target is not None and 0 <= target < len(self._zone_names):
            parts.append(self._zone_names[target])
        elif target_kind == "entity" and target is not None and target >= 0:
            names = self._entities_at(self.last_tick)[3]
            parts.append(names[target] if target < len(names) and names[target] else f"entity {target}")
        if action in ("craft", "build"):
            recipes = CRAFT_RECIPES if action == "craft" else BUILD_RECIPES
            if item is not None and 0 <= item < len(recipes):
                parts.append(recipes[item].name)
        elif action == "guess":
            parts.append(_num(amount))
        elif item is not None and 0 <= item < len(ITEMS):
            parts.append(f"{_num(amount)} {ITEMS[item]}" if amount else ITEMS[item])
            if item2 is not None and 0 <= item2 < len(ITEMS):
                parts.append(f"for {_num(amount2)} {ITEMS[item2]}")
        if text:
            parts.append(json.dumps(text, ensure_ascii=False))
        return " ".join(parts) + f" ({source})"


# ------------------------------------------------------------ helpers


def _tick_value(tick) -> float:
    try:
        t = float(tick)
    except (TypeError, ValueError):
        raise TokenWorldError(f"a tick must be a number, found {tick!r}.") from None
    if not math.isfinite(t):
        raise TokenWorldError(f"a tick must be a finite number, found {tick!r}.")
    return t


def _memory_line(line: FeedLine, agent: int) -> str:
    """A feed line told from `agent`'s side, short: 'tick 22: said to Hugo: "Hello"'."""
    if line.kind in ("talk", "intervention"):
        if line.agent == agent:
            what = f"said to {agent_name(line.other)}: {json.dumps(line.text, ensure_ascii=False)}"
        else:
            what = f"{agent_name(line.agent)} said: {json.dumps(line.text, ensure_ascii=False)}"
    elif line.agent != agent and line.agent >= 0:
        what = f"{agent_name(line.agent)} {line.text}"
    else:
        what = line.text
    return f"tick {line.tick}: {what}"
