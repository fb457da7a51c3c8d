"""What ``xstore tree`` and ``xstore check`` report about a store."""

from __future__ import annotations

import glob
import os
from collections import defaultdict
from collections.abc import Iterator

from xstore.codecs.arrays import dtype_from_str
from xstore.core import Core, Entry
from xstore.errors import PickleNotAllowedError, StoreError
from xstore.names import Path, decode_name, is_internal
from xstore.nodes import DTYPE, FORMAT
from xstore.store import Store


def _variable_line(core: Core, path: Path, entry: Entry) -> str:
    info = core.backend.info(path)
    attrs = core.attrs(path)
    dtype = dtype_from_str(str(attrs[DTYPE])) if DTYPE in attrs else info.dtype
    kind = "str" if dtype.kind in "OU" else str(dtype)
    shape = (core.length(path), *info.shape[1:]) if info.unlimited else info.shape
    parts = [kind, str(shape)]
    if entry.tag:
        parts.append(entry.tag)
    if info.unlimited:
        dim = info.dims[0]
        shared = "" if is_internal(dim) else f", record dim {decode_name(dim)!r}"
        parts.append(f"series of {shape[0]} records{shared}")
    return "  ".join(parts)


def _walk(core: Core, group: Path, prefix: str) -> Iterator[str]:
    entries = list(core.index(group).items())
    for position, (name, entry) in enumerate(entries):
        last = position == len(entries) - 1
        branch, below = ("└── ", "    ") if last else ("├── ", "│   ")
        path = (*group, entry.stored)
        if entry.is_group:
            label = f"{entry.tag} ({len(core.index(path))} keys)" if entry.tag else "group"
            yield f"{prefix}{branch}{name}/  {label}"
            yield from _walk(core, path, prefix + below)
        else:
            yield f"{prefix}{branch}{name}  {_variable_line(core, path, entry)}"


def describe(store: Store) -> Iterator[str]:
    """Lines of a tree view: groups, variables, shapes, dtypes, record counts, types."""
    core = store._live_core()
    version = core.attrs(()).get(FORMAT, "none (not written by xstore)")
    yield f"{store.location}  ({core.backend.name}, xstore format {version})"
    yield from _walk(core, (), "")


# -- check ---------------------------------------------------------------------------------


def check(location: str) -> list[str]:
    """What is wrong with a store, one line per problem (empty: all is well).

    Every value must read back; series sharing a record dimension must have equal
    lengths; a zarr store must match its commit record; temporary files left by a
    killed writer are reported (they are safe to delete).
    """
    from xstore.api import open as open_store

    problems = [
        f"leftover from an interrupted write (safe to delete): {p}" for p in _leftovers(location)
    ]
    try:
        store = open_store(location, "r")
    except (StoreError, OSError, ValueError) as exc:
        return [*problems, f"cannot open: {exc}"]
    with store:
        core = store._live_core()
        if core.backend.name == "netcdf":
            from xstore.backends.hdf5_tools import short_series, uncommitted_records

            problems.extend(
                f"series shorter than its frames: {line}" for line in short_series(location)
            )
            problems.extend(
                f"interrupted flush (xstore reads up to the commit record and truncates on the "
                f"next writable open; other readers see these records): {line}"
                for line in uncommitted_records(location)
            )
        problems.extend(_check_group(store, core, (), "/"))
        problems.extend(
            f"torn commit (repaired when opened for writing): {line}"
            for line in getattr(core.backend, "torn", ())
        )
    return problems


def _leftovers(location: str) -> list[str]:
    if "://" in location:
        return []
    folder, name = os.path.split(os.path.abspath(location.rstrip("/")))
    found = glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.xstore-*"))
    if os.path.isdir(location):
        found += glob.glob(os.path.join(glob.escape(location), "**", "*.partial"), recursive=True)
    return sorted(found)


def _check_group(store: Store, core: Core, group: Path, where: str) -> list[str]:
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
            if entry.is_group and entry.tag is None:
                problems.extend(_check_group(store, core, path, label))
                continue
            if not entry.is_group:
                info = core.backend.info(path)
                if info.unlimited and not is_internal(info.dims[0]):
                    lengths[info.dims[0]][name] = info.shape[0]
            node = core.read_node(path, entry.is_group)
            store._decode(node, f"store[{label[1:]!r}]")
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
