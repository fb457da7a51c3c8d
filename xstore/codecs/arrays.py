"""numpy arrays <-> arrays every backend stores.

Backends store bool-free native-endian integers, float32/float64 and variable-length
strings.  Everything else gets an exact, documented encoding that plain readers see
in raw form, with the original dtype in the ``_xs_dtype`` attribute:

=====================  ==============================================================
bool                   int8 plus ``dtype: "bool"`` (xarray decodes it)
datetime64/timedelta64 int64 with CF ``units`` (xarray decodes it); NaT is int64 min
float16                float32
complex64/128          float32/64 with a trailing (real, imag) axis of length 2
str (``U``)            variable-length UTF-8 strings; uint32 code points if an
                       element holds NUL or a lone surrogate
object (only str),     variable-length UTF-8 strings
numpy StringDType
bytes (``S``), void,   uint8 with a trailing axis of the item size
long double, other
non-native byte order  the same values in native byte order
=====================  ==============================================================

The CF attributes an encoding writes for plain readers (``units``, ``calendar``,
``dtype``) are listed in ``_xs_cf``: they are part of the value, not the user's
metadata (a user attribute of the same name wins, and then plain readers see the raw
form).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from xstore.model import CF, DTYPE, STORABLE_DTYPES, string_array

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: CF attributes the array encodings below may write (beside ``_xs_dtype``); format-1
#: stores did not list them in ``_xs_cf``
ENCODING_ATTRS = ("units", "calendar", "dtype")
STRINGS = np.dtype("T")  # numpy's variable-width StringDType (without an NA object)
_CF_UNITS = {
    "ns": "nanoseconds",
    "us": "microseconds",
    "ms": "milliseconds",
    "s": "seconds",
    "m": "minutes",
    "h": "hours",
    "D": "days",
}
EPOCH = "1970-01-01T00:00:00"


def dtype_to_str(dtype: np.dtype) -> str:
    """A string that :func:`dtype_from_str` turns back into exactly ``dtype``."""
    if dtype.kind == "T":
        return "T"
    text = dtype.str
    if np.dtype(text) == dtype and dtype.names is None:
        return text
    return repr(np.lib.format.dtype_to_descr(dtype))


def dtype_from_str(text: str) -> np.dtype:
    """Inverse of :func:`dtype_to_str`; never evaluates code."""
    if text.startswith(("[", "(", "'")):
        return np.lib.format.descr_to_dtype(ast.literal_eval(text))
    return np.dtype(text)


def fits_int64(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def is_vlen_safe(text: str) -> bool:
    """True if ``text`` can be a variable-length string on every backend (no NUL, no
    lone surrogate)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_encodable(arr: np.ndarray) -> bool:
    """True if ``arr`` has an exact encoding: any dtype without Python objects, an
    object array holding only ``str`` (as pandas and xarray often produce), or a
    StringDType array without an NA object."""
    if arr.dtype == object or arr.dtype.kind == "T":
        if arr.dtype.kind == "T" and arr.dtype != STRINGS:
            return False  # an NA object (None, NaN, ...) has no exact string form
        items = arr.ravel().tolist()
        return all(type(x) is str and is_vlen_safe(x) for x in items)
    return not arr.dtype.hasobject


def cf_names(attrs: Mapping[str, Any]) -> set[str]:
    """Stored names of the attributes an encoding added for plain readers (``_xs_cf``;
    format 1: the CF attributes of any array with an ``_xs_dtype``)."""
    listed = attrs.get(CF)
    if listed is not None:
        return set(json.loads(str(listed)))
    return {n for n in ENCODING_ATTRS if n in attrs} if DTYPE in attrs else set()


