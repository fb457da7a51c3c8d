"""What ``xstore check`` reports about a store."""

from __future__ import annotations

import glob
import os
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from xstore.backends import files, registry
from xstore.backends.address import address_of
from xstore.core.session import Session
from xstore.errors import PickleNotAllowedError, StoreError
from xstore.faces.api import open_session
from xstore.names import Path, decode_name, is_internal


def check(
    location: Any,
    *,
    backend: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """What is wrong with a store, one line per problem (empty: all is well).

    Every value must read back; series sharing a record dimension must have equal
    lengths; a store must match its commit record; temporary files left by a
    killed writer are reported (they are safe to delete).  ``storage_options``:
    fsspec's, for a URL.
    """
    address = address_of(location, storage_options)
    problems = [
        f"leftover from an interrupted write (safe to delete): {p}"
        for p in ([] if address.remote else _leftovers(address.location))
    ]
    try:
        session = open_session(address, "r", backend=backend)
    except (StoreError, OSError, ValueError) as exc:
        return [*problems, f"cannot open: {exc}"]
    try:
        problems.extend(registry.get(session.backend_name).problems(address.location))
        problems.extend(_check_group(session, (), "/"))
        problems.extend(session.layout.problems())
    finally:
        session.close()
    return problems


def _leftovers(location: str) -> list[str]:
    if files.is_url(location):
        return []
    folder, name = os.path.split(os.path.abspath(location.rstrip("/")))
    found = glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.xstore-*"))
    if os.path.isdir(location):
        found += glob.glob(os.path.join(glob.escape(location), "**", "*.partial"), recursive=True)
    return sorted(found)


def _check_group(session: Session, group: Path, where: str) -> list[str]:
    core = session.layout
    problems: list[str] = []
    try:
        entries = list(core.index(group).items())
    except Exception as exc:  # report and go on: check lists every damaged node
        return [f"{where}: cannot list the group: {exc}"]
    lengths: dict[str, dict[str, int]] = defaultdict(dict)
    for name, entry in entries:
        path = (*group, entry.stored)
        label = f"{where.rstrip('/')}/{name}"
        try:
            if entry.plain_group:
                problems.extend(_check_group(session, path, label))
                continue
            if not entry.is_group:
                info = core.info(path)
                if info.unlimited and not is_internal(info.dims[0]):
                    lengths[info.dims[0]][name] = info.shape[0]
            session.read_value(group, entry, f"store[{label[1:]!r}]")
        except PickleNotAllowedError:
            continue  # pickles are not damage; reading them is just not allowed here
        except Exception as exc:  # report and go on: check lists every damaged node
            problems.append(f"{label}: {type(exc).__name__}: {exc}")
    for dim, members in lengths.items():
        if len(set(members.values())) > 1:
            shown = ", ".join(f"{k}={v}" for k, v in members.items())
            problems.append(
                f"{where}: series sharing record dim {decode_name(dim)!r} differ: {shown}"
            )
    return problems
