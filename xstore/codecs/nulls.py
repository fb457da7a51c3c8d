"""Records that are ``None`` in a table of records: how they are marked.

A column of a table (see :mod:`xstore.codecs.records`) stores a *blank* where a
record is ``None`` -- NaN for floats and complex numbers, NaT for datetimes, the
smallest value for signed integers, the largest for unsigned ones, ``False`` for
bools, ``""`` for strings -- and its attribute ``_xs_none`` lists the ``None``
records as JSON ranges ``[[start, stop], ...]`` (``stop`` excluded; ``null``: to the
end of the column, so appending more ``None`` records changes nothing).  Plain
readers see an ordinary variable (NaN where a float column is ``None``); xstore gives
back exactly ``None``.  A column whose records so far are all ``None`` is a float64
column of NaN; its first other value gives it that value's type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

NONE = "_xs_none"

Ranges = list[tuple[int, int | None]]


def parse_ranges(raw: Any) -> Ranges:
    """The ranges of an ``_xs_none`` attribute."""
    return [(int(start), None if stop is None else int(stop)) for start, stop in json.loads(raw)]


def format_ranges(ranges: Ranges) -> str:
    return json.dumps([[start, stop] for start, stop in ranges])


def none_mask(attrs: Mapping[str, Any], length: int) -> np.ndarray | None:
    """Which of ``length`` records are ``None`` (None: the column has no ``None``)."""
    raw = attrs.get(NONE)
    if raw is None:
        return None
    mask = np.zeros(length, dtype=bool)
    for start, stop in parse_ranges(str(raw)):
        mask[start : length if stop is None else stop] = True
    return mask


def ranges_of(mask: np.ndarray) -> Ranges:
    """The runs of ``True`` in ``mask``; a run reaching the end is left open."""
    ranges: Ranges = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        ranges.append((start, None if stop == len(mask) else stop))
    return ranges


def blank(shape: tuple[int, ...], dtype: np.dtype, count: int = 1) -> np.ndarray:
    """``count`` blank records of ``shape`` and ``dtype`` (object: strings)."""
    full = (count, *shape)
    if dtype.kind == "O":
        out = np.empty(full, dtype=object)
        out[...] = ""
        return out
    if dtype.kind in "fc":
        return np.full(full, np.nan, dtype=dtype)
    if dtype.kind in "mM":
        return np.full(full, "NaT", dtype=dtype)
    if dtype.kind == "i":
        return np.full(full, np.iinfo(dtype).min, dtype=dtype)
    if dtype.kind == "u":
        return np.full(full, np.iinfo(dtype).max, dtype=dtype)
    return np.zeros(full, dtype=dtype)
