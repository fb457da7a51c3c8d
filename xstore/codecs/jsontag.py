"""Plain JSON with explicit tags for what JSON lacks.

JSON natives (str, int, finite float, bool, None, list, str-keyed dict) are written
as themselves.  Everything else is an object ``{"__xstore__": <tag>, ...}``:
``float`` (nan/inf), ``str`` (a string holding a surrogate pair as two code points,
which a JSON reader would join into one character: ``codepoints``),
``tuple``/``set``/``frozenset`` (``items``), ``bytes``
(``base64``), ``complex`` (``real``/``imag``), ``ndarray``/``numpy.scalar``
(``dtype``, ``shape``, flat ``data`` or ``base64``), ``dict`` (a dict that itself
has the key ``__xstore__`` (``items``) or a key that is such a string (``keys`` and
``values``)), ``dataclass``/``storable`` (``class`` and contents) and
``xarray.DataArray``/``Dataset``/``DataTree``.  Values that would need pickle raise
``TypeError`` naming the key path.  This module is used by the ``json`` mode and for
attribute values that have no netCDF form.
"""

from __future__ import annotations

import base64
import codecs
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from xstore.codecs.arrays import dtype_from_str, dtype_to_str, is_encodable
from xstore.codecs.context import Codec, DecodeContext, EncodeContext
from xstore.model import Node, Tree, Var, string_array

TAG = "__xstore__"
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
ESCAPE_SURROGATES = "xstore.json-surrogates"  # the encoding error handler below


def _escape_surrogates(error: UnicodeError) -> tuple[str, int]:
    """Encoding error handler: a lone surrogate (which UTF-8 cannot hold) becomes its
    JSON escape ``\\udXXX``, which JSON readers decode back to the same code point.
    Outside strings a JSON text is ASCII, so every such character is inside one."""
    assert isinstance(error, UnicodeEncodeError)
    bad = error.object[error.start : error.end]
    return "".join(f"\\u{ord(c):04x}" for c in bad), error.end


codecs.register_error(ESCAPE_SURROGATES, _escape_surrogates)
_SPLIT_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _joins_when_read(text: str) -> bool:
    """Whether ``text`` holds a high and a low surrogate side by side: written as JSON
    escapes, a reader would decode them as one character."""
    return not text.isascii() and _SPLIT_PAIR.search(text) is not None


def _string(text: str) -> Any:
    if _joins_when_read(text):
        return _tagged("str", codepoints=[ord(c) for c in text])
    return text


def _float(x: float) -> Any:
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _unfloat(x: Any) -> float:
    return _NONFINITE[x] if isinstance(x, str) else float(x)


def array_to_json(arr: np.ndarray) -> dict[str, Any]:
    """``{"dtype", "shape", "data"|"base64"}`` for an array without objects."""
    out: dict[str, Any] = {"dtype": dtype_to_str(arr.dtype), "shape": list(arr.shape)}
    kind, size = arr.dtype.kind, arr.dtype.itemsize
    flat = arr.ravel()
    if kind in "biuUOT":
        out["data"] = flat.tolist()
    elif kind == "f" and size <= 8:
        out["data"] = [_float(x) for x in flat.astype(np.float64).tolist()]
    elif kind == "c" and size <= 16:
        out["data"] = [[_float(z.real), _float(z.imag)] for z in flat.astype(complex).tolist()]
    elif kind in "Mm":
        out["data"] = flat.view(np.int64).tolist()
    else:
        out["base64"] = base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii")
    return out


def array_from_json(obj: dict[str, Any]) -> np.ndarray:
    dtype = dtype_from_str(obj["dtype"])
    shape = tuple(obj["shape"])
    if "base64" in obj:
        return np.frombuffer(base64.b64decode(obj["base64"]), dtype=dtype).reshape(shape).copy()
    data = obj["data"]
    kind = dtype.kind
    if kind == "f":
        return np.array([_unfloat(x) for x in data], dtype=dtype).reshape(shape)
    if kind == "c":
        out = np.empty(len(data), dtype=dtype)
        out.real = [_unfloat(p[0]) for p in data]
        out.imag = [_unfloat(p[1]) for p in data]
        return out.reshape(shape)
    if kind in "Mm":
        return np.array(data, dtype=np.int64).view(dtype).reshape(shape)
    if kind == "O":
        return string_array(data, shape)
    if kind == "T":
        return string_array(data, shape).astype(dtype)
    return np.array(data, dtype=dtype).reshape(shape)


def _tagged(tag: str, **fields: Any) -> dict[str, Any]:
    return {TAG: tag, **fields}


@dataclass(frozen=True)
class Extension:
    """JSON support for a family of values defined elsewhere (objects, xarray); the
    registry lists them (see :mod:`xstore.codecs.defaults`)."""

    tag: str
    accepts: Callable[[Any], bool]
    encode: Callable[[Any, EncodeContext], dict[str, Any]]
    decode: Callable[[dict[str, Any], DecodeContext], Any]


def node_extension(codec: Codec, accepts: Callable[[Any], bool]) -> Extension:
    """JSON support for the values of ``codec``: its node, written as JSON."""

    def encode(value: Any, ctx: EncodeContext) -> dict[str, Any]:
        node = codec.encode(value, ctx)
        if node is None:
            raise ctx.type_error(value, "it has no exact form and this mode does not allow pickle")
        return {"node": node_to_json(node, ctx)}

    def decode(obj: dict[str, Any], ctx: DecodeContext) -> Any:
        return codec.decode(node_from_json(obj["node"], ctx), ctx)

    return Extension(codec.tag, accepts, encode, decode)


