"""``None`` records in a series (what tables of records need): the part of
:class:`~xstore.core.series.writer.SeriesWriter` that appends them, and that gives a
series of only ``None`` records the type of its first value.  The format is in
:mod:`xstore.codecs.nulls`, the marks in :mod:`xstore.core.series.nulls`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from xstore.codecs.arrays import encode_array
from xstore.codecs.context import UserCodec
from xstore.codecs.nulls import NONE, blank
from xstore.core.entries import TABLE_TAG, Resolved
from xstore.core.layout import Core
from xstore.core.series.buffer import Series
from xstore.core.series.lockstep import LockstepSets
from xstore.core.series.nulls import NoneRanges
from xstore.model import ATTR_TYPES
from xstore.names import Path, decode_name, encode_name, is_internal


class NoneRecords:
    """Mixin of the series writer: ``None`` records."""

    _core: Core
    _by_key: dict[tuple[Path, str], Series]
    _lockstep: LockstepSets

    if TYPE_CHECKING:  # provided by SeriesWriter

        def _target(self, group: Path, key: str, action: str) -> Resolved: ...

        def _existing(self, found: Resolved) -> Series | None: ...

        def _buffer(self, series: Series, block: np.ndarray) -> None: ...

        def _make_push(self, series: Series) -> Any: ...

        def forget(self, prefix: Path) -> None: ...

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
        ) -> Series: ...

    def append_none(self, group: Path, key: str, record_dim: str | None) -> Series:
        """Append a ``None`` record to the series ``key``: a blank, marked as ``None``
        (see :mod:`xstore.codecs.nulls`); a new series is float64 until a value comes."""
        self._core.require_writable(f"append to {key!r}")
        found = self._target(group, key, "append to")
        require_table(found, key)
        series = self._existing(found)
        if series is None:
            if record_dim is not None:
                encode_name(record_dim)
            block = blank((), np.dtype(np.float64))
            parent = self._core.create_groups(found.parent, found.parts[found.depth : -1])
            series = self._create(parent, found.name, block, None, None, record_dim, key)
            self._save_nones(series, NoneRanges([(0, None)]))
        else:
            check_dim(series, record_dim, key)
            nones = series.nones or NoneRanges([])
            if nones.appended_none(series.count):
                self._save_nones(series, nones)
            block = blank(series.shape, series.dtype)
        self._by_key[(group, key)] = series
        self._buffer(series, block)
        return series

    def _values_after_nones(
        self,
        series: Series,
        block: np.ndarray,
        codec: UserCodec | None,
        attrs: dict[str, Any] | None,
        key: str,
    ) -> Series:
        """Get ``series`` (which has ``None`` records) ready for the records ``block``:
        a series of only ``None`` records takes the block's type, and an open range
        of ``None`` records is closed."""
        nones = series.nones
        assert nones is not None
        if untyped(series, block, codec):
            return self._retype(series, block, codec, attrs, key)
        if nones.appended_value(series.count):
            self._save_nones(series, nones)
        return series

    def _retype(
        self,
        series: Series,
        block: np.ndarray,
        codec: UserCodec | None,
        attrs: dict[str, Any] | None,
        key: str,
    ) -> Series:
        """Replace a series of only ``None`` records by one of the type of ``block``
        (as many blank records, still marked ``None``), keeping its place and metadata."""
        core, count = self._core, series.count
        old = core.attrs(series.node)
        kept = {k: v for k, v in old.items() if not is_internal(k)}  # metadata
        name = decode_name(series.node[-1])
        self.forget(series.node)
        new = self._create(
            series.group, name, block, codec, attrs, series.user_dim, key, records=count
        )
        if kept:
            types = json.loads(str(core.attrs(new.node).get(ATTR_TYPES, "{}")))
            old_types = json.loads(str(old.get(ATTR_TYPES, "{}")))
            types.update({k: v for k, v in old_types.items() if k in kept})
            core.set_attrs(new.node, {**kept, **({ATTR_TYPES: json.dumps(types)} if types else {})})
        self._save_nones(new, NoneRanges([(0, count)]))
        blanks = blank(new.shape, new.dtype, count)
        # as many records on disk as the series sharing its record dimension (netCDF
        # shows every variable of a dimension as long as the longest), the rest buffered
        partners = [s for s in self._lockstep.get(new.group, new.dim) or [] if s is not new]
        frames = min(partners[0].written if partners else 0, count)
        if frames:
            self._core.write_records(new.node, 0, encode_array(blanks[:frames])[0])
            new.written = frames
        self._buffer(new, blanks[frames:])
        return new

    def _save_nones(self, series: Series, nones: NoneRanges) -> None:
        """Write the ``None`` mark of ``series`` (before the records it describes)."""
        series.nones = nones
        self._core.set_attrs(series.node, {NONE: nones.text()})
        series.push = self._make_push(series)

    def _mark_none(self, series: Series, row: int, is_none: bool) -> None:
        """Mark record ``row`` of ``series`` as ``None`` or as a value."""
        nones = series.nones or NoneRanges([])
        if nones.set(row, is_none, series.count):
            self._save_nones(series, nones)


def check_dim(series: Series, record_dim: str | None, key: str) -> None:
    if record_dim is not None and record_dim != series.user_dim:
        shown = "its own" if series.user_dim is None else repr(series.user_dim)
        raise ValueError(f"{key!r} is a series along {shown} record dimension, not {record_dim!r}")


def untyped(series: Series, block: np.ndarray, codec: UserCodec | None) -> bool:
    """``series`` holds only ``None`` records so far and ``block`` is of another type."""
    return (
        series.nones is not None
        and series.nones.all_none()
        and (codec is not None or block.dtype != series.dtype or block.shape[1:] != series.shape)
    )


def require_table(found: Resolved, key: str) -> None:
    """``TypeError`` unless ``found`` is a column of a table of records: the only
    series that hold ``None`` records."""
    if found.parent_tag != TABLE_TAG:
        raise TypeError(
            f"cannot store None as a record of {key!r}: only the columns of a table of "
            "records (appended dicts) hold None"
        )
