"""One writer per store: an OS lock beside a local store, a lease object for a URL store.

Local files, zips and directories are locked with ``fcntl.flock`` on a hidden lock
file beside them (``.NAME.xstore.lock``).  The lock belongs to the open file, so it
dies with the process (a killed writer never blocks the next one) and a second open
in the same process conflicts like another process does.  The lock file records the
holder (pid, host, since, program) for the error message of the next writer, and is
removed when the lock is released; a writer that finds the file replaced between
opening and locking it starts again, so two writers can never both hold it.

URL stores (``s3://...``) cannot be locked by the OS.  They get a *lease*: a small
JSON object beside the store, created with an exclusive (conditional) put where the
file system supports it, renewed by a background thread while the store is open and
treated as expired ``lease_seconds`` after its last renewal.  Where the object store
cannot create exclusively, the lease still names the holder but two writers starting
at the same instant could both take it (see docs/series.md).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
import time
import uuid
from typing import Any, Protocol

from xstore.backends.files import is_url, local_path
from xstore.errors import StoreLockedError

LOCK_SUFFIX = ".xstore.lock"
LEASE_SUFFIX = ".xstore-lease.json"
DEFAULT_LEASE_SECONDS = 60.0


class WriterLock(Protocol):
    """Held by the one writer of a store until :meth:`release`."""

    def release(self) -> None: ...


def _holder() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "program": " ".join(sys.argv)[:200] or sys.executable,
    }


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another writer (it is just starting)"
    same = holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname()
    who = "another open store of this process" if same else f"pid {holder.get('pid')}"
    program = f", running {holder['program']!r}" if holder.get("program") and not same else ""
    return f"{who} on host {holder.get('host')} since {holder.get('since')}{program}"


def _locked_error(location: str, holder: dict[str, Any] | None) -> StoreLockedError:
    return StoreLockedError(
        f"{location} is open for writing by {_describe(holder)}; one writer at a time: "
        "close it there first (a writer that was killed releases it at once), or open "
        "it with mode 'r' to read"
    )


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
                holder = _read_holder(fd)
                os.close(fd)
                raise _locked_error(location, holder) from None
            except BaseException:
                os.close(fd)
                raise
            if _same_file(fd, self.path):
                self._fd = fd
            else:  # released (and removed) by its holder between our open and flock
                os.close(fd)
        text = json.dumps(_holder()).encode()
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
        holder = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


class Lease:
    """A lease object beside a URL store, renewed while the store is open."""

    def __init__(
        self,
        location: str,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        import fsspec

        self.location = location
        self.lease_seconds = lease_seconds
        self.fs, path = fsspec.core.url_to_fs(location, **(storage_options or {}))
        self.path = path.rstrip("/") + LEASE_SUFFIX
        self._token = uuid.uuid4().hex
        self._stop = threading.Event()
        self.lost = False
        self._take()
        self._renewer = threading.Thread(target=self._renew_loop, daemon=True)
        self._renewer.start()

    def _content(self) -> bytes:
        expires = time.time() + self.lease_seconds
        return json.dumps({**_holder(), "token": self._token, "expires": expires}).encode()

    def _current(self) -> dict[str, Any] | None:
        try:
            found = json.loads(self.fs.cat_file(self.path))
        except FileNotFoundError:
            return None
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def _take(self) -> None:
        for _ in range(3):
            try:
                with self.fs.open(self.path, "xb") as handle:
                    handle.write(self._content())
                return
            except FileExistsError:
                current = self._current()
                if current is None:
                    continue  # released meanwhile: try again
                if float(current.get("expires", 0)) > time.time():
                    raise _locked_error(self.location, current) from None
                self.fs.rm_file(self.path)  # expired: its holder died without releasing
        raise _locked_error(self.location, self._current())

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                current = self._current()
                if current is None or current.get("token") != self._token:
                    self.lost = True
                    return
                self.fs.pipe_file(self.path, self._content())
            except Exception:  # a network hiccup: the next round tries again
                continue

    def release(self) -> None:
        self._stop.set()
        self._renewer.join(timeout=5)
        try:
            current = self._current()
            if current is not None and current.get("token") == self._token:
                self.fs.rm_file(self.path)
        except OSError:
            pass  # the lease expires by itself


def acquire(
    location: str,
    *,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    storage_options: dict[str, Any] | None = None,
) -> WriterLock:
    """The writer lock of the store at ``location`` (``StoreLockedError`` if held)."""
    if is_url(location):
        return Lease(location, lease_seconds, storage_options)
    return FileLock(location)
