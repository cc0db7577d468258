"""The economy: needs and resources over time, prices and trade volume."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tokenworld.analysis.figures import (
    Section,
    empty_note,
    fmt,
    per_window,
    pyplot,
    save,
    skipped,
    window_size,
    window_starts,
)
from tokenworld.scene.schema import ITEMS
from tokenworld.sim.run_folder import RunFolder

MAX_POINTS = 2000  # per-tick lines are thinned to about this many points


def _stride(run: RunFolder) -> int:
    return max(1, run.last_tick // MAX_POINTS)


def _item_series(run: RunFolder, column: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Ticks and, per item, `column` ('total' or 'price') from the items table, thinned to about MAX_POINTS ticks."""
    tick, item, value = run.columns(
        f"SELECT tick, item, {column} FROM items WHERE tick % ? = 0 OR tick = ? ORDER BY tick",
        (_stride(run), run.last_tick),
        (np.int64, object, np.float64),
    )
    ticks = np.unique(tick)
    names = [i for i in ITEMS if i in set(item.tolist())] + sorted(set(item.tolist()) - set(ITEMS))
    series = {}
    for name in names:  # one pass per item (a handful), not per tick
        sel = item == name
        series[name] = np.full(len(ticks), np.nan)
        series[name][np.searchsorted(ticks, tick[sel])] = value[sel]
    return ticks, series


def needs_and_resources(run: RunFolder, out_dir: Path) -> Section:
    """Plot 3: mean hunger and energy per tick (ticks table) and every item's total in the world (items table)."""
    key, title = "needs", "Needs and resources"
    about = (
        "Left: the population's mean hunger (0 fed, 1 starving) and energy (1 rested) per tick. "
        "Right: how much of each item exists in the world (zones' stocks plus every inventory)."
    )
    tick, hunger, energy = run.columns(
        "SELECT tick, mean_hunger, mean_energy FROM ticks WHERE tick % ? = 0 OR tick = ? ORDER BY tick",
        (_stride(run), run.last_tick),
        (np.int64, np.float64, np.float64),
    )
    has_needs = bool(np.isfinite(hunger).any() or np.isfinite(energy).any())
    iticks, totals = _item_series(run, "total")
    if not has_needs and not any(np.nan_to_num(v).any() for v in totals.values()):
        return skipped(key, title, about, "no needs or item totals recorded yet.")
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
    if has_needs:
        left.plot(tick, hunger, label="mean hunger", color="C3")
        left.plot(tick, energy, label="mean energy", color="C0")
        left.set_ylim(0, 1)
        left.legend(frameon=False)
    else:
        empty_note(left, "no needs recorded")
    left.set_xlabel("tick")
    left.set_title("Needs (population mean)")
    has_items = any(np.nan_to_num(v).any() for v in totals.values())
    for i, (name, values) in enumerate(totals.items()):
        right.plot(iticks, values, label=name, color=f"C{i}")
    if has_items:
        right.legend(frameon=False, fontsize="small")
    else:
        empty_note(right, "no items in this world")
    right.set_xlabel("tick")
    right.set_ylabel("units in the world")
    right.set_title("Resources")
    notes = []
    if has_needs:
        last = np.flatnonzero(np.isfinite(hunger))[-1] if np.isfinite(hunger).any() else None
        if last is not None:
            notes.append(
                f"At tick {int(tick[last]):,}: mean hunger {hunger[last]:.2f}, mean energy {energy[last]:.2f}."
            )
    if has_items:
        change = [f"{n} {fmt(v[0])} -> {fmt(v[-1])}" for n, v in totals.items() if np.isfinite(v[[0, -1]]).all()]
        notes.append("Items from the first to the last tick: " + ", ".join(change) + ".")
    return Section(key, title, about, save(fig, out_dir, key), notes=notes)


