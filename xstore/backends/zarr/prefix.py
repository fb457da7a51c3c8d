"""A zarr store seen below one of its prefixes: where a new store is staged inside a
store object that has nothing beside it (see :mod:`~.replace`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable

from zarr.abc.store import ByteRequest, Store
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import WrapperStore


class PrefixStore(WrapperStore[Store]):
    """The keys of ``store`` under ``prefix/``, as the keys of a store of their own."""

    def __init__(self, store: Store, prefix: str) -> None:
        super().__init__(store)
        self.prefix = prefix.strip("/")

    def _with_store(self, store: Store) -> PrefixStore:
        return PrefixStore(store, self.prefix)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if key else self.prefix

    def _strip(self, key: str) -> str:
        return key[len(self.prefix) + 1 :]

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        return await self._store.get(self._key(key), prototype, byte_range)

    async def get_partial_values(
        self, prototype: BufferPrototype, key_ranges: Iterable[tuple[str, ByteRequest | None]]
    ) -> list[Buffer | None]:
        ranges = [(self._key(key), byte_range) for key, byte_range in key_ranges]
        return await self._store.get_partial_values(prototype, ranges)

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        for key, prototype, byte_range in requests:
            yield key, await self.get(key, prototype, byte_range)

    async def exists(self, key: str) -> bool:
        return await self._store.exists(self._key(key))

    async def set(self, key: str, value: Buffer) -> None:
        await self._store.set(self._key(key), value)

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        await self._store.set_if_not_exists(self._key(key), value)

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        for key, value in values:
            await self.set(key, value)

    async def delete(self, key: str) -> None:
        await self._store.delete(self._key(key))

    async def delete_dir(self, prefix: str) -> None:
        await self._store.delete_dir(self._key(prefix))

    async def is_empty(self, prefix: str) -> bool:
        return await self._store.is_empty(self._key(prefix))

    async def clear(self) -> None:
        await self._store.delete_dir(self.prefix)

    async def list(self) -> AsyncIterator[str]:
        async for key in self._store.list_prefix(f"{self.prefix}/"):
            yield self._strip(key)

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        async for key in self._store.list_prefix(f"{self.prefix}/{prefix}"):
            yield self._strip(key)

    def list_dir(self, prefix: str) -> AsyncIterator[str]:
        return self._store.list_dir(self._key(prefix))

    def __str__(self) -> str:
        return f"{self._store}/{self.prefix}"

    def __repr__(self) -> str:
        return f"PrefixStore({self._store!r}, {self.prefix!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PrefixStore)
            and self.prefix == other.prefix
            and self._store == other._store
        )

    def __hash__(self) -> int:
        return hash((self.prefix, id(self._store)))