def with_encoding(raw: dict[str, Any], encoding: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` (a variable's user attributes) plus the attributes of its encoding (as
    :func:`encode_array` returns them, ``_xs_cf`` naming the CF ones): a CF attribute
    only where ``raw`` has none of that name, and ``_xs_cf`` lists those added."""
    cf = set(json.loads(str(encoding[CF]))) if CF in encoding else set()
    out = dict(raw)
    added = []
    for name, value in encoding.items():
        if name == CF:
            continue
        if name in cf:
            if name in out:
                continue  # the user's attribute wins; plain readers see the raw form
            added.append(name)
        out[name] = value
    if added:
        out[CF] = json.dumps(added)
    return out


def _raw_bytes(arr: np.ndarray) -> np.ndarray:
    flat = np.frombuffer(np.ascontiguousarray(arr).tobytes(), dtype=np.uint8)
    return flat.reshape((*arr.shape, arr.dtype.itemsize))


def encode_array(arr: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Storage array and the attributes that restore ``arr`` exactly.

    The storage array may have trailing axes that ``arr`` lacks (complex pairs, bytes).
    """
    dtype = arr.dtype
    kind = dtype.kind
    if dtype in STORABLE_DTYPES and dtype.isnative:
        return arr, {}
    attrs: dict[str, Any] = {DTYPE: dtype_to_str(dtype)}
    if kind == "b":
        attrs["dtype"] = "bool"
        attrs[CF] = '["dtype"]'
        return arr.astype(np.int8), attrs
    if kind in "iu" or (kind == "f" and dtype.itemsize in (2, 4, 8)):
        target = np.float32 if kind == "f" and dtype.itemsize == 2 else dtype.newbyteorder("=")
        return arr.astype(target), attrs
    if kind == "c" and dtype.itemsize in (8, 16):
        part = np.float32 if dtype.itemsize == 8 else np.float64
        out = np.empty((*arr.shape, 2), dtype=part)
        out[..., 0] = arr.real
        out[..., 1] = arr.imag
        return out, attrs
    if kind in "Mm":
        unit, count = np.datetime_data(dtype)
        data = arr.astype(dtype.newbyteorder("=")).view(np.int64)
        if count == 1 and unit in _CF_UNITS:
            if kind == "M":
                attrs["units"] = f"{_CF_UNITS[unit]} since {EPOCH}"
                attrs["calendar"] = "proleptic_gregorian"
            else:
                attrs["units"] = _CF_UNITS[unit]
                attrs["dtype"] = f"timedelta64[{unit}]"
            attrs[CF] = json.dumps([k for k in ENCODING_ATTRS if k in attrs])
        return data, attrs
    if kind == "O":  # only str elements (see is_encodable)
        return arr, attrs
    if kind == "T":  # only str elements, no NA object (see is_encodable)
        return string_array(arr.ravel().tolist(), arr.shape), attrs
    if kind == "U":
        items = arr.ravel().tolist()
        if all(map(is_vlen_safe, items)):
            return string_array(items, arr.shape), attrs
        codes = arr.astype(dtype.newbyteorder("="))
        return _raw_bytes(codes).view(np.uint32).reshape((*arr.shape, dtype.itemsize // 4)), attrs
    # S, V (structured), long double, anything else without objects: raw bytes
    return _raw_bytes(arr), attrs


def decode_array(data: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_array` (attributes as read back)."""
    text = attrs.get(DTYPE)
    if text is None:
        return data
    dtype = dtype_from_str(str(text))
    kind = dtype.kind
    if kind == "b":
        return np.asarray(data).astype(bool)
    if kind in "iu" or (kind == "f" and dtype.itemsize in (2, 4, 8)):
        return np.asarray(data).astype(dtype)
    if kind == "c" and dtype.itemsize in (8, 16):
        pairs = np.asarray(data)
        out = np.empty(pairs.shape[:-1], dtype=dtype.newbyteorder("="))
        out.real = pairs[..., 0]
        out.imag = pairs[..., 1]
        return out.astype(dtype)
    if kind in "Mm":
        return np.asarray(data).astype(np.int64).view(dtype.newbyteorder("=")).astype(dtype)
    if kind == "O":
        return np.asarray(data).astype(object)
    if kind == "T":
        return np.asarray(data).astype(dtype)
    if kind == "U" and np.asarray(data).dtype.kind in "OUT":
        return np.asarray(data).astype(dtype)
    if kind == "U":
        codes = np.ascontiguousarray(np.asarray(data).astype(np.uint32))
        native = np.frombuffer(codes.tobytes(), dtype=dtype.newbyteorder("="))
        return native.reshape(codes.shape[:-1]).astype(dtype)
    raw = np.ascontiguousarray(np.asarray(data).astype(np.uint8))
    return np.frombuffer(raw.tobytes(), dtype=dtype).reshape(raw.shape[:-1]).copy()
