"""Trade offers: what an agent wants, what it can spare, and the best deal it can propose to a neighbour.

One owner for the rules brain's trade intent and the trade options of a model's
menu, so that both propose the same sensible deals: each side gives only what it
can spare (holds above a small reserve and does not want itself); the agent
either buys what it wants, paying a little over market value, or sells what the
partner wants, asking market value or a little less; amounts are in half units;
and a deal is proposed only where the partner would accept it
(`partner_accepts`). Arrays over (agent, partner, item asked, item given), with a
cheap screen first so that only pairs that could deal are priced; no Python loop
per agent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenworld.scene.schema import ITEMS
from tokenworld.world.items import BUILD_RECIPES, ITEM_INDEX
from tokenworld.world.rules import partner_accepts

FOOD, WOOD, STONE, TOOLS = (ITEM_INDEX[k] for k in ("food", "wood", "stone", "tools"))
OPENNESS, C = 0, 1  # trait columns: openness, conscientiousness
# Columns of the rules brain's archetype weights (`rules_brain.ARCH_W`).
W_WOOD, W_CRAFT, W_BUILD, W_TRADE, W_FORAGE = 0, 2, 3, 4, 6
RESERVE = np.array([2.0, 0.0, 2.0, 1.0, 1.0], np.float32)  # of each item, kept back (never traded away)
ASK_CAP = np.array([3.0, 2.0, 3.0, 2.0, 1.0], np.float32)  # the most of each item asked for in one deal
PREMIUM = 1.1  # a buyer pays this much over the market value of what it asks
SELL_SHARE = 0.5  # a sale is worth this share of the partner's want of what is sold
MAX_OVERPAY = 1.6  # half-unit rounding may not push the payment past this share of the value asked
DRIVE = 0.4  # a drive to build or craft below this wants no materials (the agent is not a builder or crafter)
HUT_WOOD, HUT_STONE = BUILD_RECIPES[0].inputs["wood"], BUILD_RECIPES[0].inputs["stone"]


@dataclass
class Offers:
    """One proposed deal per agent (`partner` -1 where none makes sense), with how much it is worth to it."""

    partner: np.ndarray  # int32 agent ids
    give: np.ndarray  # int64 items
    give_amount: np.ndarray  # float32
    want: np.ndarray  # int64 items
    want_amount: np.ndarray  # float32
    strength: np.ndarray  # float32: what the deal is worth to the agent (0 where no deal)

    @property
    def ok(self) -> np.ndarray:
        """Mask of the agents with a deal to propose."""
        return self.partner >= 0


def wants(inv: np.ndarray, hunger: np.ndarray, traits: np.ndarray, arch: np.ndarray) -> np.ndarray:
    """(m, items) how much each agent wants more of each item (0: not at all).

    Food when it holds too little to eat (more the hungrier it is); tools for those
    who gather for a living and have none; wood and stone for those driven to build
    or craft who lack them; merchants restock what they ran out of. Water has no use.
    """
    w = np.zeros(inv.shape, np.float32)
    restock = 0.15 * np.maximum(arch[:, W_TRADE] - 1.0, 0.0)  # a merchant's, for what it ran out of
    food, wood, stone, tools = inv[:, FOOD], inv[:, WOOD], inv[:, STONE], inv[:, TOOLS]
    w[:, FOOD] = (food < RESERVE[FOOD]) * (0.4 + 2.0 * hunger) + restock * (food < 1)
    build = np.maximum(0.9 * traits[:, OPENNESS] * arch[:, W_BUILD] - DRIVE, 0.0)
    craft = np.maximum(0.8 * traits[:, C] * arch[:, W_CRAFT] - DRIVE, 0.0)
    w[:, WOOD] = build * (wood < HUT_WOOD) + craft * (wood < 2) + restock * (wood < 1)
    w[:, STONE] = build * (stone < HUT_STONE) + craft * (stone < 1) + restock * (stone < 1)
    gatherer = np.maximum(arch[:, W_WOOD], arch[:, W_FORAGE])
    w[:, TOOLS] = 0.3 * ((tools < 1) & (gatherer >= 1.0)) * gatherer * (0.5 + traits[:, C]) + restock * (tools < 1)
    return w


def wants_of(world, ids: np.ndarray, arch_w: np.ndarray) -> np.ndarray:
    """`wants` of the agents `ids` (any shape) read from the world; `arch_w` is the rules brain's `ARCH_W`."""
    eco, ag = world.economy, world.agents
    flat = np.asarray(ids, np.int64).ravel()
    out = wants(eco.inventory[flat], eco.hunger[flat], ag.traits[flat], arch_w[ag.archetype[flat]])
    return out.reshape(*np.shape(ids), len(ITEMS))


def spare(inv: np.ndarray, want: np.ndarray | None = None) -> np.ndarray:
    """What each agent can trade away of each item: what it holds above the reserve, of what it does not want."""
    out = np.maximum(inv - RESERVE, 0.0)
    return out if want is None else np.where(want > 0, 0.0, out)


def _ceil_half(x: np.ndarray) -> np.ndarray:
    return np.ceil(x * 2.0 - 1e-6) / 2.0


def _floor_half(x: np.ndarray) -> np.ndarray:
    return np.floor(x * 2.0 + 1e-6) / 2.0


