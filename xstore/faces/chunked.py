"""Dask-backed views: ``to_dataset(chunks=...)`` and ``to_datatree(chunks=...)``.

``chunks`` means what it means for ``xr.open_dataset``: ``{}`` the store's
preferred chunks, ``"auto"`` dask's automatic sizes (whole multiples of the stored
chunks), an int for every dimension, or a dict by dimension (an int, ``-1`` for the
whole axis, ``"auto"``; dimensions it leaves out get the preferred chunks).  The
preferred chunks are whole stored chunks, grouped along the first axis up to dask's
``array.chunk-size`` (:func:`preferred`): a series is written in small chunks (a
flush rewrites only its last one) but read in large blocks, since one dask task per
~1 MiB chunk spends its time on task overhead.  Variables of
a group that share a dimension get one chunking along it (the smallest size any of
them wants), so a lockstep set -- whose series have equal records per chunk on disk
-- is chunked alike and no dask chunk cuts a stored chunk.

Each chunk is read by a :class:`~xstore.core.readers.StoredSlices`: through the open
store in this process, or, pickled to a ``dask.distributed`` worker, through the
store opened read-only there.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Chunks = str | int | Mapping[str, Any]


@dataclass
class Pending:
    """A variable of a view before it gets its dask array."""

    dims: tuple[str, ...]
    data: Any  # a StoredSlices, or an ndarray (decoded values)
    attrs: dict[str, Any]
    stored: tuple[int, ...]  # the stored chunk shape (the whole shape if not chunked)


def dask_array() -> Any:
    """``dask.array``, or an ImportError that says how to install it."""
    try:
        import dask.array
    except ImportError as exc:
        raise ImportError(
            'views with chunks= need dask: pip install "xstore[dask]" (or dask[array])'
        ) from exc
    return dask.array


def preferred(stored: tuple[int, ...], shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Whole ``stored`` chunks, as many along the first axis as fit in dask's
    ``array.chunk-size`` (at least one, at most the whole axis)."""
    import dask
    from dask.utils import parse_bytes

    if not stored:
        return stored
    limit = parse_bytes(dask.config.get("array.chunk-size"))
    per_chunk = max(1, itemsize) * int(np.prod(stored))
    count = max(1, limit // per_chunk)
    return (max(1, min(shape[0], stored[0] * count)), *stored[1:])


def _wanted(chunks: Chunks, var: Pending, da: Any) -> tuple[int, ...]:
    """The block size along each axis that ``chunks`` asks for this variable."""
    shape = tuple(var.data.shape)
    if not shape:
        return ()
    stored = tuple(
        max(1, min(c, n)) if n else max(1, c) for c, n in zip(var.stored, shape, strict=True)
    )
    if isinstance(chunks, Mapping):
        grouped = preferred(stored, shape, np.dtype(var.data.dtype).itemsize)
        spec: tuple[Any, ...] = tuple(chunks.get(dim, grouped[i]) for i, dim in enumerate(var.dims))
    elif isinstance(chunks, str | int):
        spec = (chunks,) * len(shape)
    else:
        raise TypeError(f"chunks must be a dict, an int or 'auto', not {type(chunks).__name__}")
    spec = tuple(stored[i] if part is None else part for i, part in enumerate(spec))
    if 0 in shape:
        return tuple(max(1, s) if isinstance(s, int) and s > 0 else 1 for s in spec)
    normal = da.core.normalize_chunks(
        spec, shape, dtype=np.dtype(var.data.dtype), previous_chunks=stored
    )
    return tuple(max(blocks) for blocks in normal)


def dask_variables(pending: Mapping[str, Pending], chunks: Chunks) -> dict[str, Any]:
    """``xr.Variable``\\ s backed by dask arrays, one chunking per dimension."""
    import xarray as xr

    da = dask_array()
    wanted = {name: _wanted(chunks, var, da) for name, var in pending.items()}
    size: dict[str, int] = {}
    for name, var in pending.items():
        for dim, n in zip(var.dims, wanted[name], strict=True):
            size[dim] = min(size.get(dim, n), n)
    out = {}
    for name, var in pending.items():
        blocks = tuple(size[dim] for dim in var.dims)
        data = da.from_array(
            var.data,
            chunks=blocks,
            lock=False,
            name=f"xstore-{name}-{uuid.uuid4().hex}",
            meta=np.empty((0,) * len(blocks), dtype=var.data.dtype),
        )
        out[name] = xr.Variable(var.dims, data, var.attrs)
    return out
