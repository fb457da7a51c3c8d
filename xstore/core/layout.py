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

from typing import Any

import numpy as np

from xstore.backends.base import Backend, Index
from xstore.backends.slabs import is_big, write_slabs
from xstore.core.chunks import record_chunks, static_chunks
from xstore.core.commits import (
    GEN,
    REDO,
    Changes,
    Committing,
    Ops,
    committed_generation,
    is_staged,
    parse_seq,
    redo_of,
    seq_attr,
    virtual_names,
)
from xstore.core.entries import (
    TABLE_TAG,
    TRAVERSABLE,
    Entry,
    Kind,
    PendingRecords,
    Resolved,
)
from xstore.core.plan import Plan, check_dims, has_user_dims, plan_node, same_attr
from xstore.core.reading import Reading
from xstore.errors import StoreError
from xstore.model import (
    FORMAT,
    FORMAT_VERSION,
    SEQ,
    STRING,
    TYPE,
    Node,
    Tree,
    Var,
    tag_of,
)
from xstore.names import (
    Path,
    check_key_name,
    decode_name,
    encode_name,
    is_internal,
    split_key,
)


class Core(Committing, Reading):
    """The open store below the faces: index, key resolution, node reads and writes.
    Reading variables is :class:`Reading`; the commit protocol (generations, staged
    replacements) is :class:`Committing`."""

    def __init__(self, backend: Backend, *, new: bool = False) -> None:
        self._backend = backend
        self._index: dict[Path, dict[str, Entry]] = {}
        self._next_seq: dict[Path, int] = {}
        self._attrs: dict[Path, dict[str, Any]] = {}  # raw attributes, read once per node
        self._records: PendingRecords | None = None
        self.closed = False
        if new:
            backend.set_attrs((), {FORMAT: FORMAT_VERSION})
        root = backend.attrs(())
        try:
            generation, redo = committed_generation(root), redo_of(root)
        except (ValueError, TypeError) as exc:
            raise StoreError(f"the commit record of {backend.location} is damaged: {exc}") from exc
        self._changes = Changes(generation)
        self._moved: dict[Path, Path] = {}  # stored paths renamed by a commit (old -> new)
        self._hidden: list[str] = []  # what a killed writer left, hidden from this reader
        self._redo_view: Ops = {} if backend.writable else redo
        if redo and backend.writable:  # finish what the last commit decided
            self._carry_out(redo)
            backend.set_attrs((), {REDO: "[]"})
            backend.flush()

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

    def copyable_attrs(self, node: Path) -> dict[str, Any]:
        """The raw attributes of a node without the core's bookkeeping (what a copy of
        the node into another store takes along)."""
        return {k: v for k, v in self.attrs(node).items() if k not in (SEQ, GEN, REDO)}

    def set_attrs(self, node: Path, update: dict[str, Any]) -> None:
        self._backend.set_attrs(node, update)
        self._attrs.pop(node, None)

    def delete_attrs(self, node: Path, names: list[str]) -> None:
        self._backend.delete_attrs(node, names)
        self._attrs.pop(node, None)

    # -- reading -------------------------------------------------------------------------
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
        old = idx.get(name)
        final = old.stored if old is not None and not is_staged(old.stored) else encode_name(name)
        plan = plan_node(len(group), final, node)
        if isinstance(node, Tree) and has_user_dims(node):
            self._check_user_dims(group, plan)
        if old is not None and self._changes.uncommitted((*group, old.stored)):
            if self._overwrite_in_place(group, old, plan):
                return
            self._remove((*group, old.stored))  # written since the last commit: gone for good
            seq = old.seq
            plan = plan_node(len(group), old.stored, node)
        elif old is not None or (group, final) in self._changes.ops:
            # a committed value stays until the commit; the new one is written beside it
            if old is not None:
                self._retire((*group, old.stored))
            seq = old.seq if old is not None else self._take_seq(group)
            staged = self._changes.staged_name()
            self._changes.ops[(group, final)] = staged
            plan = plan_node(len(group), staged, node)
        else:
            seq = self._take_seq(group)
        try:
            self._write(group, plan, seq, chunks)
        except BaseException as exc:
            idx.pop(name, None)
            self._undo(group, plan.stored, exc)
            raise
        self._changes.written.add((*group, plan.stored))
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
        old.tag = tag_of(node)
        return True

    def _write(
        self, group: Path, plan: Plan, seq: int, chunks: tuple[int, ...] | None = None
    ) -> None:
        path = (*group, plan.stored)
        attrs = {**plan.node.attrs, SEQ: seq_attr(seq, self._changes.next_gen)}
        if isinstance(plan.node, Var):
            data = plan.node.data
            shape, dtype = tuple(data.shape), np.dtype(data.dtype)
            growable = plan.node.growable
            if growable and chunks is None:
                chunks = record_chunks(shape[1:], dtype.itemsize)
            if not growable:
                chunks = static_chunks(shape, dtype.itemsize, string=dtype == STRING)
            self._backend.create_variable(
                path, data, plan.dims, attrs, unlimited=growable, chunks=chunks
            )
            self._attrs[path] = attrs
            return
        self._backend.create_group(path, attrs)  # never seen without its generation
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
        path = (*group, entry.stored)
        if self._changes.uncommitted(path):
            self._remove(path)  # written since the last commit: gone for good
            replaced = [op for op, staged in self._changes.ops.items() if staged == entry.stored]
            for op in replaced:  # ... and the committed value it was to replace goes too
                if op[0] == group:
                    self._changes.ops[op] = None
        else:  # a committed value stays until the commit
            self._retire(path)
            self._changes.ops[(group, entry.stored)] = None
        del self._index[group][name]

    def _remove(self, path: Path) -> None:
        if self._records is not None:
            self._records.forget(path)
        self._backend.delete(path)
        self._forget(path)
        self._changes.written.discard(path)

    def problems(self) -> list[str]:
        """Damage found and worked around while reading (``xstore check``)."""
        hidden = [
            f"{path}: written by a writer killed before its flush (xstore ignores it; plain "
            "readers see it; the next writable open removes it)"
            for path in self._hidden
        ]
        if self._redo_view:
            hidden.append(
                f"the last flush did not finish replacing {len(self._redo_view)} value(s) "
                "(xstore shows the new ones; plain readers may see old or staged ones; the "
                "next writable open finishes it)"
            )
        return [*self._backend.problems(), *hidden]

    def flush(self) -> None:
        """Write buffered records and make everything durable; commit what changed."""
        if self._records is not None:
            self._records.flush()
        self._backend.flush()  # the data first, durable
        self._commit()

    def close(self) -> None:
        """Flush and close.  A failed flush is raised once: the backend is then released
        without trying again (closing a second time does nothing)."""
        if self.closed:
            return
        self.closed = True
        try:
            if self._backend.writable:
                self.flush()
        except BaseException:
            try:
                if self._records is not None:
                    self._records.close()
            finally:
                self._backend.discard()
            raise
        try:
            if self._records is not None:
                self._records.close()
        finally:
            self._backend.close()
