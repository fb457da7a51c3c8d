"""xarray views of a live store: ``Group.to_dataset()`` and ``Group.to_datatree()``.

The view shows what plain ``xr.open_datatree`` shows, with these differences: keys
and dimensions are the user's names (not escaped ones), xstore's ``_xs_`` attributes
(and the CF attributes its encodings add) are hidden, attributes have their exact
types, values with an exact xstore encoding (complex, float16, fixed-width str/bytes,
datetimes, bools, ...) are decoded, and a stored xarray value shows its own
coordinates.  Nothing else is CF-decoded: a user's ``units``, ``scale_factor`` or
``_FillValue`` is metadata and never changes the values (only Datasets written by
format 1, through xarray's CF encoder, are CF-decoded by xarray).  Plain numeric and
string variables are read lazily, through this process's open store, so records
still buffered here are included; with ``chunks=`` they are dask arrays
(:mod:`~xstore.faces.chunked`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from xstore.codecs.arrays import cf_names, decode_array
from xstore.codecs.attrs import decode_attrs
from xstore.codecs.context import DecodeContext
from xstore.codecs.xarray_ import group_layout
from xstore.core.readers import StoredSlices
from xstore.core.session import Session
from xstore.faces.chunked import Chunks, Pending, dask_variables
from xstore.model import DTYPE
from xstore.names import Path, decode_name

_HIDDEN_TAGS = ("pickle", "none")  # no array to show


class _LazyVariable(BackendArray):
    """Reads slices of one stored variable on demand."""

    def __init__(
        self, session: Session, path: Path, shape: tuple[int, ...], dtype: np.dtype
    ) -> None:
        self._session = session
        self._path = path
        self.shape = shape
        self.dtype = dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        with self._session.mutex:  # xarray may read from any thread
            return self._session.layout.read_slice(self._path, key)


def _visible_name(name: str, entry_stored: str) -> str:
    return entry_stored if "/" in name else name


def group_dataset(
    session: Session,
    group: Path,
    ctx: DecodeContext,
    chunks: Chunks | None = None,
    undecoded: list[str] | None = None,
    at: str = "/",
) -> xr.Dataset:
    """The variables of ``group``: lazily read, or dask arrays with ``chunks``.  A
    format-1 xarray value is CF-decoded here, or, given ``undecoded``, its path
    (``at``) is added there for :func:`decoded` to decode outside the store's lock
    (decoding may read from dask threads that take it)."""
    core = session.layout
    variables: dict[str, xr.Variable] = {}
    pending: dict[str, Pending] = {}
    for name, entry in core.index(group).items():
        if entry.is_group or entry.tag in _HIDDEN_TAGS:
            continue
        path = (*group, entry.stored)
        info = core.info(path)
        raw = core.attrs(path)
        hidden = cf_names(raw)
        with ctx.at(name):
            attrs = decode_attrs({k: v for k, v in raw.items() if k not in hidden}, ctx)
        shape = core.shape(path)
        visible = _visible_name(name, entry.stored)
        # an index coordinate is read now, as xarray's own chunked open does: building
        # its index inside the store's lock would wait for dask threads that take it
        index = len(info.dims) == 1 and decode_name(info.dims[0]) == visible
        if DTYPE in raw:
            data: Any = decode_array(core.read_data(path), raw)
            dims = info.dims[: np.ndim(data)]
        elif index and chunks is not None:
            data = core.read_data(path)
            dims = info.dims
        elif chunks is not None:
            data = StoredSlices(
                core, session.mutex, session.backend_name, session.address, path, shape, info.dtype
            )
            dims = info.dims
        else:
            data = indexing.LazilyIndexedArray(_LazyVariable(session, path, shape, info.dtype))
            dims = info.dims
        dims = tuple(decode_name(d) for d in dims)
        if chunks is None or index:
            variables[visible] = xr.Variable(dims, data, attrs)
        else:
            stored = core.chunks(path) if DTYPE not in raw else None
            pending[visible] = Pending(dims, data, attrs, stored or tuple(np.shape(data)))
    if pending:
        variables.update(dask_variables(pending, chunks or {}))
    attrs = core.attrs(group)
    ds = xr.Dataset(variables, attrs=decode_attrs(attrs, ctx))
    coords, format1 = group_layout(attrs)
    if format1:
        if undecoded is None:
            return xr.decode_cf(ds, decode_timedelta=True)
        undecoded.append(at)
        return ds
    return ds.set_coords([c for c in coords if c in ds.data_vars])


def decoded(view: Any, undecoded: list[str]) -> Any:
    """``view`` with the format-1 xarray values at the paths ``undecoded`` (collected
    by :func:`group_dataset`) CF-decoded by xarray; nothing else is decoded."""
    if isinstance(view, xr.Dataset):
        return xr.decode_cf(view, decode_timedelta=True) if undecoded else view
    for path in undecoded:
        node = view if path == "/" else view[path.lstrip("/")]
        node.dataset = xr.decode_cf(node.to_dataset(inherit=False), decode_timedelta=True)
    return view


def group_datatree(
    session: Session,
    group: Path,
    ctx: DecodeContext,
    chunks: Chunks | None = None,
    undecoded: list[str] | None = None,
    at: str = "/",
) -> xr.DataTree:
    children = {}
    for name, entry in session.layout.index(group).items():
        if entry.is_group:
            visible = _visible_name(name, entry.stored)
            below = f"{at.rstrip('/')}/{visible}"
            children[visible] = group_datatree(
                session, (*group, entry.stored), ctx, chunks, undecoded, below
            )
    dataset = group_dataset(session, group, ctx, chunks, undecoded, at)
    return xr.DataTree(
        dataset=dataset, children=children, name=decode_name(group[-1]) if group else None
    )
