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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from xstore.codecs.arrays import INT64_MAX, INT64_MIN, decode_array, encode_array, with_encoding
from xstore.codecs.attrs import decode_attrs, variable_attrs
from xstore.codecs.context import Codecs, UserCodec
from xstore.codecs.nulls import NONE
from xstore.codecs.user import TAG as CODEC_TAG
from xstore.codecs.user import codec_attrs as written_codec_attrs
from xstore.codecs.user import codec_var_attrs
from xstore.core.chunks import DEFAULT_CHUNK_BYTES, record_chunks
from xstore.core.entries import Entry, Resolved
from xstore.core.layout import Core
from xstore.core.series.buffer import Series
from xstore.core.series.lockstep import (
    LockstepSets,
    adopt_members,
    check_new_member,
    chunk_boundary,
    set_rows,
)
from xstore.core.series.none_records import NoneRecords, check_dim
from xstore.core.series.nulls import NoneRanges
from xstore.core.series.records import (
    Naming,
    check_naming,
    fits_series,
    record_dims,
    to_block,
    unwrap,
)
from xstore.core.series.rewrite import Rewriting
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


class SeriesWriter(Rewriting, NoneRecords):
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

    def append(
        self, group: Path, key: str, value: Any, record_dim: str | None, dims: Any = None
    ) -> Series:
        """Append one record; returns the series (callers may cache it and call its push)."""
        series = self._by_key.get((group, key))
        if (
            series is not None
            and (record_dim is None or record_dim == series.user_dim)
            and (dims is None or tuple(dims) == series.record_dims)
            and series.push(value)
        ):
            return series
        return self._add(group, key, value, record_dim, single=True, dims=dims)

    def extend(
        self, group: Path, key: str, values: Any, record_dim: str | None, dims: Any = None
    ) -> None:
        self._add(group, key, values, record_dim, single=False, dims=dims)

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
        self,
        group: Path,
        key: str,
        value: Any,
        record_dim: str | None,
        single: bool,
        dims: Any = None,
    ) -> Series:
        self._core.require_writable(f"append to {key!r}")
        value, naming = unwrap(value, single, record_dim, dims, key)
        record_dim = naming.record_dim
        found = self._target(group, key, "append to")
        series = self._existing(found)
        block, codec, attrs = self._to_block(series, value, single, key)
        check_naming(naming, block.shape[1:], key)
        if series is None:
            if record_dim is not None:
                encode_name(record_dim)  # a bad name fails before anything is written
            parent = self._core.create_groups(found.parent, found.parts[found.depth : -1])
            series = self._create(
                parent, found.name, block, codec, attrs, record_dim, key, naming=naming
            )
        else:
            check_dim(series, record_dim, key)
            self._check_naming(series, naming, key)
            if series.nones is not None:
                series = self._values_after_nones(series, block, codec, attrs, key)
        self._by_key[(group, key)] = series
        self._buffer(series, block)
        return series

    def _check_naming(self, series: Series, naming: Naming, key: str) -> None:
        if naming.dims is not None or naming.attrs:
            ctx = self._codecs.decoder(f"{key!r}.attrs")
            fits_series(
                series, naming, lambda: decode_attrs(self._core.attrs(series.node), ctx), key
            )

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
        naming: Naming | None = None,
    ) -> Series:
        """A new series for records like ``block`` (written by the caller); ``records``:
        how many records it starts with (a new member of a lockstep set must start
        with every record already on disk); ``naming``: the names of a record's axes
        and metadata given with the first record."""
        core = self._core
        strings = block.dtype.kind in "UO"
        dtype = np.dtype(object) if strings else block.dtype
        storage, extra = encode_array(np.zeros((0, *block.shape[1:]), dtype=dtype))
        if strings:
            extra = {DTYPE: "<U0"}  # read back as str arrays as wide as needed
        dims: list[str | None] = [None] * storage.ndim  # the core names the others
        if naming is not None and naming.dims:
            dims[1 : 1 + len(naming.dims)] = naming.dims
        if record_dim is not None and name == record_dim and block.shape[1:]:
            raise ValueError(
                f"{key!r} is named like its record_dim, so it is that dimension's coordinate: "
                f"its records must be scalars, not of shape {block.shape[1:]}"
            )
        rows = None  # records per chunk: the series' own, or its lockstep set's
        if record_dim is not None:
            dims[0], known = record_dim, self._series
            stored_dim = core.record_dim_name(record_dim)
            args = (parent, stored_dim, record_dim, key, known.__contains__, self._adopt)
            check_new_member(core, self._lockstep, *args, records)
            members = self._lockstep.get(parent, stored_dim) or []
            rows = set_rows(core, members, storage, self.chunk_bytes)
        var_attrs = dict(extra)
        if naming is not None and naming.attrs:
            ctx = self._codecs.encoder(f"{key!r}.attrs")
            var_attrs = with_encoding(variable_attrs(naming.attrs, storage.dtype, ctx), extra)
            ctx.report()
        if codec is not None:
            var_attrs.update(codec_var_attrs(attrs or {}, codec, self._codecs.encoder(key)))
        chunks = record_chunks(storage.shape[1:], storage.dtype.itemsize, self.chunk_bytes, rows)
        core.write_node(
            parent, name, Var(storage, var_attrs, tuple(dims), growable=True), chunks=chunks
        )
        node = (*parent, core.index(parent)[name].stored)  # a staged name if it replaced one
        stored_dims = core.info(node).dims
        series = Series(
            node, parent, stored_dims[0], block.shape[1:], dtype, 0, codec=codec, codec_attrs=attrs
        )
        series.record_dims = record_dims(stored_dims, len(block.shape) - 1)
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
        series.record_dims = record_dims(info.dims, len(sample.shape) - 1)
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
                self.write_frames(whole_chunks=True)  # durable at the next flush
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

    def write_frames(self, whole_chunks: bool = False) -> None:
        """Write every complete frame of every series to the backend; ``whole_chunks``
        (a full buffer, not a flush): only up to the last chunk boundary, so that a
        chunk is written once, whole, instead of once per buffer that ends inside it
        (the rest waits for the next write; a flush writes everything)."""
        for members in self._lockstep:
            frames = min(s.count for s in members)
            if whole_chunks:
                frames = chunk_boundary(members, frames, self.buffer_records)
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
