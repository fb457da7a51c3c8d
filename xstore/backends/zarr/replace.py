"""Replacing a remote zarr store as a whole: ``save`` to a URL or a store object.

Object stores have no rename, and a store is many objects, so the old store cannot
be swapped for the new one in one step.  What xstore does instead:

1. The new store is written completely *beside* the old one -- for a URL under a
   hidden sibling prefix (``.NAME.xstore-XXXXXXXX.tmp.zarr``), for a store object
   with nothing beside it under a hidden prefix inside it (``.xstore-new-XXXXXXXX``)
   -- while the old store stays exactly as it was.  An error or a cut here leaves
   the old store (and, if the cleanup could not reach the store, a hidden orphan).
2. An *intent record* (``.NAME.xstore-replace.json``, or ``.xstore-replace.json``
   inside) names the complete new store: the switch is decided.
3. The switch: the old root ``zarr.json`` goes first (from here no reader finds a
   store rather than a mix of two), then every old key the new store lacks; the new
   keys are copied in (server-side where the store can), the root ``zarr.json`` last.
4. The staged copy and the intent record are deleted.

Every reader, xstore's and plain zarr's alike, reads the path's own root
``zarr.json``, never the staged copy: the old store until step 3 begins, no store
during it (xstore says a switch is pending, naming it), the new store after it.  A
save cut off leaves a :class:`Interrupted` replacement, which the next writer of the
path (``open`` for writing, ``save``) settles before anything else: it finishes a
switch that began (the root is gone) and rolls back one that did not (the root is
there: the old store, or the new one already complete), and it deletes orphaned
staged copies and their leases.  ``xstore check`` reports both.
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
from xstore.backends.lease import CLAIM_SUFFIX, LEASE_SUFFIX
from xstore.backends.zarr.network import is_failure
from xstore.backends.zarr.prefix import PrefixStore
from xstore.errors import StoreError

INTENT = ".xstore-replace.json"
LEASE = ".xstore-lease.json"
_STAGED_INSIDE = re.compile(r"\.xstore-new-[0-9a-f]{8}")
_STAGED_BESIDE = re.compile(r"\..+\.xstore-[0-9a-f]{8}\.tmp\.zarr")
_PARALLEL = 16  # requests in flight while switching


def is_staged_inside(name: str) -> bool:
    """A root entry that is a new store staged inside a store object (not a node)."""
    return bool(_STAGED_INSIDE.fullmatch(name))


def is_staged_copy(address: Address) -> bool:
    """Is ``address`` a copy :func:`stage` handed out?  Its save holds the lease of the
    store it replaces, and nothing is there to settle."""
    if isinstance(address.store, PrefixStore):
        return is_staged_inside(address.store.prefix)
    name = address.location.rstrip("/").rsplit("/", 1)[-1]
    return _STAGED_BESIDE.fullmatch(name) is not None


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

    def is_staged(self, name: str) -> bool:
        """Is the container's entry ``name`` a staged copy of this site's store?"""
        if not self.target:
            return is_staged_inside(name)
        return _STAGED_BESIDE.fullmatch(name) is not None and name.startswith(f".{self.target}.")

    def is_leftover(self, name: str) -> bool:
        """A staged copy, or the lease (or lease claim) a staged copy was written under."""
        copy, _, lease = name.partition(LEASE_SUFFIX)
        return self.is_staged(copy) and (not lease or lease.startswith(CLAIM_SUFFIX))

    async def delete_entry(self, name: str) -> None:
        if self.is_staged(name):
            await self.container.delete_dir(name)
        else:
            await self.container.delete(name)

    def name(self, prefix: str) -> str:
        """Where the container's entry ``prefix`` is, for messages."""
        return str(self.address(prefix))

    def refresh(self) -> None:
        """Forget the file system's cached listings (another client may have written)."""
        if self.fsspec:
            assert isinstance(self.container, FsspecStore)
            self.container.fs.invalidate_cache()

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


@dataclass(frozen=True)
class Interrupted:
    """A replacement cut short at a store: its intent record names ``staged``."""

    staged: str  # the prefix of the staged copy in the site's container
    since: str  # when the switch was decided
    begun: bool  # the old root is gone: the switch had begun
    location: str  # where the staged copy is (for messages)


def interrupted(address: Address) -> Interrupted | None:
    """The replacement cut short at ``address`` (None: none)."""
    site = _site(address)
    return sync(_interrupted(site))


def require_settled(address: Address) -> None:
    """For readers: ``StoreError`` if a switch at ``address`` began and was cut short
    (no store is there until the next writer finishes it)."""
    found = interrupted(address)
    if found is not None and found.begun:
        raise StoreError(
            f"{address}: no store is there now, for xstore or plain readers: a save "
            f"replacing it started its switch (decided {found.since}) and was cut off "
            "or is still running; after a cut, the next open of this path for writing "
            f"(or save) finishes the switch (the complete new store is at {found.location})"
        )


