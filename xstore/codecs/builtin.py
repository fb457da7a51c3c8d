"""Codecs for Python's and numpy's own types: scalars, str, bytes, None, arrays, containers."""

from __future__ import annotations

from typing import Any

import numpy as np

from xstore.codecs.arrays import (
    decode_array,
    encode_array,
    fits_int64,
    is_encodable,
    is_vlen_safe,
)
from xstore.codecs.context import Codec, DecodeContext, EncodeContext
from xstore.model import TYPE, Node, Tree, Var, string_array


def array_var(arr: np.ndarray, tag: str | None = None) -> Var:
    data, attrs = encode_array(arr)
    if tag:
        attrs[TYPE] = tag
    return Var(data, attrs)


def var_array(node: Node) -> np.ndarray:
    """The decoded array of a :class:`Var` (any tag)."""
    assert isinstance(node, Var)
    return decode_array(np.asarray(node.data), node.attrs)


# -- plain scalars: stored untagged, decoded by decode_default ---------------------------


def _encode_scalar(value: Any, ctx: EncodeContext) -> Node | None:
    if type(value) is int and not fits_int64(value):
        return None
    if type(value) is str:
        if is_vlen_safe(value):
            return Var(string_array([value], ()))
        raw = value.encode("utf-8", "surrogatepass")
        return Var(np.frombuffer(raw, dtype=np.uint8).copy(), {TYPE: "str"})
    return array_var(np.asarray(value))


def decode_default(node: Node, ctx: DecodeContext) -> Any:
    """An untagged array: a Python scalar if 0-d, else an ndarray."""
    arr = var_array(node)
    return arr.item() if arr.ndim == 0 else arr


SCALAR = Codec("", _encode_scalar, decode_default)
STR_BYTES = Codec(
    "str",
    _encode_scalar,
    lambda node, ctx: np.asarray(node.data).tobytes().decode("utf-8", "surrogatepass"),  # type: ignore[union-attr]
)
NONE = Codec(
    "none",
    lambda value, ctx: Var(np.array(0, dtype=np.int8), {TYPE: "none"}),
    lambda node, ctx: None,
)
BYTES = Codec(
    "bytes",
    lambda value, ctx: Var(np.frombuffer(bytes(value), dtype=np.uint8).copy(), {TYPE: "bytes"}),
    lambda node, ctx: np.asarray(node.data).astype(np.uint8).tobytes(),  # type: ignore[union-attr]
)


# -- numpy ----------------------------------------------------------------------------------


def _encode_ndarray(value: np.ndarray, ctx: EncodeContext) -> Node | None:
    if not is_encodable(value):
        return None
    return array_var(value, "numpy.ndarray" if value.ndim == 0 else None)


def _encode_npscalar(value: np.generic, ctx: EncodeContext) -> Node | None:
    arr = np.asarray(value)
    return array_var(arr, "numpy.scalar") if is_encodable(arr) else None


NDARRAY = Codec("numpy.ndarray", _encode_ndarray, lambda node, ctx: var_array(node))
NPSCALAR = Codec("numpy.scalar", _encode_npscalar, lambda node, ctx: var_array(node)[()])


# -- containers ------------------------------------------------------------------------------

_CONTAINERS: dict[str, type] = {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}


def _homogeneous_array(items: list[Any]) -> np.ndarray | None:
    """One array for a non-empty run of Python scalars of a single type, else None."""
    if not items:
        return np.zeros(0, dtype=np.int8)
    kind = type(items[0])
    if kind not in (bool, int, float, complex, str) or any(type(x) is not kind for x in items):
        return None
    if kind is int and not all(map(fits_int64, items)):
        return None
    if kind is str:
        return string_array(items) if all(map(is_vlen_safe, items)) else None
    return np.array(
        items, dtype={bool: bool, int: np.int64, float: np.float64, complex: complex}[kind]
    )


def _container_codec(tag: str) -> Codec:
    factory = _CONTAINERS[tag]

    def encode(value: Any, ctx: EncodeContext) -> Node:
        items = list(value)
        arr = _homogeneous_array(items)
        if arr is not None:
            return array_var(arr, tag) if arr.dtype != object else Var(arr, {TYPE: tag})
        children = {str(i): ctx.encode_at(i, item) for i, item in enumerate(items)}
        return Tree({TYPE: tag}, children)

    def decode(node: Node, ctx: DecodeContext) -> Any:
        if isinstance(node, Var):
            return factory(var_array(node).tolist())
        names = sorted(node.children, key=int)
        return factory([ctx.decode_at(int(name), node.children[name]) for name in names])

    return Codec(tag, encode, decode)


LIST, TUPLE, SET, FROZENSET = (_container_codec(t) for t in ("list", "tuple", "set", "frozenset"))


def _encode_dict(value: dict[Any, Any], ctx: EncodeContext) -> Node | None:
    if not all(type(key) is str for key in value):
        return None
    return Tree({TYPE: "dict"}, {key: ctx.encode_at(key, item) for key, item in value.items()})


def decode_mapping(node: Node, ctx: DecodeContext) -> dict[str, Any]:
    """A group's children as a dict, in stored order."""
    assert isinstance(node, Tree)
    return {name: ctx.decode_at(name, child) for name, child in node.children.items()}


DICT = Codec("dict", _encode_dict, decode_mapping)
