"""The one chunk policy: how arrays are cut into chunks on every backend.

Growable variables (series) get chunks of about :data:`DEFAULT_CHUNK_BYTES` along
the record axis: many records per chunk for small records (fast appends and fast
reads of the whole series, never one record per chunk), one record split along its
next axis for records larger than the target.

Series sharing a record dimension (a lockstep set) use one number of records per
chunk, so that one chunking along that dimension fits them all (a dask chunk of the
set never cuts a stored chunk).  It is sized for the set's largest record
(:func:`lockstep_rows`), but never below :data:`MIN_SHARED_ROWS` records: a small
series beside a large one would otherwise get chunks of a few bytes.  A large
record whose chunk would then exceed :data:`MAX_CHUNK_FACTOR` times the target is
split along its next axis instead (a chunk keeps every record of its rows).

Static variables are left to the backend, except that a zero-length axis needs an
explicit chunk of 1 (netCDF makes every zero-length dimension unlimited, and
unlimited dimensions need chunks).
"""

from __future__ import annotations

import math

DEFAULT_CHUNK_BYTES = 2**20
MIN_SHARED_ROWS = 64  # records per chunk of a lockstep set, at least
MAX_CHUNK_FACTOR = 4  # a set's large records: chunks up to this times the target, whole


def record_bytes(record_shape: tuple[int, ...], itemsize: int) -> int:
    """Bytes of one record as stored (variable-length strings count as pointers)."""
    return max(1, itemsize) * math.prod(max(n, 1) for n in record_shape)


def record_chunks(
    record_shape: tuple[int, ...],
    itemsize: int,
    target: int = DEFAULT_CHUNK_BYTES,
    rows: int | None = None,
) -> tuple[int, ...]:
    """The chunk shape of a series whose records have ``record_shape`` (``itemsize``:
    bytes per element as stored); ``rows``: the records per chunk of its lockstep set
    (None: the series' own)."""
    size = record_bytes(record_shape, itemsize)
    if rows is not None:
        if size * rows <= MAX_CHUNK_FACTOR * target or not record_shape:
            return (rows, *record_shape)
        per_row = size // max(record_shape[0], 1)  # bytes of one step of the record's first axis
        part = max(1, target // (rows * per_row))
        return (rows, min(part, record_shape[0]), *record_shape[1:])
    if size < target or not record_shape:
        return (max(2, target // size), *record_shape)
    part = max(1, target * record_shape[0] // size)
    return (1, min(part, record_shape[0]), *record_shape[1:])


def lockstep_rows(largest_record_bytes: int, target: int = DEFAULT_CHUNK_BYTES) -> int:
    """Records per chunk of a lockstep set whose largest record has this many bytes."""
    return max(MIN_SHARED_ROWS, target // max(1, largest_record_bytes))


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
