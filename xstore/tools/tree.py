"""What ``xstore tree`` shows: groups, variables, shapes, dtypes, record counts, types,
and (with ``--attrs``) metadata; long groups are cut after ``max_items`` children and
``depth`` limits how deep it goes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from xstore.core.session import Session
from xstore.errors import PickleNotAllowedError
from xstore.faces.attributes import Attributes, ValueAttributes
from xstore.faces.display import variable_summary
from xstore.names import Path

#: children shown per group unless ``--max-items`` says otherwise
MAX_ITEMS = 25
SHORT = 60  # characters of an attribute or scalar value shown


@dataclass(frozen=True)
class _Node:
    """A node of the store as the attribute faces need it."""

    session: Session
    stored_path: Path
    path: str


def _short(text: str) -> str:
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def _attr_lines(node: _Node, plain: bool) -> Iterator[str]:
    attrs = Attributes(node) if plain else ValueAttributes(node)
    for name in attrs:
        try:
            shown = repr(attrs[name])
        except PickleNotAllowedError:
            shown = "<pickled: --allow-pickle reads it>"
        yield f"@{name} = {_short(shown)}"


class _Walk:
    def __init__(self, session: Session, depth: int | None, attrs: bool, max_items: int) -> None:
        self.session = session
        self.core = session.layout
        self.depth = depth
        self.attrs = attrs
        self.max_items = max_items

    def group(self, group: Path, where: str, prefix: str, level: int) -> Iterator[str]:
        entries = list(self.core.index(group).items())
        shown = entries if self.max_items <= 0 else entries[: self.max_items]
        hidden = len(entries) - len(shown)
        for position, (name, entry) in enumerate(shown):
            last = position == len(shown) - 1 and not hidden
            branch, below = ("└── ", "    ") if last else ("├── ", "│   ")
            path = (*group, entry.stored)
            label = f"{where.rstrip('/')}/{name}"
            if entry.is_group:
                count = len(self.core.index(path))
                kind = entry.tag or "group"
                yield f"{prefix}{branch}{name}/  {kind} ({count} keys)"
            else:
                yield f"{prefix}{branch}{name}  {variable_summary(self.core, path, entry)}"
            if self.attrs:
                node = _Node(self.session, path, label)
                for line in _attr_lines(node, entry.plain_group):
                    yield f"{prefix}{below}{line}"
            if entry.is_group and (self.depth is None or level + 1 < self.depth):
                yield from self.group(path, label, prefix + below, level + 1)
        if hidden:
            yield (
                f"{prefix}└── … {hidden:,} more of {len(entries):,} keys "
                "(--max-items N shows more, 0 all)"
            )


def describe(
    session: Session,
    *,
    depth: int | None = None,
    attrs: bool = False,
    max_items: int = MAX_ITEMS,
) -> Iterator[str]:
    """Lines of a tree view of the whole store.

    ``depth`` levels of groups are expanded (None: all), at most ``max_items``
    children are listed per group (0: all), and with ``attrs`` each node's metadata
    follow it (``@name = value``).
    """
    core = session.layout
    version = core.format_version() or "none (not written by xstore)"
    yield f"{session.location}  ({session.backend_name}, xstore format {version})"
    walk = _Walk(session, depth, attrs, max_items)
    if attrs:
        yield from _attr_lines(_Node(session, (), "/"), True)
    yield from walk.group((), "/", "", 0)


def describe_group(
    session: Session,
    group: Path,
    where: str,
    *,
    depth: int | None = 1,
    max_items: int = MAX_ITEMS,
) -> Iterator[str]:
    """Lines of a short tree of one group (what ``xstore cat`` shows for a group)."""
    yield f"{where}  (group, {len(session.layout.index(group))} keys)"
    yield from _Walk(session, depth, False, max_items).group(group, where, "", 0)
