"""The zarr format 3 backend: :mod:`~.backend` (the backend), :mod:`~.locations`
(directory, zip, URL), :mod:`~.attrs` (attributes as JSON), :mod:`~.nodes` (groups
and arrays), :mod:`~.commit` (the commit record), :mod:`~.staging` (writable zips)."""

from __future__ import annotations

import os
from typing import Any

from xstore.backends.base import Backend, BackendSpec

SUFFIXES = (".zarr", ".zip")


def _sniff(path: str) -> bool:
    if os.path.isdir(path):
        return os.path.exists(os.path.join(path, "zarr.json"))
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"PK"
    except OSError:
        return False


def _exists(location: str) -> bool:
    from xstore.backends.zarr.locations import store_exists

    return store_exists(location)


def _open(location: str, mode: str, **options: Any) -> Backend:
    from xstore.backends.zarr.backend import ZarrBackend

    return ZarrBackend(location, mode, **options)


SPEC = BackendSpec(
    name="zarr",
    open=_open,
    exists=_exists,
    suffixes=SUFFIXES,
    sniff=_sniff,
    save_modes=("zarr",),
    urls=True,
    directories=True,
)
