"""The index of each group and key resolution: the part of the core that says what
a key names.

Every face walks a ``/``-separated key by the same rule (:meth:`Keys.resolve`):
through plain groups, stored dicts, tables of records, stored objects (dataclasses,
Storables, ``__getstate__`` state) and the items of stored lists and tuples
(:mod:`xstore.core.items`), so ``store["run/params/T"]`` reads one field of a stored
object and ``store["runs/-1/T"]`` one of the last item of a list without restoring
the rest.  Only plain groups and dicts can be written through
(:attr:`~xstore.core.entries.Resolved.writable`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xstore.backends.base import Backend, VarInfo
from xstore.core.commits import Changes, Ops, is_staged, parse_seq, virtual_names
from xstore.core.entries import (
    TABLE_TAG,
    TRAVERSABLE,
    WRITABLE_THROUGH,
    Entry,
    Kind,
    Resolved,
)
from xstore.core.items import SEQUENCE_TAGS, item_position, why_not
from xstore.errors import StoreError
from xstore.model import SEQ, TYPE, Tree, tag_of
from xstore.names import Path, check_key_name, decode_name, is_internal, split_key


class Keys:
    """The index and key resolution of :class:`xstore.core.layout.Core` (mixed into it)."""

    _backend: Backend
    _index: dict[Path, dict[str, Entry]]
    _next_seq: dict[Path, int]
    _redo_view: Ops
    _changes: Changes

    if TYPE_CHECKING:  # provided by the Core (and Committing) this is mixed into

        @property
        def location(self) -> str: ...

        def attrs(self, node: Path) -> dict[str, Any]: ...

        def info(self, node: Path) -> VarInfo: ...

        def create_group(self, group: Path, name: str) -> Entry: ...

        def _leftover(self, group: Path, stored: str) -> None: ...

    # -- the index -----------------------------------------------------------------------
    def index(self, group: Path) -> dict[str, Entry]:
        """Children of ``group`` by user name, in key order (loaded on first use).
        The dict is the core's own: do not change it."""
        idx = self._index.get(group)
        if idx is None:
            idx = self._load_index(group)
        return idx

    def _load_index(self, group: Path) -> dict[str, Entry]:
        rows: list[tuple[tuple[int, int], str, Entry]] = []
        seen: set[str] = set()  # a key stored under two spellings is crafted
        # keys of a plain group below the root were checked when written; the root also
        # holds the keys of a saved dict, which may be any str
        plain = group != () and TYPE not in self.attrs(group)
        ops = self._redo_view or self._changes.ops
        children = self._backend.children(group)
        names = {name for name, _ in children}
        shown, gone = virtual_names(ops, group, names) if ops else ({}, set())
        for position, (stored, is_group) in enumerate(children):
            final = shown.get(stored, stored)
            if (is_internal(stored) and stored not in shown) or stored in gone:
                if is_staged(stored):
                    self._leftover(group, stored)
                continue
            path = (*group, stored)
            attrs = self.attrs(path)
            try:
                parsed = parse_seq(attrs.get(SEQ))
                name = decode_name(final)
                if plain:
                    check_key_name(name, final)
            except (ValueError, TypeError) as exc:
                where = "/" + "/".join((*group, stored))
                raise StoreError(
                    f"{where} in {self.location} is damaged or crafted: {exc}"
                ) from exc
            if parsed and parsed[1] > self._changes.gen and path not in self._changes.written:
                self._leftover(group, stored)  # written after the last commit by a killed writer
                continue
            seq = parsed[0] if parsed else -1
            entry = Entry(stored, is_group, seq, tag_of(Tree(attrs)))
            order = (0, seq) if parsed else (1, position)
            if name in seen:
                where = "/" + "/".join((*group, stored))
                raise StoreError(f"{where} in {self.location} repeats the key {name!r} (crafted?)")
            seen.add(name)
            rows.append((order, name, entry))
        rows.sort(key=lambda row: row[0])
        idx = {name: entry for _, name, entry in rows}
        next_seq = max((e.seq for e in idx.values()), default=-1) + 1
        for entry in idx.values():  # children written by other tools: number them after ours
            if entry.seq < 0:
                entry.seq = next_seq
                next_seq += 1
        self._index[group] = idx
        self._next_seq[group] = next_seq
        return idx

    # -- keys ----------------------------------------------------------------------------
    def resolve(self, group: Path, key: str) -> Resolved:
        """Walk ``key`` (a name or ``/``-separated relative path) from ``group``.

        Raises ``TypeError`` for a key that is not a str and ``ValueError`` for an
        empty, ``.``/``..`` or otherwise unsafe name; never creates anything.
        """
        parts = split_key(key)
        stored, tag, writable = group, None, True
        for depth, part in enumerate(parts):
            index = self.index(stored)
            if tag in SEQUENCE_TAGS:  # an item of a stored list: its position is its name
                at = item_position(part, len(index))
                if at is None:
                    why = why_not(part, len(index), str(tag), "/".join(parts[:depth]))
                    return Resolved(parts, stored, depth, None, tag, writable, problem=why)
                part = str(at)
                parts = (*parts[:depth], part, *parts[depth + 1 :])
            entry = index.get(part)
            if entry is None or depth == len(parts) - 1:
                return Resolved(parts, stored, depth, entry, tag, writable)
            if not entry.is_group and entry.tag in SEQUENCE_TAGS and depth == len(parts) - 2:
                return self._item(parts, stored, depth, entry, tag)
            if not entry.is_group or entry.tag not in TRAVERSABLE:
                return Resolved(parts, stored, depth, entry, tag, writable)
            stored, tag = (*stored, entry.stored), entry.tag
            writable = writable and tag in WRITABLE_THROUGH
        raise AssertionError("unreachable: split_key never returns an empty key")

    def _item(
        self, parts: tuple[str, ...], parent: Path, depth: int, entry: Entry, tag: str | None
    ) -> Resolved:
        """Where the last of ``parts`` leads in ``entry``, a list stored as one array
        (of numbers or strings): one of its items, or nowhere (with the reason)."""
        shape = self.info((*parent, entry.stored)).shape
        length = shape[0] if shape else 0
        at = item_position(parts[-1], length)
        if at is None:
            why = why_not(parts[-1], length, str(entry.tag), "/".join(parts[:-1]))
            return Resolved(parts, parent, depth, entry, tag, False, problem=why)
        parts = (*parts[:-1], str(at))
        return Resolved(parts, parent, depth, entry, tag, False, item=at)

    def kind(self, parent: Path, entry: Entry) -> Kind:
        if entry.plain_group:
            return Kind.GROUP
        if entry.is_group:
            if entry.tag == TABLE_TAG:
                return Kind.TABLE
            return Kind.MAPPING if entry.tag == "dict" else Kind.VALUE
        return Kind.SERIES if self.info((*parent, entry.stored)).unlimited else Kind.VALUE

    def create_groups(self, group: Path, names: tuple[str, ...]) -> Path:
        """Create plain groups ``names`` (each inside the previous) in ``group``."""
        for name in names:
            group = (*group, self.create_group(group, name).stored)
        return group
