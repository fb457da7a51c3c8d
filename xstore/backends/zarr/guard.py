"""Missing chunks are damage: a store wrapper that refuses to read them, and a size
check before big reads.

zarr reads a missing chunk as fill values.  xstore writes every chunk of its arrays,
even chunks of fill values (``write_empty_chunks``), and marks such arrays
``_xs_complete``; while the backend reads (not while it writes, when a new chunk is
legitimately absent) a chunk of such an array that is not in the store is damage,
and reading it raises instead of returning fill values.  Before a big read,
:func:`require_plausible` counts the array's chunks, so that a shape declared far
beyond the stored data fails before anything is allocated.
"""

from __future__ import annotations

import math

import numpy as np
import zarr
from zarr.abc.store import ByteRequest, Store
from zarr.core.array_spec import ArrayConfigParams
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.core.sync import sync
from zarr.storage import WrapperStore

from xstore.backends import plausible
from xstore.backends.base import Index
from xstore.backends.zarr.attrs import COMPLETE
from xstore.model import STRING
from xstore.names import Path

#: array configuration of every array xstore opens: all chunks are written
ARRAY_CONFIG: ArrayConfigParams = {"write_empty_chunks": True}


def array_of_chunk(key: str) -> str | None:
    """The array path of a chunk key (``a/b/c/0/1`` -> ``a/b``; ``a/c`` of a 0-d array
    -> ``a``), or None for a key that is no chunk."""
    parts = key.split("/")
    for at in range(len(parts) - 1, 0, -1):
        if parts[at] == "c" and all(p.isdigit() for p in parts[at + 1 :]):
            return "/".join(parts[:at])
    return None


class ChunkGuard(WrapperStore[Store]):
    """A store whose reads of a missing chunk of a complete array raise."""

    def __init__(self, store: Store, complete: set[str] | None = None) -> None:
        super().__init__(store)
        self.complete: set[str] = set() if complete is None else complete
        self.reading = False  # set by the backend around its reads

    def _with_store(self, store: Store) -> ChunkGuard:
        guard = ChunkGuard(store, self.complete)
        guard.reading = self.reading
        return guard

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        value = await self._store.get(key, prototype, byte_range)
        if value is None and self.reading and array_of_chunk(key) in self.complete:
            raise FileNotFoundError(f"the chunk {key} is missing")
        return value


#: a foreign array (not marked complete) read whole needs at least one chunk in this
#: many stored; the others read as fill values
SPARSEST = 1024


async def _chunk_count(store: Store, prefix: str) -> int:
    count = 0
    async for key in store.list_prefix(prefix):
        count += not key.endswith("zarr.json") and not key.endswith(".partial")
    return count


def require_plausible(
    store: Store, arr: zarr.Array, index: Index, location: str, node: Path
) -> None:
    """``StoreError`` before a big read of ``arr[index]`` unless its chunks are there:
    all of them for an array xstore wrote whole (else it is damaged), one in
    :data:`SPARSEST` of a foreign array's."""
    dtype = np.dtype(arr.dtype) if np.dtype(arr.dtype).kind not in "OTU" else STRING
    wanted = plausible.read_bytes(tuple(arr.shape), dtype, index)
    if wanted <= plausible.FLOOR:
        return
    grid = math.prod(-(-n // c) for n, c in zip(arr.shape, arr.chunks, strict=True))
    stored = sync(_chunk_count(store, f"{arr.store_path.path}/"))
    if arr.metadata.attributes.get(COMPLETE, 0):
        most = wanted if stored >= grid else 0
    else:
        most = wanted * stored * SPARSEST // max(grid, 1)
    why = f"only {stored} of its {grid} chunks are stored"
    plausible.require(location, node, wanted, most, why)
