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
from xstore.model import ATTR_TYPES, STORABLE_DTYPES
from xstore.names import decode_name, encode_name, is_internal

_PYTHON = {bool: ("bool", np.int8), int: ("int", np.int64), float: ("float", np.float64)}


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


def encode_attrs(attrs: Mapping[str, Any], ctx: EncodeContext) -> dict[str, Any]:
    """Raw attributes (stored names) for user attributes, with the ``_xs_attrs`` note."""
    raw: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for key, value in attrs.items():
        if not isinstance(key, str):
            raise TypeError(f"attribute names must be str, not {key!r} at {ctx.path}")
        name = encode_name(key)
        with ctx.attr(key):
            raw[name], note = encode_value(value, ctx)
        if note is not None:
            notes[name] = note
    if notes:
        raw[ATTR_TYPES] = json.dumps(notes)
    return raw


def decode_attrs(raw: Mapping[str, Any], ctx: DecodeContext) -> dict[str, Any]:
    """User attributes from raw ones (xstore's own ``_xs_`` attributes are left out)."""
    notes = json.loads(raw[ATTR_TYPES]) if ATTR_TYPES in raw else {}
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if is_internal(name):
            continue
        key = decode_name(name)
        with ctx.attr(key):
            out[key] = decode_value(value, notes.get(name), ctx)
    return out
