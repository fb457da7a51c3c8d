"""Lockstep sets: series of one group that share a record dimension.

A block write only ever writes records that every member has (complete frames), so
on disk the members always have equal lengths -- plain netCDF readers would
otherwise pad the shorter ones with fill values.  This module keeps the sets,
decides their records per chunk (one number for the whole set, see
:mod:`xstore.core.chunks`) and checks where a new shared record dimension may go (no
name with two sizes on a root-to-leaf path of the tree, which xarray refuses).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from xstore.core.chunks import lockstep_rows, record_bytes, record_chunks
from xstore.core.entries import Entry
from xstore.core.layout import Core
from xstore.core.series.buffer import Series
from xstore.names import Path

Adopt = Callable[[Path, str, Entry], Series]


class LockstepSets:
    """Series by (group, stored record dimension)."""

    def __init__(self) -> None:
        self._sets: dict[tuple[Path, str], list[Series]] = {}

    def __iter__(self) -> Iterator[list[Series]]:
        return iter(list(self._sets.values()))

    def get(self, group: Path, dim: str) -> list[Series] | None:
        return self._sets.get((group, dim))

    def add(self, series: Series) -> None:
        members = self._sets.setdefault((series.group, series.dim), [])
        if series not in members:
            members.append(series)

    def remove(self, series: Series) -> None:
        key = (series.group, series.dim)
        self._sets[key].remove(series)
        if not self._sets[key]:
            del self._sets[key]


def set_rows(core: Core, members: list[Series], storage: np.ndarray, chunk_bytes: int) -> int:
    """Records per chunk for a new member (stored like ``storage``) of the lockstep set
    ``members``: the set's (:func:`~xstore.core.chunks.lockstep_rows` of its largest
    record).  A member with a larger record than all before it makes the rows smaller,
    and the members are made again with them, as long as none has records on disk and
    none was committed; otherwise the set keeps its rows."""
    infos = [core.info(m.node) for m in members]
    sizes = [record_bytes(i.shape[1:], i.dtype.itemsize) for i in infos]
    own = record_bytes(storage.shape[1:], storage.dtype.itemsize)
    rows = lockstep_rows(max([own, *sizes]), chunk_bytes)
    if not members:
        return rows
    if rows >= members[0].chunk_rows:
        return members[0].chunk_rows
    if any(m.written for m in members) or not all(core.rechunkable(m.node) for m in members):
        return members[0].chunk_rows
    for member, info in zip(members, infos, strict=True):
        core.rechunk_empty(
            member.node, record_chunks(info.shape[1:], info.dtype.itemsize, chunk_bytes, rows)
        )
        member.chunk_rows = rows
    return rows


def adopt_members(
    core: Core, group: Path, dim: str, known: Callable[[Path], bool], adopt: Adopt
) -> None:
    """Adopt every series of ``group`` along the stored dimension ``dim`` not yet known."""
    for name, entry in core.index(group).items():
        node = (*group, entry.stored)
        if entry.is_group or known(node):
            continue
        info = core.info(node)
        if info.unlimited and info.dims and info.dims[0] == dim:
            adopt(group, name, entry)


def check_new_member(
    core: Core,
    sets: LockstepSets,
    parent: Path,
    stored_dim: str,
    record_dim: str,
    key: str,
    known: Callable[[Path], bool],
    adopt: Adopt,
    records: int = 0,
) -> None:
    """Raise ``ValueError`` unless a new series ``key`` in ``parent``, starting with
    ``records`` records, may use the record dimension ``record_dim``: a new member of
    a set must bring at least the records the set has on disk, and no other group on
    the path may use the name.  An empty dimension that no series uses (made by other
    tools, e.g. openmmtools' ``check_infinite_dimension``) is taken over."""
    members = sets.get(parent, stored_dim)
    dims = core.dims(parent)
    if members is None and stored_dim in dims:
        adopt_members(core, parent, stored_dim, known, adopt)
        members = sets.get(parent, stored_dim)
        if members is None and dims[stored_dim] != 0:
            raise ValueError(
                f"record_dim {record_dim!r} is already a dimension of this group ({key!r})"
            )
    if members:
        committed = min(s.written for s in members)
        if committed > records:
            raise ValueError(
                f"record_dim {record_dim!r} already holds {committed} records on disk; "
                f"a variable sharing it must be appended from the first record ({key!r})"
            )
        return
    if members is None and stored_dim in dims:
        return  # an empty dimension of this group: nothing else uses the name
    for depth in range(len(parent)):
        if stored_dim in core.dims(parent[:depth]):
            raise ValueError(
                f"record_dim {record_dim!r} is already used by an ancestor group of {key!r}"
            )
    if _used_below(core, parent, stored_dim):
        raise ValueError(f"record_dim {record_dim!r} is already used by a group below {key!r}")


def _used_below(core: Core, group: Path, stored_dim: str) -> bool:
    for entry in core.index(group).values():
        if entry.is_group:
            child = (*group, entry.stored)
            if stored_dim in core.dims(child) or _used_below(core, child, stored_dim):
                return True
    return False


def chunk_boundary(members: list[Series], frames: int, limit: int) -> int:
    """The last chunk boundary of a lockstep set at or below ``frames`` (members share
    their records per chunk), or ``frames`` if no whole chunk is waiting or holding
    the rest back would leave more than ``limit`` records buffered."""
    aligned = frames - frames % members[0].chunk_rows
    if aligned <= max(s.written for s in members):
        return frames
    return aligned if max(s.count for s in members) - aligned <= limit else frames
