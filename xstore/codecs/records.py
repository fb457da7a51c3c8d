"""Tables of records: what ``StorageInterface`` makes of appended dicts.

A table is a group tagged ``records`` whose children are series sharing one record
dimension, one series per key of the appended dicts (a "column").  Plain readers see
an ordinary group: an ``xarray.Dataset`` whose variables share that dimension.
xstore decodes it as a list of dicts, one per record, reading each column once.

Values come back as :meth:`numpy.ndarray.tolist` gives them for the default dtypes
(bool, int64, float64, complex128, str: the Python scalar) and as numpy scalars or
arrays otherwise (``np.float32`` stays ``np.float32``, a frame stays an array).
Columns of a registered codec are decoded record by record.  ``None`` values are
marked per column (:mod:`xstore.codecs.nulls`) and come back as ``None``.

The codec is never chosen when encoding: a list of dicts given to ``save`` or a
store stays a list.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xstore.codecs.arrays import decode_array
from xstore.codecs.context import Codec, DecodeContext, EncodeContext
from xstore.codecs.nulls import none_mask
from xstore.codecs.user import codec_attrs, stored_codec
from xstore.errors import StoreError
from xstore.model import TYPE, Node, Tree, Var

TAG = "records"
_AS_PYTHON = frozenset(np.dtype(t) for t in (bool, np.int64, np.float64, np.complex128))


def table_node() -> Tree:
    """A new, empty table (its columns are created by the first record)."""
    return Tree({TYPE: TAG})


def _column(node: Node, ctx: DecodeContext) -> list[Any]:
    if not isinstance(node, Var) or not node.growable:
        raise StoreError(f"{ctx.path} in the table of records is not a series ({ctx.location})")
    data = np.asarray(node.data)
    nones = none_mask(node.attrs, len(data))
    if nones is not None and nones.all():
        return [None] * len(data)  # no value yet, so no type to decode
    arr = decode_array(data, node.attrs)
    if node.attrs.get(TYPE) == "codec":
        codec = stored_codec(node, ctx)
        attrs = codec_attrs(node.attrs, ctx)
        return [
            None if nones is not None and nones[i] else codec.decode(arr[i], attrs)
            for i in range(len(arr))
        ]
    if arr.ndim == 1 and (arr.dtype in _AS_PYTHON or arr.dtype.kind in "UO"):
        values = arr.tolist()
    else:
        values = list(arr)
    if nones is not None:
        for i in np.flatnonzero(nones).tolist():
            values[i] = None
    return values


def decode_records(node: Node, ctx: DecodeContext) -> list[dict[str, Any]]:
    """The records of a table, as a list of dicts (keys in column order)."""
    assert isinstance(node, Tree)
    columns: dict[str, list[Any]] = {}
    for name, child in node.children.items():
        with ctx.at(name):
            columns[name] = _column(child, ctx)
    lengths = {len(column) for column in columns.values()}
    if len(lengths) > 1:
        shown = {name: len(column) for name, column in columns.items()}
        raise StoreError(
            f"{ctx.path}: the columns of the table of records have different lengths "
            f"{shown} ({ctx.location})"
        )
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _never(value: Any, ctx: EncodeContext) -> Node | None:
    return None  # tables are made by StorageInterface.append, never from a value


RECORDS = Codec(TAG, _never, decode_records)
