"""The backend protocol: a handful of operations on groups, variables and attributes.

Nodes are addressed by paths of *stored* names (already escaped, see
:mod:`xstore.names`); the root group is ``()``.  Backends store arrays of the
dtypes in :data:`xstore.model.STORABLE_DTYPES` and variable-length strings (object
arrays of ``str``), and attribute values that are ``str``, numpy numeric scalars or
1-D numeric arrays; everything else has been encoded by the codecs above them.

Where backends differ, a capability flag on the class says so, and the layers above
ask the flag, never the backend's name.  How a path selects a backend, and how a
backend is opened, is a :class:`BackendSpec` in :mod:`xstore.backends.registry`.
"""

from __future__ import annotations

import functools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

from xstore.backends.address import Address
from xstore.errors import StoreError
from xstore.model import ArraySource
from xstore.names import Path

Index = tuple[slice | int, ...]
F = TypeVar("F", bound=Callable[..., Any])


def reading(method: F) -> F:
    """For a backend's read methods: whatever its library raises on a damaged or crafted
    store (a parse error, a failed checksum, a missing file, a wild shape) becomes one
    ``StoreError`` naming the store and the node."""

    @functools.wraps(method)
    def run(self: Backend, node: Path = (), *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, node, *args, **kwargs)
        except (StoreError, PermissionError):
            raise
        except MemoryError as exc:
            raise StoreError(
                f"{_where(node)} in {self.location} asks for more memory than there is; "
                "the store is damaged or crafted"
            ) from exc
        except Exception as exc:
            raise StoreError(
                f"cannot read {_where(node)} in {self.location} "
                f"(damaged?): {type(exc).__name__}: {exc}"
            ) from exc

    return run  # type: ignore[return-value]


def _where(node: Path) -> str:
    return "/" + "/".join(node)


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

    # -- capabilities ------------------------------------------------------------------
    #: the store lives in this process only (nothing to flush, lock or reopen)
    in_memory: ClassVar[bool] = False

    location: str
    writable: bool

    # -- structure -------------------------------------------------------------------
    @abstractmethod
    def children(self, group: Path) -> list[tuple[str, bool]]:
        """``(stored name, is_group)`` for every child, in the backend's own order."""

    @abstractmethod
    def create_group(self, group: Path, attrs: Mapping[str, Any] | None = None) -> None:
        """A new group holding ``attrs``, created with them in one step where the
        backend can (a reader never sees the group without its attributes)."""

    @abstractmethod
    def delete(self, node: Path) -> None:
        """Remove a variable or group (and the dimensions only it used)."""

    @abstractmethod
    def rename(self, node: Path, name: str) -> None:
        """Give a variable or group the new name ``name`` in its group (which holds
        nothing of that name); its data, attributes and children go with it."""

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
        data: np.ndarray | ArraySource,
        dims: tuple[str, ...],
        attrs: Mapping[str, Any],
        *,
        unlimited: bool = False,
        chunks: tuple[int, ...] | None = None,
    ) -> None:
        """Create a variable holding ``data``; with ``unlimited`` its first axis grows.

        ``data`` is an ndarray or an :class:`~xstore.model.ArraySource`; big values
        and sources are written slab by slab (:mod:`xstore.backends.slabs`), so that
        memory stays bounded by a few slabs whatever the size of the value.

        ``chunks`` is the chunk shape the core chose (always given for growable
        variables); None leaves the layout to the backend.
        """

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

    def chunks(self, node: Path) -> tuple[int, ...] | None:
        """The chunk shape of a variable (None: not chunked)."""
        return None

    def native(self, node: Path) -> Any:
        """The object of the library below for a group or variable (e.g. a
        ``netCDF4.Group``), with everything written so far visible through it, for
        users who need that library's own API.  ``NotImplementedError`` if the backend
        has none to hand out."""
        raise NotImplementedError(f"the {self.name} backend has no native objects to hand out")

    # -- lifetime --------------------------------------------------------------------
    @abstractmethod
    def flush(self) -> None:
        """Make everything written so far durable (survives a SIGKILL of this process)."""

    @abstractmethod
    def close(self) -> None: ...

    def discard(self) -> None:
        """Release the store without writing anything more (after a flush failed, so
        that closing does not try again); backends that cannot tell close."""
        self.close()

    def problems(self) -> list[str]:
        """Damage found and worked around while reading (``xstore check`` lists it)."""
        return []


Opener = Callable[..., Backend]


@dataclass(frozen=True)
class BackendSpec:
    """How a backend is found and opened: what :mod:`xstore.backends.registry` holds.

    ``open(address, mode, **options)`` opens or creates a store (``mode`` is one of
    ``r``, ``r+``, ``w``, ``w-``; ``address`` an :class:`~xstore.backends.address.Address`:
    a path, or a URL with fsspec storage options, or a zarr store object);
    ``exists(address)`` says whether something is stored there (through the same
    options); ``sniff(path)`` whether an existing local path holds this format;
    ``problems(location)`` lists damage visible only below the backend's API (for
    ``xstore check``).  ``save_modes`` are the ``xstore.save`` modes it writes.
    """

    name: str
    open: Opener
    exists: Callable[[Address], bool]
    suffixes: tuple[str, ...] = ()
    sniff: Callable[[str], bool] = lambda path: False
    problems: Callable[[str], list[str]] = lambda location: []
    save_modes: tuple[str, ...] = ()
    engines: tuple[str, ...] = ()  # values of ``engine=`` it accepts (empty: none)
    #: handles fsspec URLs such as ``s3://`` (with ``storage_options``) and zarr store objects
    urls: bool = False
    #: ``stage(address)``: a context manager giving the address to write a new store at,
    #: which replaces the remote store at ``address`` only if the block succeeds (``save``
    #: to a URL); local paths are replaced by :func:`xstore.backends.files.beside`
    stage: Callable[[Address], AbstractContextManager[Address]] | None = None
    #: ``leftovers(address)``: what an interrupted ``stage`` left at a remote address,
    #: one line each (for ``xstore check``)
    leftovers: Callable[[Address], list[str]] = lambda address: []
    directories: bool = False  # a store may be a directory (replaced as a whole)
    locking: bool = True  # writers take the store's writer lock (not for in-process stores)
    #: held around every call into a library that is not thread-safe even across files
    #: (netCDF-C): all stores of this backend in a process take turns; None: each
    #: store only serialises its own calls
    library_lock: threading.RLock | None = None
