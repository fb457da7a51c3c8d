"""Attributes of a zarr node as JSON, and fill values.

Numpy scalars become JSON numbers, 1-D arrays JSON lists.  JSON has no NaN or
infinity (zarr-python writes the non-standard tokens ``NaN`` and ``Infinity``, which
strict JSON readers reject, and one such token in consolidated metadata would make
the whole tree unreadable for them), so non-finite floats are stored as the strings
``"NaN"``, ``"Infinity"``, ``"-Infinity"`` -- the spelling of zarr v3 fill values --
and the names of the attributes holding them are listed in the internal
``_xs_nonfinite`` attribute.  Only those attributes are turned back into floats, so
a string attribute ``"NaN"`` stays a string.

A ``_FillValue`` attribute becomes the array's zarr ``fill_value`` and is also kept
as an attribute encoded the way xarray writes zarr v3 (base64 of a little-endian
double for floats), so plain xarray masks with it; string arrays keep it as
``_xs_fillvalue`` instead, because xarray fails on a ``_FillValue`` attribute of a
zarr v3 string array.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from xstore.model import STRING
from xstore.names import INTERNAL_PREFIX

UNLIMITED = f"{INTERNAL_PREFIX}unlimited"  # 1 on arrays whose first axis grows
COMPLETE = f"{INTERNAL_PREFIX}complete"  # 1 on arrays with every chunk written
NONFINITE = f"{INTERNAL_PREFIX}nonfinite"  # JSON list of attrs holding "NaN"/"Infinity"
FILL = "_FillValue"
STRING_FILL = f"{INTERNAL_PREFIX}fillvalue"  # a string array's `_FillValue`
PRIVATE = (UNLIMITED, COMPLETE, NONFINITE, STRING_FILL)  # bookkeeping attrs the core never sees
_NONFINITE_TEXT = {math.inf: "Infinity", -math.inf: "-Infinity"}
_TEXT_FLOAT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _json_number(value: Any) -> tuple[Any, bool]:
    """A JSON-safe number and whether it had to be spelled as text (NaN, inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return ("NaN" if math.isnan(value) else _NONFINITE_TEXT[value]), True
    return value, False


def _to_json(value: Any) -> tuple[Any, bool]:
    """An attribute value as JSON, and whether it holds non-finite floats as text."""
    if isinstance(value, str):
        return value, False
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, list):
        pairs = [_json_number(v.item() if isinstance(v, np.generic) else v) for v in value]
        return [v for v, _ in pairs], any(text for _, text in pairs)
    return _json_number(value)


def _number(value: Any) -> Any:
    """A JSON number as a numpy scalar (Python int if it fits no 64-bit type)."""
    if isinstance(value, float):
        return np.float64(value)
    try:
        return np.asarray(value)[()]
    except OverflowError:
        return value


def _from_json(value: Any, nonfinite: bool) -> Any:
    """Inverse of :func:`_to_json` (str stays str, numbers numpy, lists 1-D arrays)."""
    if nonfinite:
        if isinstance(value, list):
            return np.array([_TEXT_FLOAT.get(v, v) for v in value], dtype=np.float64)
        return np.float64(_TEXT_FLOAT.get(value, value))
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return _number(value)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        return np.asarray(value)
    return value  # JSON written by other tools (dicts, mixed lists) is passed on as is


def encode_fill(value: Any, dtype: np.dtype) -> Any:
    """``_FillValue`` as xarray writes it for zarr v3 (``FillValueCoder.encode``)."""
    if dtype.kind == "f":
        return base64.standard_b64encode(struct.pack("<d", float(value))).decode()
    if dtype.kind in "iu":
        return int(value)
    if dtype.kind == "b":
        return bool(value)
    return str(value)


def decode_fill(value: Any, dtype: np.dtype) -> Any:
    """Inverse of :func:`encode_fill`, as a scalar of the array's dtype."""
    if dtype == STRING:
        return str(value)
    if dtype.kind == "f" and isinstance(value, str):
        if value in _TEXT_FLOAT:  # a zarr-style spelling written by another tool
            value = _TEXT_FLOAT[value]
        else:
            value = struct.unpack("<d", base64.standard_b64decode(value))[0]
    return np.asarray(value).astype(dtype)[()]


def fill_key(dtype: np.dtype) -> str:
    return STRING_FILL if dtype == STRING else FILL


def _nonfinite_names(raw: Mapping[str, Any]) -> set[str]:
    text = raw.get(NONFINITE)
    return set(json.loads(text)) if isinstance(text, str) else set()


def _set_nonfinite(raw: dict[str, Any], names: set[str]) -> None:
    if names:
        raw[NONFINITE] = json.dumps(sorted(names))
    else:
        raw.pop(NONFINITE, None)


def decode(raw: Mapping[str, Any], dtype: np.dtype | None) -> dict[str, Any]:
    """The attributes the core sees, from a node's JSON attributes (``dtype``: the
    array's, None for a group)."""
    nonfinite = _nonfinite_names(raw)
    out = {k: _from_json(v, k in nonfinite) for k, v in raw.items() if k not in PRIVATE}
    if dtype is not None and fill_key(dtype) in raw:
        out[FILL] = decode_fill(raw[fill_key(dtype)], dtype)
    return out


def encode_into(raw: dict[str, Any], attrs: Mapping[str, Any], dtype: np.dtype | None) -> None:
    """Add ``attrs`` to the JSON attributes ``raw`` (array dtype for ``_FillValue``)."""
    nonfinite = _nonfinite_names(raw)
    for name, value in attrs.items():
        if name in PRIVATE:
            raise ValueError(f"attribute name {name!r} is reserved by the zarr backend")
        if name == FILL and dtype is not None:
            raw[fill_key(dtype)], text = encode_fill(value, dtype), False
        else:
            raw[name], text = _to_json(value)
        if text:
            nonfinite.add(name)
        else:
            nonfinite.discard(name)
    _set_nonfinite(raw, nonfinite)


def delete_from(raw: dict[str, Any], names: Iterable[str], dtype: np.dtype | None) -> None:
    """Remove attributes from the JSON attributes ``raw`` (``KeyError`` if one is absent)."""
    nonfinite = _nonfinite_names(raw)
    for name in names:
        if name == FILL and dtype is not None:
            name = fill_key(dtype)
        del raw[name]
        nonfinite.discard(name)
    _set_nonfinite(raw, nonfinite)
