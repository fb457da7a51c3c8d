"""An in-memory backend: scratch groups for the Storable protocol, and tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xstore.backends.address import Address
from xstore.backends.base import Backend, BackendSpec, Index, VarInfo
from xstore.model import ArraySource
from xstore.names import Path


@dataclass
class MemoryVar:
    """One variable of an in-memory store."""

    data: np.ndarray
    dims: tuple[str, ...]
    attrs: dict[str, Any]
    unlimited: bool


@dataclass
class MemoryGroup:
    """One group of an in-memory store (the root group holds the whole store)."""

    attrs: dict[str, Any] = field(default_factory=dict)
    children: dict[str, MemoryGroup | MemoryVar] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)


class MemoryBackend(Backend):
    """A tree of groups and numpy arrays in this process; gone when it is closed."""

    name = "memory"
    in_memory = True

    def __init__(
        self, writable: bool = True, location: str = "<memory>", root: MemoryGroup | None = None
    ) -> None:
        self.location = location
        self.writable = writable
        self.root = MemoryGroup() if root is None else root

    def _node(self, node: Path) -> MemoryGroup | MemoryVar:
        obj: MemoryGroup | MemoryVar = self.root
        for name in node:
            assert isinstance(obj, MemoryGroup)
            obj = obj.children[name]
        return obj

    def _group(self, group: Path) -> MemoryGroup:
        obj = self._node(group)
        assert isinstance(obj, MemoryGroup)
        return obj

    def _var(self, node: Path) -> MemoryVar:
        obj = self._node(node)
        assert isinstance(obj, MemoryVar)
        return obj

    def children(self, group: Path) -> list[tuple[str, bool]]:
        return [(n, isinstance(c, MemoryGroup)) for n, c in self._group(group).children.items()]

    def create_group(self, group: Path, attrs: Mapping[str, Any] | None = None) -> None:
        self._group(group[:-1]).children[group[-1]] = MemoryGroup()
        if attrs:
            self.set_attrs(group, attrs)

    def delete(self, node: Path) -> None:
        parent = self._group(node[:-1])
        gone = parent.children.pop(node[-1])
        if isinstance(gone, MemoryVar):
            used = {d for c in parent.children.values() if isinstance(c, MemoryVar) for d in c.dims}
            for dim in set(gone.dims) - used:
                parent.dims.pop(dim, None)

    def rename(self, node: Path, name: str) -> None:
        parent = self._group(node[:-1])
        if name in parent.children:
            raise ValueError(f"{name!r} already exists")
        parent.children[name] = parent.children.pop(node[-1])

    def dims(self, group: Path) -> dict[str, int]:
        return dict(self._group(group).dims)

    def attrs(self, node: Path) -> dict[str, Any]:
        return dict(self._node(node).attrs)

    def set_attrs(self, node: Path, attrs: Mapping[str, Any]) -> None:
        self._node(node).attrs.update(attrs)

    def delete_attrs(self, node: Path, names: Iterable[str]) -> None:
        target = self._node(node).attrs
        for name in names:
            del target[name]

    def create_variable(
        self,
        node: Path,
        data: np.ndarray | ArraySource,
        dims: tuple[str, ...],
        attrs: Mapping[str, Any],
        *,
        unlimited: bool = False,
        chunks: tuple[int, ...] | None = None,
    ) -> None:
        group = self._group(node[:-1])
        for axis, (dim, size) in enumerate(zip(dims, data.shape, strict=True)):
            have = group.dims.get(dim)
            if have is not None and have != size and not (unlimited and axis == 0):
                raise ValueError(f"dimension {dim!r} has size {have}, not {size}")
            group.dims[dim] = max(size, have or 0)
        group.children[node[-1]] = MemoryVar(
            np.array(data, copy=True), tuple(dims), dict(attrs), unlimited
        )

    def info(self, node: Path) -> VarInfo:
        var = self._var(node)
        return VarInfo(var.data.shape, var.data.dtype, var.dims, var.unlimited)

    def read(self, node: Path, index: Index = ()) -> np.ndarray:
        return np.array(self._var(node).data[index if index else ...], copy=True)

    def write(self, node: Path, data: np.ndarray, index: Index = ()) -> None:
        self._var(node).data[index if index else ...] = data

    def write_records(self, node: Path, start: int, block: np.ndarray) -> None:
        var = self._var(node)
        end = start + len(block)
        if end > len(var.data):
            grown = np.empty((end, *var.data.shape[1:]), dtype=var.data.dtype)
            grown[: len(var.data)] = var.data
            var.data = grown
        var.data[start:end] = block
        group = self._group(node[:-1])
        group.dims[var.dims[0]] = max(group.dims.get(var.dims[0], 0), end)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _open(address: Address, mode: str, **options: Any) -> MemoryBackend:
    if options:
        raise TypeError(f"the memory backend takes no options, got {sorted(options)}")
    return MemoryBackend(writable=mode != "r", location=address.location or "<memory>")


SPEC = BackendSpec(name="memory", open=_open, exists=lambda address: False, locking=False)
