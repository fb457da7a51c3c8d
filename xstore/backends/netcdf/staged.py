"""Small plain variables waiting to be created together (see :mod:`~.scales`)."""

from __future__ import annotations

from xstore.backends.netcdf.scales import NewVariable
from xstore.names import Path

BULK_MIN = 256  # staged variables from which they are written with h5py, not the engine


class Staged:
    """The variables defined but not yet created, in the order they were defined."""

    def __init__(self) -> None:
        self._vars: dict[Path, NewVariable] = {}
        self._groups: set[Path] = set()

    def __len__(self) -> int:
        return len(self._vars)

    def __contains__(self, node: object) -> bool:
        return node in self._vars

    def get(self, node: Path) -> NewVariable | None:
        return self._vars.get(node)

    def add(self, var: NewVariable) -> None:
        self._vars[var.node] = var
        self._groups.add(var.node[:-1])

    def in_group(self, group: Path) -> bool:
        """True if a variable of ``group`` waits (its listing must create them first)."""
        return group in self._groups

    def take(self) -> list[NewVariable]:
        """All the waiting variables, in order; none wait afterwards."""
        taken, self._vars = list(self._vars.values()), {}
        self._groups.clear()
        return taken
