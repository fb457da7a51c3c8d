"""How nodes are laid out in a backend: keys, names, order, dimensions, replacement.

One :class:`Core` per open store, the only object that calls its backend.  It keeps
an index of each group's children (user name -> stored name, kind, position),
loaded once per group and kept up to date by every write, so writes never re-list a
growing group.  Key order is kept by an ``_xs_seq`` attribute on every child
(netCDF lists variables and groups separately and zarr lists by name, so neither
backend keeps it by itself).

Keys are resolved by the core and nowhere else (:meth:`Core.resolve`, from
:mod:`xstore.core.keys`): every face walks a ``/``-separated key by the same rule.
Names and dimensions of a write are planned before any I/O (:mod:`xstore.core.plan`).
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
    redo_of,
    seq_attr,
)
from xstore.core.dims import DimCache, GroupAround
from xstore.core.entries import (
    Entry,
    PendingRecords,
)
from xstore.core.keys import Keys
from xstore.core.plan import FORMAT_1, Plan, plan_node, record_dim_name, same_attr
from xstore.core.reading import Reading
from xstore.errors import StoreError
from xstore.model import FORMAT, FORMAT_VERSION, SEQ, STRING, Node, Tree, Var, tag_of
from xstore.names import Path, encode_name, escape_name


class Core(Keys, Committing, Reading):
    """The open store below the faces: index, key resolution, node reads and writes.
    Reading variables is :class:`Reading`; the commit protocol (generations, staged
    replacements) is :class:`Committing`."""

    def __init__(self, backend: Backend, *, new: bool = False) -> None:
        self._backend = backend
        self._index: dict[Path, dict[str, Entry]] = {}
        self._next_seq: dict[Path, int] = {}
        self._attrs: dict[Path, dict[str, Any]] = {}  # raw attributes, read once per node
        self._records: PendingRecords | None = None
        self._dims = DimCache(backend.dims)
        self.closed = False
        if new:
            backend.set_attrs((), {FORMAT: FORMAT_VERSION})
        root = backend.attrs(())
        #: how unnamed axes are named: format-1 stores keep their own naming
        written = str(root.get(FORMAT, FORMAT_VERSION))
        self.naming = FORMAT_1 if written == FORMAT_1 else FORMAT_VERSION
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

    def _forget(self, prefix: Path) -> None:
        self._dims.clear()
        for path in [p for p in self._index if p[: len(prefix)] == prefix]:
            del self._index[path]
            self._next_seq.pop(path, None)
        for path in [p for p in self._attrs if p[: len(prefix)] == prefix]:
            del self._attrs[path]

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
    def dims(self, group: Path) -> dict[str, int]:
        """Dimensions (stored names) defined in ``group``, with their sizes (cached)."""
        return self._dims(group)

    def record_dim_name(self, record_dim: str) -> str:
        """The stored name of a user's record dimension in this store."""
        return record_dim_name(record_dim, self.naming)

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
        plan = self._plan(group, final, node)
        if plan.clash and old is None:  # named like a dimension of the group: escaped
            final = escape_name(name)
            plan = self._plan(group, final, node)
        if old is not None and self._changes.uncommitted((*group, old.stored)):
            if self._overwrite_in_place(group, old, plan):
                return
            self._remove((*group, old.stored))  # written since the last commit: gone for good
            seq = old.seq
            plan = self._plan(group, old.stored, node, final, removed=old.stored)
        elif old is not None or (group, final) in self._changes.ops:
            # a committed value stays until the commit; the new one is written beside it
            if old is not None:
                self._retire((*group, old.stored))
            seq = old.seq if old is not None else self._take_seq(group)
            staged = self._changes.staged_name()
            self._changes.ops[(group, final)] = staged
            plan = self._plan(group, staged, node, final)
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
        self._dims.changed(node[:-1])

    def write_part(self, node: Path, data: np.ndarray, index: Index) -> None:
        """Overwrite part of a variable within its current shape."""
        self._backend.write(node, data, index)

    def _take_seq(self, group: Path) -> int:
        seq = self._next_seq.get(group, 0)
        self._next_seq[group] = seq + 1
        return seq

    def _undo(self, group: Path, stored: str, exc: BaseException) -> None:
        """Remove a half-written node after a failed write (the failure propagates)."""
        self._dims.clear()
        present = any(child == stored for child, _ in self._backend.children(group))
        if not present:
            return
        try:
            self._backend.delete((*group, stored))
        except Exception as cleanup:  # keep the original error; report this one with it
            exc.add_note(f"xstore could not remove the half-written {stored!r}: {cleanup}")
        self._forget((*group, stored))

    def _plan(
        self,
        group: Path,
        stored: str,
        node: Node,
        final: str | None = None,
        removed: str | None = None,
    ) -> Plan:
        """Plan writing ``node`` as ``stored`` (named ``final`` once committed) into
        ``group``: names and dimensions, checked against the store (no I/O).
        ``removed``: a child just removed, still in the index until it is replaced."""
        around = GroupAround(group, self.naming, self._dims, self.index, removed)
        return plan_node(len(group), stored, node, around, final=final)

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
            self._dims.changed(group)
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

    def unreadable_arrays(self, node: Path) -> list[tuple[Path, Exception]]:
        """Every stored array under ``node`` (itself, if an array) that cannot be read
        whole, with the reason: ``xstore check`` names each, not just the first."""
        found: list[tuple[Path, Exception]] = []
        for name, is_group in self._backend.children(node):
            child = (*node, name)
            if is_group:
                found.extend(self.unreadable_arrays(child))
                continue
            try:
                self._backend.read(child)
            except Exception as exc:  # damage of any kind: reported, not raised
                found.append((child, exc))
        return found

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
