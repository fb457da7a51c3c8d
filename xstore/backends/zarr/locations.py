"""Where a zarr store lives: a directory, a ``.zip`` file or an fsspec URL."""

from __future__ import annotations

import os

from zarr.abc.store import Store
from zarr.core.sync import sync
from zarr.storage import FsspecStore

from xstore.backends.files import is_url, local_path


def is_zip(location: str) -> bool:
    """A zip store: a ``.zip`` path, or any existing file (a directory store is a folder)."""
    if is_url(location):
        return False
    path = local_path(location)
    return path.lower().endswith(".zip") or os.path.isfile(path)


def store_exists(location: str) -> bool:
    """True if something is stored at ``location`` (an empty directory is nothing)."""
    if is_url(location):
        return sync(_has_keys(FsspecStore.from_url(location, read_only=True)))
    path = local_path(location)
    if os.path.isdir(path):
        return bool(os.listdir(path))
    return os.path.exists(path)


def is_zarr_directory(path: str) -> bool:
    """An existing local directory holding a zarr group or array."""
    return os.path.isdir(path) and os.path.exists(os.path.join(path, "zarr.json"))


def remove_partials(folder: str) -> None:
    """Delete temporary files a killed writer left (zarr writes ``*.partial`` and
    renames); chunk directories (``c``) are not walked."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file() and entry.name.endswith(".partial"):
                os.remove(entry.path)
            elif entry.is_dir() and entry.name != "c":
                remove_partials(entry.path)


async def _has_keys(store: Store) -> bool:
    if await store.exists("zarr.json"):
        return True
    async for _ in store.list_dir(""):
        return True
    return False
