"""xarray views of a live store: ``Group.to_dataset()`` and ``Group.to_datatree()``.

The view shows what plain ``xr.open_datatree`` shows, with three differences: keys
are the user's names (not escaped ones), xstore's ``_xs_`` attributes are hidden and
values with an exact xstore encoding (complex, float16, fixed-width str/bytes, ...)
are decoded.  Plain numeric and string variables are read lazily, through this
process's open store, so records still buffered here are included; with
``chunks=`` they are dask arrays (:mod:`~xstore.faces.chunked`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from xstore.codecs.arrays import ENCODING_ATTRS, decode_array
from xstore.codecs.attrs import decode_attrs
from xstore.codecs.context import DecodeContext
from xstore.core.readers import StoredSlices
from xstore.core.session import Session
from xstore.faces.chunked import Chunks, Pending, dask_variables
from xstore.model import DTYPE
from xstore.names import Path, decode_name, is_internal

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
    session: Session, group: Path, ctx: DecodeContext, chunks: Chunks | None = None
) -> xr.Dataset:
    """The variables of ``group``: lazily read, or dask arrays with ``chunks`` (not CF
    decoded yet: :func:`decoded` does that, outside the store's lock, as decoding may
    read from dask threads that take it)."""
    core = session.layout
    variables: dict[str, xr.Variable] = {}
    pending: dict[str, Pending] = {}
    for name, entry in core.index(group).items():
        if entry.is_group or entry.tag in _HIDDEN_TAGS:
            continue
        path = (*group, entry.stored)
        info = core.info(path)
        attrs = core.attrs(path)
        shape = core.shape(path)
        if DTYPE in attrs:
            data: Any = decode_array(core.read_data(path), attrs)
            shown = {
                k: v for k, v in attrs.items() if not is_internal(k) and k not in ENCODING_ATTRS
            }
        elif chunks is not None:
            data = StoredSlices(
                core, session.mutex, session.backend_name, session.address, path, shape, info.dtype
            )
            shown = {k: v for k, v in attrs.items() if not is_internal(k)}
        else:
            data = indexing.LazilyIndexedArray(_LazyVariable(session, path, shape, info.dtype))
            shown = {k: v for k, v in attrs.items() if not is_internal(k)}
        dims = info.dims[: np.ndim(data) if DTYPE in attrs else len(info.dims)]
        visible = _visible_name(name, entry.stored)
        if chunks is None:
            variables[visible] = xr.Variable(dims, data, shown)
        else:
            stored = core.chunks(path) if DTYPE not in attrs else None
            pending[visible] = Pending(dims, data, shown, stored or tuple(np.shape(data)))
    if pending:
        variables.update(dask_variables(pending, chunks or {}))
    return xr.Dataset(variables, attrs=decode_attrs(core.attrs(group), ctx))


def decoded(view: xr.Dataset | xr.DataTree) -> Any:
    """A view of :func:`group_dataset` or :func:`group_datatree` with CF decoding."""
    if isinstance(view, xr.DataTree):
        return view.map_over_datasets(lambda ds: xr.decode_cf(ds, decode_timedelta=True))
    return xr.decode_cf(view, decode_timedelta=True)


def group_datatree(
    session: Session, group: Path, ctx: DecodeContext, chunks: Chunks | None = None
) -> xr.DataTree:
    children = {
        _visible_name(name, entry.stored): group_datatree(
            session, (*group, entry.stored), ctx, chunks
        )
        for name, entry in session.layout.index(group).items()
        if entry.is_group
    }
    name = decode_name(group[-1]) if group else None
    dataset = group_dataset(session, group, ctx, chunks)
    return xr.DataTree(dataset=dataset, children=children, name=name)
