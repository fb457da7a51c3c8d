"""Record validation: a value given to ``append``/``extend`` as a checked block of
records in the series' dtype (codec work: user codecs, safe casts, strings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from xstore.codecs.arrays import is_encodable, is_vlen_safe
from xstore.codecs.context import Codecs, UserCodec
from xstore.codecs.user import split
from xstore.core.series.buffer import Series
from xstore.names import decode_name, encode_name


@dataclass(frozen=True)
class Naming:
    """What an append says about a record besides its values: the record dimension,
    the names of the record's axes (``dims=``) and metadata (a DataArray's attrs)."""

    record_dim: str | None
    dims: tuple[str, ...] | None
    attrs: dict[str, Any] | None


def unwrap(
    value: Any, single: bool, record_dim: str | None, dims: Any, key: str
) -> tuple[Any, Naming]:
    """The values of an appended record (or block of records) and its naming.  An
    ``xr.DataArray`` supplies its dims and attrs; for ``extend`` its leading dimension
    is the record dimension."""
    names = None if dims is None else _names(dims, key)
    if not isinstance(value, xr.DataArray):
        return value, Naming(record_dim, names, None)
    if value.coords:
        raise ValueError(
            f"the DataArray appended to {key!r} has coordinates {list(value.coords)}; append "
            "them as series of their own (a series named like its record_dim is its coordinate)"
        )
    given = tuple(str(d) for d in value.dims)
    if not single:
        if not given:
            raise ValueError(f"extend({key!r}, ...) needs a sequence of records, got a scalar")
        lead, given = given[0], given[1:]
        if record_dim is not None and record_dim != lead:
            raise ValueError(
                f"the DataArray extending {key!r} runs along {lead!r}, not record_dim "
                f"{record_dim!r}"
            )
        record_dim = lead
    if names is not None and names != given:
        raise ValueError(f"dims={names} differ from the appended DataArray's dims {given}")
    return value.values, Naming(record_dim, given, dict(value.attrs))


def record_dims(stored: tuple[str, ...], ndim: int) -> tuple[str, ...]:
    """The user names of a record's axes, from a series' stored dimensions."""
    return tuple(decode_name(d) for d in stored[1 : 1 + ndim])


def fits_series(
    series: Series, naming: Naming, stored_attrs: Callable[[], dict[str, Any]], key: str
) -> None:
    """``ValueError`` unless a record's dims and metadata (a DataArray's attrs) are
    those of the series (``stored_attrs``: its metadata now)."""
    if naming.dims is not None and naming.dims != series.record_dims:
        raise ValueError(
            f"the records of {key!r} have the dimensions {series.record_dims}, not {naming.dims}"
        )
    if naming.attrs:
        current = stored_attrs()
        differ = [
            k for k, v in naming.attrs.items() if k not in current or not _same(v, current[k])
        ]
        if differ:
            raise ValueError(
                f"the attributes {differ} of the DataArray appended to {key!r} differ from "
                "the series' own"
            )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b) and type(a) is type(b)


def _names(dims: Any, key: str) -> tuple[str, ...]:
    names = (dims,) if isinstance(dims, str) else tuple(dims)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"dims of {key!r} must be non-empty str, not {name!r}")
        encode_name(name)  # too long a name fails before anything is written
    return names


def check_naming(naming: Naming, record_shape: tuple[int, ...], key: str) -> None:
    """``ValueError`` unless ``dims`` names each axis of a record once, and not like
    the record dimension."""
    dims = naming.dims
    if dims is None:
        return
    if len(dims) != len(record_shape):
        raise ValueError(
            f"dims={dims} names {len(dims)} axes, but the records of {key!r} have shape "
            f"{record_shape}"
        )
    if len(set(dims)) != len(dims):
        raise ValueError(f"dims={dims} of {key!r} names an axis twice")
    if naming.record_dim is not None and naming.record_dim in dims:
        raise ValueError(f"dims={dims} of {key!r} repeat the record_dim {naming.record_dim!r}")


def to_block(
    codecs: Codecs, series: Series | None, value: Any, single: bool, key: str
) -> tuple[np.ndarray, UserCodec | None, dict[str, Any] | None]:
    """``value`` as a block of records (leading axis), checked against ``series``
    (None: the first record, which fixes shape and dtype), with the user codec that
    stores the records and that codec's attributes."""
    users = codecs.dispatch
    if single:
        codec = users.user_codec_for(value)
    else:
        first = value[0] if isinstance(value, list | tuple) and value else None
        codec = users.user_codec_for(first) if first is not None else None
    attrs: dict[str, Any] | None = None
    if codec is not None:
        ctx = codecs.encoder(f"record of {key!r}")
        parts = [split(v, codec, ctx) for v in ([value] if single else value)]
        attrs = parts[0][1]
        for _, other in parts[1:]:
            if other != attrs:
                raise ValueError(
                    f"records of {key!r} must share their attributes: {other} != {attrs}"
                )
        if series is not None and series.codec_attrs != attrs:
            have = series.codec_attrs
            raise ValueError(f"record attributes {attrs} differ from the series' {have} ({key!r})")
        block = np.stack([p[0] for p in parts]) if parts else np.empty(0)
    elif series is not None and series.codec is not None:
        raise ValueError(
            f"{key!r} is a series of {series.codec.cls.__name__} with attributes "
            f"{series.codec_attrs}; a {type(value).__name__} record has none"
        )
    else:
        block = _as_block(value, single, series, key)
    if series is None:
        if not is_encodable(block):
            raise TypeError(
                f"cannot append {type(value).__name__} values to {key!r}: not an array type"
            )
        if block.dtype.kind in "UO":
            check_strings(block, key)
        return block, codec, attrs
    if block.shape[1:] != series.shape:
        raise ValueError(
            f"record of shape {block.shape[1:]} does not fit {key!r} "
            f"(records of shape {series.shape})"
        )
    return _cast(block, series, key), codec, attrs


