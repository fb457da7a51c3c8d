"""Keeping the ``None`` records of a series marked (the format is in
:mod:`xstore.codecs.nulls`).

The mark is written as soon as it changes, before the record it describes is
buffered, so the file never holds a blank that is not marked: a crash leaves at
most marks past the end of the column, which readers ignore.  An open last range
(``None`` to the end) makes a run of ``None`` records cost one attribute write.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xstore.codecs.nulls import Ranges, format_ranges, parse_ranges, ranges_of


class NoneRanges:
    """The ``None`` records of one series."""

    def __init__(self, ranges: Ranges) -> None:
        self.ranges = ranges

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any], raw_name: str) -> NoneRanges | None:
        raw = attrs.get(raw_name)
        return None if raw is None else cls(parse_ranges(str(raw)))

    @property
    def open(self) -> bool:
        """The last range runs to the end: every record appended is ``None`` until
        :meth:`appended_value` closes it."""
        return bool(self.ranges) and self.ranges[-1][1] is None

    def all_none(self) -> bool:
        """Every record so far is ``None`` (the column has no type of its own yet)."""
        return self.ranges == [(0, None)]

    def appended_none(self, row: int) -> bool:
        """Record ``row`` (the next one) is ``None``; True if the mark changed."""
        if self.open:
            return False
        if self.ranges and self.ranges[-1][1] == row:
            self.ranges[-1] = (self.ranges[-1][0], None)
        else:
            self.ranges.append((row, None))
        return True

    def appended_value(self, row: int) -> bool:
        """Record ``row`` (the next one) is a value; True if the mark changed."""
        if not self.open:
            return False
        start = self.ranges[-1][0]
        if start == row:
            self.ranges.pop()
        else:
            self.ranges[-1] = (start, row)
        return True

    def set(self, row: int, is_none: bool, count: int) -> bool:
        """Record ``row`` of ``count`` is (or is no longer) ``None``; True if changed."""
        mask = self.mask(count)
        if bool(mask[row]) == is_none:
            return False
        mask[row] = is_none
        self.ranges = ranges_of(mask)
        return True

    def mask(self, count: int) -> np.ndarray:
        mask = np.zeros(count, dtype=bool)
        for start, stop in self.ranges:
            mask[start : count if stop is None else stop] = True
        return mask

    def text(self) -> str:
        return format_ranges(self.ranges)
