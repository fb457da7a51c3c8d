"""Missing chunks are damage: a store wrapper that refuses to read them.

zarr reads a missing chunk as fill values.  xstore writes every chunk of its arrays,
even chunks of fill values (``write_empty_chunks``), and marks such arrays
``_xs_complete``; while the backend reads (not while it writes, when a new chunk is
legitimately absent) a chunk of such an array that is not in the store is damage,
and reading it raises instead of returning fill values.
"""

from __future__ import annotations

from zarr.abc.store import ByteRequest, Store
from zarr.core.array_spec import ArrayConfigParams
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import WrapperStore

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
