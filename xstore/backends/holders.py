"""Who holds a store's writer lock or lease, and the error the next writer gets."""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from xstore.errors import StoreLockedError


def holder() -> dict[str, Any]:
    """This process as a holder: pid, host, since, program."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "program": " ".join(sys.argv)[:200] or sys.executable,
    }


def describe(found: dict[str, Any] | None) -> str:
    if not found:
        return "another writer (it is just starting)"
    same = found.get("pid") == os.getpid() and found.get("host") == socket.gethostname()
    who = "another open store of this process" if same else f"pid {found.get('pid')}"
    program = f", running {found['program']!r}" if found.get("program") and not same else ""
    return f"{who} on host {found.get('host')} since {found.get('since')}{program}"


def expiry(found: dict[str, Any] | None) -> str:
    """When a lease expires unless renewed, e.g. "at 2026-12-06 19:50:04 UTC (in 42 s)"."""
    try:
        expires = float((found or {})["expires"])
    except (KeyError, TypeError, ValueError):
        return "at an unknown time (its lease object is unreadable)"
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires))
    return f"at {when} (in {max(0, round(expires - time.time()))} s)"


def locked_error(
    location: str, found: dict[str, Any] | None, *, lease: bool = False
) -> StoreLockedError:
    """The error for opening a store held by ``found``: a local OS lock, or the
    lease of a URL store (``lease=True``), which a killed writer leaves behind."""
    if lease:
        release = (
            "close it there first; the lease of a writer that stopped renewing it expires "
            f"{expiry(found)}, and one of this host whose process is gone is taken over at once"
        )
    else:
        release = "close it there first (a writer that was killed releases it at once)"
    return StoreLockedError(
        f"{location} is open for writing by {describe(found)}; one writer at a time: "
        f"{release}, or open it with mode 'r' to read.  Processes that write at the same "
        "time each write a store of their own, read together with "
        "xstore.open_datatree({name: path, ...})"
    )
