"""One writer per store: an OS lock beside a local store, a lease object for a URL store.

Local files, zips and directories are locked with ``fcntl.flock`` on a hidden lock
file beside them (``.NAME.xstore.lock``).  The lock belongs to the open file, so it
dies with the process (a killed writer never blocks the next one) and a second open
in the same process conflicts like another process does.  The lock file records the
holder (pid, host, since, program) for the error message of the next writer, and is
removed when the lock is released; a writer that finds the file replaced between
opening and locking it starts again, so two writers can never both hold it.

URL stores (``s3://...``) and zarr store objects cannot be locked by the OS: they
get a lease (:mod:`xstore.backends.lease`).
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import Any, Protocol

from xstore.backends.address import Address
from xstore.backends.files import local_path
from xstore.backends.holders import holder, locked_error
from xstore.backends.lease import DEFAULT_LEASE_SECONDS, LEASE_SUFFIX, Lease

__all__ = ["DEFAULT_LEASE_SECONDS", "LEASE_SUFFIX", "FileLock", "WriterLock", "acquire"]

LOCK_SUFFIX = ".xstore.lock"


class WriterLock(Protocol):
    """Held by the one writer of a store until :meth:`release`."""

    def release(self) -> None: ...


def lock_path(location: str) -> str:
    """The lock file of a local store (beside it, so replacing the store keeps it)."""
    folder, name = os.path.split(os.path.abspath(local_path(location).rstrip("/")))
    return os.path.join(folder, f".{name}{LOCK_SUFFIX}")


class FileLock:
    """An exclusive ``flock`` on the lock file of a local store."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.path = lock_path(location)
        self._fd: int | None = None
        while self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                found = _read_holder(fd)
                os.close(fd)
                raise locked_error(location, found) from None
            except BaseException:
                os.close(fd)
                raise
            if _same_file(fd, self.path):
                self._fd = fd
            else:  # released (and removed) by its holder between our open and flock
                os.close(fd)
        text = json.dumps(holder()).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text, 0)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.unlink(self.path)  # still holding the lock: nobody else has it yet
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)


def _same_file(fd: int, path: str) -> bool:
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (current.st_dev, current.st_ino)


def _read_holder(fd: int) -> dict[str, Any] | None:
    try:
        found = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def acquire(address: Address, *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> WriterLock:
    """The writer lock of the store at ``address`` (``StoreLockedError`` if held)."""
    if address.remote:
        return Lease(address, lease_seconds)
    return FileLock(address.location)
