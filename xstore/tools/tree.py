"""What ``xstore tree`` shows: groups, variables, shapes, dtypes, record counts, types."""

from __future__ import annotations

from collections.abc import Iterator

from xstore.codecs.arrays import dtype_from_str
from xstore.core.entries import Entry
from xstore.core.layout import Core
from xstore.core.session import Session
from xstore.model import DTYPE
from xstore.names import Path, decode_name, is_internal


def _variable_line(core: Core, path: Path, entry: Entry) -> str:
    info = core.info(path)
    attrs = core.attrs(path)
    dtype = dtype_from_str(str(attrs[DTYPE])) if DTYPE in attrs else info.dtype
    kind = "str" if dtype.kind in "OU" else str(dtype)
    shape = core.shape(path)
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


def describe(session: Session) -> Iterator[str]:
    """Lines of a tree view: groups, variables, shapes, dtypes, record counts, types."""
    core = session.layout
    version = core.format_version() or "none (not written by xstore)"
    yield f"{session.location}  ({session.backend_name}, xstore format {version})"
    yield from _walk(core, (), "")
