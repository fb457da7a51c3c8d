"""xarray views of a live store: ``Group.to_dataset()`` and ``Group.to_datatree()``.

The view shows what plain ``xr.open_datatree`` shows, with these differences: keys
and dimensions are the user's names (not escaped ones), xstore's ``_xs_`` attributes
(and the CF attributes its encodings add) are hidden, attributes have their exact
types, values with an exact xstore encoding (complex, float16, fixed-width str/bytes,
datetimes, bools, ...) are decoded, and a stored xarray value shows its own
coordinates.  Nothing else is CF-decoded: a user's ``units``, ``scale_factor`` or
``_FillValue`` is metadata and never changes the values.  Plain numeric and string
variables are read lazily, through this process's open store, so records still
buffered here are included.
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
from xstore.core.session import Session
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


def group_dataset(session: Session, group: Path, ctx: DecodeContext) -> xr.Dataset:
    core = session.layout
    variables: dict[str, xr.Variable] = {}
    for name, entry in core.index(group).items():
        if entry.is_group or entry.tag in _HIDDEN_TAGS:
            continue
        path = (*group, entry.stored)
        info = core.info(path)
        raw = core.attrs(path)
        hidden = cf_names(raw)
        with ctx.at(name):
            attrs = decode_attrs({k: v for k, v in raw.items() if k not in hidden}, ctx)
        if DTYPE in raw:
            data: Any = decode_array(core.read_data(path), raw)
            dims = info.dims[: np.ndim(data)]
        else:
            lazy = _LazyVariable(session, path, core.shape(path), info.dtype)
            data = indexing.LazilyIndexedArray(lazy)
            dims = info.dims
        dims = tuple(decode_name(d) for d in dims)
        variables[_visible_name(name, entry.stored)] = xr.Variable(dims, data, attrs)
    attrs = core.attrs(group)
    ds = xr.Dataset(variables, attrs=decode_attrs(attrs, ctx))
    coords, format1 = group_layout(attrs)
    if format1:
        return xr.decode_cf(ds, decode_timedelta=True)
    return ds.set_coords([c for c in coords if c in ds.data_vars])


def group_datatree(session: Session, group: Path, ctx: DecodeContext) -> xr.DataTree:
    children = {
        _visible_name(name, entry.stored): group_datatree(session, (*group, entry.stored), ctx)
        for name, entry in session.layout.index(group).items()
        if entry.is_group
    }
    name = decode_name(group[-1]) if group else None
    return xr.DataTree(dataset=group_dataset(session, group, ctx), children=children, name=name)
