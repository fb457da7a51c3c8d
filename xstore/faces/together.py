"""Several stores read as one ``xarray.DataTree``: how parallel writers share a result.

A store has one writer at a time (the writer lock), so processes that produce one
logical dataset at the same time -- one per replica, per node, per parameter --
write a store each, and :func:`open_datatree` reads them together afterwards (or
while they run: zarr readers see each writer's last flush).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import xarray as xr

from xstore.backends.address import address_of
from xstore.backends.files import is_url
from xstore.faces.api import PathLike, StorageOptions
from xstore.faces.api import open as open_store
from xstore.faces.chunked import Chunks
from xstore.faces.store import Store


def _name(path: Any) -> str:
    location = address_of(path).location.rstrip("/")
    return os.path.splitext(location.rsplit("/", 1)[-1])[0]


def open_datatree(
    stores: Mapping[str, PathLike] | Sequence[PathLike],
    *,
    chunks: Chunks | None = None,
    storage_options: StorageOptions = None,
    allow_pickle: bool = False,
) -> xr.DataTree:
    """Read several stores together as one ``xarray.DataTree``, one child per store.

    Parameters
    ----------
    stores : dict of name to path, or a list of paths
        The stores (paths, URLs or zarr store objects); a list names each child after
        its store's file name without the suffix.
    chunks : optional
        As for :meth:`xstore.Group.to_datatree`: dask-backed views.
    storage_options : dict, optional
        fsspec's options for the URLs among ``stores``.
    allow_pickle : bool
        Read values stored as pickles (trusted stores only).

    Returns
    -------
    xarray.DataTree
        Reads through the stores, which stay open (read-only) until the tree's
        ``close()`` (or the end of a ``with`` block).

    Examples
    --------
    >>> with xstore.open_datatree(["replica0.zarr", "replica1.zarr"]) as tree:  # doctest: +SKIP
    ...     tree["replica1/energy"].mean()
    """
    named = dict(stores) if isinstance(stores, Mapping) else {_name(s): s for s in stores}
    if not isinstance(stores, Mapping) and len(named) != len(stores):
        raise ValueError("stores of the same file name need names: pass a dict {name: path}")
    opened: list[Store] = []
    try:
        children = {}
        for name, path in named.items():
            options = storage_options if isinstance(path, str) and is_url(path) else None
            store = open_store(path, "r", allow_pickle=allow_pickle, storage_options=options)
            opened.append(store)
            children[name] = store.to_datatree(chunks=chunks)
        tree = xr.DataTree(children=children)
    except BaseException:
        for store in opened:
            store.close()
        raise

    def close() -> None:
        for store in opened:
            store.close()

    tree.set_close(close)
    return tree
