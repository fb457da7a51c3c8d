"""Buffered appends: the series writer of one open store.

Every series of an open store has a :class:`~xstore.core.series.buffer.Series`: its
on-disk path, record shape and dtype, how many records are on disk and the records
still buffered.  Series that share a record dimension in one group form a lockstep
set (:mod:`~xstore.core.series.lockstep`) and are written in complete frames.

Buffers are bounded by records (per series) and by bytes (per store); reaching a
bound writes every complete frame to the backend, and records become durable at the
next flush (``Store.flush``, ``close``, or the first append after ``flush_interval``
seconds, which flushes the store).  Whole chunks of a series that shares its frames
with no other series go to the backend directly, without a copy into the buffer.
The backend only grows a variable and writes a block; it never decides when.  The
core sees the writer through its :class:`~xstore.core.layout.PendingRecords` protocol.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xstore.codecs.arrays import INT64_MAX, INT64_MIN, decode_array, encode_array
from xstore.codecs.context import Codecs, UserCodec
from xstore.codecs.nulls import NONE, blank
from xstore.codecs.user import TAG as CODEC_TAG
from xstore.codecs.user import codec_attrs as written_codec_attrs
from xstore.codecs.user import codec_var_attrs
from xstore.core.chunks import DEFAULT_CHUNK_BYTES, record_chunks
from xstore.core.entries import Entry, Resolved
from xstore.core.layout import Core
from xstore.core.series.buffer import Series
from xstore.core.series.lockstep import LockstepSets, adopt_members, check_new_member
from xstore.core.series.none_records import NoneRecords, check_dim, require_table, untyped
from xstore.core.series.nulls import NoneRanges
from xstore.core.series.records import to_block
from xstore.errors import IncompleteFrameWarning, warn
from xstore.model import CLASS, DTYPE, TYPE, Var
from xstore.names import Path, decode_name, encode_name, is_internal

DEFAULT_BUFFER_BYTES = 16 * 2**20
DEFAULT_BUFFER_RECORDS = 4096
DEFAULT_FLUSH_INTERVAL = 10.0  # seconds


@dataclass(frozen=True)
class SeriesOptions:
    """How records are buffered and chunked (``xstore.open``'s series options)."""

    buffer_bytes: int = DEFAULT_BUFFER_BYTES
    buffer_records: int = DEFAULT_BUFFER_RECORDS
    flush_interval: float | None = DEFAULT_FLUSH_INTERVAL
    chunk_bytes: int = DEFAULT_CHUNK_BYTES

    def __post_init__(self) -> None:
        if self.buffer_bytes <= 0 or self.buffer_records <= 0:
            raise ValueError("buffer_bytes and buffer_records must be positive")
        if self.chunk_bytes <= 0:
            raise ValueError("chunk_bytes must be positive")


class SeriesWriter(NoneRecords):
    """All series of one open store."""

    def __init__(self, core: Core, codecs: Codecs, options: SeriesOptions) -> None:
        self._core = core
        self._codecs = codecs
        self.buffer_bytes = options.buffer_bytes
        self.buffer_records = options.buffer_records
        self.flush_interval = options.flush_interval
        self.chunk_bytes = options.chunk_bytes
        self._series: dict[Path, Series] = {}
        self._by_key: dict[tuple[Path, str], Series] = {}
        self._lockstep = LockstepSets()
        self._budget = options.buffer_bytes  # bytes that may still be buffered
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

    def close(self) -> None:
        """The store is closing: stop the flush-interval timer and warn about records
        that never became part of a complete frame (they are not written)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        dropped = [
            (series, series.count - frames)
            for members in self._lockstep
            for frames in [min(s.count for s in members)]
            for series in members
            if series.count > frames
        ]
        if dropped:
            shown = "; ".join(
                f"{_user_path(s.node)} dropped {n} of {s.count} records (record dim {s.user_dim!r})"
                for s, n in dropped
            )
            warn(
                IncompleteFrameWarning(
                    f"closing {self._core.location}: records beyond the last frame every "
                    f"series sharing its record dimension has were not written: {shown}"
                )
            )

    # -- appending ---------------------------------------------------------------------------
    def _make_push(self, series: Series) -> Callable[[Any], bool]:
        """The append hot path of one series: buffer ``value`` if it needs no conversion
        or check, else return False (the caller takes the full path).  A closure, so
        the checks read local cells instead of attribute chains (0.47x -> 0.60x of raw
        buffered h5py for 3-vector records)."""
        buffer, shape, dtype = series.buffer, series.shape, series.dtype
        nbytes, scalar = series.record_bytes, series.fast_type
        writer, ndarray = self, np.ndarray
        if buffer.block is None or series.codec is not None:  # strings, codec records
            return lambda value: False
        if series.nones is not None and series.nones.open:  # the next value closes the range
            return lambda value: False
        if series.chunk_rows == 1 and _alone(series):  # every record is written directly
            return lambda value: False

        def push(value: Any) -> bool:
            kind = type(value)
            if kind is ndarray:
                if value.shape != shape or (value.dtype is not dtype and value.dtype != dtype):
                    return False
            elif kind is not scalar or (kind is int and not INT64_MIN <= value <= INT64_MAX):
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

    def append(self, group: Path, key: str, value: Any, record_dim: str | None) -> Series:
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

    def _target(self, group: Path, key: str, action: str) -> Resolved:
        """Where series ``key`` lives (its parent may still be missing)."""
        found = self._core.resolve(group, key)
        if not found.writable:
            raise TypeError(f"cannot {action} {key!r}: it is inside a stored object")
        if found.blocked:
            part = found.parts[found.depth]
            raise TypeError(f"cannot {action} {key!r}: {part!r} holds a stored value, not a group")
        return found

    def _existing(self, found: Resolved) -> Series | None:
        """The series at ``found`` if something is stored there (``TypeError`` if it is
        not a series)."""
        if not found.found:
            return None
        assert found.entry is not None
        return self._series.get(found.node) or self._adopt(found.parent, found.name, found.entry)

    def _add(
        self, group: Path, key: str, value: Any, record_dim: str | None, single: bool
    ) -> Series:
        self._core.require_writable(f"append to {key!r}")
        found = self._target(group, key, "append to")
        series = self._existing(found)
        block, codec, attrs = self._to_block(series, value, single, key)
        if series is None:
            if record_dim is not None:
                encode_name(record_dim)  # a bad name fails before anything is written
            parent = self._core.create_groups(found.parent, found.parts[found.depth : -1])
            series = self._create(parent, found.name, block, codec, attrs, record_dim, key)
        else:
            check_dim(series, record_dim, key)
            if series.nones is not None:
                series = self._values_after_nones(series, block, codec, attrs, key)
        self._by_key[(group, key)] = series
        self._buffer(series, block)
        return series

    def _to_block(
        self, series: Series | None, value: Any, single: bool, key: str
    ) -> tuple[np.ndarray, UserCodec | None, dict[str, Any] | None]:
        """``value`` as records of ``series`` (see :func:`to_block`); a series of only
        ``None`` records so far has no type yet, so the value is taken as it is."""
        if series is not None and series.nones is not None and series.nones.all_none():
            series = None
        return to_block(self._codecs, series, value, single, key)

    def _buffer(self, series: Series, block: np.ndarray) -> None:
        """Buffer checked records (or write whole chunks of a lone series directly)."""
        if len(block) >= series.chunk_rows and not len(series.buffer) and _alone(series):
            # whole chunks of a series no other one waits for: straight to the backend,
            # from the caller's array (the backend copies it now), never into the buffer
            self._core.write_records(series.node, series.written, block)
            series.written += len(block)
            return
        series.buffer.add(block)
        self._budget -= series.record_bytes * len(block)
        self._bound_reached(series, len(block))

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
        records: int = 0,
    ) -> Series:
        """A new series for records like ``block`` (written by the caller); ``records``:
        how many records it starts with (a new member of a lockstep set must start
        with every record already on disk)."""
        core = self._core
        strings = block.dtype.kind in "UO"
        dtype = np.dtype(object) if strings else block.dtype
        storage, extra = encode_array(np.zeros((0, *block.shape[1:]), dtype=dtype))
        if strings:
            extra = {DTYPE: "<U0"}  # read back as str arrays as wide as needed
        dims: list[str | None] = [None] * storage.ndim  # the core names them
        if record_dim is not None:
            dims[0] = record_dim
            check_new_member(
                core,
                self._lockstep,
                parent,
                core.record_dim_name(record_dim),
                record_dim,
                key,
                self._series.__contains__,
                self._adopt,
                records,
            )
        var_attrs = dict(extra)
        if codec is not None:
            var_attrs.update(codec_var_attrs(attrs or {}, codec, self._codecs.encoder(key)))
        chunks = record_chunks(storage.shape[1:], storage.dtype.itemsize, self.chunk_bytes)
        core.write_node(
            parent, name, Var(storage, var_attrs, tuple(dims), growable=True), chunks=chunks
        )
        node = (*parent, core.index(parent)[name].stored)  # a staged name if it replaced one
        dim = core.info(node).dims[0]
        series = Series(
            node, parent, dim, block.shape[1:], dtype, 0, codec=codec, codec_attrs=attrs
        )
        series.record_bytes = (
            max(1, block[:1].nbytes) if len(block) else max(1, storage.dtype.itemsize)
        )
        series.chunk_rows = chunks[0]
        self._register(series)
        return series

    def _adopt(self, parent: Path, name: str, entry: Entry) -> Series:
        """The series of an existing variable (written earlier, or by another session)."""
        node = (*parent, entry.stored)
        if entry.is_group:
            raise TypeError(
                f"cannot append to {name!r}: it holds a group or a stored {entry.tag or 'value'}"
            )
        core = self._core
        info = core.info(node)
        if not info.unlimited:
            raise TypeError(f"cannot append to {name!r}: it holds a value that is not a series")
        attrs = core.attrs(node)
        sample = decode_array(core.read_slice(node, (slice(0, 0),)), attrs)
        dtype = np.dtype(object) if sample.dtype.kind in "OU" else sample.dtype
        codec = None
        codec_attrs = None
        if attrs.get(TYPE) == CODEC_TAG:
            codec = self._codecs.dispatch.user_codec(str(attrs[CLASS]))
            if codec is None:
                raise TypeError(
                    f"cannot append to {name!r}: register the codec of {attrs[CLASS]} first"
                )
            codec_attrs = written_codec_attrs(attrs, self._codecs.decoder())
        series = Series(
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
        series.chunk_rows = (core.chunks(node) or (1,))[0]
        series.nones = NoneRanges.from_attrs(attrs, NONE)
        self._register(series)
        return series

    def _register(self, series: Series) -> None:
        if not is_internal(series.dim):
            series.user_dim = decode_name(series.dim)
        if series.dtype.kind == "O":
            series.record_bytes = 64 * max(1, int(np.prod(series.shape, dtype=np.int64)))
        series.buffer.limit = min(
            self.buffer_records, max(1, self.buffer_bytes // series.record_bytes)
        )
        series.push = self._make_push(series)
        self._series[series.node] = series
        self._lockstep.add(series)
        if not is_internal(series.dim):  # a shared dimension: adopt its other members too
            adopt_members(
                self._core, series.group, series.dim, self._series.__contains__, self._adopt
            )

    # -- buffering and writing -----------------------------------------------------------------
    def _bound_reached(self, series: Series, added: int) -> None:
        """Write blocks if a bound is reached (records, bytes or time) by ``added`` records."""
        if len(series.buffer) >= self.buffer_records or self._budget <= 0 or self._due:
            if self._due:
                self._core.flush()  # the interval is up: make everything durable
            else:
                self.write_frames()  # a full buffer: write it (durable at the next flush)
            if len(series.buffer) > self.buffer_records:  # ahead of a lagging lockstep partner
                series.buffer.drop_last(added)
                self._budget += series.record_bytes * added
                name = decode_name(series.node[-1])
                raise ValueError(
                    f"{name!r} would be more than {self.buffer_records} records ahead of a "
                    "series sharing its record dimension; append them in lockstep"
                )

    def flush(self) -> None:
        """Write every complete frame (the core then makes it durable) and restart the
        flush-interval clock."""
        self.write_frames()
        self._restart_clock()

    def write_frames(self) -> None:
        """Write every complete frame of every series to the backend."""
        for members in self._lockstep:
            frames = min(s.count for s in members)
            for series in members:
                self._write(series, frames)
        buffered = sum(s.record_bytes * len(s.buffer) for s in self._series.values())
        self._budget = self.buffer_bytes - buffered

    def _write(self, series: Series, frames: int) -> None:
        todo = frames - series.written
        if todo <= 0:
            return
        block, _ = encode_array(series.buffer.peek(todo))
        self._core.write_records(series.node, series.written, block)
        series.written = frames
        series.buffer.drop_first(todo)

    # -- checking and overwriting records ---------------------------------------------------------
    def check_append(self, group: Path, key: str, value: Any, record_dim: str | None) -> None:
        """Raise what :meth:`append` would raise about this record (shape, type, record
        dimension), writing nothing: appending to several series all or nothing
        checks every record first."""
        self._core.require_writable(f"append to {key!r}")
        series = self._existing(self._target(group, key, "append to"))
        if value is not None:  # None: a blank record (see append_none)
            self._to_block(series, value, True, key)
        if series is None:
            if record_dim is not None:
                encode_name(record_dim)
            return
        check_dim(series, record_dim, key)

    def set_records(self, group: Path, index: int, values: Mapping[str, Any]) -> None:
        """Overwrite record ``index`` of each series in ``values`` (keys relative to
        ``group``), all or nothing: every record is checked before any is written.

        The rules of :meth:`append` apply to the new records.  A record still buffered
        is replaced in the buffer, one already written on disk in place.  A missing
        series raises ``KeyError``, a value that is not a series ``TypeError``, an
        index out of range (negative counts from the end) ``IndexError``.
        """
        targets = [self._record_target(group, key, index, value) for key, value in values.items()]
        for key, (series, row, (block, codec, attrs)) in zip(values, targets, strict=True):
            none = values[key] is None
            if not none and untyped(series, block, codec):
                series = self._retype(series, block, codec, attrs, key)
            if none:  # marked before the blank is written, unmarked after the value is
                self._mark_none(series, row, True)
            self._put_record(series, row, block)
            if not none and series.nones is not None:
                self._mark_none(series, row, False)

    def _put_record(self, series: Series, row: int, block: np.ndarray) -> None:
        if row >= series.written:
            record = block[0]
            if isinstance(record, np.ndarray):
                record = record.copy()  # not a view of the caller's array
            series.buffer.put(row - series.written, record)
            return
        if series.dtype.kind == "O":  # strings are stored as object arrays
            strings = np.empty(block.shape, dtype=object)
            strings[...] = block
            block = strings
        data, _ = encode_array(block)
        self._core.write_part(series.node, data, (slice(row, row + 1),))

    def _record_target(
        self, group: Path, key: str, index: int, value: Any
    ) -> tuple[Series, int, tuple[np.ndarray, UserCodec | None, dict[str, Any] | None]]:
        """The series, the record number and the checked record (a block of one, a
        blank for ``None``) with its codec and the codec's attributes."""
        self._core.require_writable(f"write a record of {key!r}")
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"a record index must be an integer, not {type(index).__name__}")
        found = self._target(group, key, "write a record of")
        if not found.found:
            raise KeyError(key)
        if value is None:
            require_table(found, key)
        assert found.entry is not None
        series = self._series.get(found.node)
        if series is None:
            if found.entry.is_group or not self._core.info(found.node).unlimited:
                raise TypeError(f"cannot write a record of {key!r}: it holds a value, not a series")
            series = self._adopt(found.parent, found.name, found.entry)
        count = series.count
        row = int(index) + count if index < 0 else int(index)
        if not 0 <= row < count:
            raise IndexError(f"record {index} is out of range for {key!r} ({count} records)")
        if value is None:
            return series, row, (blank(series.shape, series.dtype), None, None)
        return series, row, self._to_block(series, value, True, key)

    # -- reading (records still buffered are part of the series) ---------------------------------
    def pending(self, node: Path) -> int:
        series = self._series.get(node)
        return len(series.buffer) if series is not None else 0

    def buffered(self, node: Path) -> np.ndarray:
        """The buffered records of ``node`` stacked in their stored form."""
        data, _ = encode_array(self._series[node].buffer.peek())
        return data

    def moved(self, old: Path, new: Path) -> None:
        """Series at or below ``old`` are now below ``new`` (a commit renamed a node)."""

        def rebase(path: Path) -> Path:
            return (*new, *path[len(old) :]) if path[: len(old)] == old else path

        for node in [n for n in self._series if n[: len(old)] == old]:
            series = self._series.pop(node)
            self._lockstep.remove(series)
            series.node, series.group = rebase(series.node), rebase(series.group)
            self._series[series.node] = series
            self._lockstep.add(series)
        self._by_key = {(rebase(g), k): s for (g, k), s in self._by_key.items()}

    def forget(self, prefix: Path) -> None:
        """Drop the series at or below ``prefix`` (deleted or replaced)."""
        for node in [n for n in self._series if n[: len(prefix)] == prefix]:
            series = self._series.pop(node)
            series.alive = False
            self._budget += series.record_bytes * len(series.buffer)
            self._lockstep.remove(series)
        for key in [k for k, s in self._by_key.items() if s.node[: len(prefix)] == prefix]:
            del self._by_key[key]


def _user_path(node: Path) -> str:
    return "/" + "/".join(decode_name(n) for n in node)


def _alone(series: Series) -> bool:
    """A series along its own record dimension: no other series shares its frames."""
    return is_internal(series.dim)
