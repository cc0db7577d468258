"""The price table for the model cost estimate: a small TOML file the user sets with ``--prices``.

```toml
[model]
input_per_million = 0.10   # price of a million prompt tokens
output_per_million = 0.40  # price of a million generated tokens
currency = "USD"           # optional, only a label
```

Without a file the defaults below are used. They are placeholders, in the
range of small hosted models, not the price of anything: a local model (the
embedded llama.cpp one) costs electricity only.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path

from tokenworld.errors import TokenWorldError
from tokenworld.scene.load import read_toml_file

EXAMPLE = "[model]\ninput_per_million = 0.10\noutput_per_million = 0.40"


class PriceTableError(TokenWorldError):
    """The price table given with ``--prices`` is missing or invalid."""


@dataclass(frozen=True)
class Prices:
    """Prices per million tokens.

    Attributes:
        input_per_million: price of a million prompt (input) tokens.
        output_per_million: price of a million generated (output) tokens.
        currency: a label for the figures (no conversion is done).
        source: where the prices come from (a file path, or "default placeholder prices").
    """

    input_per_million: float = 0.10
    output_per_million: float = 0.40
    currency: str = "USD"
    source: str = "default placeholder prices"

    def cost(self, tokens_in: float, tokens_out: float) -> float:
        """What `tokens_in` prompt tokens and `tokens_out` generated tokens cost."""
        return tokens_in / 1e6 * self.input_per_million + tokens_out / 1e6 * self.output_per_million


DEFAULT_PRICES = Prices()
KEYS = ("input_per_million", "output_per_million", "currency")


def load_prices(path: str | Path | None) -> Prices:
    """The price table at `path` (TOML), or `DEFAULT_PRICES` when `path` is None.

    Raises:
        PriceTableError: the file is missing or unreadable, or a key or value is wrong.
    """
    if path is None:
        return DEFAULT_PRICES
    path = Path(path)
    hint = f"A price table looks like:\n{EXAMPLE}\n(see docs/analysis.md)."
    data = read_toml_file(
        path,
        lambda message: PriceTableError(f"{message} {hint}"),
        missing=f"no price table at {path}.",
        too_deep=f"the price table {path} nests arrays or tables too deeply to read.",
    )
    problems = [f"unknown table `{k}` (the prices go in `[model]`)" for k in data if k != "model"]
    model = data.get("model")
    if not isinstance(model, dict):
        problems.append("no `[model]` table")
        model = {}
    for key in model:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            problems.append(
                f"unknown key `model.{key}`"
                + (f"; did you mean `{close[0]}`?" if close else f"; the keys are {', '.join(KEYS)}")
            )
    values = {}
    for key in KEYS[:2]:
        if key not in model:
            problems.append(f"`model.{key}` is missing")
            continue
        v = model[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            problems.append(f"`model.{key}` must be a number of 0 or more (price per million tokens), found {v!r}")
        else:
            values[key] = float(v)
    currency = model.get("currency", "USD")
    if not isinstance(currency, str) or not currency.strip():
        problems.append(f'`model.currency` must be a short text such as "USD", found {currency!r}')
    if problems:
        raise PriceTableError(
            f"the price table {path} is invalid:\n" + "\n".join(f"  - {p}" for p in problems) + f"\n{hint}"
        )
    return Prices(values["input_per_million"], values["output_per_million"], currency.strip(), str(path))
