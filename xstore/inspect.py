"""What ``xstore tree`` and ``xstore check`` report about a store."""

from __future__ import annotations

from collections.abc import Iterator

from xstore.codecs.arrays import dtype_from_str
from xstore.core import Core, Entry
from xstore.errors import PickleNotAllowedError, StoreError
from xstore.names import Path
from xstore.nodes import DTYPE, FORMAT
from xstore.store import Store


def _variable_line(core: Core, path: Path, entry: Entry) -> str:
    info = core.backend.info(path)
    attrs = core.attrs(path)
    dtype = dtype_from_str(str(attrs[DTYPE])) if DTYPE in attrs else info.dtype
    kind = "str" if dtype.kind == "O" else str(dtype)
    shape = (core.length(path), *info.shape[1:]) if info.unlimited else info.shape
    parts = [kind, str(shape)]
    if entry.tag:
        parts.append(entry.tag)
    if info.unlimited:
        dim = info.dims[0]
        shared = "" if dim.startswith("_xs_") else f", record dim {dim!r}"
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


def check(location: str) -> list[str]:
    """Problems found in a store (empty if every node reads back)."""
    from xstore.api import open as open_store

    try:
        store = open_store(location, "r")
    except (StoreError, OSError, ValueError) as exc:
        return [f"cannot open: {exc}"]
    problems: list[str] = []
    with store:
        core = store._live_core()
        problems.extend(_check_group(store, core, (), "/"))
        for hook in core.hooks:
            problems.extend(hook.problems())
    return problems


def _check_group(store: Store, core: Core, group: Path, where: str) -> list[str]:
    problems: list[str] = []
    try:
        entries = list(core.index(group).items())
    except Exception as exc:  # report and go on: check lists every damaged node
        return [f"{where}: cannot list the group: {exc}"]
    for name, entry in entries:
        path = (*group, entry.stored)
        label = f"{where.rstrip('/')}/{name}"
        try:
            if entry.is_group and entry.tag is None:
                problems.extend(_check_group(store, core, path, label))
                continue
            node = core.read_node(path, entry.is_group)
            store._decode(node, f"store[{label[1:]!r}]")
        except PickleNotAllowedError:
            continue  # pickles are not damage; reading them is just not allowed here
        except Exception as exc:  # report and go on: check lists every damaged node
            problems.append(f"{label}: {type(exc).__name__}: {exc}")
    return problems
