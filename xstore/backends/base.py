"""The backend protocol: a handful of operations on groups, variables and attributes.

Nodes are addressed by paths of *stored* names (already escaped, see
:mod:`xstore.names`); the root group is ``()``.  Backends store arrays of
native-endian integers, float32/float64 and variable-length strings (object
arrays of ``str``) and attribute values that are ``str``, numpy numeric scalars or
1-D numeric arrays; everything else has been encoded by the codecs above them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from xstore.names import Path

Index = tuple[slice | int, ...]


@dataclass(frozen=True, slots=True)
class VarInfo:
    """Shape, dtype and dimension names of a stored variable."""

    shape: tuple[int, ...]
    dtype: np.dtype
    dims: tuple[str, ...]
    unlimited: bool  # leading axis can grow


class Backend(ABC):
    """One open store.  Implementations: netcdf (two engines), zarr, memory."""

    #: name used in messages and by ``xstore.open(..., backend=...)``
    name: ClassVar[str]

    location: str
    writable: bool

    # -- structure -------------------------------------------------------------------
    @abstractmethod
    def children(self, group: Path) -> list[tuple[str, bool]]:
        """``(stored name, is_group)`` for every child, in the backend's own order."""

    @abstractmethod
    def create_group(self, group: Path) -> None: ...

    @abstractmethod
    def delete(self, node: Path) -> None:
        """Remove a variable or group (and the dimensions only it used)."""

    @abstractmethod
    def dims(self, group: Path) -> dict[str, int]:
        """Dimensions defined in this group and their current sizes."""

    # -- attributes ------------------------------------------------------------------
    @abstractmethod
    def attrs(self, node: Path) -> dict[str, Any]: ...

    @abstractmethod
    def set_attrs(self, node: Path, attrs: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def delete_attrs(self, node: Path, names: Iterable[str]) -> None: ...

    # -- variables -------------------------------------------------------------------
    @abstractmethod
    def create_variable(
        self,
        node: Path,
        data: np.ndarray,
        dims: tuple[str, ...],
        attrs: Mapping[str, Any],
        *,
        unlimited: bool = False,
        chunks: tuple[int, ...] | None = None,
    ) -> None:
        """Create a variable holding ``data``; with ``unlimited`` its first axis grows."""

    @abstractmethod
    def info(self, node: Path) -> VarInfo: ...

    @abstractmethod
    def read(self, node: Path, index: Index = ()) -> np.ndarray: ...

    @abstractmethod
    def write(self, node: Path, data: np.ndarray, index: Index = ()) -> None:
        """Overwrite part of a variable within its current shape."""

    @abstractmethod
    def write_records(self, node: Path, start: int, block: np.ndarray) -> None:
        """Write ``block`` at records ``start:start+len(block)``, growing the first axis."""

    # -- lifetime --------------------------------------------------------------------
    @abstractmethod
    def flush(self) -> None:
        """Make everything written so far durable (survives a SIGKILL of this process)."""

    @abstractmethod
    def close(self) -> None: ...
