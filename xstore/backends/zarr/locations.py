"""Where a zarr store lives: a directory, a ``.zip`` file, an fsspec URL or a zarr
store object -- whether something is stored there, and its root group."""

from __future__ import annotations

import os
from typing import Any

import zarr
from zarr.abc.store import Store
from zarr.core.sync import sync
from zarr.storage import FsspecStore

from xstore.backends.address import Address
from xstore.backends.files import is_url, local_path
from xstore.backends.zarr import replace
from xstore.backends.zarr.localfiles import DirectLocalStore
from xstore.backends.zarr.network import guarded
from xstore.errors import StoreError


def is_zip(location: str) -> bool:
    """A zip store: a ``.zip`` path, or any existing file (a directory store is a folder)."""
    if is_url(location):
        return False
    path = local_path(location)
    return path.lower().endswith(".zip") or os.path.isfile(path)


def remote_store(address: Address, read_only: bool) -> Store:
    """The zarr store of a URL (through its storage options) or the store object given,
    read-only or not (``PermissionError`` to write through a read-only store object)."""
    store = address.store
    if store is None:
        return FsspecStore.from_url(
            address.location, storage_options=dict(address.storage_options), read_only=read_only
        )
    if store.read_only and not read_only:
        raise PermissionError(f"{address} is a read-only store object; open it with mode 'r'")
    if read_only and not store.read_only:
        try:
            return store.with_read_only(True)
        except NotImplementedError:
            return store
    return store


def open_remote(address: Address, mode: str) -> Store:
    """The store of a remote address for a backend opened with ``mode``: a reader is
    refused while a replacement cut short has no store there, a writer (it holds the
    lease) settles such a replacement first; mode ``w`` clears the store, keeping
    xstore's own keys."""
    if mode == "r":
        replace.require_settled(address)
    elif not replace.is_staged_copy(address):
        replace.settle(address)
    store = remote_store(address, read_only=mode == "r")
    if mode == "w":
        if not sync(store.exists("zarr.json")) and sync(_has_keys(store)):
            raise StoreError(f"refusing to overwrite {address}: it holds keys but no zarr store")
        replace.clear(store)
    return store


def store_exists(address: Address | str) -> bool:
    """True if something is stored at ``address`` (an empty directory is nothing)."""
    if isinstance(address, str):
        address = Address(address)
    if address.remote:
        return guarded(address.location, "looking for the store", lambda: _remote_exists(address))
    path = address.path
    if os.path.isdir(path):
        return bool(os.listdir(path))
    return os.path.exists(path)


def _remote_exists(address: Address) -> bool:
    if not replace.is_staged_copy(address) and replace.interrupted(address) is not None:
        return True  # a replacement cut short: its new store is complete beside it
    return sync(_has_keys(remote_store(address, read_only=True)))


def open_directory(path: str, mode: str, location: str) -> Store:
    """The store of a local zarr directory, for a backend opened with ``mode``: mode
    ``w`` refuses a directory holding anything but a zarr store, ``r+`` first deletes
    what a killed writer left."""
    if mode == "w" and os.path.isdir(path) and os.listdir(path) and not is_zarr_directory(path):
        raise StoreError(f"refusing to overwrite {location}: it is not a zarr store")
    if mode == "r+":
        remove_partials(path)
    return DirectLocalStore(path, read_only=mode == "r")


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
    async for name in store.list_dir(""):
        if name not in (replace.LEASE, replace.INTENT) and not replace.is_staged_inside(name):
            return True
    return False


def open_root(store: Store, address: Address, mode: str) -> zarr.Group:
    """The root group of the store at ``address`` (created for ``"w"``/``"w-"``)."""
    try:
        if mode in ("w", "w-"):  # (a remote store was cleared, keeping its lease)
            overwrite = mode == "w" and not address.remote
            return zarr.create_group(store, zarr_format=3, overwrite=overwrite)
        access: Any = mode  # "r" or "r+"
        return zarr.open_group(store, mode=access, zarr_format=3, use_consolidated=False)
    except (FileExistsError, PermissionError):
        raise
    except zarr.errors.ContainsGroupError as exc:
        raise FileExistsError(f"{address.location} already exists (mode {mode!r})") from exc
    except Exception as exc:
        raise StoreError(f"cannot open {address.location} as a zarr v3 group: {exc}") from exc
