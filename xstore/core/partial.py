"""Reading part of a stored variable: basic indexes, and an array read on demand.

:func:`plain_index` turns a numpy basic index (ints, slices, ``...``) into one that
every backend reads directly — one non-negative int or forward slice per axis — plus
the reversal that negative steps need afterwards.  :class:`StoredArray` is a variable
of an open store (records still buffered included) read part by part, in its stored
form: what ``xstore convert`` copies slab by slab, and what a face's lazy array
decodes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from xstore.backends.base import Index, VarInfo
from xstore.model import Shaped
from xstore.names import Path

BASIC_ONLY = "only basic indexing (integers, slices and ...) reads part of a stored array"


def plain_index(index: Any, shape: tuple[int, ...]) -> tuple[Index, tuple[slice, ...]]:
    """``(read, then)``: ``read`` selects the same elements as ``index`` with
    non-negative ints and forward slices, one per axis; ``then`` (applied to what
    ``read`` gives, one slice per axis it keeps) restores the order of axes sliced
    with a negative step.

    Raises ``IndexError`` for an index out of range, too many indices or anything but
    basic indexing (arrays, lists, ``None``).
    """
    items = index if isinstance(index, tuple) else (index,)
    if sum(item is Ellipsis for item in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        fill = (slice(None),) * (len(shape) - len(items) + 1)
        items = (*items[:at], *fill, *items[at + 1 :])
    if len(items) > len(shape):
        raise IndexError(f"too many indices: {len(items)} for a {len(shape)}-d array")
    items = (*items, *(slice(None),) * (len(shape) - len(items)))
    read: list[slice | int] = []
    then: list[slice] = []
    for axis, (item, size) in enumerate(zip(items, shape, strict=True)):
        if isinstance(item, slice):
            start, stop, step = item.indices(size)
            if step > 0:
                read.append(slice(start, max(start, stop), step))
                then.append(slice(None))
                continue
            count = len(range(start, stop, step))
            last = start + (count - 1) * step if count else 0
            read.append(slice(last, last + (count - 1) * -step + 1 if count else 0, -step))
            then.append(slice(None, None, -1))
            continue
        if isinstance(item, bool | np.bool_ | np.ndarray) or not hasattr(item, "__index__"):
            raise IndexError(f"{BASIC_ONLY}, not {type(item).__name__}")
        position = operator.index(item)
        if not -size <= position < size:
            raise IndexError(f"index {position} is out of bounds for axis {axis} with size {size}")
        read.append(position % size)
    return tuple(read), tuple(then)


def slice_with_buffer(
    read: Callable[[Index], np.ndarray], written: int, buffered: np.ndarray, index: Index
) -> np.ndarray:
    """Part of a series whose first ``written`` records are stored (``read`` reads
    them by a basic index) and the rest ``buffered``: only the part asked for."""
    first, rest = (index[0], index[1:]) if index else (slice(None), ())
    total = written + len(buffered)
    if isinstance(first, int | np.integer):
        row = int(first) + total if first < 0 else int(first)
        return read((row, *rest)) if row < written else buffered[(row - written, *rest)]
    if not isinstance(first, slice) or (first.step or 1) < 0:
        return np.concatenate([read(()), buffered])[index]
    start, stop, step = first.indices(total)
    if start >= stop:
        return read((slice(0, 0), *rest))
    parts = []
    if start < written:
        parts.append(read((slice(start, min(stop, written), step), *rest)))
    if stop > written:
        skip = (written - start) % step if start < written else 0
        begin = max(start, written) - written + (skip and step - skip)
        parts.append(buffered[(slice(begin, stop - written, step), *rest)])
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


class Reader(Protocol):
    """What a stored array reads through: the open store's core."""

    def info(self, node: Path) -> VarInfo: ...

    def chunks(self, node: Path) -> tuple[int, ...] | None: ...

    def shape(self, node: Path) -> tuple[int, ...]: ...

    def read_slice(self, node: Path, index: Index) -> np.ndarray: ...


class StoredArray(Shaped):
    """A variable of an open store, read part by part in its stored form.

    ``on_read(nbytes)`` is called after every read (progress bars count bytes by it).
    """

    def __init__(
        self, reader: Reader, node: Path, on_read: Callable[[int], object] | None = None
    ) -> None:
        self._reader = reader
        self._node = node
        self._on_read = on_read
        self.dtype: np.dtype = reader.info(node).dtype
        #: the chunk shape as stored (slabs of whole chunks read fastest)
        self.chunks = reader.chunks(node)

    @property
    def shape(self) -> tuple[int, ...]:
        """The current shape (records still buffered in this process included)."""
        return self._reader.shape(self._node)

    def __getitem__(self, index: Any) -> np.ndarray:
        read, then = plain_index(index, self.shape)
        part = np.asarray(self._reader.read_slice(self._node, read))
        if self._on_read is not None:
            self._on_read(part.nbytes)
        return part[then] if any(t.step for t in then) else part

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self[...]
        return whole if dtype is None else whole.astype(dtype)
