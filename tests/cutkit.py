"""A URL save that loses the network at a chosen request, and what every reader sees.

:func:`cut_save` saves :data:`NEW` over :data:`OLD` at an S3 URL through a
:class:`~cutproxy.CutProxy` that cuts the connection at the n-th request the server
receives (before or after the server acts on it), then looks at the store as xstore
and as plain xarray read it, asks ``check``, lets the next writer open the store, and
looks again.  :func:`faults` says which promises an outcome breaks; the test and
``tests/stress/run_url_cuts.py`` share both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import s3fs
import xarray as xr
from cutproxy import CutProxy, cut_at_request
from s3server import S3, S3Server

import xstore
from xstore.backends.lease import LEASE_SUFFIX
from xstore.tools.check import check

OLD = {"a": np.arange(4), "gone": {"x": np.arange(3.0)}}
NEW = {"a": np.arange(8), "b": {"c": np.ones(2)}}
#: storage options that fail at once when the connection is lost (no retries)
FAIL_FAST = {"retries": {"max_attempts": 1}, "connect_timeout": 1, "read_timeout": 5}


def fail_fast() -> None:
    """s3fs retries a lost connection five times with back-off: once is enough here."""
    s3fs.S3FileSystem.retries = 1


def _shape(children: set[str], length: int) -> str:
    if children == {"gone"} and length == 4:
        return "old"
    if children == {"b"} and length == 8:
        return "new"
    return f"mixed: groups {sorted(children)}, a of {length}"


def _xstore_view(s3: S3) -> str:
    try:
        loaded = xstore.load(s3.url, storage_options=s3.options)
    except xstore.StoreError as exc:
        return "none" if "started its switch" in str(exc) else f"StoreError: {exc}"
    except FileNotFoundError:
        return "none"
    return _shape({k for k, v in loaded.items() if isinstance(v, dict)}, len(loaded["a"]))


def _plain_view(s3: S3) -> str:
    try:
        tree = xr.open_datatree(s3.url, engine="zarr", storage_options=s3.options)
    except FileNotFoundError:
        return "none"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return _shape(set(tree.children), tree["a"].size)


def views(s3: S3) -> tuple[str, str]:
    """What xstore and plain xarray read at the store: old, new, none, or else."""
    s3.fs().invalidate_cache()  # listings cached from before the cut are stale
    return _xstore_view(s3), _plain_view(s3)


def hidden(s3: S3) -> list[str]:
    """xstore's own keys at the store but its lease: staged copies, intent records."""
    return [k for k in s3.bucket_keys() if ".xstore-" in k and not k.endswith(LEASE_SUFFIX)]


def requests_of_a_save(server: S3Server, s3: S3) -> list[tuple[str, str]]:
    """The requests a save of NEW over OLD makes, in order (OLD is saved again after)."""
    xstore.save(OLD, s3.url, mode="zarr", storage_options=s3.options)
    proxy = CutProxy(server.port)
    start = len(server.log())
    try:
        options = {**s3.options, "endpoint_url": proxy.endpoint}
        xstore.save(NEW, s3.url, mode="zarr", storage_options=options)
    finally:
        proxy.close()
    return server.log()[start:]


@dataclass
class Outcome:
    step: int
    acted: bool
    error: str | None = None  # what the cut-off save raised (None: it succeeded)
    before: tuple[str, str] = ("", "")  # (xstore, plain xarray) after the cut
    hidden: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what check said then
    after: tuple[str, str] = ("", "")  # after the next writer opened the store
    left: list[str] = field(default_factory=list)  # xstore keys left after that
    problems_after: list[str] = field(default_factory=list)


def cut_save(server: S3Server, s3: S3, step: int, *, acted: bool) -> Outcome:
    """Save NEW over OLD, losing the connection at request ``step`` (see the module)."""
    xstore.save(OLD, s3.url, mode="zarr", storage_options=s3.options)
    outcome = Outcome(step, acted)
    proxy = CutProxy(server.port)
    try:
        options = {**s3.options, "endpoint_url": proxy.endpoint}
        with cut_at_request(server, proxy, step, acted=acted):
            try:
                xstore.save(NEW, s3.url, mode="zarr", storage_options=options)
            except xstore.StoreError as exc:
                outcome.error = str(exc)
    finally:
        proxy.close()
        s3fs.S3FileSystem.clear_instance_cache()  # one per proxy's endpoint otherwise
    outcome.before = views(s3)
    outcome.hidden = hidden(s3)
    outcome.problems = check(s3.url, storage_options=s3.options)
    with xstore.open(s3.url, "a", storage_options=s3.options):
        pass  # the next writer
    outcome.after = views(s3)
    outcome.left = [k for k in s3.bucket_keys() if ".xstore-" in k]
    outcome.problems_after = check(s3.url, storage_options=s3.options)
    return outcome


def faults(o: Outcome) -> list[str]:
    """The promises ``o`` breaks (empty: none)."""
    found: list[str] = []

    def need(ok: Any, what: str) -> None:
        if not ok:
            found.append(what)

    need(o.before[0] == o.before[1], f"xstore reads {o.before[0]!r}, plain xarray {o.before[1]!r}")
    need(o.before[0] in ("old", "new", "none"), f"after the cut the store reads {o.before[0]!r}")
    need(o.error is not None or o.before[0] == "new", "the save succeeded, the store is not new")
    need(bool(o.problems) or not o.hidden, f"check says nothing of {o.hidden}")
    need(o.after[0] == o.after[1], f"after the next writer: {o.after}")
    settled = "new" if o.before[0] == "none" else o.before[0]
    need(o.after[0] == settled, f"the next writer left {o.after[0]!r}, not {settled!r}")
    need(not o.left, f"left behind after the next writer: {o.left}")
    need(not o.problems_after, f"check after the next writer: {o.problems_after}")
    return found
