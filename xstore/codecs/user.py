"""Codecs users register (``xstore.register_codec``): storing their values.

``encode(obj) -> (array_like, attrs)`` and ``decode(array, attrs) -> obj``.  The
value is stored as one array with the attributes (through the attribute codec) and
its class name; an appended series of such objects stores the attributes once.
The names of the codec's attributes are listed in ``_xs_info``, so metadata added
to the variable later (``StorageInterface.add_metadata``, ``Group.attrs_of``) is
never mistaken for part of the value.  Which codec belongs to which class is kept
by the registry (:class:`xstore.codecs.registry.Registry`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from xstore.codecs.arrays import decode_array, encode_array, is_encodable
from xstore.codecs.attrs import decode_attrs, encode_attrs
from xstore.codecs.context import Codec, DecodeContext, EncodeContext, UserCodec
from xstore.errors import MissingCodecError
from xstore.model import CLASS, INFO, TYPE, Node, Var

TAG = "codec"


def split(value: Any, codec: UserCodec, ctx: EncodeContext) -> tuple[np.ndarray, dict[str, Any]]:
    """``codec.encode(value)`` as an encodable array and its user attributes."""
    array, attrs = codec.encode(value)
    arr = np.asarray(array)
    if not is_encodable(arr):
        raise ctx.type_error(value, f"its codec returned an array of {arr.dtype} objects")
    return arr, dict(attrs)


def codec_var_attrs(
    attrs: Mapping[str, Any], codec: UserCodec, ctx: EncodeContext
) -> dict[str, Any]:
    """The raw attributes of a codec variable: the codec's attributes, their names
    (``_xs_info``), the tag and the class."""
    raw = encode_attrs(attrs, ctx)
    raw.update({TYPE: TAG, CLASS: codec.spec, INFO: json.dumps(list(attrs))})
    return raw


def codec_attr_names(raw: Mapping[str, Any]) -> list[str] | None:
    """The user names of the codec's attributes of a codec variable (None: all of its
    attributes, for variables written before the names were recorded)."""
    if raw.get(TYPE) != TAG or INFO not in raw:
        return None
    return [str(name) for name in json.loads(str(raw[INFO]))]


def codec_attrs(raw: Mapping[str, Any], ctx: DecodeContext) -> dict[str, Any]:
    """The attributes ``decode`` receives: those the codec wrote, not later metadata."""
    attrs = decode_attrs(raw, ctx)
    names = codec_attr_names(raw)
    return attrs if names is None else {k: attrs[k] for k in names if k in attrs}


def _encode(value: Any, ctx: EncodeContext) -> Node | None:
    codec = ctx.dispatch.user_codec_for(value)
    if codec is None:
        return None
    arr, attrs = split(value, codec, ctx)
    data, extra = encode_array(arr)
    raw = codec_var_attrs(attrs, codec, ctx)
    raw.update(extra)
    return Var(data, raw)


def stored_codec(node: Var, ctx: DecodeContext) -> UserCodec:
    """The registered codec of a codec variable (``TypeError`` if none is registered)."""
    spec = str(node.attrs[CLASS])
    codec = ctx.dispatch.user_codec(spec)
    if codec is None:
        why = ctx.dispatch.unavailable(spec)
        if why is not None:
            raise MissingCodecError(
                f"{ctx.path} holds a {spec}; xstore has a built-in codec for it, but "
                f"it needs a package that cannot be imported here ({why})"
            )
        raise MissingCodecError(
            f"{ctx.path} holds a {spec} stored by a registered codec; "
            "call xstore.register_codec for that class before reading it"
        )
    return codec


def decode_var(node: Node, ctx: DecodeContext) -> Any:
    assert isinstance(node, Var)
    codec = stored_codec(node, ctx)
    arr = decode_array(np.asarray(node.data), node.attrs)
    return codec.decode(arr, codec_attrs(node.attrs, ctx))


USER_CODEC = Codec(TAG, _encode, decode_var)
