"""Writing big arrays in slabs: memory bounded by a slab, not by the size of the value.

A slab is a run of whole rows along the first axis (or, for rows larger than the
target, part of one row), aligned to the variable's chunks where they are known so
that no chunk is written twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

#: bytes of one slab: arrays larger than this are written (and copied) slab by slab
SLAB_BYTES = 16 * 2**20

Slab = tuple[slice, ...]


def nbytes(data: Any) -> int:
    """Bytes of an ndarray or array source as stored (strings count as pointers)."""
    return math.prod(data.shape) * max(1, np.dtype(data.dtype).itemsize)


def is_big(data: Any) -> bool:
    """True for values to write slab by slab: large ones, and every array source
    (reading a source whole would hold all of it)."""
    return not isinstance(data, np.ndarray) or nbytes(data) > SLAB_BYTES


def slabs(
    shape: tuple[int, ...],
    itemsize: int,
    chunks: tuple[int, ...] | None = None,
    target: int = SLAB_BYTES,
) -> Iterator[Slab]:
    """Index tuples (slices only, one per axis) that cover an array of ``shape``.

    Each slab holds whole chunks (when ``chunks`` is given) and about ``target``
    bytes, or a single chunk if one is larger.
    """
    if not shape:
        yield ()
        return
    first = max(1, min(chunks[0], shape[0])) if chunks else 1
    row = math.prod(shape[1:]) * max(1, itemsize)
    if first * row <= target or len(shape) == 1:
        step = max(first, target // max(row, 1) // first * first)
        rest = tuple(slice(0, n) for n in shape[1:])
        for start in range(0, shape[0], step):
            yield (slice(start, min(start + step, shape[0])), *rest)
        return
    inner = chunks[1:] if chunks else None
    for start in range(0, shape[0], first):
        rows = min(first, shape[0] - start)
        for part in slabs(shape[1:], itemsize * rows, inner, target):
            yield (slice(start, start + rows), *part)


def write_slabs(
    data: Any,
    write: Callable[[np.ndarray, Slab], None],
    chunks: tuple[int, ...] | None = None,
) -> None:
    """Call ``write(part, index)`` for every slab of ``data`` (ndarray or source).

    Slabs hold whole ``chunks`` (the target's), else whole chunks of the source (its
    ``chunks`` attribute, if it has one), so that no chunk is read or written twice.
    """
    chunks = chunks or getattr(data, "chunks", None)
    for index in slabs(tuple(data.shape), np.dtype(data.dtype).itemsize, chunks):
        write(np.asarray(data[index]), index)
