"""What ``xstore check`` reports about a store."""

from __future__ import annotations

import glob
import os
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from xstore.backends import registry
from xstore.backends.address import Address, address_of
from xstore.errors import PickleNotAllowedError, StoreError
from xstore.faces.api import open_session
from xstore.faces.attributes import Attributes
from xstore.faces.store import Group, Store
from xstore.names import Path, decode_name, is_internal


def check(
    location: Any,
    *,
    backend: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """What is wrong with a store, one line per problem (empty: all is well).

    Every value must read back (every chunk, checked against its checksum) and
    every attribute decode; series sharing a record dimension must have equal
    lengths; a store must match its commit record (and zarr arrays their consolidated
    metadata); temporary files left by a killed writer are reported (they are safe
    to delete), and so are a URL save's interrupted switch and orphaned copies.
    Values that need ``allow_pickle`` or ``trust`` are read but not restored:
    refusing them is not damage.  ``storage_options``: fsspec's, for a URL.
    """
    address = address_of(location, storage_options)
    problems: list[str] = []
    try:
        problems.extend(_leftovers(address, backend))
        session = open_session(address, "r", backend=backend)
    except (StoreError, OSError, ValueError) as exc:
        return [*problems, f"cannot open: {exc}"]
    try:
        for look in (
            lambda: registry.get(session.backend_name).problems(address.location),
            lambda: _check_group(Store(session), "/"),
            session.layout.problems,
        ):
            try:
                problems.extend(look())
            except Exception as exc:  # a library failing on damage is damage too
                problems.append(f"cannot read the store's structure: {type(exc).__name__}: {exc}")
    finally:
        session.close()
    return problems


def _leftovers(address: Address, backend: str | None) -> list[str]:
    if address.remote:
        spec = registry.chosen(backend, address)
        return spec.leftovers(address)
    return [
        f"leftover from an interrupted write (safe to delete): {p}"
        for p in _leftover_files(address.location)
    ]


def _leftover_files(location: str) -> list[str]:
    folder, name = os.path.split(os.path.abspath(location.rstrip("/")))
    found = glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.xstore-*"))
    if os.path.isdir(location):
        found += glob.glob(os.path.join(glob.escape(location), "**", "*.partial"), recursive=True)
    return sorted(found)


def _check_attrs(attrs: Attributes, where: str) -> list[str]:
    problems = []
    for key in list(attrs):
        try:
            attrs[key]
        except PickleNotAllowedError:
            continue
        except Exception as exc:  # report and go on: check lists every damaged node
            problems.append(f"{where} attribute {key!r}: {type(exc).__name__}: {exc}")
    return problems


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _named(arrays: list[tuple[Path, Exception]], value: Path, label: str) -> list[str]:
    """One line per unreadable array inside the stored value at ``value``."""
    return [
        f"{label}/{'/'.join(decode_name(n) for n in node[len(value) :])}: {_reason(exc)}"
        for node, exc in arrays
    ]


def _check_group(node: Group, where: str) -> list[str]:
    session, group = node.session, node.stored_path
    core = session.layout
    try:
        entries = list(core.index(group).items())
        problems = _check_attrs(node.attrs, where)
    except Exception as exc:  # report and go on: check lists every damaged node
        return [f"{where}: cannot list the group: {exc}"]
    lengths: dict[str, dict[str, int]] = defaultdict(dict)
    for name, entry in entries:
        path = (*group, entry.stored)
        label = f"{where.rstrip('/')}/{name}"
        try:
            if entry.plain_group:
                problems.extend(_check_group(node[name], label))
                continue
            if not entry.is_group:
                info = core.info(path)
                if info.unlimited and not is_internal(info.dims[0]):
                    lengths[info.dims[0]][name] = info.shape[0]
            session.read_value(group, entry, f"store[{label[1:]!r}]")
        except PickleNotAllowedError:
            continue  # pickles are not damage; reading them is just not allowed here
        except Exception as exc:  # report and go on: check lists every damaged node
            arrays = core.unreadable_arrays(path) if entry.is_group else []
            problems.extend(_named(arrays, path, label) or [f"{label}: {_reason(exc)}"])
    for dim, members in lengths.items():
        if len(set(members.values())) > 1:
            shown = ", ".join(f"{k}={v}" for k, v in members.items())
            problems.append(
                f"{where}: series sharing record dim {decode_name(dim)!r} differ: {shown}"
            )
    return problems
