"""The writer lease of a remote store (a URL or a zarr store object).

Object stores cannot be locked by the OS.  A remote store gets a *lease*: a small
JSON object naming the holder, created exclusively where the store can (a
conditional put: S3's ``If-None-Match``, fsspec's ``mode="create"``, a local file's
``O_EXCL``), renewed by a background thread while the store is open and treated as
expired ``lease_seconds`` after its last renewal.  It lies beside a URL store
(``NAME.xstore-lease.json``) and inside a store object that has nothing beside it
(``.xstore-lease.json``).  Where a store cannot create exclusively, the lease still
names the holder, but two writers starting at the same instant could both take it
(see docs/object-storage.md).

A lease is taken over before it expires when its holder is known to be dead: a lease
of this process whose :class:`Lease` was released, lost or failed to renew, or one
of this host whose pid no longer runs.  The takeover first creates a *claim* object
named after the dead lease's token, exclusively, so of two reclaimers only one
deletes the dead lease and creates its own.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from typing import Any

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import FsspecStore

from xstore.backends.address import Address
from xstore.backends.holders import holder, locked_error
from xstore.backends.zarr.network import guarded

LEASE_SUFFIX = ".xstore-lease.json"
LEASE_KEY = ".xstore-lease.json"  # inside a store object
DEFAULT_LEASE_SECONDS = 60.0
CLAIM_SUFFIX = ".claim-"  # + the dead lease's token

#: the leases this process holds and renews, by token
_LIVE: dict[str, Lease] = {}
_LIVE_LOCK = threading.Lock()


class _FileIO:
    """A lease object through an fsspec file system (sync API, or async run on zarr's loop)."""

    def __init__(self, fs: Any, path: str) -> None:
        self.fs, self.path = fs, path
        self._async = bool(getattr(fs, "asynchronous", False))

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._async:
            return sync(getattr(self.fs, f"_{name}")(*args, **kwargs))
        return getattr(self.fs, name)(*args, **kwargs)

    def create(self, data: bytes) -> bool:
        try:
            self._call("pipe_file", self.path, data, mode="create")
        except FileExistsError:
            return False
        return True

    def read(self) -> bytes | None:
        try:
            return bytes(self._call("cat_file", self.path))
        except FileNotFoundError:
            return None

    def write(self, data: bytes) -> None:
        self._call("pipe_file", self.path, data)

    def delete(self) -> None:
        self._call("rm_file", self.path)

    def sibling(self, suffix: str) -> _FileIO:
        return _FileIO(self.fs, self.path + suffix)


class _KeyIO:
    """A lease object as a key of a zarr store (exclusive where its
    ``set_if_not_exists`` is: LocalStore, ObjectStore, MemoryStore)."""

    def __init__(self, store: Store, key: str) -> None:
        self.store, self.key = store, key

    def create(self, data: bytes) -> bool:
        buffer = default_buffer_prototype().buffer.from_bytes(data)
        sync(self.store.set_if_not_exists(self.key, buffer))
        return self.read() == data  # ours, unless someone else's was there first

    def read(self) -> bytes | None:
        raw = sync(self.store.get(self.key, prototype=default_buffer_prototype()))
        return None if raw is None else raw.to_bytes()

    def write(self, data: bytes) -> None:
        sync(self.store.set(self.key, default_buffer_prototype().buffer.from_bytes(data)))

    def delete(self) -> None:
        sync(self.store.delete(self.key))

    def sibling(self, suffix: str) -> _KeyIO:
        return _KeyIO(self.store, self.key + suffix)


def _io(address: Address) -> _FileIO | _KeyIO:
    store = address.store
    if store is None:
        import fsspec

        fs, path = fsspec.core.url_to_fs(address.location, **address.storage_options)
        return _FileIO(fs, path.rstrip("/") + LEASE_SUFFIX)
    if isinstance(store, FsspecStore):
        return _FileIO(store.fs, store.path.rstrip("/") + LEASE_SUFFIX)
    return _KeyIO(store, LEASE_KEY)


class Lease:
    """The lease of a remote store, renewed while the store is open."""

    def __init__(self, address: Address, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.location = address.location
        self.lease_seconds = lease_seconds
        self._io = _io(address)
        self._token = uuid.uuid4().hex
        self._stop = threading.Event()
        self.lost = False
        self.failing = False  # the last renewal failed
        guarded(self.location, "taking the writer lease", self._take)
        self._renewer = threading.Thread(target=self._renew_loop, daemon=True)
        self._renewer.start()

    def _content(self) -> bytes:
        expires = time.time() + self.lease_seconds
        return json.dumps({**holder(), "token": self._token, "expires": expires}).encode()

    def _current(self) -> dict[str, Any] | None:
        return _parse(self._io.read())

    def _take(self) -> None:
        with _LIVE_LOCK:  # before it exists: no thread of ours takes it for dead
            _LIVE[self._token] = self
        try:
            for _ in range(3):
                if self._io.create(self._content()):
                    return
                current = self._current()
                if current is None:
                    continue  # released meanwhile: try again
                if float(current.get("expires", 0)) > time.time() and not _dead(current):
                    raise locked_error(self.location, current, lease=True)
                self._reclaim(current)  # expired, or its holder is known to be dead
            raise locked_error(self.location, self._current(), lease=True)
        except BaseException:
            with _LIVE_LOCK:
                _LIVE.pop(self._token, None)
            raise

    def _reclaim(self, dead: dict[str, Any]) -> None:
        """Delete the ``dead`` lease, unless another reclaimer is doing so: the one
        that creates the claim named after its token deletes it."""
        claim = self._io.sibling(CLAIM_SUFFIX + str(dead.get("token", "")))
        if not claim.create(self._content()):
            other = _parse(claim.read())
            if other is not None and float(other.get("expires", 0)) < time.time():
                claim.delete()  # left by a reclaimer that died: the next round claims
            return  # another reclaimer's: the next round sees what it left
        try:
            if self._current() == dead:
                self._io.delete()
        finally:
            claim.delete()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                current = self._current()
                if current is None or current.get("token") != self._token:
                    self.lost = True
                    return
                self._io.write(self._content())
                self.failing = False
            except Exception:  # a network hiccup: the next round tries again
                self.failing = True  # meanwhile this process may take the lease over
                continue

    @property
    def live(self) -> bool:
        """Held and renewed: not released, not lost, its last renewal succeeded."""
        return not (self._stop.is_set() or self.lost or self.failing)

    def release(self) -> None:
        with _LIVE_LOCK:
            _LIVE.pop(self._token, None)
        self._stop.set()
        self._renewer.join(timeout=5)
        try:
            current = self._current()
            if current is not None and current.get("token") == self._token:
                self._io.delete()
        except Exception:  # unreachable now: the lease expires by itself
            pass


def _dead(found: dict[str, Any]) -> bool:
    """Is the holder of the lease ``found`` known to be dead?  Of this process: its
    lease is not one this process holds and renews.  Of this host: its pid no longer
    runs.  Of another host: not known."""
    if found.get("host") != socket.gethostname() or not isinstance(found.get("pid"), int):
        return False
    if found["pid"] == os.getpid():
        with _LIVE_LOCK:
            lease = _LIVE.get(str(found.get("token")))
        return lease is None or not lease.live
    try:
        os.kill(found["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it runs, as another user
        return False
    return False


def _parse(raw: bytes | None) -> dict[str, Any] | None:
    """A lease (or claim) object's content; ``{}`` for one that is no JSON object."""
    if raw is None:
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
