"""How nodes are laid out in a backend: names, order, dimensions, replacement.

One :class:`Core` per open store.  It keeps an index of each group's children
(user name -> stored name, kind, position), loaded once per group and kept up to
date by every write, so writes never re-list a growing group.  Key order is kept
by an ``_xs_seq`` attribute on every child (netCDF lists variables and groups
separately and zarr lists by name, so neither backend keeps it by itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xstore.backends.base import Backend
from xstore.names import Path, decode_name, dimension_name, encode_name, is_internal
from xstore.nodes import FORMAT, FORMAT_VERSION, SEQ, TYPE, Node, Tree, Var
from xstore.series import chunk_shape


@dataclass(slots=True)
class Entry:
    """One child of a group, as the index knows it."""

    stored: str
    is_group: bool
    seq: int
    tag: str | None


@dataclass(slots=True)
class _Plan:
    """A node with its stored name and resolved dimensions, checked before any I/O."""

    stored: str
    node: Node
    dims: tuple[str, ...] = ()
    children: list[tuple[str, _Plan]] = field(default_factory=list)


class Core:
    """The open store below the faces: index, node reads and writes, lifetime."""

    def __init__(self, backend: Backend, *, new: bool = False) -> None:
        self.backend = backend
        self._index: dict[Path, dict[str, Entry]] = {}
        self._next_seq: dict[Path, int] = {}
        self._attrs: dict[Path, dict[str, Any]] = {}  # raw attributes, read once per node
        self.hooks: list[Any] = []  # objects with flush()/close() (series writers)
        self.closed = False
        if new:
            backend.set_attrs((), {FORMAT: FORMAT_VERSION})

    @property
    def location(self) -> str:
        return self.backend.location

    @property
    def writable(self) -> bool:
        return self.backend.writable

    def require_writable(self, what: str) -> None:
        if not self.backend.writable:
            raise PermissionError(f"cannot {what}: {self.location} is open read-only (mode 'r')")

    # -- the index -----------------------------------------------------------------------
    def index(self, group: Path) -> dict[str, Entry]:
        """Children of ``group`` by user name, in key order (loaded on first use)."""
        idx = self._index.get(group)
        if idx is None:
            idx = self._load_index(group)
        return idx

    def _load_index(self, group: Path) -> dict[str, Entry]:
        rows: list[tuple[tuple[int, int], str, Entry]] = []
        for position, (stored, is_group) in enumerate(self.backend.children(group)):
            if is_internal(stored):
                continue
            attrs = self.attrs((*group, stored))
            raw_seq = attrs.get(SEQ)
            tag = attrs.get(TYPE)
            seq = int(np.asarray(raw_seq).reshape(-1)[0]) if raw_seq is not None else -1
            entry = Entry(stored, is_group, seq, None if tag is None else str(tag))
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

    # -- attributes (raw, cached) --------------------------------------------------------
    def attrs(self, node: Path) -> dict[str, Any]:
        """The raw attributes of a node; the dict is shared, do not change it."""
        attrs = self._attrs.get(node)
        if attrs is None:
            attrs = self._attrs[node] = self.backend.attrs(node)
        return attrs

    def set_attrs(self, node: Path, update: dict[str, Any]) -> None:
        self.backend.set_attrs(node, update)
        self._attrs.pop(node, None)

    def delete_attrs(self, node: Path, names: list[str]) -> None:
        self.backend.delete_attrs(node, names)
        self._attrs.pop(node, None)

    # -- reading -------------------------------------------------------------------------
    def read_node(self, node: Path, is_group: bool) -> Node:
        """The whole subtree at ``node`` (user names, key order, raw attributes)."""
        attrs = {k: v for k, v in self.attrs(node).items() if k != SEQ}
        if is_group:
            children = {
                name: self.read_node((*node, e.stored), e.is_group)
                for name, e in self.index(node).items()
            }
            return Tree(attrs, children)
        info = self.backend.info(node)
        data = self.read_data(node)
        dims = tuple(None if is_internal(d) else decode_name(d) for d in info.dims)
        return Var(data, attrs, dims, growable=info.unlimited)

    def _buffered(self, node: Path) -> np.ndarray | None:
        """Records of ``node`` buffered in this process (stored form), if any."""
        for hook in self.hooks:
            if hook.pending(node):
                return hook.buffered(node)
        return None

    def read_data(self, node: Path) -> np.ndarray:
        """A variable's stored array, including records still buffered in this process."""
        data = self.backend.read(node)
        buffered = self._buffered(node)
        return data if buffered is None else np.concatenate([data, buffered])

    def read_slice(self, node: Path, index: tuple[Any, ...]) -> np.ndarray:
        """Part of a variable (basic indexing), reading only that part from the backend."""
        if self.closed:
            raise ValueError(f"the store {self.location} is closed; load() views before closing")
        buffered = self._buffered(node)
        if buffered is None:
            return self.backend.read(node, index)
        first, rest = (index[0], index[1:]) if index else (slice(None), ())
        written = self.backend.info(node).shape[0]
        total = written + len(buffered)
        if isinstance(first, int | np.integer):
            row = int(first) + total if first < 0 else int(first)
            if row < written:
                return self.backend.read(node, (row, *rest))
            return buffered[(row - written, *rest)]
        if not isinstance(first, slice) or (first.step or 1) < 0:
            return self.read_data(node)[index]
        start, stop, step = first.indices(total)
        if start >= stop:
            return self.backend.read(node, (slice(0, 0), *rest))
        parts = []
        if start < written:
            parts.append(self.backend.read(node, (slice(start, min(stop, written), step), *rest)))
        if stop > written:
            skip = (written - start) % step if start < written else 0
            begin = max(start, written) - written + (skip and step - skip)
            parts.append(buffered[(slice(begin, stop - written, step), *rest)])
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def length(self, node: Path) -> int:
        """Records in a growable variable, including those still buffered here."""
        length = self.backend.info(node).shape[0]
        for hook in self.hooks:
            length += hook.pending(node)
        return length

    # -- writing -------------------------------------------------------------------------
    def write_node(
        self, group: Path, name: str, node: Node, *, chunks: tuple[int, ...] | None = None
    ) -> None:
        """Store ``node`` as child ``name`` of ``group``, replacing what was there.

        Names and dimensions are checked before anything is written.  A replaced key
        keeps its position; a variable of the same shape and type is overwritten in
        place.
        """
        self.require_writable(f"write {name!r}")
        idx = self.index(group)
        plan = self._plan(group, encode_name(name), node)
        if isinstance(node, Tree) and _has_user_dims(node):
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
        idx[name] = Entry(plan.stored, isinstance(node, Tree), seq, _tag(node))

    def _take_seq(self, group: Path) -> int:
        seq = self._next_seq.get(group, 0)
        self._next_seq[group] = seq + 1
        return seq

    def _undo(self, group: Path, stored: str, exc: BaseException) -> None:
        """Remove a half-written node after a failed write (the failure propagates)."""
        present = any(child == stored for child, _ in self.backend.children(group))
        if not present:
            return
        try:
            self.backend.delete((*group, stored))
        except Exception as cleanup:  # keep the original error; report this one with it
            exc.add_note(f"xstore could not remove the half-written {stored!r}: {cleanup}")
        self._forget((*group, stored))

    def _plan(self, group: Path, stored: str, node: Node) -> _Plan:
        depth = len(group)
        if isinstance(node, Var):
            return _Plan(stored, node, self._var_dims(depth, stored, node))
        plan = _Plan(stored, node)
        plan.children = [
            (name, self._plan((*group, stored), encode_name(name), child))
            for name, child in node.children.items()
        ]
        return plan

    @staticmethod
    def _var_dims(depth: int, stored: str, var: Var) -> tuple[str, ...]:
        dims = var.dims or (None,) * var.data.ndim
        if len(dims) != var.data.ndim:
            raise ValueError(
                f"{len(dims)} dimension names for a {var.data.ndim}-d array {stored!r}"
            )
        return tuple(
            dimension_name(depth, stored, axis) if dim is None else encode_name(dim)
            for axis, dim in enumerate(dims)
        )

    def _check_user_dims(self, group: Path, plan: _Plan) -> None:
        """No dimension name may have two sizes on a root-to-leaf path (xarray checks)."""
        inherited: dict[str, tuple[int, str]] = {}
        for depth in range(len(group) + 1):
            ancestor = group[:depth]
            where = "/" + "/".join(decode_name(n) for n in ancestor)
            for dim, size in self.backend.dims(ancestor).items():
                inherited[dim] = (size, where)
        _check_plan_dims(
            plan, inherited, "/" + "/".join(decode_name(n) for n in (*group, plan.stored))
        )

    def _overwrite_in_place(self, group: Path, old: Entry, plan: _Plan) -> bool:
        node = plan.node
        if old.is_group or not isinstance(node, Var):
            return False
        path = (*group, old.stored)
        info = self.backend.info(path)
        data = np.asarray(node.data)
        same = (
            not info.unlimited
            and info.shape == data.shape
            and info.dtype == data.dtype
            and info.dims == plan.dims
            and data.size > 0
        )
        if not same:
            return False
        self.backend.write(path, data)
        attrs = self.attrs(path)
        stale = [k for k in attrs if k not in node.attrs and k != SEQ]
        changed = {k: v for k, v in node.attrs.items() if not _same_attr(attrs.get(k), v)}
        if stale:
            self.delete_attrs(path, stale)
        if changed:
            self.set_attrs(path, changed)
        self._index[group][decode_name(old.stored)].tag = _tag(node)
        return True

    def _write(
        self, group: Path, plan: _Plan, seq: int, chunks: tuple[int, ...] | None = None
    ) -> None:
        path = (*group, plan.stored)
        attrs = {**plan.node.attrs, SEQ: np.int64(seq)}
        if isinstance(plan.node, Var):
            data = np.asarray(plan.node.data)
            growable = plan.node.growable
            if growable and chunks is None:
                chunks = chunk_shape(data.shape[1:], data.dtype.itemsize or 8)
            self.backend.create_variable(
                path,
                data,
                plan.dims,
                attrs,
                unlimited=growable,
                chunks=chunks if growable else None,
            )
            self._attrs[path] = attrs
            return
        self.backend.create_group(path)
        self.backend.set_attrs(path, attrs)
        self._attrs[path] = attrs
        idx: dict[str, Entry] = {}
        for position, (name, child) in enumerate(plan.children):
            self._write(path, child, position)
            idx[name] = Entry(
                child.stored, isinstance(child.node, Tree), position, _tag(child.node)
            )
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
        for hook in self.hooks:
            hook.forget(path)
        self.backend.delete(path)
        self._forget(path)

    # -- lifetime ------------------------------------------------------------------------
    def flush(self) -> None:
        for hook in self.hooks:
            hook.flush()
        self.backend.flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.backend.writable:
                for hook in self.hooks:
                    hook.flush()
        finally:
            for hook in self.hooks:
                hook.stop()
            self.backend.close()


