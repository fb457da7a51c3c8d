"""Declared sizes against what a store can hold: no allocation far beyond the data.

A crafted or damaged store can declare a shape of terabytes over a few bytes of data;
reading it would allocate (and fill) that much memory.  Before a read bigger than
:data:`FLOOR`, a backend compares the bytes the read would return with the most its
stored data can decode to, and raises ``StoreError`` when the declaration is not
plausible.  Reads of slices are checked for the slice only.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from xstore.errors import StoreError
from xstore.names import Path

#: reads up to this size are never questioned
FLOOR = 256 * 2**20
#: the most deflate (zlib) can expand: 1032 bytes out per byte in; a little margin
DEFLATE_RATIO = 1100
#: bytes an element of a string array takes in memory (a pointer)
POINTER = 8

Index = tuple[slice | int, ...]


def selection_shape(shape: tuple[int, ...], index: Index) -> tuple[int, ...]:
    """The shape of ``array[index]`` for basic indexing (ints and slices)."""
    out: list[int] = []
    for axis, size in enumerate(shape):
        if axis >= len(index):
            out.append(size)
            continue
        part = index[axis]
        if isinstance(part, slice):
            out.append(len(range(*part.indices(size))))
        else:
            operator.index(part)  # an int: the axis goes away
    return tuple(out)


def read_bytes(shape: tuple[int, ...], dtype: np.dtype, index: Index = ()) -> int:
    """Memory that reading ``index`` of an array of ``shape`` and ``dtype`` needs."""
    itemsize = POINTER if dtype.kind in "OTU" else max(1, dtype.itemsize)
    return math.prod(selection_shape(shape, index)) * itemsize


def require(location: str, node: Path, wanted: int, most: int, why: str) -> None:
    """``StoreError`` if a read of ``wanted`` bytes exceeds both :data:`FLOOR` and
    ``most``, the most the stored data can plausibly decode to (``why`` says how)."""
    if wanted > max(FLOOR, most):
        raise StoreError(
            f"/{'/'.join(node)} in {location} declares {wanted / 2**20:.0f} MiB, but {why}: "
            "the store is damaged or crafted (read it lazily with to_dataset() if you "
            "know better)"
        )
