"""How nodes are laid out in a backend: keys, names, order, dimensions, replacement.

One :class:`Core` per open store, the only object that calls its backend.  It keeps
an index of each group's children (user name -> stored name, kind, position),
loaded once per group and kept up to date by every write, so writes never re-list a
growing group.  Key order is kept by an ``_xs_seq`` attribute on every child
(netCDF lists variables and groups separately and zarr lists by name, so neither
backend keeps it by itself).

Keys are resolved here and nowhere else (:meth:`Core.resolve`): every face walks a
``/``-separated key by the same rule, through plain groups, stored dicts and tables
of records (:data:`TRAVERSABLE`).  What a child is (:class:`Kind`) is decided here too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from xstore.backends.base import Backend, Index, VarInfo
from xstore.backends.slabs import is_big, write_slabs
from xstore.core.chunks import record_chunks, static_chunks
from xstore.core.plan import Plan, check_dims, has_user_dims, plan_node, same_attr
from xstore.model import FORMAT, FORMAT_VERSION, SEQ, ArraySource, Node, Tree, Var, tag_of
from xstore.names import Path, decode_name, encode_name, is_internal, split_key

#: group tags a key path can lead through (None: a plain group)
TRAVERSABLE = frozenset({None, "dict", "records"})
TABLE_TAG = "records"


class Kind(enum.Enum):
    """What a child of a group is."""

    GROUP = "group"  # a plain group
    MAPPING = "mapping"  # a stored dict: a value that keys can also lead into
    TABLE = "table"  # a table of records: a group of series along one record dimension
    SERIES = "series"  # a growable variable
    VALUE = "value"  # any other stored value (an array or a tagged group)


@dataclass(slots=True)
class Entry:
    """One child of a group, as the index knows it."""

    stored: str
    is_group: bool
    seq: int
    tag: str | None

    @property
    def plain_group(self) -> bool:
        """A group made by ``create_group`` (or implied by a path), not a stored value."""
        return self.is_group and self.tag is None


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where a key leads.  ``parent`` is the deepest group reached by walking the key,
    ``depth`` the number of the key's names walked to get there and ``entry`` the
    entry of the next name in ``parent`` (None: nothing is stored under it)."""

    parts: tuple[str, ...]
    parent: Path
    depth: int
    entry: Entry | None
    parent_tag: str | None = None  # the type tag of ``parent`` (None: a plain group)

    @property
    def complete(self) -> bool:
        """The walk reached the group that holds (or would hold) the key."""
        return self.depth == len(self.parts) - 1

    @property
    def found(self) -> bool:
        return self.complete and self.entry is not None

    @property
    def blocked(self) -> bool:
        """A stored value (not a group) stands where the key needs a group."""
        return not self.complete and self.entry is not None

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def node(self) -> Path:
        """Stored path of the node the walk stopped at (requires ``entry``)."""
        assert self.entry is not None
        return (*self.parent, self.entry.stored)


class PendingRecords(Protocol):
    """What the core asks of the series writer: records appended but not written."""

    def pending(self, node: Path) -> int: ...

    def buffered(self, node: Path) -> np.ndarray: ...

    def forget(self, prefix: Path) -> None: ...

    def flush(self) -> None: ...

    def stop(self) -> None: ...


