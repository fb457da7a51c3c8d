"""One series and the records waiting to be written to it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xstore.codecs.context import UserCodec
from xstore.core.series.nulls import NoneRanges
from xstore.names import Path

_FAST_SCALARS = {float: np.dtype(np.float64), int: np.dtype(np.int64), bool: np.dtype(bool)}


class RecordBuffer:
    """Records waiting to be written: a growing numpy block (one setitem copies and
    casts a record), or a list for strings.  Index 0 is the oldest record."""

    __slots__ = ("block", "capacity", "items", "limit", "shape", "used")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.used = 0
        self.limit = 1 << 62  # the writer sets how many records may wait (block growth stops there)
        self.shape = shape
        self.items: list[Any] | None = [] if dtype.kind == "O" else None
        self.block = None if dtype.kind == "O" else np.empty((16, *shape), dtype=dtype)
        self.capacity = 0 if self.block is None else 16

    def __len__(self) -> int:
        return self.used

    def add(self, records: np.ndarray | Sequence[Any]) -> None:
        """Append records (a block along axis 0, or a sequence for strings)."""
        n = len(records)
        if self.items is not None:
            self.items.extend(records)
        else:
            assert self.block is not None
            if self.used + n > len(self.block):
                size = max(min(2 * len(self.block), self.limit), self.used + n)
                grown = np.empty((size, *self.block.shape[1:]), self.block.dtype)
                grown[: self.used] = self.block[: self.used]
                self.block = grown
                self.capacity = len(grown)
            self.block[self.used : self.used + n] = records
        self.used += n

    def put(self, i: int, record: Any) -> None:
        """Replace buffered record ``i`` (0: the oldest)."""
        if self.items is not None:
            self.items[i] = record
        else:
            assert self.block is not None
            self.block[i] = record

    def drop_last(self, n: int) -> None:
        if self.items is not None:
            del self.items[len(self.items) - n :]
        self.used -= n

    def drop_first(self, n: int) -> None:
        """Forget the ``n`` oldest records (they were written)."""
        if self.items is not None:
            del self.items[:n]
        elif n < self.used:
            assert self.block is not None
            self.block[: self.used - n] = self.block[n : self.used]
        self.used -= n

    def peek(self, n: int | None = None) -> np.ndarray:
        """The ``n`` oldest records (all if None) as one array, left in the buffer."""
        n = self.used if n is None else n
        if self.items is None:
            assert self.block is not None
            return self.block[:n]
        out = np.empty((n, *self.shape), dtype=object)
        for i, item in enumerate(self.items[:n]):
            out[i] = item
        return out


@dataclass(eq=False)
class Series:
    """One growable variable and its buffer."""

    node: Path
    group: Path
    dim: str  # stored name of the record dimension
    shape: tuple[int, ...]  # of one record
    dtype: np.dtype  # of records as the user gives them (object: str)
    written: int  # records on disk
    buffer: RecordBuffer = field(init=False)
    record_bytes: int = 0
    chunk_rows: int = 1  # records per chunk along the record axis
    codec: UserCodec | None = None
    codec_attrs: dict[str, Any] | None = None
    user_dim: str | None = None  # the record_dim name users pass (None: the series' own)
    record_dims: tuple[str, ...] = ()  # the names of a record's axes (user names)
    alive: bool = True  # False once deleted or replaced (cached references must not use it)
    nones: NoneRanges | None = None  # the records that are None (tables of records only)
    push: Callable[[Any], bool] = field(default=lambda value: False, repr=False)

    def __post_init__(self) -> None:
        self.buffer = RecordBuffer(self.shape, self.dtype)

    @property
    def count(self) -> int:
        return self.written + len(self.buffer)

    @property
    def fast_type(self) -> type | None:
        """A Python scalar type that needs no conversion check (the append hot path)."""
        if self.shape or self.codec is not None:
            return None
        for kind, dtype in _FAST_SCALARS.items():
            if dtype == self.dtype:
                return kind
        return None
