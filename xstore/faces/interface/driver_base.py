"""What every driver of the attribute-access face is: an open store for
``StorageInterface`` (the drivers themselves, with openmmtools' driver-level calls,
are in :mod:`~xstore.faces.interface.drivers`).

Drivers open their store when they are made (so a missing file in mode ``'r'``
fails at once with ``FileNotFoundError``, and mode ``'w'`` truncates at once) and
close it with :meth:`close` or at the end of a ``with`` block.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any, ClassVar

from xstore.backends import registry
from xstore.backends.address import address_of
from xstore.faces.api import open as open_store
from xstore.faces.store import Store

_MODES = ("r", "w", "a")


class IODriver:
    """An open store for :class:`StorageInterface`; see the subclasses."""

    backend: ClassVar[str]  # the name of the backend in xstore's registry

    def __init__(
        self,
        file_name: str | os.PathLike[str] | Any,
        access_mode: str | None = None,
        *,
        allow_pickle: bool = False,
        storage_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        address = address_of(file_name, storage_options)
        if access_mode is None:
            access_mode = "a" if registry.get(self.backend).exists(address) else "w"
        elif access_mode not in _MODES:
            raise ValueError(f"access_mode must be one of {_MODES} or None, not {access_mode!r}")
        self._store = open_store(
            file_name,
            access_mode,
            backend=self.backend,
            allow_pickle=allow_pickle,
            storage_options=storage_options,
            **options,
        )
        self._file_name = address.location
        self._access_mode = access_mode

    @property
    def file_name(self) -> str:
        """The path (or URL) of the store."""
        return self._file_name

    @property
    def access_mode(self) -> str:
        """``'r'``, ``'w'`` or ``'a'`` (``None`` given: ``'a'`` if the store existed,
        else ``'w'``)."""
        return self._access_mode

    @property
    def store(self) -> Store:
        """The open store, for the dict-like face (``xstore.open``'s :class:`~xstore.Store`)."""
        return self._store

    @property
    def closed(self) -> bool:
        """True once the driver (and its store) is closed."""
        return self._store.closed

    def sync(self) -> None:
        """Write everything buffered and make it durable (``Store.flush``)."""
        self._store.flush()

    def close(self) -> None:
        """Flush and close the store; closing twice is fine."""
        self._store.close()

    def __enter__(self) -> IODriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, attr: str) -> Any:
        """A plain ``AttributeError`` naming the driver and the attribute, with the
        driver's public names that come close."""
        if attr.startswith("_"):
            raise AttributeError(attr)
        public = [name for name in dir(type(self)) if not name.startswith("_")]
        close = difflib.get_close_matches(attr, public, n=3, cutoff=0.75)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise AttributeError(f"{type(self).__name__} has no attribute {attr!r}{hint}")

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"mode {self._access_mode!r}"
        return f"<xstore.{type(self).__name__} {self._file_name!r} ({state})>"
