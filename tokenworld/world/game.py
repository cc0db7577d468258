"""Guess the average: the moderator of the game (rounds, guesses, winners).

Each round every participant guesses a number in [0, max_value]; the target
is `factor` times the average guess; the guess closest to the target wins
(every guess at the smallest distance wins; the lowest id is reported first).
Participants see the previous rounds (`history`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenworld.scene.schema import GameOptions
from tokenworld.world.decisions import REASON_INDEX


@dataclass
class RoundResult:
    """What a round produced."""

    round: int
    tick: int
    guesses: int
    average: float
    target: float
    winner: int  # lowest id among the winners
    winners: int
    winning_guess: float


class GuessAverage:
    """Runs rounds of the game over the agents who guess."""

    def __init__(self, options: GameOptions, n_agents: int):
        self.options = options
        self.n = n_agents
        self.history: list[RoundResult] = []
        self.open_tick: int | None = None
        self.guess = np.full(n_agents, np.nan, np.float64)

    @property
    def finished(self) -> bool:
        return len(self.history) >= self.options.rounds

    def due(self, tick: int) -> bool:
        """True at ticks where a round is played."""
        return not self.finished and tick % self.options.ticks_per_round == 0

    def open_round(self, tick: int) -> None:
        self.open_tick = tick
        self.guess[:] = np.nan

    def accept_guesses(self, agents: np.ndarray, values: np.ndarray, tick: int) -> np.ndarray:
        """Record guesses of an open round; returns a refusal reason per guess (0 = taken)."""
        reasons = np.zeros(len(agents), np.int8)
        if self.open_tick != tick:
            reasons[:] = REASON_INDEX["no round is open"]
            return reasons
        values = np.asarray(values, np.float64)
        bad = ~np.isfinite(values) | (values < 0) | (values > self.options.max_value)
        reasons[bad] = REASON_INDEX["value out of range"]
        self.guess[agents[~bad]] = values[~bad]
        return reasons

    def close_round(self, tick: int) -> RoundResult | None:
        """Score the open round; None if nobody guessed."""
        self.open_tick = None
        taken = np.flatnonzero(~np.isnan(self.guess))
        if len(taken) == 0:
            return None
        values = self.guess[taken]
        average = float(values.mean())
        target = self.options.factor * average
        dist = np.abs(values - target)
        best = dist.min()
        winners = taken[dist == best]
        result = RoundResult(
            len(self.history) + 1,
            tick,
            len(taken),
            average,
            target,
            int(winners[0]),
            len(winners),
            float(self.guess[winners[0]]),
        )
        self.history.append(result)
        return result

    def state(self) -> dict[str, np.ndarray]:
        """Arrays for a checkpoint."""
        h = self.history
        return {
            "game_rounds": np.array([[r.round, r.tick, r.guesses, r.winner, r.winners] for r in h], np.int64).reshape(
                -1, 5
            ),
            "game_values": np.array([[r.average, r.target, r.winning_guess] for r in h], np.float64).reshape(-1, 3),
        }

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.history = [
            RoundResult(int(a), int(b), int(c), float(v[0]), float(v[1]), int(d), int(e), float(v[2]))
            for (a, b, c, d, e), v in zip(state["game_rounds"], state["game_values"], strict=False)
        ]
