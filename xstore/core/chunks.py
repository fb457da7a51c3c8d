"""The one chunk policy: how arrays are cut into chunks on every backend.

Growable variables (series) get chunks of about :data:`DEFAULT_CHUNK_BYTES` along
the record axis: many records per chunk for small records (fast appends and fast
reads of the whole series, never one record per chunk), one record split along its
next axis for records larger than the target.  Static variables are left to the
backend, except that a zero-length axis needs an explicit chunk of 1 (netCDF makes
every zero-length dimension unlimited, and unlimited dimensions need chunks).
"""

from __future__ import annotations

import math

DEFAULT_CHUNK_BYTES = 2**20


def record_chunks(
    record_shape: tuple[int, ...], itemsize: int, target: int = DEFAULT_CHUNK_BYTES
) -> tuple[int, ...]:
    """The chunk shape of a series whose records have ``record_shape`` (``itemsize``:
    bytes per element as stored; variable-length strings count as pointers)."""
    record_bytes = max(1, itemsize) * math.prod(max(n, 1) for n in record_shape)
    if record_bytes < target or not record_shape:
        return (max(2, target // record_bytes), *record_shape)
    rows = max(1, target * record_shape[0] // record_bytes)
    return (1, min(rows, record_shape[0]), *record_shape[1:])


#: static arrays from this size on are chunked (and so checksummed chunk by chunk);
#: smaller ones are stored in one piece (a chunk index costs more than they hold)
CHUNKED_FROM_BYTES = 16 * 2**10


def static_chunks(
    shape: tuple[int, ...], itemsize: int, string: bool = False
) -> tuple[int, ...] | None:
    """The chunk shape of a static array (None: one contiguous piece): about
    :data:`DEFAULT_CHUNK_BYTES` along the first axis, as for a series.  Variable-length
    strings stay contiguous (their checksum then covers the strings themselves)."""
    if shape and 0 in shape:
        return tuple(max(1, n) for n in shape)
    if string or not shape or math.prod(shape) * max(1, itemsize) < CHUNKED_FROM_BYTES:
        return None
    chunks = record_chunks(shape[1:], itemsize)
    return tuple(min(c, n) for c, n in zip(chunks, shape, strict=True))
