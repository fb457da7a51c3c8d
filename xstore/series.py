"""Buffered appends: record buffers, block writes, chunk sizes, lockstep commits.

Every series of an open store has a :class:`_Series`: its on-disk path, record
shape and dtype, how many records are on disk and the records still buffered.
Series that share a record dimension in one group form a *lockstep set*; a block
write only ever writes records that every member has (complete frames), so on
disk the members always have equal lengths — plain netCDF readers would otherwise
pad the shorter ones with fill values.

Buffers are bounded by records (per series) and by bytes (per store) and can be
flushed on a time interval; reaching a bound writes every complete frame and makes
it durable (``backend.flush``).  The backend only grows a variable and writes a
block; it never decides when.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from xstore.codecs.arrays import decode_array, encode_array, is_encodable
from xstore.codecs.base import EncodeContext
from xstore.codecs.user import UserCodec, codec_for, codec_var_attrs, split
from xstore.names import Path, decode_name, encode_name, is_internal
from xstore.nodes import CLASS, DTYPE, TYPE, Var

if TYPE_CHECKING:
    from xstore.core import Core

DEFAULT_BUFFER_BYTES = 16 * 2**20
DEFAULT_BUFFER_RECORDS = 4096
DEFAULT_FLUSH_INTERVAL = 10.0  # seconds
DEFAULT_CHUNK_BYTES = 2**20

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_FAST_SCALARS = {float: np.dtype(np.float64), int: np.dtype(np.int64), bool: np.dtype(bool)}


def chunk_shape(
    record_shape: tuple[int, ...], itemsize: int, target: int = DEFAULT_CHUNK_BYTES
) -> tuple[int, ...]:
    """Chunks of about ``target`` bytes: many records per chunk for small records;
    for records larger than ``target``, one record split along its next axis."""
    record_bytes = max(1, itemsize)
    for n in record_shape:
        record_bytes *= max(n, 1)
    if record_bytes < target or not record_shape:
        return (max(2, target // record_bytes), *record_shape)
    rows = max(1, target * record_shape[0] // record_bytes)
    return (1, min(rows, record_shape[0]), *record_shape[1:])


class _Buffer:
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
class _Series:
    """One growable variable and its buffer."""

    node: Path
    group: Path
    dim: str  # stored name of the record dimension
    shape: tuple[int, ...]  # of one record
    dtype: np.dtype  # of records as the user gives them (object: str)
    written: int  # records on disk
    buffer: _Buffer = field(init=False)
    record_bytes: int = 0
    codec: UserCodec | None = None
    codec_attrs: dict[str, Any] | None = None
    user_dim: str | None = None  # the record_dim name users pass (None: the series' own)
    alive: bool = True  # False once deleted or replaced (cached references must not use it)
    push: Callable[[Any], bool] = field(default=lambda value: False, repr=False)

    def __post_init__(self) -> None:
        self.buffer = _Buffer(self.shape, self.dtype)

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


class SeriesWriter:
    """All series of one open store (a hook of :class:`~xstore.core.Core`)."""

    def __init__(
        self,
        core: Core,
        *,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        buffer_records: int = DEFAULT_BUFFER_RECORDS,
        flush_interval: float | None = DEFAULT_FLUSH_INTERVAL,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        if buffer_bytes <= 0 or buffer_records <= 0:
            raise ValueError("buffer_bytes and buffer_records must be positive")
        if chunk_bytes <= 0:
            raise ValueError("chunk_bytes must be positive")
        self._core = core
        self.buffer_bytes = buffer_bytes
        self.buffer_records = buffer_records
        self.flush_interval = flush_interval
        self.chunk_bytes = chunk_bytes
        self._series: dict[Path, _Series] = {}
        self._by_key: dict[tuple[Path, str], _Series] = {}
        self._lockstep: dict[tuple[Path, str], list[_Series]] = {}
        self._budget = buffer_bytes  # bytes that may still be buffered
        self._due = False  # set by a timer when buffered records have waited long enough
        self._timer: threading.Timer | None = None
        self._restart_clock()

    def _restart_clock(self) -> None:
        """Arm the flush-interval timer.  The timer thread only sets a flag that the next
        append reads (no store access from another thread), which is cheaper than
        reading the clock at every append."""
        self._due = False
        if self._timer is not None:
            self._timer.cancel()
        if self.flush_interval is not None:
            self._timer = threading.Timer(self.flush_interval, self._set_due)
            self._timer.daemon = True
            self._timer.start()

    def _set_due(self) -> None:
        self._due = True

    def stop(self) -> None:
        """Stop the flush-interval timer (the store is closing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- appending ---------------------------------------------------------------------------
    def _make_push(self, series: _Series) -> Callable[[Any], bool]:
        """The append hot path of one series: buffer ``value`` if it needs no conversion
        or check, else return False (the caller takes the full path).  A closure, so
        the checks read local cells instead of attribute chains (0.47x -> 0.60x of raw
        buffered h5py for 3-vector records)."""
        buffer, shape, dtype = series.buffer, series.shape, series.dtype
        nbytes, scalar = series.record_bytes, series.fast_type
        writer, ndarray = self, np.ndarray
        if buffer.block is None or series.codec is not None:  # strings, codec records
            return lambda value: False

        def push(value: Any) -> bool:
            kind = type(value)
            if kind is ndarray:
                if value.shape != shape or (value.dtype is not dtype and value.dtype != dtype):
                    return False
            elif kind is not scalar or (kind is int and not _INT64_MIN <= value <= _INT64_MAX):
                return False
            used = buffer.used
            if used == buffer.capacity:
                return False
            buffer.block[used] = value  # type: ignore[index]
            buffer.used = used + 1
            writer._budget -= nbytes
            if used + 1 >= writer.buffer_records or writer._budget <= 0 or writer._due:
                writer._bound_reached(series, 1)
            return True

        return push

    def append(self, group: Path, key: str, value: Any, record_dim: str | None) -> _Series:
        """Append one record; returns the series (callers may cache it and call its push)."""
        series = self._by_key.get((group, key))
        if (
            series is not None
            and (record_dim is None or record_dim == series.user_dim)
            and series.push(value)
        ):
            return series
        return self._add(group, key, value, record_dim, single=True)

    def extend(self, group: Path, key: str, values: Any, record_dim: str | None) -> None:
        self._add(group, key, values, record_dim, single=False)

    def _add(
        self, group: Path, key: str, value: Any, record_dim: str | None, single: bool
    ) -> _Series:
        from xstore.store import resolve_series_target

        self._core.require_writable(f"append to {key!r}")
        parent, name, entry = resolve_series_target(self._core, group, key, create=False)
        series = None
        if entry is not None and parent is not None:
            node = (*parent, entry.stored)
            series = self._series.get(node) or self._adopt(parent, name, entry)
        block, codec, attrs = self._records(series, value, single, key)
        if series is None:
            if record_dim is not None:
                encode_name(record_dim)  # a bad name fails before anything is written
            parent, name, _ = resolve_series_target(self._core, group, key, create=True)
            assert parent is not None
            series = self._create(parent, name, block, codec, attrs, record_dim, key)
        else:
            self._check_dim(series, record_dim, key)
        self._by_key[(group, key)] = series
        series.buffer.add(block)
        self._budget -= series.record_bytes * len(block)
        self._bound_reached(series, len(block))
        return series

    def _records(
        self, series: _Series | None, value: Any, single: bool, key: str
    ) -> tuple[np.ndarray, UserCodec | None, dict[str, Any] | None]:
        """``value`` as a block of records (leading axis), checked against the series."""
        if single:
            codec = codec_for(value)
        else:
            codec = codec_for(value[0]) if isinstance(value, list | tuple) and value else None
        attrs: dict[str, Any] | None = None
        if codec is not None:
            ctx = EncodeContext(f"record of {key!r}")
            parts = [split(v, codec, ctx) for v in ([value] if single else value)]
            attrs = parts[0][1]
            for _, other in parts[1:]:
                if other != attrs:
                    raise ValueError(
                        f"records of {key!r} must share their attributes: {other} != {attrs}"
                    )
            if series is not None and series.codec_attrs != attrs:
                have = series.codec_attrs
                raise ValueError(
                    f"record attributes {attrs} differ from the series' {have} ({key!r})"
                )
            block = np.stack([p[0] for p in parts]) if parts else np.empty(0)
        elif series is not None and series.codec is not None:
            raise ValueError(
                f"{key!r} is a series of {series.codec.cls.__name__} with attributes "
                f"{series.codec_attrs}; a {type(value).__name__} record has none"
            )
        else:
            block = _as_block(value, single, series, key)
        if series is None:
            if not is_encodable(block):
                raise TypeError(
                    f"cannot append {type(value).__name__} values to {key!r}: not an array type"
                )
            if block.dtype.kind in "UO":
                _check_strings(block, key)
            return block, codec, attrs
        if block.shape[1:] != series.shape:
            raise ValueError(
                f"record of shape {block.shape[1:]} does not fit {key!r} "
                f"(records of shape {series.shape})"
            )
        return _cast(block, series, key), codec, attrs

    # -- creating and adopting series ----------------------------------------------------------
    def _create(
        self,
        parent: Path,
        name: str,
        block: np.ndarray,
        codec: UserCodec | None,
        attrs: dict[str, Any] | None,
        record_dim: str | None,
        key: str,
    ) -> _Series:
        core = self._core
        stored = encode_name(name)
        strings = block.dtype.kind in "UO"
        dtype = np.dtype(object) if strings else block.dtype
        storage, extra = encode_array(np.zeros((0, *block.shape[1:]), dtype=dtype))
        if strings:
            extra = {DTYPE: "<U0"}  # read back as str arrays as wide as needed
        dims: list[str | None] = [None] * storage.ndim  # the core names them
        if record_dim is not None:
            dims[0] = record_dim
            self._check_new_record_dim(parent, encode_name(record_dim), record_dim, key)
        var_attrs = dict(extra)
        if codec is not None:
            var_attrs.update(codec_var_attrs(attrs or {}, codec, EncodeContext(key)))
        chunks = chunk_shape(storage.shape[1:], storage.dtype.itemsize or 8, self.chunk_bytes)
        core.write_node(
            parent, name, Var(storage, var_attrs, tuple(dims), growable=True), chunks=chunks
        )
        node = (*parent, stored)
        dim = core.backend.info(node).dims[0]
        series = _Series(
            node, parent, dim, block.shape[1:], dtype, 0, codec=codec, codec_attrs=attrs
        )
        series.record_bytes = (
            max(1, block[:1].nbytes) if len(block) else max(1, storage.dtype.itemsize)
        )
        self._register(series)
        return series

    def _adopt(self, parent: Path, name: str, entry: Any) -> _Series:
        """The series of an existing variable (written earlier, or by another session)."""
        node = (*parent, entry.stored)
        if entry.is_group:
            raise TypeError(
                f"cannot append to {name!r}: it holds a group or a stored {entry.tag or 'value'}"
            )
        info = self._core.backend.info(node)
        if not info.unlimited:
            raise TypeError(f"cannot append to {name!r}: it holds a value that is not a series")
        attrs = self._core.attrs(node)
        sample = decode_array(self._core.backend.read(node, (slice(0, 0),)), attrs)
        dtype = np.dtype(object) if sample.dtype.kind in "OU" else sample.dtype
        codec = None
        codec_attrs = None
        if attrs.get(TYPE) == "codec":
            from xstore.codecs.base import DecodeContext
            from xstore.codecs.user import _BY_SPEC
            from xstore.codecs.user import codec_attrs as written_attrs

            codec = _BY_SPEC.get(str(attrs[CLASS]))
            if codec is None:
                raise TypeError(
                    f"cannot append to {name!r}: register the codec of {attrs[CLASS]} first"
                )
            codec_attrs = written_attrs(attrs, DecodeContext())
        series = _Series(
            node,
            parent,
            info.dims[0],
            sample.shape[1:],
            dtype,
            info.shape[0],
            codec=codec,
            codec_attrs=codec_attrs,
        )
        series.record_bytes = max(
            1, int(np.prod(sample.shape[1:], dtype=np.int64)) * max(1, dtype.itemsize)
        )
        self._register(series)
        return series

    def _register(self, series: _Series) -> None:
        if not is_internal(series.dim):
            series.user_dim = decode_name(series.dim)
        if series.dtype.kind == "O":
            series.record_bytes = 64 * max(1, int(np.prod(series.shape, dtype=np.int64)))
        series.buffer.limit = min(
            self.buffer_records, max(1, self.buffer_bytes // series.record_bytes)
        )
        series.push = self._make_push(series)
        self._series[series.node] = series
        members = self._lockstep.setdefault((series.group, series.dim), [])
        if series not in members:
            members.append(series)
        if not is_internal(series.dim):  # a shared dimension: adopt its other members too
            self._adopt_lockstep(series)

    def _adopt_lockstep(self, series: _Series) -> None:
        core = self._core
        for name, entry in core.index(series.group).items():
            node = (*series.group, entry.stored)
            if entry.is_group or node in self._series:
                continue
            info = core.backend.info(node)
            if info.unlimited and info.dims and info.dims[0] == series.dim:
                self._adopt(series.group, name, entry)

    def _check_new_record_dim(
        self, parent: Path, stored_dim: str, record_dim: str, key: str
    ) -> None:
        core = self._core
        members = self._lockstep.get((parent, stored_dim))
        if members is None and stored_dim in core.backend.dims(parent):
            for name, entry in core.index(parent).items():  # adopt existing members
                node = (*parent, entry.stored)
                if not entry.is_group and node not in self._series:
                    info = core.backend.info(node)
                    if info.unlimited and info.dims[0] == stored_dim:
                        self._adopt(parent, name, entry)
            members = self._lockstep.get((parent, stored_dim))
            if members is None:
                raise ValueError(
                    f"record_dim {record_dim!r} is already a dimension of this group ({key!r})"
                )
        if members:
            committed = min(s.written for s in members)
            if committed > 0:
                raise ValueError(
                    f"record_dim {record_dim!r} already holds {committed} records on disk; "
                    f"a variable sharing it must be appended from the first record ({key!r})"
                )
            return
        for depth in range(len(parent)):
            if stored_dim in core.backend.dims(parent[:depth]):
                raise ValueError(
                    f"record_dim {record_dim!r} is already used by an ancestor group of {key!r}"
                )
        if _used_below(core, parent, stored_dim):
            raise ValueError(f"record_dim {record_dim!r} is already used by a group below {key!r}")

    @staticmethod
    def _check_dim(series: _Series, record_dim: str | None, key: str) -> None:
        if record_dim is not None and encode_name(record_dim) != series.dim:
            shown = "its own" if is_internal(series.dim) else repr(series.dim)
            raise ValueError(
                f"{key!r} is a series along {shown} record dimension, not {record_dim!r}"
            )

    # -- buffering and writing -----------------------------------------------------------------
    def _bound_reached(self, series: _Series, added: int) -> None:
        """Write blocks if a bound is reached (records, bytes or time) by ``added`` records."""
        if len(series.buffer) >= self.buffer_records or self._budget <= 0 or self._due:
            self._core.flush()
            if len(series.buffer) > self.buffer_records:  # ahead of a lagging lockstep partner
                series.buffer.drop_last(added)
                self._budget += series.record_bytes * added
                name = decode_name(series.node[-1])
                raise ValueError(
                    f"{name!r} would be more than {self.buffer_records} records ahead of a "
                    "series sharing its record dimension; append them in lockstep"
                )

    def flush(self) -> None:
        """Write every complete frame of every series (the core then flushes the backend)."""
        for members in self._lockstep.values():
            frames = min(s.count for s in members)
            for series in members:
                self._write(series, frames)
        buffered = sum(s.record_bytes * len(s.buffer) for s in self._series.values())
        self._budget = self.buffer_bytes - buffered
        self._restart_clock()

    def _write(self, series: _Series, frames: int) -> None:
        todo = frames - series.written
        if todo <= 0:
            return
        block, _ = encode_array(series.buffer.peek(todo))
        self._core.backend.write_records(series.node, series.written, block)
        series.written = frames
        series.buffer.drop_first(todo)

    # -- checking and overwriting records ---------------------------------------------------------
    def check_append(self, group: Path, key: str, value: Any, record_dim: str | None) -> None:
        """Raise what :meth:`append` would raise about this record (shape, type, record
        dimension), writing nothing: appending to several series all or nothing
        checks every record first."""
        from xstore.store import resolve_series_target

        self._core.require_writable(f"append to {key!r}")
        parent, name, entry = resolve_series_target(self._core, group, key, create=False)
        if parent is None or entry is None:
            self._records(None, value, True, key)
            if record_dim is not None:
                encode_name(record_dim)
            return
        series = self._series.get((*parent, entry.stored)) or self._adopt(parent, name, entry)
        self._records(series, value, True, key)
        self._check_dim(series, record_dim, key)

    def set_records(self, group: Path, index: int, values: Mapping[str, Any]) -> None:
        """Overwrite record ``index`` of each series in ``values`` (keys relative to
        ``group``), all or nothing: every record is checked before any is written.

        The rules of :meth:`append` apply to the new records.  A record still buffered
        is replaced in the buffer, one already written on disk in place.  A missing
        series raises ``KeyError``, a value that is not a series ``TypeError``, an
        index out of range (negative counts from the end) ``IndexError``.
        """
        targets = [self._record_target(group, key, index, value) for key, value in values.items()]
        for series, row, block in targets:
            if row >= series.written:
                record = block[0]
                if isinstance(record, np.ndarray):
                    record = record.copy()  # not a view of the caller's array
                series.buffer.put(row - series.written, record)
                continue
            if series.dtype.kind == "O":  # strings are stored as object arrays
                strings = np.empty(block.shape, dtype=object)
                strings[...] = block
                block = strings
            data, _ = encode_array(block)
            self._core.backend.write(series.node, data, (slice(row, row + 1),))

    def _record_target(
        self, group: Path, key: str, index: int, value: Any
    ) -> tuple[_Series, int, np.ndarray]:
        """The series, the record number and the checked record (a block of one)."""
        from xstore.store import resolve_series_target

        self._core.require_writable(f"write a record of {key!r}")
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"a record index must be an integer, not {type(index).__name__}")
        parent, name, entry = resolve_series_target(self._core, group, key, create=False)
        if parent is None or entry is None:
            raise KeyError(key)
        node = (*parent, entry.stored)
        series = self._series.get(node)
        if series is None:
            if entry.is_group or not self._core.backend.info(node).unlimited:
                raise TypeError(f"cannot write a record of {key!r}: it holds a value, not a series")
            series = self._adopt(parent, name, entry)
        count = series.count
        row = int(index) + count if index < 0 else int(index)
        if not 0 <= row < count:
            raise IndexError(f"record {index} is out of range for {key!r} ({count} records)")
        block, _, _ = self._records(series, value, True, key)
        return series, row, block

    # -- reading (records still buffered are part of the series) ---------------------------------
    def pending(self, node: Path) -> int:
        series = self._series.get(node)
        return len(series.buffer) if series is not None else 0

    def buffered(self, node: Path) -> np.ndarray:
        """The buffered records of ``node`` stacked in their stored form."""
        data, _ = encode_array(self._series[node].buffer.peek())
        return data

    def forget(self, prefix: Path) -> None:
        """Drop the series at or below ``prefix`` (deleted or replaced)."""
        for node in [n for n in self._series if n[: len(prefix)] == prefix]:
            series = self._series.pop(node)
            series.alive = False
            self._budget += series.record_bytes * len(series.buffer)
            self._lockstep[(series.group, series.dim)].remove(series)
            if not self._lockstep[(series.group, series.dim)]:
                del self._lockstep[(series.group, series.dim)]
        for key in [k for k, s in self._by_key.items() if s.node[: len(prefix)] == prefix]:
            del self._by_key[key]

    def problems(self) -> Iterable[str]:
        return ()


def _as_block(value: Any, single: bool, series: _Series | None, key: str) -> np.ndarray:
    """``value`` as records along a leading axis, cast (safely) to the series' dtype."""
    arr = np.asarray(value)
    if single:
        arr = arr[np.newaxis]
    elif arr.ndim == 0:
        raise ValueError(f"extend({key!r}, ...) needs a sequence of records, got a scalar")
    if series is None or series.dtype.kind == "O" or arr.dtype == series.dtype:
        return arr
    if arr.shape[1:] != series.shape:
        return arr  # the caller reports the shape
    if not np.can_cast(arr.dtype, series.dtype, casting="same_kind"):
        raise TypeError(
            f"cannot append {arr.dtype} records to the {series.dtype} series {key!r} safely"
        )
    if arr.dtype.kind in "SV" and arr.dtype.itemsize > series.dtype.itemsize:
        raise TypeError(
            f"{arr.dtype} records are wider than the {series.dtype} series {key!r} "
            "(they would be truncated)"
        )
    if isinstance(value, np.ndarray | np.generic):
        return arr.astype(series.dtype)
    try:  # Python numbers: NumPy refuses values the dtype cannot hold
        out = np.array(value, dtype=series.dtype)
    except OverflowError as exc:
        raise TypeError(
            f"cannot append {value!r} to the {series.dtype} series {key!r}: {exc}"
        ) from exc
    return out[np.newaxis] if single else out


def _cast(block: np.ndarray, series: _Series, key: str) -> np.ndarray:
    if series.dtype.kind == "O":
        if block.dtype.kind not in "UO":
            raise TypeError(f"cannot append {block.dtype} records to the str series {key!r}")
        _check_strings(block, key)
        return block
    if block.dtype != series.dtype:
        raise TypeError(f"cannot append {block.dtype} records to the {series.dtype} series {key!r}")
    return block


def _check_strings(block: np.ndarray, key: str) -> None:
    for item in block.ravel().tolist():
        if not isinstance(item, str):
            raise TypeError(f"cannot append {type(item).__name__} to the str series {key!r}")
        if "\x00" in item:
            raise ValueError(f"strings appended to {key!r} cannot contain NUL characters")


def _used_below(core: Core, group: Path, stored_dim: str) -> bool:
    for entry in core.index(group).values():
        if entry.is_group:
            child = (*group, entry.stored)
            if stored_dim in core.backend.dims(child) or _used_below(core, child, stored_dim):
                return True
    return False