class Core:
    """The open store below the faces: index, key resolution, node reads and writes."""

    def __init__(self, backend: Backend, *, new: bool = False) -> None:
        self._backend = backend
        self._index: dict[Path, dict[str, Entry]] = {}
        self._next_seq: dict[Path, int] = {}
        self._attrs: dict[Path, dict[str, Any]] = {}  # raw attributes, read once per node
        self._records: PendingRecords | None = None
        self.closed = False
        if new:
            backend.set_attrs((), {FORMAT: FORMAT_VERSION})

    def attach(self, records: PendingRecords) -> None:
        """Let the series writer's buffered records take part in reads and flushes."""
        self._records = records

    @property
    def location(self) -> str:
        return self._backend.location

    @property
    def backend_name(self) -> str:
        return self._backend.name

    @property
    def writable(self) -> bool:
        return self._backend.writable

    def make_read_only(self) -> None:
        """Refuse every change from now on (a store handed to code that must not write)."""
        self._backend.writable = False

    def require_writable(self, what: str) -> None:
        if not self._backend.writable:
            raise PermissionError(f"cannot {what}: {self.location} is open read-only (mode 'r')")

    def format_version(self) -> str | None:
        written = self.attrs(()).get(FORMAT)
        return None if written is None else str(written)

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
        for position, (stored, is_group) in enumerate(self._backend.children(group)):
            if is_internal(stored):
                continue
            attrs = self.attrs((*group, stored))
            raw_seq = attrs.get(SEQ)
            seq = int(np.asarray(raw_seq).reshape(-1)[0]) if raw_seq is not None else -1
            entry = Entry(stored, is_group, seq, tag_of(Tree(attrs)))
            order = (0, seq) if raw_seq is not None else (1, position)
            rows.append((order, decode_name(stored), entry))
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

    def _forget(self, prefix: Path) -> None:
        for path in [p for p in self._index if p[: len(prefix)] == prefix]:
            del self._index[path]
            self._next_seq.pop(path, None)
        for path in [p for p in self._attrs if p[: len(prefix)] == prefix]:
            del self._attrs[path]

    # -- keys ----------------------------------------------------------------------------
    def resolve(self, group: Path, key: str) -> Resolved:
        """Walk ``key`` (a name or ``/``-separated relative path) from ``group``.

        Raises ``TypeError`` for a key that is not a str and ``ValueError`` for an
        empty, ``.``/``..`` or otherwise unsafe name; never creates anything.
        """
        parts = split_key(key)
        stored, tag = group, None
        for depth, part in enumerate(parts):
            entry = self.index(stored).get(part)
            last = depth == len(parts) - 1
            if last or entry is None or not entry.is_group or entry.tag not in TRAVERSABLE:
                return Resolved(parts, stored, depth, entry, tag)
            stored, tag = (*stored, entry.stored), entry.tag
        raise AssertionError("unreachable: split_key never returns an empty key")

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

    # -- attributes (raw, cached) --------------------------------------------------------
    def attrs(self, node: Path) -> dict[str, Any]:
        """The raw attributes of a node; the dict is shared, do not change it."""
        attrs = self._attrs.get(node)
        if attrs is None:
            attrs = self._attrs[node] = self._backend.attrs(node)
        return attrs

    def set_attrs(self, node: Path, update: dict[str, Any]) -> None:
        self._backend.set_attrs(node, update)
        self._attrs.pop(node, None)

    def delete_attrs(self, node: Path, names: list[str]) -> None:
        self._backend.delete_attrs(node, names)
        self._attrs.pop(node, None)

    # -- reading -------------------------------------------------------------------------
    def info(self, node: Path) -> VarInfo:
        """Shape (as stored, without records buffered here), dtype and dims of a variable."""
        return self._backend.info(node)

    def shape(self, node: Path) -> tuple[int, ...]:
        """The current shape of a variable, records buffered in this process included."""
        info = self._backend.info(node)
        return (self.length(node), *info.shape[1:]) if info.unlimited else info.shape

    def chunks(self, node: Path) -> tuple[int, ...] | None:
        return self._backend.chunks(node)

    def dims(self, group: Path) -> dict[str, int]:
        """Dimensions (stored names) defined in ``group``, with their sizes."""
        return self._backend.dims(group)

    def dims_above(self, group: Path) -> set[str]:
        """Dimension names (stored) of ``group`` and of every group above it."""
        return {dim for depth in range(len(group) + 1) for dim in self.dims(group[:depth])}

    def read_node(
        self, node: Path, is_group: bool, *, parts: Callable[[Path], ArraySource] | None = None
    ) -> Node:
        """The whole subtree at ``node`` (user names, key order, raw attributes).

        With ``parts``, each variable's data is ``parts(path)`` (an array read part by
        part, e.g. :class:`~xstore.core.partial.StoredArray`) instead of its array.
        """
        attrs = {k: v for k, v in self.attrs(node).items() if k != SEQ}
        if is_group:
            children = {
                name: self.read_node((*node, e.stored), e.is_group, parts=parts)
                for name, e in self.index(node).items()
            }
            return Tree(attrs, children)
        info = self._backend.info(node)
        data = self.read_data(node) if parts is None else parts(node)
        dims = tuple(None if is_internal(d) else decode_name(d) for d in info.dims)
        return Var(data, attrs, dims, growable=info.unlimited)

    def _buffered(self, node: Path) -> np.ndarray | None:
        """Records of ``node`` buffered in this process (stored form), if any."""
        if self._records is not None and self._records.pending(node):
            return self._records.buffered(node)
        return None

    def read_data(self, node: Path) -> np.ndarray:
        """A variable's stored array, including records still buffered in this process."""
        data = self._backend.read(node)
        buffered = self._buffered(node)
        return data if buffered is None else np.concatenate([data, buffered])

    def read_slice(self, node: Path, index: Index) -> np.ndarray:
        """Part of a variable (basic indexing), reading only that part from the backend."""
        if self.closed:
            raise ValueError(f"the store {self.location} is closed; load() views before closing")
        buffered = self._buffered(node)
        if buffered is None:
            return self._backend.read(node, index)
        first, rest = (index[0], index[1:]) if index else (slice(None), ())
        written = self._backend.info(node).shape[0]
        total = written + len(buffered)
        if isinstance(first, int | np.integer):
            row = int(first) + total if first < 0 else int(first)
            if row < written:
                return self._backend.read(node, (row, *rest))
            return buffered[(row - written, *rest)]
        if not isinstance(first, slice) or (first.step or 1) < 0:
            return self.read_data(node)[index]
        start, stop, step = first.indices(total)
        if start >= stop:
            return self._backend.read(node, (slice(0, 0), *rest))
        parts = []
        if start < written:
            parts.append(self._backend.read(node, (slice(start, min(stop, written), step), *rest)))
        if stop > written:
            skip = (written - start) % step if start < written else 0
            begin = max(start, written) - written + (skip and step - skip)
            parts.append(buffered[(slice(begin, stop - written, step), *rest)])
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def length(self, node: Path) -> int:
        """Records in a growable variable, including those still buffered here."""
        length = self._backend.info(node).shape[0]
        if self._records is not None:
            length += self._records.pending(node)
        return length

    # -- writing -------------------------------------------------------------------------
    def write_node(
        self, group: Path, name: str, node: Node, *, chunks: tuple[int, ...] | None = None
    ) -> None:
        """Store ``node`` as child ``name`` of ``group``, replacing what was there.

        Names and dimensions are checked before anything is written.  A replaced key
        keeps its position; a variable of the same shape and type is overwritten in
        place.  ``chunks`` (for a growable variable) overrides the chunk policy.
        """
        self.require_writable(f"write {name!r}")
        idx = self.index(group)
        plan = plan_node(len(group), encode_name(name), node)
        if isinstance(node, Tree) and has_user_dims(node):
            self._check_user_dims(group, plan)
        old = idx.get(name)
        if old is not None:
            if self._overwrite_in_place(group, old, plan):
                return
            self._remove((*group, old.stored))
            seq = old.seq
        else:
            seq = self._take_seq(group)
        try:
            self._write(group, plan, seq, chunks)
        except BaseException as exc:
            idx.pop(name, None)
            self._undo(group, plan.stored, exc)
            raise
        # assigning to an existing key keeps its place in the dict, so order holds
        idx[name] = Entry(plan.stored, isinstance(node, Tree), seq, tag_of(node))

    def write_records(self, node: Path, start: int, block: np.ndarray) -> None:
        """Write records ``start:start+len(block)`` of a growable variable."""
        self._backend.write_records(node, start, block)

    def write_part(self, node: Path, data: np.ndarray, index: Index) -> None:
        """Overwrite part of a variable within its current shape."""
        self._backend.write(node, data, index)

    def _take_seq(self, group: Path) -> int:
        seq = self._next_seq.get(group, 0)
        self._next_seq[group] = seq + 1
        return seq

    def _undo(self, group: Path, stored: str, exc: BaseException) -> None:
        """Remove a half-written node after a failed write (the failure propagates)."""
        present = any(child == stored for child, _ in self._backend.children(group))
        if not present:
            return
        try:
            self._backend.delete((*group, stored))
        except Exception as cleanup:  # keep the original error; report this one with it
            exc.add_note(f"xstore could not remove the half-written {stored!r}: {cleanup}")
        self._forget((*group, stored))

    def _check_user_dims(self, group: Path, plan: Plan) -> None:
        """No dimension name may have two sizes on a root-to-leaf path (xarray checks)."""
        inherited: dict[str, tuple[int, str]] = {}
        for depth in range(len(group) + 1):
            ancestor = group[:depth]
            where = "/" + "/".join(decode_name(n) for n in ancestor)
            for dim, size in self.dims(ancestor).items():
                inherited[dim] = (size, where)
        check_dims(plan, inherited, "/" + "/".join(decode_name(n) for n in (*group, plan.stored)))

    def _overwrite_in_place(self, group: Path, old: Entry, plan: Plan) -> bool:
        node = plan.node
        if old.is_group or not isinstance(node, Var):
            return False
        path = (*group, old.stored)
        info = self._backend.info(path)
        data = node.data
        same = (
            not info.unlimited
            and info.shape == tuple(data.shape)
            and info.dtype == data.dtype
            and info.dims == plan.dims
            and 0 not in data.shape
        )
        if not same:
            return False
        if is_big(data):
            write = self._backend.write
            write_slabs(data, lambda part, index: write(path, part, index), self.chunks(path))
        else:
            self._backend.write(path, np.asarray(data))
        attrs = self.attrs(path)
        stale = [k for k in attrs if k not in node.attrs and k != SEQ]
        changed = {k: v for k, v in node.attrs.items() if not same_attr(attrs.get(k), v)}
        if stale:
            self.delete_attrs(path, stale)
        if changed:
            self.set_attrs(path, changed)
        self._index[group][decode_name(old.stored)].tag = tag_of(node)
        return True

    def _write(
        self, group: Path, plan: Plan, seq: int, chunks: tuple[int, ...] | None = None
    ) -> None:
        path = (*group, plan.stored)
        attrs = {**plan.node.attrs, SEQ: np.int64(seq)}
        if isinstance(plan.node, Var):
            data = plan.node.data
            shape = tuple(data.shape)
            growable = plan.node.growable
            if growable and chunks is None:
                chunks = record_chunks(shape[1:], np.dtype(data.dtype).itemsize)
            self._backend.create_variable(
                path,
                data,
                plan.dims,
                attrs,
                unlimited=growable,
                chunks=chunks if growable else static_chunks(shape),
            )
            self._attrs[path] = attrs
            return
        self._backend.create_group(path)
        self._backend.set_attrs(path, attrs)
        self._attrs[path] = attrs
        idx: dict[str, Entry] = {}
        for position, (name, child) in enumerate(plan.children):
            self._write(path, child, position)
            is_group = isinstance(child.node, Tree)
            idx[name] = Entry(child.stored, is_group, position, tag_of(child.node))
        self._index[path] = idx
        self._next_seq[path] = len(idx)

    def create_group(self, group: Path, name: str) -> Entry:
        """A new, empty, untagged group ``name`` in ``group``."""
        self.write_node(group, name, Tree())
        return self.index(group)[name]

    def delete(self, group: Path, name: str) -> None:
        self.require_writable(f"delete {name!r}")
        entry = self.index(group)[name]
        self._remove((*group, entry.stored))
        del self._index[group][name]

    def _remove(self, path: Path) -> None:
        if self._records is not None:
            self._records.forget(path)
        self._backend.delete(path)
        self._forget(path)

    # -- lifetime ------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Damage the backend found and worked around while reading (``xstore check``)."""
        return self._backend.problems()

    def flush(self) -> None:
        if self._records is not None:
            self._records.flush()
        self._backend.flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self._backend.writable and self._records is not None:
                self._records.flush()
        finally:
            if self._records is not None:
                self._records.stop()
            self._backend.close()
