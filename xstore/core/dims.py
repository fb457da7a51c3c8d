"""The dimensions of an open store as the core knows them: cached per group, gathered
along a root-to-leaf path, and offered to a plan (:class:`xstore.core.plan.Around`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xstore.core.entries import Entry
from xstore.core.plan import DimMap
from xstore.names import Path, decode_name


def user_path(group: Path) -> str:
    """``/a/b`` for a path of stored names."""
    return "/" + "/".join(decode_name(n) for n in group)


class DimCache:
    """Dimensions (stored names and sizes) of each group, read once and forgotten
    whenever the core changes the group's variables."""

    def __init__(self, read: Callable[[Path], dict[str, int]]) -> None:
        self._read = read
        self._dims: dict[Path, dict[str, int]] = {}

    def __call__(self, group: Path) -> dict[str, int]:
        dims = self._dims.get(group)
        if dims is None:
            dims = self._dims[group] = self._read(group)
        return dims

    def changed(self, group: Path) -> None:
        """``group``'s variables changed (created, grown)."""
        self._dims.pop(group, None)

    def clear(self) -> None:
        """Something was deleted or renamed: dimensions may have gone anywhere."""
        self._dims.clear()

    def on_path(self, group: Path) -> DimMap:
        """Dimensions of ``group`` and of every group above it."""
        out: DimMap = {}
        for depth in range(len(group) + 1):
            where = user_path(group[:depth])
            for name, size in self(group[:depth]).items():
                out.setdefault(name, {})[size] = where
        return out


@dataclass
class GroupAround:
    """A plan's view of the group it writes into (see :class:`xstore.core.plan.Around`)."""

    group: Path
    naming: str
    dims: DimCache
    index: Callable[[Path], dict[str, Entry]]
    removed: str | None = None  # a child of ``group`` removed but still in its index

    @property
    def where(self) -> str:
        return user_path(self.group)

    def path_dims(self) -> DimMap:
        return self.dims.on_path(self.group)

    def here_dims(self) -> dict[str, int]:
        return self.dims(self.group)

    def below_dims(self) -> DimMap:
        out: DimMap = {}
        pending = [self.group]
        while pending:
            group = pending.pop()
            for entry in self.index(group).values():
                if entry.is_group and not (group == self.group and entry.stored == self.removed):
                    child = (*group, entry.stored)
                    for name, size in self.dims(child).items():
                        out.setdefault(name, {})[size] = user_path(child)
                    pending.append(child)
        return out

    def has_variable(self, stored: str) -> bool:
        entry = self.index(self.group).get(decode_name(stored))
        return entry is not None and not entry.is_group