def prices_and_trade(run: RunFolder, out_dir: Path) -> Section:
    """Plot 4: every item's price (items table), trades per tick window (ticks) and amounts traded (trade events)."""
    key, title = "trade", "Prices and trade"
    window = window_size(run.last_tick)
    about = (
        "Left: each item's market price per tick, in food (food is 1; a log scale, so equal steps are equal "
        "shares), moving towards the exchange ratios of the trades made. "
        f"Middle: trades completed {per_window(window)}. Right: the amounts that changed hands {per_window(window)}, "
        "by the item the initiator gave."
    )
    pticks, prices = _item_series(run, "price")
    w, trades = run.columns(
        "SELECT (tick - 1) / ?, sum(coalesce(trades, 0)) FROM ticks WHERE tick >= 1 GROUP BY 1",
        (window,),
        (np.int64, np.float64),
    )
    ew, eitem, amount = run.columns(
        "SELECT (tick - 1) / ?, coalesce(item, -1), sum(amount) FROM events "
        "WHERE kind = 'trade' AND ok = 1 AND tick >= 1 GROUP BY 1, 2",
        (window,),
        (np.int64, np.int64, np.float64),
    )
    if not prices and not len(w):
        return skipped(key, title, about, "no prices or trades recorded yet.")
    ini, par = run.columns(
        "SELECT agent, coalesce(other, -1) FROM events WHERE kind = 'trade' AND ok = 1", (), (np.int64, np.int64)
    )
    traders = len(np.union1d(ini, par[par >= 0]))
    starts = window_starts(run.last_tick, window)
    volume = np.zeros(len(starts))
    np.add.at(volume, np.clip(w, 0, len(starts) - 1), trades)
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
    ax = axes[0]
    for i, (name, values) in enumerate(prices.items()):
        ax.plot(pticks, values, label=name, color=f"C{i}")
    if prices:
        ax.legend(frameon=False, fontsize="small")
    if prices and all(np.nanmin(v) > 0 for v in prices.values() if np.isfinite(v).any()):
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("tick")
    ax.set_ylabel("price (food = 1)")
    ax.set_title("Prices")
    total_trades = int(volume.sum())
    ax = axes[1]
    ax.bar(starts, volume, width=window * 0.9, align="edge", color="C1")
    if total_trades == 0:
        empty_note(ax, "no trades yet")
    ax.set_xlabel("tick")
    ax.set_ylabel(f"trades {per_window(window)}")
    ax.set_title("Trade volume")
    ax = axes[2]
    if len(ew):
        bottom = np.zeros(len(starts))
        for it in np.unique(eitem):
            row = np.zeros(len(starts))
            sel = eitem == it
            np.add.at(row, np.clip(ew[sel], 0, len(starts) - 1), amount[sel])
            name = ITEMS[it] if 0 <= it < len(ITEMS) else "unknown"
            ax.bar(
                starts,
                row,
                bottom=bottom,
                width=window * 0.9,
                align="edge",
                label=name,
                color=f"C{ITEMS.index(name) if name in ITEMS else 9}",
            )
            bottom += row
        ax.legend(frameon=False, fontsize="small")
    else:
        empty_note(ax, "nothing traded yet")
    ax.set_xlabel("tick")
    ax.set_ylabel(f"units {per_window(window)}")
    ax.set_title("Amounts traded")
    head = f"{total_trades:,} trades in all" + (f" between {traders:,} agents" if traders else "")
    head += f", {fmt(float(amount.sum()))} units given by initiators" if len(ew) else ""
    notes = [head + "."]
    if prices:
        moved = [
            f"{n} {fmt(v[0])} -> {fmt(v[-1])}" + (f" ({(v[-1] / v[0] - 1) * 100:+.0f}%)" if v[0] > 0 else "")
            for n, v in prices.items()
            if np.isfinite(v[[0, -1]]).all()
        ]
        notes[0] = head + "; prices (food = 1) from the first to the last tick: " + ", ".join(moved) + "."
    return Section(key, title, about, save(fig, out_dir, key), notes=notes)
