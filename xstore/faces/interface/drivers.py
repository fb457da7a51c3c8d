"""The drivers of the attribute-access face, with openmmtools' driver-level calls.

Code written against ``openmmtools.storage`` calls its driver directly too:
``create_storage_variable(path, type)`` and ``get_storage_variable(path)`` give
objects with ``write``/``append``/``read``/``add_metadata``
(:class:`StorageVariable`, a node of the interface that checks the type it was
made for), ``get_directory(path)`` a directory, ``add_metadata(name, value,
path="/")`` sets metadata anywhere.  :class:`NetCDFIODriver` also hands out the open
``netCDF4.Dataset`` (``ncfile``), its groups, and openmmtools' dimension checks.
Everything else goes through the interface's nodes, so both faces behave alike.
"""

from __future__ import annotations

import builtins
from typing import Any

from xstore.faces.interface.driver_base import IODriver
from xstore.faces.interface.nodes import StorageInterface, _Node, kind_of
from xstore.faces.store import Group

__all__ = ["IODriver", "NetCDFIODriver", "StorageVariable", "ZarrIODriver"]


def _parts(path: str) -> tuple[str, ...]:
    """``path`` as components: leading, trailing and doubled ``/`` do not count (as in
    openmmtools)."""
    if not isinstance(path, str):
        raise TypeError(f"a path must be a str, not {type(path).__name__}")
    return tuple(part for part in path.split("/") if part)


class StorageVariable:
    """A variable reached through the driver (openmmtools' bound codec): ``write``,
    ``append``, ``read``, ``add_metadata`` and ``metadata`` as on
    :class:`StorageInterface` nodes.  Made by ``create_storage_variable(path,
    type)``, it refuses data that are not instances of ``type`` (``TypeError``)."""

    def __init__(self, node: _Node, kind: type | None) -> None:
        self._node = node
        self._kind = kind

    @property
    def path(self) -> str:
        return str(self._node.path)

    @property
    def type(self) -> type | None:
        """The type of data it takes (None: any, for ``get_storage_variable``)."""
        return self._kind

    def _check(self, data: Any) -> None:
        if self._kind is not None and not isinstance(data, self._kind):
            raise TypeError(
                f"{self.path} was made for {self._kind.__name__} data, not {type(data).__name__}"
            )

    def write(self, data: Any, at_index: int | None = None) -> None:
        """See ``StorageInterface`` nodes' ``write``."""
        self._check(data)
        self._node.write(data, at_index=at_index)

    def append(self, data: Any, record_dim: str | None = None) -> None:
        """See ``StorageInterface`` nodes' ``append``."""
        self._check(data)
        self._node.append(data, record_dim=record_dim)

    def read(self) -> Any:
        return self._node.read()

    def add_metadata(self, name: str, value: Any) -> None:
        self._node.add_metadata(name, value)

    @property
    def metadata(self) -> dict[str, Any]:
        return self._node.metadata

    def __repr__(self) -> str:
        kind = "any" if self._kind is None else self._kind.__name__
        return f"<xstore.StorageVariable {self.path!r} ({kind})>"


class _Driver(IODriver):
    """A driver with openmmtools' driver-level calls."""

    def _root(self) -> StorageInterface:
        root = self.__dict__.get("_interface")
        if root is None:
            root = self.__dict__["_interface"] = StorageInterface(self)
        return root

    def _node(self, path: str) -> _Node:
        node: _Node = self._root()
        for part in _parts(path):
            node = node[part]
        return node

    def create_storage_variable(self, path: str, type: type) -> StorageVariable:
        """The variable at ``path`` for data of ``type`` (nothing is written until its
        first ``write`` or ``append``)."""
        if not isinstance(type, builtins.type):
            raise TypeError(f"create_storage_variable needs a type, not {type!r}")
        if not _parts(path):
            raise ValueError("create_storage_variable needs a path below the root")
        return StorageVariable(self._node(path), type)

    def get_storage_variable(self, path: str) -> StorageVariable:
        """The variable stored at ``path``; ``KeyError`` if nothing, or a directory, is
        stored there."""
        node = self._node(path)
        kind = kind_of(node) if _parts(path) else "directory"
        if kind in ("missing", "directory"):
            what = "nothing" if kind == "missing" else "a directory"
            raise KeyError(
                f"{node.path}: {what} is stored there, not a variable ({self.file_name})"
            )
        return StorageVariable(node, None)

    def get_directory(self, path: str, create: bool = True) -> Any:
        """The directory at ``path`` as an :class:`xstore.Group`, created with the
        directories above it unless ``create`` is False (then ``KeyError`` if missing).
        A variable on the path raises ``TypeError``."""
        return self._group(path, create)

    def _group(self, path: str, create: bool) -> Group:
        parts = _parts(path)
        store = self.store
        if not parts:
            return store
        key = "/".join(parts)
        found = store.session.layout.resolve((), key)
        if found.found:
            assert found.entry is not None
            if not found.entry.plain_group:
                raise TypeError(f"/{key} holds a stored value, not a directory")
            group = store[key]
            assert isinstance(group, Group)
            return group
        if not create:
            raise KeyError(f"/{key}: no such directory in {self.file_name}")
        return store.create_group(key)

    def add_metadata(self, name: str, value: Any, path: str = "/") -> None:
        """Set metadata ``name`` of the node at ``path`` (the root by default);
        ``KeyError`` if nothing is stored there."""
        node = self._node(path)
        if _parts(path) and kind_of(node) == "missing":
            raise KeyError(f"{node.path}: nothing is stored there to add metadata to")
        node.add_metadata(name, value)