def best_offers(world, agents: np.ndarray, partners: np.ndarray, want: np.ndarray, arch_w: np.ndarray) -> Offers:
    """The deal each agent of `agents` most wants to propose to one of its `partners` ((m, k) ids, -1 none).

    `want` is `wants(...)` of `agents`; `arch_w` the archetype weights the partners'
    wants are read with. Two kinds of deal, both of what one side can spare (holds
    above its reserve and does not want) for what the other can spare:

    - buying: ask for what the agent wants, paying its market value plus `PREMIUM`
      (demand lifts the price of what is asked for); strength: the agent's want;
    - selling: offer what the partner wants, asking its market value or a little less
      (supply lowers the price of what is offered); strength: `SELL_SHARE` of the
      partner's want.

    Only deals the partner accepts are proposed (`partner_accepts`, current prices).
    The strongest wins, then the nearer partner (lower column), then the lower item ids.
    """
    eco = world.economy
    agents = np.asarray(agents, np.int64)
    partners = np.asarray(partners, np.int64)
    partners = partners.reshape(len(agents), -1) if partners.ndim != 2 else partners
    m, ni = len(agents), len(ITEMS)
    out = Offers(
        np.full(m, -1, np.int32),
        np.full(m, -1, np.int64),
        np.zeros(m, np.float32),
        np.full(m, -1, np.int64),
        np.zeros(m, np.float32),
        np.zeros(m, np.float32),
    )
    if m == 0 or partners.shape[1] == 0:
        return out
    # 1. A cheap screen over (agent, partner, item): keep the pairs between which some deal could exist.
    p = np.maximum(partners, 0)
    inv = eco.inventory[agents]
    mine, mine_s = spare(inv), spare(inv, want)
    their_want = wants_of(world, p, arch_w)  # (m, k, ni)
    theirs = spare(eco.inventory[p], their_want)
    top = np.minimum(ASK_CAP, _floor_half(theirs))  # the most one may ask of each item
    other = ~np.eye(ni, dtype=bool)
    can_pay = ((mine[:, None, :] >= 0.5) & (want[:, None, :] < want[:, :, None]) & other).any(axis=2)  # (m, w)
    buys = ((want > 0) & can_pay)[:, None, :] & (top >= 0.5)
    asks = top >= 0.5
    sells = (mine_s[:, None, :] >= 0.5) & (their_want > 0) & (asks.sum(axis=2, keepdims=True) > asks)
    ai, si = np.nonzero((partners >= 0) & (buys | sells).any(axis=2))
    if not len(ai):
        return out
    # 2. Every deal of each kept pair. Axes: (pair, item asked w, item given g, kind: buying, selling).
    partner, want_i, their_want, top = partners[ai, si], want[ai], their_want[ai, si], top[ai, si]
    mine, mine_s = mine[ai], mine_s[ai]
    price = np.exp(eco.log_price).astype(np.float32)
    pw, pg = price[None, :, None], price[None, None, :]
    top = top[:, :, None]
    # Buying: `top` of w, or what one can pay for, at market value plus the premium (rounded up).
    budget = mine[:, None, :]
    pay_b = _ceil_half(top * pw * PREMIUM / pg)
    ask_b = np.where(pay_b > budget, _floor_half(budget * pg / (pw * PREMIUM)), top)
    pay_b = _ceil_half(ask_b * pw * PREMIUM / pg)
    ok_b = (want_i[:, :, None] > 0) & (want_i[:, :, None] > want_i[:, None, :])
    # Selling: up to ASK_CAP of g the agent can spare (and does not want) for its value in w (rounded down).
    give = np.minimum(ASK_CAP[None, None, :], _floor_half(mine_s[:, None, :]))
    ask_s = np.minimum(_floor_half(give * pg / pw), top)
    pay_s = np.minimum(give, _ceil_half(ask_s * pw / pg))
    ok_s = their_want[:, None, :] > 0
    ask, pay = np.stack(np.broadcast_arrays(ask_b, ask_s), -1), np.stack(np.broadcast_arrays(pay_b, pay_s), -1)
    strength = np.stack(
        np.broadcast_arrays(want_i[:, :, None], SELL_SHARE * their_want[:, None, :] + 0.1 * want_i[:, :, None]), -1
    )
    pw, pg = pw[..., None], pg[..., None]
    valid = (
        other[None, :, :, None]
        & np.stack(np.broadcast_arrays(ok_b, ok_s), -1)
        & (ask >= 0.5)
        & (pay >= 0.5)
        & (pay <= budget[..., None])
        & (ask <= top[..., None])
        & (pay * pg <= MAX_OVERPAY * ask * pw)
    )
    items = np.arange(ni)
    valid &= partner_accepts(
        world, partner[:, None, None, None], items[None, None, :, None], pay, items[None, :, None, None], ask
    )
    # 3. The strongest deal of each pair (ties: lower items first), then of each agent (ties: the nearer partner).
    score = np.where(valid, strength, -np.inf).reshape(len(ai), -1)
    best = score.argmax(axis=1)
    top_score = score[np.arange(len(ai)), best]
    keep = np.flatnonzero(np.isfinite(top_score))
    if not len(keep):
        return out
    order = keep[np.lexsort((si[keep], -top_score[keep], ai[keep]))]
    pick = order[np.unique(ai[order], return_index=True)[1]]
    w, g, kind = np.unravel_index(best[pick], valid.shape[1:])
    a = ai[pick]
    out.partner[a] = partner[pick]
    out.give[a], out.give_amount[a] = g, pay[pick, w, g, kind]
    out.want[a], out.want_amount[a] = w, ask[pick, w, g, kind]
    out.strength[a] = strength[pick, w, g, kind]
    return out