def settle(address: Address) -> None:
    """For the writer (it holds the lease): finish a switch cut short after it began,
    roll back one cut short before, and delete orphaned staged copies."""
    site = _site(address)
    _guarded(address, lambda: _settle(site), _SETTLING)


def leftovers(address: Address) -> list[str]:
    """What an interrupted save left at ``address``, one line each (for ``check``)."""
    return sync(_leftovers(_site(address)))


async def _leftovers(site: _Site) -> list[str]:
    intent = await _read_intent(site)
    found = None if intent is None else await _interrupted(site, intent)
    lines = []
    if found is not None:
        state, then = ("started", "finishes") if found.begun else ("not started", "rolls back")
        lines.append(
            f"a save's switch is unfinished ({state}, decided {found.since}): cut off, "
            f"or still running; after a cut the next writer of this path {then} it: "
            f"staged copy {found.location}"
        )
    elif intent is not None:
        lines.append(
            "the record of an interrupted save that names no staged copy (the next "
            f"writer deletes it): {site.name(site.intent)}"
        )
    lines.extend(
        f"leftover of an interrupted save (the next writer deletes it): {site.name(name)}"
        for name in await _orphans(site, found)
    )
    return lines


@contextlib.contextmanager
def stage(address: Address) -> Iterator[Address]:
    """The address to write a new store at; it replaces the store at ``address`` when
    the block succeeds (see the module).  The caller holds the writer lock."""
    site = _site(address)
    _guarded(address, lambda: _settle(site), _SETTLING)  # settle(), on this site
    staged = site.staged_prefix()
    try:
        yield site.address(staged)
    except BaseException:
        with contextlib.suppress(Exception):  # else an orphan the next writer deletes
            sync(site.container.delete_dir(staged))
        raise
    doc = {"staged": staged, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    intent = default_buffer_prototype().buffer.from_bytes(json.dumps(doc).encode())
    _guarded(address, lambda: site.container.set(site.intent, intent), _UNCHANGED)
    _guarded(address, lambda: _complete(site, staged), _CUT)


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


async def _read_intent(site: _Site) -> dict[str, str] | None:
    """The intent record (``{}`` for one that is not a valid record; None: none)."""
    site.refresh()
    raw = await site.container.get(site.intent, prototype=default_buffer_prototype())
    if raw is None:
        return None
    try:
        doc = json.loads(raw.to_bytes())
        staged, since = doc["staged"], str(doc.get("since", "at an unknown time"))
    except (ValueError, KeyError, TypeError):
        return {}
    if not isinstance(staged, str) or not site.is_staged(staged):
        return {}
    return {"staged": staged, "since": since}


async def _interrupted(site: _Site, intent: dict[str, str] | None = None) -> Interrupted | None:
    if intent is None:
        intent = await _read_intent(site)
    if not intent:
        return None
    staged = intent["staged"]
    if not await site.container.exists(site.key(staged, "zarr.json")):
        return None  # staged copy gone: the switch is done but for the record
    begun = not await site.container.exists(site.key(site.target, "zarr.json"))
    return Interrupted(staged, intent["since"], begun, site.name(staged))


async def _settle(site: _Site) -> None:
    intent = await _read_intent(site)
    if intent is not None:
        found = await _interrupted(site, intent)
        if found is not None and found.begun:
            await _complete(site, found.staged)  # (deletes the record)
        else:
            if found is not None:  # the path holds a whole store: keep it
                await site.container.delete_dir(found.staged)
            await site.container.delete(site.intent)
    await _each(await _orphans(site, None), site.delete_entry)


async def _orphans(site: _Site, found: Interrupted | None) -> list[str]:
    """Staged copies (and their leases) of the site that no intent record names."""
    site.refresh()
    keep = None if found is None else found.staged
    return [
        name
        async for name in site.container.list_dir("")
        if site.is_leftover(name) and name != keep
    ]


async def _complete(site: _Site, staged: str) -> None:
    """Steps 3 and 4 (idempotent: a second run after a kill does the rest)."""
    container = site.container
    if await container.exists(site.key(staged, "zarr.json")):
        new = [k for k in await _keys(container, staged) if not _own(k)]
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
_CUT = (
    "the new store is complete beside it; the next open of this path for writing (or "
    "save) finishes the switch, or rolls it back if the old store is still whole, and "
    "until then every reader sees the old store, or no store if the switch had begun"
)
_SETTLING = (
    "settling an earlier interrupted save; the next open of this path for writing tries again"
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