def _tag(node: Node) -> str | None:
    tag = node.attrs.get(TYPE)
    return None if tag is None else str(tag)


def _same_attr(old: Any, new: Any) -> bool:
    if old is None or type(old) is not type(new):
        return False
    return bool(np.array_equal(old, new)) if isinstance(new, np.ndarray) else bool(old == new)


def _has_user_dims(node: Node) -> bool:
    if isinstance(node, Var):
        return node.dims is not None and any(d is not None for d in node.dims)
    return any(_has_user_dims(child) for child in node.children.values())


def _walk_vars(plan: _Plan) -> Iterator[_Plan]:
    for _, child in plan.children:
        if isinstance(child.node, Var):
            yield child


def _check_plan_dims(plan: _Plan, inherited: dict[str, tuple[int, str]], where: str) -> None:
    local: dict[str, tuple[int, str]] = {}
    for child in _walk_vars(plan):
        assert isinstance(child.node, Var)
        for dim, size in zip(child.dims, np.shape(child.node.data), strict=True):
            if is_internal(dim):
                continue
            for seen in (inherited, local):
                if dim in seen and seen[dim][0] != size:
                    var = f"{where}/{decode_name(child.stored)}"
                    raise ValueError(
                        f"dimension {decode_name(dim)!r} of {var} has "
                        f"size {size}, but {seen[dim][1]} uses it with size {seen[dim][0]}; "
                        "xarray cannot open a tree where one dimension has two sizes"
                    )
            local[dim] = (size, where)
    below = {**inherited, **local}
    for name, child in plan.children:
        if isinstance(child.node, Tree):
            _check_plan_dims(child, below, f"{where}/{name}")
