"""Stored variables for readers in other threads and processes (dask arrays).

A :class:`StoredSlices` is what a dask array of a view reads from: it has ``shape``,
``dtype`` and numpy basic indexing.  In the process that made it, it reads through
that process's open store (records still buffered there included).  Pickled to
another process -- a ``dask.distributed`` worker -- it carries only the store's
address (a path, or a URL with its storage options), its backend and the variable's
stored path, and there opens the store read-only, once per process, and reads what
was flushed.
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any

import numpy as np

from xstore.backends import registry
from xstore.backends.address import Address
from xstore.backends.base import Index
from xstore.core.layout import Core
from xstore.names import Path

Key = tuple[str, str, str]
_OPENED: dict[Key, tuple[Core, threading.Lock]] = {}  # read-only stores opened here
_LIVE: dict[Key, tuple[weakref.ref[Core], Any]] = {}  # stores this process has open
_OPENING = threading.Lock()


def _key(backend: str, address: Address) -> Key:
    if address.store is not None:
        return (backend, address.location, str(id(address.store)))
    options = json.dumps(dict(address.storage_options), sort_keys=True, default=repr)
    return (backend, address.location, options)


def _reader(backend: str, address: Address) -> tuple[Core, Any]:
    """The core to read the store at ``address`` through in this process: the open
    store it came from, if it is still open here, else one opened read-only (once)."""
    key = _key(backend, address)
    with _OPENING:
        live = _LIVE.get(key)
        core = live[0]() if live is not None else None
        if live is not None and core is not None and not core.closed:
            return core, live[1]
        found = _OPENED.get(key)
        if found is None or found[0].closed:
            found = _OPENED[key] = (
                Core(registry.get(backend).open(address, "r")),
                threading.Lock(),
            )
        return found


class StoredSlices:
    """One stored variable, read slice by slice from any thread or process."""

    def __init__(
        self,
        core: Core,
        mutex: Any,
        backend: str,
        address: Address,
        node: Path,
        shape: tuple[int, ...],
        dtype: np.dtype,
    ) -> None:
        self._place(core, mutex, backend, address, node, shape, dtype)
        with _OPENING:
            _LIVE[_key(backend, address)] = (weakref.ref(core), mutex)

    def _place(
        self,
        core: Core | None,
        mutex: Any,
        backend: str,
        address: Address,
        node: Path,
        shape: tuple[int, ...],
        dtype: np.dtype,
    ) -> None:
        """Set every field (from ``__init__``, or when unpickled without a store)."""
        self._core = core
        self._mutex = mutex
        self._backend = backend
        self._address = address
        self.node = node
        self.shape = shape
        self.dtype = dtype
        self.ndim = len(shape)

    def __getitem__(self, index: Index) -> np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        core = self._core
        if core is not None and not core.closed:
            with self._mutex:
                return core.read_slice(self.node, index)
        reader, lock = _reader(self._backend, self._address)
        with lock:
            return reader.read_slice(self.node, index)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled: the address, not the open store (another process opens its own)."""
        return (_unpickle, (self._backend, self._address, self.node, self.shape, self.dtype))


def _unpickle(
    backend: str, address: Address, node: Path, shape: tuple[int, ...], dtype: np.dtype
) -> StoredSlices:
    slices = StoredSlices.__new__(StoredSlices)
    slices._place(None, None, backend, address, node, shape, dtype)
    return slices
