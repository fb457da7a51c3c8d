"""Replacing a remote zarr store as a whole: ``save`` to a URL or a store object.

Object stores have no rename, and a store is many objects, so the old store cannot
be swapped for the new one in one step.  What xstore does instead:

1. The new store is written completely *beside* the old one -- for a URL under a
   hidden sibling prefix (``.NAME.xstore-XXXXXXXX.tmp.zarr``), for a store object
   with nothing beside it under a hidden prefix inside it (``.xstore-new-XXXXXXXX``)
   -- while the old store stays exactly as it was.  An error or a kill here leaves
   the old store (and a hidden leftover).
2. An *intent record* (``.NAME.xstore-replace.json``, or ``.xstore-replace.json``
   inside) names the complete new store: the switch is decided.
3. The switch: the old root ``zarr.json`` goes first (from here plain readers find no
   store rather than a mix of two), then every old key the new store lacks; the new
   keys are copied in (server-side where the store can), the root ``zarr.json`` last.
4. The staged copy and the intent record are deleted.

A writer killed or cut off in step 3 leaves the intent record and the complete new
store: xstore readers read the new store from there, and the next writer of the
path (``open`` for writing, ``save``) finishes the switch first.  So through xstore
the path always holds the old or the new store; plain readers see the old store, then
(during the switch only) none, then the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import FsspecStore

from xstore.backends.address import Address, address_of
from xstore.backends.zarr.network import is_failure
from xstore.backends.zarr.prefix import PrefixStore
from xstore.errors import StoreError

INTENT = ".xstore-replace.json"
LEASE = ".xstore-lease.json"
_STAGED_INSIDE = re.compile(r"\.xstore-new-[0-9a-f]{8}")
_PARALLEL = 16  # requests in flight while switching


def is_staged_inside(name: str) -> bool:
    """A root entry that is a new store staged inside a store object (not a node)."""
    return bool(_STAGED_INSIDE.fullmatch(name))


@dataclass(frozen=True)
class _Site:
    """Where a remote store and its replacement live: ``container`` holds the store
    under ``target`` ("": the whole container) and the intent record at ``intent``."""

    container: Store
    target: str
    intent: str
    fsspec: bool  # the container is an FsspecStore (copies can stay on the server)

    def staged_prefix(self) -> str:
        token = uuid.uuid4().hex[:8]
        return f".{self.target}.xstore-{token}.tmp.zarr" if self.target else f".xstore-new-{token}"

    def key(self, prefix: str, key: str) -> str:
        return "/".join(part for part in (prefix, key) if part)

    def address(self, prefix: str) -> Address:
        """The address of the store staged under ``prefix``."""
        if self.fsspec:
            assert isinstance(self.container, FsspecStore)
            fs, root = self.container.fs, self.container.path.rstrip("/")
            return address_of(FsspecStore(fs, path=f"{root}/{prefix}"))
        return Address(f"{self.container}/{prefix}", store=PrefixStore(self.container, prefix))


def _site(address: Address) -> _Site:
    store = address.store
    if store is None:
        store = FsspecStore.from_url(
            address.location.rstrip("/"), storage_options=dict(address.storage_options)
        )
    if isinstance(store, FsspecStore):
        # from_url keeps "s3://" in the path, which the file system's listings lack
        path = store.fs._strip_protocol(store.path).rstrip("/")
        if "/" in path:  # room beside it: stage there
            parent, name = path.rsplit("/", 1)
            container = FsspecStore(store.fs, path=parent)
            return _Site(container, name, f".{name}{INTENT}", fsspec=True)
        return _Site(store, "", INTENT, fsspec=True)
    return _Site(store, "", INTENT, fsspec=False)


def pending(address: Address) -> Address | None:
    """The complete new store of an interrupted switch at ``address`` (None: none)."""
    site = _site(address)
    staged = sync(_read_intent(site))
    if staged is None or not sync(site.container.exists(site.key(staged, "zarr.json"))):
        return None
    return site.address(staged)


def finish(address: Address) -> None:
    """Finish an interrupted switch at ``address`` (the caller holds its writer lock)."""
    site = _site(address)
    staged = sync(_read_intent(site))
    if staged is None:
        return
    _guarded(address, lambda: _complete(site, staged), _RESUMED)


@contextlib.contextmanager
def stage(address: Address) -> Iterator[Address]:
    """The address to write a new store at; it replaces the store at ``address`` when
    the block succeeds (see the module).  The caller holds the writer lock."""
    finish(address)
    site = _site(address)
    staged = site.staged_prefix()
    try:
        yield site.address(staged)
    except BaseException:
        with contextlib.suppress(Exception):  # a leftover is harmless: it is hidden
            sync(site.container.delete_dir(staged))
        raise
    doc = {"staged": staged, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    intent = default_buffer_prototype().buffer.from_bytes(json.dumps(doc).encode())
    _guarded(address, lambda: site.container.set(site.intent, intent), _UNCHANGED)
    _guarded(address, lambda: _complete(site, staged), _RESUMED)


def clear(store: Store) -> None:
    """Delete every key of a remote store but xstore's own (its lease, a staged
    replacement): what mode ``'w'`` does before creating the new root."""
    sync(_clear(store))


async def _clear(store: Store) -> None:
    keys = [key async for key in store.list() if not _own(key)]
    await _each(keys, store.delete)


def _own(key: str) -> bool:
    first = key.split("/", 1)[0]
    return key in (LEASE, INTENT) or is_staged_inside(first)


async def _read_intent(site: _Site) -> str | None:
    raw = await site.container.get(site.intent, prototype=default_buffer_prototype())
    if raw is None:
        return None
    try:
        staged = json.loads(raw.to_bytes())["staged"]
    except (ValueError, KeyError, TypeError):
        return None
    return staged if isinstance(staged, str) and "/" not in staged else None


async def _complete(site: _Site, staged: str) -> None:
    """Steps 3 and 4 (idempotent: a second run after a kill does the rest)."""
    container = site.container
    if await container.exists(site.key(staged, "zarr.json")):
        new = await _keys(container, staged)
        old = [k for k in await _keys(container, site.target) if not _own(k)]
        root = site.key(site.target, "zarr.json")
        await container.delete(root)
        await _each([k for k in old if k not in set(new) and k != "zarr.json"], _under(site))
        await _each([k for k in new if k != "zarr.json"], _copier(site, staged))
        await _copier(site, staged)("zarr.json")
        await container.delete_dir(staged)
    await container.delete(site.intent)


def _under(site: _Site) -> Callable[[str], Awaitable[None]]:
    async def delete(key: str) -> None:
        await site.container.delete(site.key(site.target, key))

    return delete


def _copier(site: _Site, staged: str) -> Callable[[str], Awaitable[None]]:
    container = site.container

    async def copy(key: str) -> None:
        source, target = site.key(staged, key), site.key(site.target, key)
        if isinstance(container, FsspecStore):  # a copy on the server, no download
            root = container.path.rstrip("/")
            await container.fs._cp_file(f"{root}/{source}", f"{root}/{target}")
            return
        value = await container.get(source, prototype=default_buffer_prototype())
        if value is not None:
            await container.set(target, value)

    return copy


async def _keys(container: Store, prefix: str) -> list[str]:
    """Keys under ``prefix`` relative to it (all keys for "")."""
    if not prefix:
        return [key async for key in container.list()]
    return [key[len(prefix) + 1 :] async for key in container.list_prefix(f"{prefix}/")]


async def _each(keys: list[str], action: Callable[[str], Awaitable[None]]) -> None:
    limit = asyncio.Semaphore(_PARALLEL)

    async def one(key: str) -> None:
        async with limit:
            await action(key)

    await asyncio.gather(*(one(key) for key in keys))


_UNCHANGED = "the old store is unchanged"
_RESUMED = (
    "the new store is complete beside it, and the next open of this path for writing "
    "finishes the replacement (xstore readers already read the new store)"
)


def _guarded(address: Address, step: Callable[[], Coroutine[Any, Any, None]], outcome: str) -> None:
    try:
        sync(step())
    except Exception as exc:
        if not is_failure(exc):
            raise
        raise StoreError(
            f"{address}: replacing the store failed ({type(exc).__name__}: {exc}); {outcome}"
        ) from exc
