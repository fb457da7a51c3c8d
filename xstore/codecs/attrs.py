"""Attribute values <-> what netCDF and zarr attributes keep.

netCDF attributes reject bool, None and dict, collapse one-element lists and mangle
mixed lists; zarr attributes are JSON and reject bytes.  So an attribute is stored
as itself only when it is a string (no NUL) or a number/1-D numeric array, and its
exact Python type is noted in the node's ``_xs_attrs`` JSON map.  Anything else is
stored as tagged JSON text (readable by anyone), and what JSON cannot hold is a
base64 cloudpickle, which reading refuses without ``allow_pickle``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from xstore.codecs import jsontag
from xstore.codecs.arrays import dtype_to_str, fits_int64, is_vlen_safe
from xstore.codecs.context import DecodeContext, EncodeContext
from xstore.model import ATTR_TYPES, CF, STORABLE_DTYPES
from xstore.names import decode_name, encode_attr_name, escape_name, is_internal

_PYTHON = {bool: ("bool", np.int8), int: ("int", np.int64), float: ("float", np.float64)}
FILL_VALUE = "_FillValue"


def encode_value(value: Any, ctx: EncodeContext) -> tuple[Any, str | None]:
    """The raw stored value and the note that restores its type (None: a plain str)."""
    kind = type(value)
    if kind is str and is_vlen_safe(value):
        return value, None
    if kind in _PYTHON and not (kind is int and not fits_int64(value)):
        note, dtype = _PYTHON[kind]
        return dtype(value), note
    if isinstance(value, np.generic | np.ndarray) and kind.__module__ == "numpy":
        arr = np.asarray(value)
        if (
            arr.dtype in STORABLE_DTYPES
            and arr.dtype.isnative
            and (arr.ndim == 0 or (arr.ndim == 1 and arr.size))
        ):
            prefix = "np:" if isinstance(value, np.generic) else "nd:"
            return (arr[()] if arr.ndim == 0 else arr), prefix + dtype_to_str(arr.dtype)
    try:
        return jsontag.dumps(value, ctx.strict()), "json"
    except TypeError:
        if not ctx.pickle_ok:
            raise
    return base64.b64encode(ctx.pickle(value)).decode("ascii"), "pickle"


def decode_value(raw: Any, note: str | None, ctx: DecodeContext) -> Any:
    """Inverse of :func:`encode_value`."""
    if note is None:
        return raw
    if note in ("bool", "int", "float"):
        return {"bool": bool, "int": int, "float": float}[note](np.asarray(raw).reshape(-1)[0])
    if note.startswith("np:"):
        return np.asarray(raw).reshape(-1).astype(note[3:])[0]
    if note.startswith("nd:"):
        return np.asarray(raw).reshape(-1).astype(note[3:])
    if note == "json":
        return jsontag.loads(str(raw), ctx)
    if note == "pickle":
        return ctx.unpickle(base64.b64decode(str(raw)))
    raise TypeError(f"unknown attribute encoding {note!r} at {ctx.path}")


def encode_attrs(
    attrs: Mapping[str, Any], ctx: EncodeContext, escaped: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Raw attributes (stored names) for user attributes, with the ``_xs_attrs`` note;
    the names in ``escaped`` are stored escaped (ordinary attributes to every backend)."""
    raw: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for key, value in attrs.items():
        if not isinstance(key, str):
            raise TypeError(f"attribute names must be str, not {key!r} at {ctx.path}")
        name = escape_name(key) if key in escaped else encode_attr_name(key)
        with ctx.attr(key):
            raw[name], note = encode_value(value, ctx)
        if note is not None:
            notes[name] = note
    if notes:
        raw[ATTR_TYPES] = json.dumps(notes)
    return raw


def _fits(raw: Any, dtype: np.dtype) -> bool:
    """True if the raw attribute value survives being cast to ``dtype`` and back."""
    if dtype.kind not in "biuf" or not isinstance(raw, np.generic) or raw.dtype.kind not in "biuf":
        return False
    with np.errstate(all="ignore"):
        back = np.asarray(raw).astype(dtype).astype(raw.dtype)
    return bool(np.array_equal(back, raw, equal_nan=raw.dtype.kind == "f"))


def variable_attrs(
    attrs: Mapping[str, Any], storage: np.dtype, ctx: EncodeContext
) -> dict[str, Any]:
    """Raw attributes of a variable stored as ``storage``.  A ``_FillValue`` becomes the
    variable's fill value (netCDF and zarr keep it in the variable's dtype) only if
    that dtype holds it exactly; any other is stored as an ordinary attribute under
    its escaped name, so that it comes back as it was."""
    if FILL_VALUE in attrs:
        with ctx.attr(FILL_VALUE):
            raw, _ = encode_value(attrs[FILL_VALUE], ctx)
        if not _fits(raw, storage):
            return encode_attrs(attrs, ctx, frozenset({FILL_VALUE}))
    return encode_attrs(attrs, ctx)


def decode_attrs(raw: Mapping[str, Any], ctx: DecodeContext) -> dict[str, Any]:
    """User attributes from raw ones: xstore's own ``_xs_`` attributes and the CF
    attributes an encoding added (listed in ``_xs_cf``) are left out."""
    notes = json.loads(raw[ATTR_TYPES]) if ATTR_TYPES in raw else {}
    added = set(json.loads(str(raw[CF]))) if CF in raw else set()
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if is_internal(name) or name in added:
            continue
        key = decode_name(name)
        with ctx.attr(key):
            out[key] = decode_value(value, notes.get(name), ctx)
    return out
