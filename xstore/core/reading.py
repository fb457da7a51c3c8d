"""Reading variables of an open store (a part of :class:`xstore.core.layout.Core`):
shapes, whole nodes, parts, and the records still buffered in this process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from xstore.backends.base import Backend, Index, VarInfo
from xstore.core.entries import Entry, PendingRecords
from xstore.core.partial import slice_with_buffer
from xstore.model import SEQ, ArraySource, Node, Tree, Var
from xstore.names import Path, decode_name, is_internal


class Reading:
    """Reads of :class:`xstore.core.layout.Core` (which it is mixed into)."""

    _backend: Backend
    _records: PendingRecords | None
    closed: bool

    @property
    def location(self) -> str:
        raise NotImplementedError

    def attrs(self, node: Path) -> dict[str, Any]:
        raise NotImplementedError

    def index(self, group: Path) -> dict[str, Entry]:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    def info(self, node: Path) -> VarInfo:
        """Shape (as stored, without records buffered here), dtype and dims of a variable."""
        return self._backend.info(node)

    def shape(self, node: Path) -> tuple[int, ...]:
        """The current shape of a variable, records buffered in this process included."""
        info = self._backend.info(node)
        return (self.length(node), *info.shape[1:]) if info.unlimited else info.shape

    def chunks(self, node: Path) -> tuple[int, ...] | None:
        return self._backend.chunks(node)

    def dims(self, group: Path) -> dict[str, int]:
        """Dimensions (stored names) defined in ``group``, with their sizes."""
        return self._backend.dims(group)

    def native(self, node: Path) -> Any:
        """The backend library's own object for ``node`` (see ``Backend.native``), with
        the records buffered in this process written and flushed first."""
        if self._backend.writable:
            self.flush()
        return self._backend.native(node)

    def dims_above(self, group: Path) -> set[str]:
        """Dimension names (stored) of ``group`` and of every group above it."""
        return {dim for depth in range(len(group) + 1) for dim in self.dims(group[:depth])}

    def read_node(
        self, node: Path, is_group: bool, *, parts: Callable[[Path], ArraySource] | None = None
    ) -> Node:
        """The whole subtree at ``node`` (user names, key order, raw attributes).

        With ``parts``, each variable's data is ``parts(path)`` (an array read part by
        part, e.g. :class:`~xstore.core.partial.StoredArray`) instead of its array.
        """
        attrs = {k: v for k, v in self.attrs(node).items() if k != SEQ}
        if is_group:
            children = {
                name: self.read_node((*node, e.stored), e.is_group, parts=parts)
                for name, e in self.index(node).items()
            }
            return Tree(attrs, children)
        info = self._backend.info(node)
        data = self.read_data(node) if parts is None else parts(node)
        dims = tuple(None if is_internal(d) else decode_name(d) for d in info.dims)
        return Var(data, attrs, dims, growable=info.unlimited)

    def _buffered(self, node: Path) -> np.ndarray | None:
        """Records of ``node`` buffered in this process (stored form), if any."""
        if self._records is not None and self._records.pending(node):
            return self._records.buffered(node)
        return None

    def read_data(self, node: Path) -> np.ndarray:
        """A variable's stored array, including records still buffered in this process."""
        data = self._backend.read(node)
        buffered = self._buffered(node)
        return data if buffered is None else np.concatenate([data, buffered])

    def read_slice(self, node: Path, index: Index) -> np.ndarray:
        """Part of a variable (basic indexing), reading only that part from the backend."""
        if self.closed:
            raise ValueError(f"the store {self.location} is closed; load() views before closing")
        buffered = self._buffered(node)
        if buffered is None:
            return self._backend.read(node, index)
        written = self._backend.info(node).shape[0]
        return slice_with_buffer(
            lambda part: self._backend.read(node, part), written, buffered, index
        )

    def read_items(self, node: Path, start: int, stop: int) -> Var:
        """Items ``start:stop`` (along the first axis) of a variable, with its
        attributes: a part that decodes as the whole does, reading only that part."""
        attrs = {k: v for k, v in self.attrs(node).items() if k != SEQ}
        return Var(self.read_slice(node, (slice(start, stop),)), attrs)

    def length(self, node: Path) -> int:
        """Records in a growable variable, including those still buffered here."""
        length = self._backend.info(node).shape[0]
        if self._records is not None:
            length += self._records.pending(node)
        return length

    # -- writing -------------------------------------------------------------------------
