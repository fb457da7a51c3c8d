"""Which codec stores which value, and which tag decodes which node.

Encoding tries, in order: a user codec (``register_codec``) for the value's class,
the codec for its exact built-in type, numpy scalars, the Storable protocol,
dataclasses, ``__setstate__`` objects and finally cloudpickle.  A codec may decline
a value it cannot store exactly (an int beyond 64 bits, a dict with non-str keys,
an object array), which passes it on down the list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from xstore.codecs import base, builtin, objects, records, user, xarray_
from xstore.codecs.base import Codec, DecodeContext, EncodeContext
from xstore.nodes import TYPE, Node, Var

EXACT: dict[type, Codec] = {
    type(None): builtin.NONE,
    bool: builtin.SCALAR,
    int: builtin.SCALAR,
    float: builtin.SCALAR,
    complex: builtin.SCALAR,
    str: builtin.SCALAR,
    bytes: builtin.BYTES,
    dict: builtin.DICT,
    list: builtin.LIST,
    tuple: builtin.TUPLE,
    set: builtin.SET,
    frozenset: builtin.FROZENSET,
    np.ndarray: builtin.NDARRAY,
    xr.Dataset: xarray_.DATASET_CODEC,
    xr.DataArray: xarray_.DATAARRAY_CODEC,
    xr.DataTree: xarray_.DATATREE_CODEC,
}

FALLBACKS: list[tuple[Callable[[Any], bool], Codec]] = [
    (lambda v: isinstance(v, np.generic), builtin.NPSCALAR),
    (lambda v: objects.storable_spec(v) is not None, objects.STORABLE_CODEC),
    (lambda v: dataclasses.is_dataclass(v) and not isinstance(v, type), objects.DATACLASS_CODEC),
    (objects.uses_getstate, objects.GETSTATE_CODEC),
]

BY_TAG: dict[str, Codec] = {
    codec.tag: codec
    for codec in (
        *EXACT.values(),
        *(c for _, c in FALLBACKS),
        builtin.STR_BYTES,
        objects.PICKLE_CODEC,
        user.USER_CODEC,
        records.RECORDS,
    )
    if codec.tag
}


def encode(value: Any, ctx: EncodeContext) -> Node:
    """The node that stores ``value`` (see module docstring for the order)."""
    node = user.USER_CODEC.encode(value, ctx)
    if node is not None:
        return node
    codec = EXACT.get(type(value))
    if codec is not None:
        node = codec.encode(value, ctx)
        if node is not None:
            return node
    else:
        for accepts, fallback in FALLBACKS:
            if accepts(value):
                node = fallback.encode(value, ctx)
                if node is not None:
                    return node
                break
    pickled = objects.PICKLE_CODEC.encode(value, ctx)
    assert pickled is not None  # cloudpickle never declines; it raises
    return pickled


def decode(node: Node, ctx: DecodeContext) -> Any:
    """The value a node stores, by its ``_xs_type`` tag (untagged: array or dict)."""
    tag = node.attrs.get(TYPE)
    if tag is None:
        if isinstance(node, Var):
            return builtin.decode_default(node, ctx)
        return builtin.decode_mapping(node, ctx)
    codec = BY_TAG.get(str(tag))
    if codec is None:
        raise TypeError(f"{ctx.path} has the unknown type tag {tag!r} (written by a newer xstore?)")
    return codec.decode(node, ctx)


base.set_dispatch(encode, decode)
