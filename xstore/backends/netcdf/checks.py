"""Checks on netCDF variables: crc32 of small contiguous data, and reads no larger
than the file could hold."""

from __future__ import annotations

import os
import zlib
from typing import Any

import numpy as np

from xstore.backends import plausible
from xstore.backends.base import Index
from xstore.errors import StoreError
from xstore.model import STRING
from xstore.names import Path


def require_plausible(
    location: str, file: str, node: Path, var: Any, index: Index, chunks: tuple[int, ...] | None
) -> None:
    """No read decodes to more than deflate can make of the whole file, nor touches
    more chunks than the file has bytes (HDF5 would fill them one by one: a spin)."""
    dtype = np.dtype(object) if var.dtype is str else np.dtype(var.dtype)
    shape = tuple(var.shape)
    wanted = plausible.read_bytes(shape, dtype, index)
    # a read touches at most one chunk per element, and has at least a byte per element
    touched = 0
    if chunks is not None and wanted > plausible.CHUNK_FLOOR:
        touched = plausible.selection_chunks(shape, chunks, index)
    if wanted > plausible.FLOOR or touched > plausible.CHUNK_FLOOR:
        size = os.path.getsize(file)
        why = f"the whole file has {size} bytes"
        plausible.require(location, node, wanted, plausible.DEFLATE_RATIO * size, why)
        if touched > max(plausible.CHUNK_FLOOR, size):
            raise StoreError(
                f"/{'/'.join(node)} in {location} declares {touched} chunks, but {why}: "
                "the store is damaged or crafted"
            )


def checksum_of(data: np.ndarray) -> int:
    """crc32 of a variable's values (strings: their UTF-8, NUL-separated)."""
    if data.dtype == STRING:
        text = "\x00".join(str(item) for item in data.ravel().tolist())
        return zlib.crc32(text.encode("utf-8", "surrogatepass"))
    return zlib.crc32(np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("=")).tobytes())
