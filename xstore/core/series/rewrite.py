"""Overwriting records already appended (``Group.set_record``, the interface's
``write(..., at_index=)``): the part of
:class:`~xstore.core.series.writer.SeriesWriter` that replaces a record still
buffered, or one already on disk in place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from xstore.codecs.arrays import encode_array
from xstore.codecs.context import UserCodec
from xstore.codecs.nulls import blank
from xstore.core.entries import Entry, Resolved
from xstore.core.layout import Core
from xstore.core.series.buffer import Series
from xstore.core.series.none_records import require_table, untyped
from xstore.names import Path

Block = tuple[np.ndarray, UserCodec | None, dict[str, Any] | None]


class Rewriting:
    """Mixin of the series writer: overwriting records."""

    _core: Core
    _series: dict[Path, Series]

    if TYPE_CHECKING:  # provided by SeriesWriter (and NoneRecords)

        def _target(self, group: Path, key: str, action: str) -> Resolved: ...

        def _adopt(self, parent: Path, name: str, entry: Entry) -> Series: ...

        def _to_block(self, series: Series | None, value: Any, single: bool, key: str) -> Block: ...

        def _retype(
            self,
            series: Series,
            block: np.ndarray,
            codec: UserCodec | None,
            attrs: dict[str, Any] | None,
            key: str,
        ) -> Series: ...

        def _mark_none(self, series: Series, row: int, is_none: bool) -> None: ...

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
    ) -> tuple[Series, int, Block]:
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
