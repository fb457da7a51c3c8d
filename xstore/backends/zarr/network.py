"""Failures of a remote store as :class:`~xstore.errors.StoreError`.

A zarr store reached over the network (fsspec URL or a store object) fails with
whatever its library raises: botocore's ``EndpointConnectionError``, aiohttp's
connection errors, ``OSError``\\ s of every kind.  :class:`GuardedStore` wraps the
store so that each failure of an operation becomes one ``StoreError`` naming the
store and what survives of it: the last completed flush (its time and records),
which the backend describes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeVar

from zarr.abc.store import ByteRequest, Store
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import WrapperStore

from xstore.errors import StoreError

#: errors that say something about the call, not the connection: passed on as they are
_NOT_IO = (
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    NotImplementedError,
    AssertionError,
    ImportError,  # e.g. s3fs not installed: its own message says what to install
    FileNotFoundError,
    FileExistsError,
    StoreError,
)


def is_failure(exc: BaseException) -> bool:
    """An exception of the store's I/O (a network failure, a refused request)?"""
    return isinstance(exc, Exception) and not isinstance(exc, _NOT_IO)


def unreachable(location: str, action: str, exc: BaseException) -> StoreError:
    """The ``StoreError`` for a failure of the store's I/O before anything was written."""
    return StoreError(f"{location}: {action} failed ({type(exc).__name__}: {exc})")


T = TypeVar("T")


def guarded(location: str, action: str, call: Callable[[], T]) -> T:
    """``call()``, with a failure of the store's I/O raised as ``StoreError``."""
    try:
        return call()
    except Exception as exc:
        if is_failure(exc):
            raise unreachable(location, action, exc) from exc
        raise


class GuardedStore(WrapperStore[Store]):
    """``store`` with every I/O failure raised as ``StoreError`` (see the module)."""

    def __init__(self, store: Store, location: str, survived: Callable[[], str]) -> None:
        super().__init__(store)
        self._location = location
        self._survived = survived

    def _with_store(self, store: Store) -> GuardedStore:
        return GuardedStore(store, self._location, self._survived)

    @property
    def wrapped(self) -> Store:
        return self._store

    def failure(self, action: str, exc: BaseException) -> StoreError:
        """The ``StoreError`` for ``exc``, raised while doing ``action``."""
        reason = str(exc) or type(exc).__name__
        return StoreError(
            f"{self._location}: {action} failed ({type(exc).__name__}: {reason}); "
            f"{self._survived()}"
        )

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        try:
            return await self._store.get(key, prototype, byte_range)
        except Exception as exc:
            raise self._translate(f"reading {key}", exc) from exc

    async def get_partial_values(
        self, prototype: BufferPrototype, key_ranges: Iterable[tuple[str, ByteRequest | None]]
    ) -> list[Buffer | None]:
        try:
            return await self._store.get_partial_values(prototype, key_ranges)
        except Exception as exc:
            raise self._translate("reading", exc) from exc

    async def exists(self, key: str) -> bool:
        try:
            return await self._store.exists(key)
        except Exception as exc:
            raise self._translate(f"looking for {key}", exc) from exc

    async def set(self, key: str, value: Buffer) -> None:
        try:
            await self._store.set(key, value)
        except Exception as exc:
            raise self._translate(f"writing {key}", exc) from exc

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        try:
            await self._store.set_if_not_exists(key, value)
        except Exception as exc:
            raise self._translate(f"writing {key}", exc) from exc

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        await asyncio.gather(*(self.set(key, value) for key, value in values))

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        for key, prototype, byte_range in requests:
            yield key, await self.get(key, prototype, byte_range)

    async def delete(self, key: str) -> None:
        try:
            await self._store.delete(key)
        except Exception as exc:
            raise self._translate(f"deleting {key}", exc) from exc

    async def delete_dir(self, prefix: str) -> None:
        try:
            await self._store.delete_dir(prefix)
        except Exception as exc:
            raise self._translate(f"deleting {prefix}/", exc) from exc

    def list(self) -> AsyncIterator[str]:
        return self._guard("listing", self._store.list())

    def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        return self._guard(f"listing {prefix}", self._store.list_prefix(prefix))

    def list_dir(self, prefix: str) -> AsyncIterator[str]:
        return self._guard(f"listing {prefix or '/'}", self._store.list_dir(prefix))

    async def _guard(self, action: str, keys: AsyncIterator[str]) -> AsyncIterator[str]:
        try:
            async for key in keys:
                yield key
        except Exception as exc:
            raise self._translate(action, exc) from exc

    def _translate(self, action: str, exc: Exception) -> Exception:
        return self.failure(action, exc) if is_failure(exc) else exc

    def __str__(self) -> str:
        return str(self._store)

    def __repr__(self) -> str:
        return f"GuardedStore({self._store!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GuardedStore) and self._store == other._store

    def __hash__(self) -> int:
        return hash(self._store)


class Flushes:
    """When a store was opened and its last flush completed: what a failure leaves."""

    def __init__(self) -> None:
        self.opened = time.time()
        self.last: float | None = None

    def done(self) -> None:
        self.last = time.time()

    def describe(self, committed: Mapping[str, list[int]]) -> str:
        """E.g. "the last completed flush was at 12:03:04 (3,200 records of 'x')"."""
        records = ""
        if committed:
            key, shape = max(committed.items(), key=lambda item: item[1][0])
            more = len(committed) - 1
            others = f" and {more} other series" if more else ""
            records = f" ({shape[0]:,} records of {key!r}{others})"
        if self.last is None:
            return (
                f"no flush completed since it was opened at {_clock(self.opened)}: "
                f"the store holds what it held then{records}"
            )
        return f"the last completed flush was at {_clock(self.last)}{records}"


def _clock(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


def unwrap(store: Any) -> Any:
    """The store below a :class:`GuardedStore` (``store`` itself otherwise)."""
    return store.wrapped if isinstance(store, GuardedStore) else store
