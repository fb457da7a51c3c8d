"""The zarr format 3 backend: :mod:`~.backend` (the backend), :mod:`~.locations`
(directory, zip, URL, store object), :mod:`~.attrs` (attributes as JSON),
:mod:`~.nodes` (groups and arrays), :mod:`~.commit` (the commit record),
:mod:`~.staging` (writable zips), :mod:`~.tails` (appends without reading chunks
back), :mod:`~.guard` (network failures), :mod:`~.replace` and :mod:`~.prefix`
(``save`` over a remote store)."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import Any

from xstore.backends.address import Address
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


def _exists(address: Address) -> bool:
    from xstore.backends.zarr.locations import store_exists

    return store_exists(address)


def _open(address: Address, mode: str, **options: Any) -> Backend:
    from xstore.backends.zarr.backend import ZarrBackend

    return ZarrBackend(address, mode, **options)


def _stage(address: Address) -> AbstractContextManager[Address]:
    from xstore.backends.zarr.replace import stage

    return stage(address)


def _leftovers(address: Address) -> list[str]:
    from xstore.backends.zarr.network import guarded
    from xstore.backends.zarr.replace import leftovers

    return guarded(address.location, "looking for leftovers", lambda: leftovers(address))


SPEC = BackendSpec(
    name="zarr",
    open=_open,
    exists=_exists,
    suffixes=SUFFIXES,
    sniff=_sniff,
    save_modes=("zarr",),
    urls=True,
    stage=_stage,
    leftovers=_leftovers,
    directories=True,
)
