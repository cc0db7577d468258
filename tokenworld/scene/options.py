"""How a scene option is declared: `opt` gives a dataclass field its default, documentation, unit, allowed values
and numeric range (a `Range`), which loading, validation, docs/scene-format.md and the editor's forms all read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


class _Required:
    """Marks a field a scene file must give."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()


def _bound(value: float) -> str:
    """A bound as people write it: 1 for 1.0, 2^32 for 4294967296."""
    if float(value).is_integer():
        n = int(value)
        if n >= 2**16 and n & (n - 1) == 0:
            return f"2^{n.bit_length() - 1}"
        return str(n)
    return repr(value)


@dataclass(frozen=True)
class Range:
    """The values a number may take: `min` and `max` (None: no bound), each inclusive unless marked exclusive.

    On a list-like field (`[w, h]`, an RGB colour) the range holds for each value; on a table of numbers
    (`resources`, `inventory`) for each entry.
    """

    min: Optional[float] = None
    max: Optional[float] = None
    min_exclusive: bool = False
    max_exclusive: bool = False

    def contains(self, value: float) -> bool:
        """Whether `value` lies in the range."""
        if self.min is not None and (value < self.min or (self.min_exclusive and value == self.min)):
            return False
        return self.max is None or not (value > self.max or (self.max_exclusive and value == self.max))

    def words(self, *, whole: bool = False) -> str:
        """The range in words, after "must be": `positive`, `0 or more`, `between 1 and 32`, `in [0, 2^32)`.

        Args:
            whole: the field holds whole numbers (a closed range then reads "between a and b").
        """
        lo, hi = self.min, self.max
        if hi is None:
            if lo == 0:
                return "positive" if self.min_exclusive else "0 or more"
            return f"more than {_bound(lo)}" if self.min_exclusive else f"{_bound(lo)} or more"
        if lo is None:
            return f"less than {_bound(hi)}" if self.max_exclusive else f"{_bound(hi)} or less"
        if whole and not (self.min_exclusive or self.max_exclusive):
            return f"between {_bound(lo)} and {_bound(hi)}"
        return f"in {self.interval()}"

    def interval(self) -> str:
        """Compact notation for tables: `> 0`, `>= 0`, `[1, 32]`, `[0, 2^32)`."""
        lo, hi = self.min, self.max
        if hi is None:
            return f"{'>' if self.min_exclusive else '>='} {_bound(lo)}"
        if lo is None:
            return f"{'<' if self.max_exclusive else '<='} {_bound(hi)}"
        left, right = "(" if self.min_exclusive else "[", ")" if self.max_exclusive else "]"
        return f"{left}{_bound(lo)}, {_bound(hi)}{right}"


def opt(
    default=REQUIRED,
    *,
    doc: str,
    unit: str = "",
    factory=None,
    choices=(),
    min: Optional[float] = None,
    max: Optional[float] = None,
    min_exclusive: bool = False,
    max_exclusive: bool = False,
):
    """A dataclass field with its documentation and allowed values attached as metadata.

    `min`/`max` bound a number (inclusive unless `min_exclusive`/`max_exclusive`); they are kept as a `Range`
    under the metadata key ``range`` (None when unbounded), which the validator and the docs read.
    """
    bounded = min is not None or max is not None
    meta = {
        "doc": doc,
        "unit": unit,
        "choices": tuple(choices),
        "range": Range(min, max, min_exclusive, max_exclusive) if bounded else None,
    }
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


POSITIVE = {"min": 0, "min_exclusive": True}
NON_NEGATIVE = {"min": 0}
UNIT_INTERVAL = {"min": 0, "max": 1}
