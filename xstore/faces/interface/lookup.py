"""What a path of the attribute-access face holds: the one place this face asks the
core's resolver (:meth:`xstore.core.layout.Core.resolve`), so it walks keys exactly as
``xstore.open`` does -- through plain groups and stored dicts, never into a table.
"""

from __future__ import annotations

from dataclasses import dataclass

from xstore.core.entries import TABLE_TAG, Kind
from xstore.faces.store import Store
from xstore.names import Path


@dataclass(frozen=True, slots=True)
class Found:
    """What a path holds."""

    kind: str  # "missing", "directory", "series", "table" or "value"
    depth: int  # how many components of the path it describes (fewer: an ancestor)
    stored: Path  # stored path of that node (of the deepest existing group if missing)
    tag: str | None = None  # the type tag of a group holding a value (None for variables)

    @property
    def has_keys(self) -> bool:
        """Keys lead into it: a directory or a stored dict (a static variable)."""
        return self.kind == "directory" or (self.kind == "value" and self.tag == "dict")


KIND_WORDS = {
    "directory": "a directory",
    "series": "an appendable variable",
    "table": "an appendable variable (records of dicts)",
    "value": "a static variable",
}

_KINDS = {
    Kind.SERIES: "series",
    Kind.TABLE: "table",
    Kind.VALUE: "value",
    Kind.MAPPING: "value",
}


def find(store: Store, parts: tuple[str, ...]) -> Found:
    """What ``parts`` (a path from the root) holds, or its deepest existing ancestor."""
    layout = store.session.layout
    if not parts:
        return Found("directory", 0, ())
    found = layout.resolve((), "/".join(parts))
    if found.parent_tag == TABLE_TAG:  # the interface never looks inside a table
        return Found("table", found.depth, found.parent, TABLE_TAG)
    if found.entry is None:
        return Found("missing", found.depth, found.parent)
    kind = layout.kind(found.parent, found.entry)
    if kind is Kind.GROUP:  # only the last component can end here
        return Found("directory", len(parts), found.node)
    tag = found.entry.tag if found.entry.is_group else None
    return Found(_KINDS[kind], found.depth + 1, found.node, tag)


def names(store: Store, found: Found) -> list[str]:
    """The keys of a directory or stored dict (children, in key order)."""
    return list(store.session.layout.index(found.stored))