def _as_block(value: Any, single: bool, series: Series | None, key: str) -> np.ndarray:
    """``value`` as records along a leading axis, cast (safely) to the series' dtype."""
    arr = np.asarray(value)
    if single:
        arr = arr[np.newaxis]
    elif arr.ndim == 0:
        raise ValueError(f"extend({key!r}, ...) needs a sequence of records, got a scalar")
    if series is None or series.dtype.kind == "O" or arr.dtype == series.dtype:
        return arr
    if arr.shape[1:] != series.shape:
        return arr  # the caller reports the shape
    if not np.can_cast(arr.dtype, series.dtype, casting="same_kind"):
        raise TypeError(
            f"cannot append {arr.dtype} records to the {series.dtype} series {key!r} safely"
        )
    if arr.dtype.kind in "SV" and arr.dtype.itemsize > series.dtype.itemsize:
        raise TypeError(
            f"{arr.dtype} records are wider than the {series.dtype} series {key!r} "
            "(they would be truncated)"
        )
    if isinstance(value, np.ndarray | np.generic):
        return arr.astype(series.dtype)
    try:  # Python numbers: NumPy refuses values the dtype cannot hold
        out = np.array(value, dtype=series.dtype)
    except OverflowError as exc:
        raise TypeError(
            f"cannot append {value!r} to the {series.dtype} series {key!r}: {exc}"
        ) from exc
    return out[np.newaxis] if single else out


def _cast(block: np.ndarray, series: Series, key: str) -> np.ndarray:
    if series.dtype.kind == "O":
        if block.dtype.kind not in "UO":
            raise TypeError(f"cannot append {block.dtype} records to the str series {key!r}")
        check_strings(block, key)
        return block
    if block.dtype != series.dtype:
        raise TypeError(f"cannot append {block.dtype} records to the {series.dtype} series {key!r}")
    return block


def check_strings(block: np.ndarray, key: str) -> None:
    """Every element a ``str`` that a variable-length string can hold."""
    for item in block.ravel().tolist():
        if not isinstance(item, str):
            raise TypeError(f"cannot append {type(item).__name__} to the str series {key!r}")
        if not is_vlen_safe(item):
            raise ValueError(
                f"strings appended to {key!r} cannot contain NUL characters or lone surrogates"
            )
