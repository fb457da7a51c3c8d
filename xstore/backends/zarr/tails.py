"""Appends that write only the chunks they change, without reading any back.

zarr writes a chunk as a whole object.  Records appended into a chunk that already
holds some would make zarr read that chunk, merge and write it back (two requests
per series per flush, each moving a whole chunk).  :class:`Tails` keeps, per growing
array, the records of its last, partly filled chunk as they were written, so an
append writes that chunk from its first record to the new end -- a complete chunk
for zarr (the array ends there), which it writes without reading.  Chunks before it
are never touched again.  The kept tails are bounded (:data:`TAIL_BYTES` in all);
beyond that, or after reopening, zarr's read-merge-write is the fallback.
"""

from __future__ import annotations

import numpy as np
import zarr

from xstore.names import Path

TAIL_BYTES = 64 * 2**20  # records of partly filled last chunks kept, for all arrays


class Tails:
    """The partly filled last chunk of each growing array, as written."""

    def __init__(self, limit: int = TAIL_BYTES) -> None:
        self._tails: dict[Path, tuple[int, np.ndarray]] = {}  # node -> (first record, records)
        self._bytes = 0
        self._limit = limit

    def write(self, node: Path, arr: zarr.Array, start: int, block: np.ndarray) -> None:
        """Write records ``start:start+len(block)`` of ``arr`` (whose shape already
        ends there), rewriting its last chunk from the kept tail when there is one."""
        rows = arr.chunks[0]
        end = start + len(block)
        kept = self._tails.get(node)
        known = start  # the first record whose value is known here
        if kept is not None and kept[0] + len(kept[1]) == start and start - kept[0] < rows:
            # the kept chunk, whole, with the new records that fall in it; the rest of
            # the block starts at a chunk boundary (the block itself is never copied)
            head = min(len(block), kept[0] + rows - start)
            arr[kept[0] : start + head] = np.concatenate([kept[1], block[:head]])
            if head < len(block):
                arr[start + head : end] = block[head:]
            known = kept[0]
        else:
            arr[start:end] = block
        self.forget(node)
        last = (end // rows) * rows  # the first record of the chunk the array ends in
        if last < known:
            return  # its first records are not known here
        if last >= start:
            tail = np.array(block[last - start :], copy=True)
        else:  # the array still ends in the kept chunk
            assert kept is not None
            tail = np.concatenate([kept[1], block])
        if self._bytes + tail.nbytes <= self._limit:
            self._tails[node] = (last, tail)
            self._bytes += tail.nbytes

    def forget(self, node: Path) -> None:
        """Drop what is kept of ``node`` (it was overwritten, moved or deleted)."""
        kept = self._tails.pop(node, None)
        if kept is not None:
            self._bytes -= kept[1].nbytes

    def forget_below(self, prefix: Path) -> None:
        for node in [n for n in self._tails if n[: len(prefix)] == prefix]:
            self.forget(node)

    def clear(self) -> None:
        self._tails.clear()
        self._bytes = 0
