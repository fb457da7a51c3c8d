"""Where a store lives: a local path, an fsspec URL with its storage options, or a zarr
``Store`` object handed in instead of a path.

Every access to a store goes through its :class:`Address` -- opening, the existence
check, the writer lock or lease, replacing it on ``save`` -- so fsspec's
``storage_options`` (an endpoint, credentials) are used everywhere or nowhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore, ZipStore

from xstore.backends.files import is_url, local_path


@dataclass(frozen=True, eq=False)
class Address:
    """A store's location: ``location`` (a path or URL, or a readable name of
    ``store``) with fsspec ``storage_options`` for URLs, or a zarr ``store`` object."""

    location: str
    storage_options: Mapping[str, Any] = field(default_factory=dict)  # never changed
    store: Store | None = None

    def __str__(self) -> str:
        return self.location

    @property
    def remote(self) -> bool:
        """Reached through fsspec or a zarr store object, not the local file system."""
        return self.store is not None or is_url(self.location)

    @property
    def path(self) -> str:
        """The file-system path of a local store (``file://`` stripped)."""
        return local_path(self.location)

    def beside(self, location: str) -> Address:
        """Another location reached the same way (same storage options)."""
        return Address(location, self.storage_options)


def address_of(path: Any, storage_options: Mapping[str, Any] | None = None) -> Address:
    """The :class:`Address` of what a user passed as a store: a str or ``os.PathLike``
    path or URL, or a zarr store object.

    Local zarr stores (``LocalStore``, ``ZipStore``) become their paths, so they are
    locked and replaced like paths; an ``FsspecStore`` is named by its URL.
    ``storage_options`` apply to URLs only: ``ValueError`` for a local path or a store
    object (which carries its own).
    """
    if isinstance(path, Store):
        if storage_options:
            raise ValueError(
                "storage_options apply to URLs; a zarr store object carries its own options"
            )
        return _of_store(path)
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"a store must be a path, a URL or a zarr store object, not {type(path).__name__}"
        )
    location = os.fspath(path)
    if storage_options and not is_url(location):
        raise ValueError(
            f"storage_options apply to URL stores (s3://..., gs://...), not the local path "
            f"{location!r}"
        )
    return Address(location, dict(storage_options or {}))


def _of_store(store: Store) -> Address:
    if isinstance(store, LocalStore):
        return Address(str(store.root))
    if isinstance(store, ZipStore):
        return Address(str(store.path))
    if isinstance(store, FsspecStore):
        protocol = store.fs.protocol
        scheme = protocol[0] if isinstance(protocol, tuple | list) else protocol
        return Address(f"{scheme}://{store.path}", store=store)
    return Address(f"<{type(store).__name__} {store}>", store=store)


def read_only_object(path: Any) -> bool:
    """True for a zarr store object opened read-only (it may only be read)."""
    return isinstance(path, Store) and path.read_only