def to_json(value: Any, ctx: EncodeContext) -> Any:
    """A JSON-compatible structure for ``value`` (see module docstring)."""
    kind = type(value)
    if value is None or kind in (bool, int):
        return value
    if kind is str:
        return _string(value)
    if kind is float:
        return value if math.isfinite(value) else _tagged("float", value=_float(value))
    if kind is list:
        return [to_json_at(ctx, i, item) for i, item in enumerate(value)]
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise ctx.type_error(value, "dict keys must be str in this mode")
        if any(_joins_when_read(k) for k in value):
            keys = [_string(k) for k in value]
            values = [to_json_at(ctx, k, v) for k, v in value.items()]
            return _tagged("dict", keys=keys, values=values)
        items = {k: to_json_at(ctx, k, v) for k, v in value.items()}
        return _tagged("dict", items=items) if TAG in value else items
    if kind in (tuple, set, frozenset):
        return _tagged(kind.__name__, items=[to_json_at(ctx, i, x) for i, x in enumerate(value)])
    if kind is bytes:
        return _tagged("bytes", base64=base64.b64encode(value).decode("ascii"))
    if kind is complex:
        return _tagged("complex", real=_float(value.real), imag=_float(value.imag))
    if isinstance(value, np.generic | np.ndarray) and kind.__module__ == "numpy":
        arr = np.asarray(value)
        if is_encodable(arr):
            tag = "numpy.scalar" if isinstance(value, np.generic) else "ndarray"
            return _tagged(tag, **array_to_json(arr))
    extension = ctx.dispatch.json_extension_for(value)
    if extension is not None:
        return _tagged(extension.tag, **extension.encode(value, ctx))
    raise ctx.type_error(value, "it would need pickle, which this mode does not allow")


def to_json_at(ctx: EncodeContext, key: object, value: Any) -> Any:
    with ctx.at(key):
        return to_json(value, ctx)


def from_json(obj: Any, ctx: DecodeContext) -> Any:
    """Inverse of :func:`to_json`."""
    if isinstance(obj, list):
        return [from_json_at(ctx, i, x) for i, x in enumerate(obj)]
    if not isinstance(obj, dict):
        return obj
    tag = obj.get(TAG)
    if tag is None:
        return {k: from_json_at(ctx, k, v) for k, v in obj.items()}
    if tag == "dict":
        if "keys" in obj:
            keys = [from_json(k, ctx) for k in obj["keys"]]
            return {k: from_json_at(ctx, k, v) for k, v in zip(keys, obj["values"], strict=True)}
        return {k: from_json_at(ctx, k, v) for k, v in obj["items"].items()}
    if tag == "str":
        return "".join(map(chr, obj["codepoints"]))
    if tag == "float":
        return _unfloat(obj["value"])
    if tag in ("tuple", "set", "frozenset"):
        factory = {"tuple": tuple, "set": set, "frozenset": frozenset}[tag]
        return factory(from_json_at(ctx, i, x) for i, x in enumerate(obj["items"]))
    if tag == "bytes":
        return base64.b64decode(obj["base64"])
    if tag == "complex":
        return complex(_unfloat(obj["real"]), _unfloat(obj["imag"]))
    if tag == "ndarray":
        return array_from_json(obj)
    if tag == "numpy.scalar":
        return array_from_json(obj)[()]
    extension = ctx.dispatch.json_extension(tag)
    if extension is not None:
        return extension.decode(obj, ctx)
    raise TypeError(f"unknown tag {tag!r} at {ctx.path}")


def from_json_at(ctx: DecodeContext, key: object, value: Any) -> Any:
    with ctx.at(key):
        return from_json(value, ctx)


def dumps(value: Any, ctx: EncodeContext, **kwargs: Any) -> str:
    """JSON text of ``value`` that UTF-8 can hold (lone surrogates escaped)."""
    text = json.dumps(to_json(value, ctx), ensure_ascii=False, allow_nan=False, **kwargs)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", ESCAPE_SURROGATES).decode("utf-8")
    return text


def loads(text: str, ctx: DecodeContext) -> Any:
    return from_json(json.loads(text), ctx)


# -- the node form (Storable contents in JSON) ---------------------------------------------


def node_to_json(node: Node, ctx: EncodeContext) -> dict[str, Any]:
    attrs = {k: to_json(v, ctx) for k, v in node.attrs.items()}
    if isinstance(node, Var):
        dims = None if node.dims is None else list(node.dims)
        array = _tagged("ndarray", **array_to_json(np.asarray(node.data)))
        if np.asarray(node.data).dtype == object:  # variable-length strings
            array = {
                "strings": np.asarray(node.data).ravel().tolist(),
                "shape": list(node.data.shape),
            }
        return {"attrs": attrs, "dims": dims, "array": array}
    children = {k: node_to_json(v, ctx) for k, v in node.children.items()}
    return {"attrs": attrs, "children": children}


def node_from_json(obj: dict[str, Any], ctx: DecodeContext) -> Node:
    attrs = {k: from_json(v, ctx) for k, v in obj["attrs"].items()}
    if "children" in obj:
        return Tree(attrs, {k: node_from_json(v, ctx) for k, v in obj["children"].items()})
    array = obj["array"]
    if "strings" in array:
        data = string_array(array["strings"], tuple(array["shape"]))
    else:
        data = array_from_json(array)
    dims = None if obj["dims"] is None else tuple(obj["dims"])
    return Var(data, attrs, dims)
