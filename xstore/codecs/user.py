"""``xstore.register_codec``: teach every face a new type.

``encode(obj) -> (array_like, attrs)`` and ``decode(array, attrs) -> obj``.  The
value is stored as one array with the attributes (through the attribute codec) and
its class name; an appended series of such objects stores the attributes once.
The names of the codec's attributes are listed in ``_xs_info``, so metadata added
to the variable later (``StorageInterface.add_metadata``, ``Group.attrs_of``) is
never mistaken for part of the value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xstore.codecs.arrays import decode_array, encode_array, is_encodable
from xstore.codecs.attrs import decode_attrs, encode_attrs
from xstore.codecs.base import Codec, DecodeContext, EncodeContext
from xstore.codecs.classes import class_spec
from xstore.nodes import CLASS, INFO, TYPE, Node, Var

Encoder = Callable[[Any], tuple[Any, Mapping[str, Any]]]
Decoder = Callable[[np.ndarray, dict[str, Any]], Any]


@dataclass(frozen=True)
class UserCodec:
    cls: type
    spec: str
    encode: Encoder
    decode: Decoder


_BY_CLASS: dict[type, UserCodec] = {}
_BY_SPEC: dict[str, UserCodec] = {}


def register_codec(cls: type, encode: Encoder, decode: Decoder) -> None:
    """Store instances of ``cls`` (and subclasses) as ``encode(obj) -> (array, attrs)``.

    Registering a class again replaces its codec.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_codec needs a class, not {cls!r}")
    if not callable(encode) or not callable(decode):
        raise TypeError("register_codec needs callable encode and decode functions")
    spec = class_spec(cls) or f"{cls.__module__}:{cls.__qualname__}"
    codec = UserCodec(cls, spec, encode, decode)
    _BY_CLASS[cls] = codec
    _BY_SPEC[spec] = codec


def unregister_codec(cls: type) -> None:
    """Forget the codec of ``cls`` (mainly for tests)."""
    codec = _BY_CLASS.pop(cls, None)
    if codec is not None:
        _BY_SPEC.pop(codec.spec, None)


def codec_for(value: Any) -> UserCodec | None:
    """The registered codec for ``value``'s class or its nearest registered base."""
    if not _BY_CLASS:
        return None
    for base in type(value).__mro__:
        if base in _BY_CLASS:
            return _BY_CLASS[base]
    return None


def split(value: Any, codec: UserCodec, ctx: EncodeContext) -> tuple[np.ndarray, dict[str, Any]]:
    """``codec.encode(value)`` as an encodable array and its user attributes."""
    array, attrs = codec.encode(value)
    arr = np.asarray(array)
    if not is_encodable(arr):
        raise ctx.type_error(value, f"its codec returned an array of {arr.dtype} objects")
    return arr, dict(attrs)


def make_var(
    arr: np.ndarray, attrs: Mapping[str, Any], codec: UserCodec, ctx: EncodeContext
) -> Var:
    """The stored form of an (possibly stacked) codec array with its attributes."""
    data, extra = encode_array(arr)
    raw = codec_var_attrs(attrs, codec, ctx)
    raw.update(extra)
    return Var(data, raw)


def codec_var_attrs(
    attrs: Mapping[str, Any], codec: UserCodec, ctx: EncodeContext
) -> dict[str, Any]:
    """The raw attributes of a codec variable: the codec's attributes, their names
    (``_xs_info``), the tag and the class."""
    raw = encode_attrs(attrs, ctx)
    raw.update({TYPE: "codec", CLASS: codec.spec, INFO: json.dumps(list(attrs))})
    return raw


def codec_attr_names(raw: Mapping[str, Any]) -> list[str] | None:
    """The user names of the codec's attributes of a codec variable (None: all of its
    attributes, for variables written before the names were recorded)."""
    if raw.get(TYPE) != "codec" or INFO not in raw:
        return None
    return [str(name) for name in json.loads(str(raw[INFO]))]


def codec_attrs(raw: Mapping[str, Any], ctx: DecodeContext) -> dict[str, Any]:
    """The attributes ``decode`` receives: those the codec wrote, not later metadata."""
    attrs = decode_attrs(raw, ctx)
    names = codec_attr_names(raw)
    return attrs if names is None else {k: attrs[k] for k in names if k in attrs}


def _encode(value: Any, ctx: EncodeContext) -> Node | None:
    codec = codec_for(value)
    if codec is None:
        return None
    arr, attrs = split(value, codec, ctx)
    return make_var(arr, attrs, codec, ctx)


def stored_codec(node: Var, ctx: DecodeContext) -> UserCodec:
    """The registered codec of a codec variable (``TypeError`` if none is registered)."""
    spec = str(node.attrs[CLASS])
    codec = _BY_SPEC.get(spec)
    if codec is None:
        raise TypeError(
            f"{ctx.path} holds a {spec} stored by a registered codec; "
            "call xstore.register_codec for that class before reading it"
        )
    return codec


def decode_var(node: Node, ctx: DecodeContext) -> Any:
    assert isinstance(node, Var)
    codec = stored_codec(node, ctx)
    arr = decode_array(np.asarray(node.data), node.attrs)
    return codec.decode(arr, codec_attrs(node.attrs, ctx))


USER_CODEC = Codec("codec", _encode, decode_var)