class NetCDFIODriver(_Driver):
    """A netCDF-4/HDF5 file for :class:`StorageInterface`.

    ``access_mode``: ``'r'`` read-only, ``'w'`` create or truncate, ``'a'`` read and
    write (created if missing), ``None``: ``'a'`` if the file exists, else ``'w'``.
    Other keywords go to :func:`xstore.open` (``engine``, ``allow_pickle``,
    ``buffer_records``, ``compression``, ...).

    For openmmtools users, :attr:`ncfile` is the open ``netCDF4.Dataset`` and
    :meth:`get_directory` gives its groups (engine ``netcdf4``, the default).
    """

    backend = "netcdf"

    def _native(self, parts: tuple[str, ...]) -> Any:
        import netCDF4

        group = self._group("/".join(parts), create=False) if parts else self.store
        handle = group.session.layout.native(group.stored_path)
        if not isinstance(handle, netCDF4.Dataset):
            raise TypeError(
                f"{self.file_name} is open with engine 'h5netcdf'; ncfile and the groups "
                "of get_directory are netCDF4-python objects: open it with engine='netcdf4'"
            )
        return handle

    @property
    def ncfile(self) -> Any:
        """The open ``netCDF4.Dataset`` xstore writes through, with every record
        buffered so far written and flushed first.  Read from it freely; records
        appended later show after the next ``sync()`` (or ``ncfile``).  Do not close
        it (close the driver), and write through xstore: xstore does not see what is
        written around it until the file is reopened."""
        return self._native(())

    def get_directory(self, path: str, create: bool = True) -> Any:
        """The ``netCDF4.Group`` at ``path`` (the Dataset for ``"/"``), created as a
        directory with the directories above it unless ``create`` is False (then
        ``KeyError`` if missing)."""
        parts = _parts(path)
        if parts:
            self._group(path, create)
        return self._native(parts)

    def check_scalar_dimension(self) -> None:
        """Make sure the root has openmmtools' dimension ``scalar`` (length 1)."""
        self._dimension("scalar", 1)

    def check_iterable_dimension(self, length: int = 0) -> None:
        """Make sure the root has openmmtools' dimension ``iterable<length>`` (0:
        unlimited)."""
        if type(length) is not int:
            raise TypeError(f"length must be an int, not {type(length).__name__}")
        if length < 0:
            raise ValueError(f"length must be >= 0, not {length}")
        self._dimension(f"iterable{length}", length)

    def check_infinite_dimension(self, name: str = "iteration") -> None:
        """Make sure the root has the unlimited dimension ``name`` (an appended
        variable with ``record_dim=name`` then grows along it)."""
        self._dimension(name, 0)

    def _dimension(self, name: str, size: int) -> None:
        if self.store.mode == "r":
            raise PermissionError(f"cannot add a dimension: {self.file_name} is open read-only")
        dataset = self.ncfile
        if name not in dataset.dimensions:
            dataset.createDimension(name, size or None)


class ZarrIODriver(_Driver):
    """A zarr store (directory, ``.zip``, fsspec URL or zarr store object) for
    :class:`StorageInterface`; see :class:`NetCDFIODriver` for the arguments, and
    ``storage_options`` (fsspec's, for a URL) as in :func:`xstore.open`.  ``get_directory`` gives
    :class:`xstore.Group` objects (zarr has no netCDF Dataset to hand out)."""

    backend = "zarr"
