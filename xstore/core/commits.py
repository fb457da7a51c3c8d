"""Commits of values: after a crash every key holds its value of the last completed
flush, or a newer complete value — never a half-written one.

Every node the core writes records the *generation* of the flush that will commit it
(the second element of its ``_xs_seq`` attribute; the first is its position).  The
root group records the last committed generation (``_xs_gen``).  A flush makes the
data durable, then raises ``_xs_gen`` (the commit point); a reader ignores nodes of a
later generation, which a writer killed before its flush left behind, and a writable
reopen deletes them.

A key that already held a committed value is not overwritten: its new value is
written beside it under a staged name (``_xs_stage_...``, hidden like every ``_xs_``
name), and a deleted key stays until the commit.  The commit records these
replacements and deletes in ``_xs_redo`` together with the new generation, then
carries them out; a reader of a store whose writer died in between sees them as
done, and the next writable open finishes them (each is idempotent).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from xstore.backends.base import Backend
from xstore.model import SEQ
from xstore.names import INTERNAL_PREFIX, Path, decode_name

GEN = f"{INTERNAL_PREFIX}gen"  # root: the last committed generation
REDO = f"{INTERNAL_PREFIX}redo"  # root: JSON [[group, final, staged|null], ...] of that commit
STAGE_PREFIX = f"{INTERNAL_PREFIX}stage_"

#: (group, final stored name) -> staged stored name replacing it, or None: delete it
Ops = dict[tuple[Path, str], str | None]


def seq_attr(seq: int, gen: int) -> np.ndarray:
    """The ``_xs_seq`` attribute of a node: position and generation."""
    return np.array([seq, gen], dtype=np.int64)


def parse_seq(raw: Any) -> tuple[int, int] | None:
    """``(position, generation)`` of a node's ``_xs_seq`` (format 1 has no generation);
    ``ValueError`` if it is not two integers at most."""
    if raw is None:
        return None
    values = np.asarray(raw).reshape(-1)
    if values.dtype.kind not in "iu" or not 1 <= len(values) <= 2:
        raise ValueError(f"{SEQ} is {raw!r}, not a position and a generation")
    return int(values[0]), int(values[1]) if len(values) > 1 else 0


def committed_generation(root_attrs: Mapping[str, Any]) -> int:
    raw = root_attrs.get(GEN)
    if raw is None:
        return 0
    values = np.asarray(raw).reshape(-1)
    if values.dtype.kind not in "iu" or len(values) != 1:
        raise ValueError(f"{GEN} is {raw!r}, not a generation")
    return int(values[0])


def redo_of(root_attrs: Mapping[str, Any]) -> Ops:
    """The replacements and deletes the last commit decided (maybe not all done);
    ``ValueError`` if the record is not one xstore writes."""
    text = root_attrs.get(REDO)
    if not isinstance(text, str) or not text:
        return {}
    ops: Ops = {}
    for group, final, staged in json.loads(text):
        names = [*group, final, *([staged] if staged is not None else [])]
        if not all(
            isinstance(n, str) and n not in ("", ".", "..") and "/" not in n and "\\" not in n
            for n in names
        ):
            raise ValueError(f"{REDO} holds a malformed entry {[group, final, staged]!r}")
        if staged is not None and not is_staged(staged):
            raise ValueError(f"{REDO} renames {staged!r}, which xstore did not stage")
        ops[(tuple(group), final)] = staged
    return ops


def redo_text(ops: Ops) -> str:
    return json.dumps([[list(group), final, staged] for (group, final), staged in ops.items()])


@dataclass
class Changes:
    """What the core changed since the last commit."""

    gen: int  # the generation of the last commit
    written: set[Path] = field(default_factory=set)  # nodes written since (uncommitted)
    ops: Ops = field(default_factory=dict)
    _staged: int = 0

    @property
    def next_gen(self) -> int:
        return self.gen + 1

    def __bool__(self) -> bool:
        return bool(self.written or self.ops)

    def uncommitted(self, node: Path) -> bool:
        """True for a node written since the last commit, or inside one."""
        return any(node[:depth] in self.written for depth in range(1, len(node) + 1))

    def staged_name(self) -> str:
        """A name for a new value written beside a committed one (unique in the store:
        leftovers of killed writers are removed before anything is written)."""
        self._staged += 1
        return f"{STAGE_PREFIX}{self.next_gen}_{self._staged}"

    def committed(self) -> None:
        """The commit of :attr:`next_gen` is done."""
        self.gen += 1
        self.written.clear()
        self.ops = {}
        self._staged = 0


def virtual_names(ops: Ops, group: Path, children: set[str]) -> tuple[dict[str, str], set[str]]:
    """How ``group`` looks once ``ops`` are carried out (some may be done already):
    staged name -> final name, and the final names whose present nodes are gone."""
    shown: dict[str, str] = {}
    gone: set[str] = set()
    for (g, final), staged in ops.items():
        if g != group:
            continue
        if staged is None:
            gone.add(final)
        elif staged in children:  # not renamed yet
            shown[staged] = final
            gone.add(final)
    return shown, gone


def is_staged(stored: str) -> bool:
    return stored.startswith(STAGE_PREFIX)


T = TypeVar("T")


class Committing:
    """The commit protocol of :class:`xstore.core.layout.Core` (which it is mixed into)."""

    _backend: Backend
    _index: dict[Path, dict[str, Any]]
    _next_seq: dict[Path, int]
    _attrs: dict[Path, dict[str, Any]]
    _records: Any
    _changes: Changes
    _moved: dict[Path, Path]
    _hidden: list[str]

    def _forget(self, prefix: Path) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        """Raise the committed generation (the commit point), then carry out the
        replacements and deletes it decided.  The data must be durable already."""
        if not self._changes:
            return
        ops = self._changes.ops
        self._backend.set_attrs((), {GEN: np.int64(self._changes.next_gen), REDO: redo_text(ops)})
        self._attrs.pop((), None)
        self._backend.flush()  # the commit point
        self._changes.committed()
        if ops:  # plain readers see the store as it was left once flush returns
            self._carry_out(ops)
            self._backend.set_attrs((), {REDO: "[]"})
            self._backend.flush()

    def _retire(self, path: Path) -> None:
        """A committed node is replaced or deleted: it stays on disk until the commit,
        but nothing in this session uses it any more."""
        if self._records is not None:
            self._records.forget(path)
        self._forget(path)
        for op in [op for op in self._changes.ops if op[0][: len(path)] == path]:
            del self._changes.ops[op]  # changes inside it are moot

    def _leftover(self, group: Path, stored: str) -> None:
        """A node a killed writer wrote after its last commit: deleted by a writer,
        hidden from a reader."""
        path = (*group, stored)
        if self._backend.writable:
            self._backend.delete(path)
        else:
            self._hidden.append("/" + "/".join(decode_name(n) for n in path))

    def _carry_out(self, ops: Ops) -> None:
        """Carry out the replacements and deletes of a commit (each idempotent)."""
        by_group: dict[Path, list[tuple[str, str | None]]] = {}
        for (group, final), staged in ops.items():
            by_group.setdefault(group, []).append((final, staged))
        for group, changes in by_group.items():
            names = {name for name, _ in self._backend.children(group)}
            for final, staged in changes:
                if staged is not None and staged not in names:
                    continue  # done before (a writer was killed after it)
                if final in names:
                    self._backend.delete((*group, final))
                    self._forget((*group, final))
                if staged is not None:
                    self._backend.rename((*group, staged), final)
                    self._moved_to((*group, staged), (*group, final))

    def _moved_to(self, old: Path, new: Path) -> None:
        """Keep the caches, the series writer and this session's paths after a rename."""
        _rebase(self._index, old, new)
        _rebase(self._next_seq, old, new)
        _rebase(self._attrs, old, new)
        for entry in self._index.get(old[:-1], {}).values():
            if entry.stored == old[-1]:
                entry.stored = new[-1]
        if self._records is not None:
            self._records.moved(old, new)
        self._moved[old] = new

    def rechunkable(self, node: Path) -> bool:
        """An empty growable variable written since the last commit (see below)?"""
        info = self._backend.info(node)
        return info.unlimited and info.shape[0] == 0 and self._changes.uncommitted(node)

    def rechunk_empty(self, node: Path, chunks: tuple[int, ...]) -> bool:
        """Give an empty growable variable written since the last commit the chunk
        shape ``chunks`` (it is made again: chunks cannot change in place).  False,
        and nothing changes, if it holds records or was committed."""
        if not self.rechunkable(node):
            return False
        info = self._backend.info(node)
        if self._backend.chunks(node) == chunks:
            return True
        attrs = self._backend.attrs(node)
        self._backend.delete(node)
        empty = np.zeros(info.shape, dtype=info.dtype)
        self._backend.create_variable(node, empty, info.dims, attrs, unlimited=True, chunks=chunks)
        self._attrs.pop(node, None)
        return True

    def current(self, path: Path) -> Path:
        """``path`` as it is now (a commit may have renamed a staged node it is in)."""
        for old, new in self._moved.items():
            if path[: len(old)] == old:
                return (*new, *path[len(old) :])
        return path

    # -- lifetime ------------------------------------------------------------------------


def _rebase(cache: dict[Path, T], old: Path, new: Path) -> None:
    """Move the entries of ``cache`` at or below ``old`` to ``new``."""
    for path in [p for p in cache if p[: len(old)] == old]:
        cache[(*new, *path[len(old) :])] = cache.pop(path)
