"""The registry: which codec stores which value, and which tag decodes which node.

Encoding tries, in order: a user codec (``register_codec``) for the value's class,
the codec for its exact built-in type, then the fallbacks in their order (numpy
scalars, the Storable protocol, dataclasses, ``__setstate__`` objects) and finally
cloudpickle.  A codec may decline a value it cannot store exactly (an int beyond 64
bits, a dict with non-str keys, an object array), which passes it on down the list.

A :class:`Registry` is an ordinary object built from explicit lists (see
:mod:`xstore.codecs.defaults` for the one xstore uses); nothing registers itself by
being imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from xstore.codecs import builtin
from xstore.codecs.context import (
    Codec,
    DecodeContext,
    Decoder,
    EncodeContext,
    Encoder,
    JsonExtension,
    UserCodec,
)
from xstore.codecs.user import USER_CODEC
from xstore.model import Node, Var, tag_of

Accepts = Callable[[Any], bool]


class Registry:
    """Codecs by exact type, fallbacks in order, decoders by tag, user codecs, and
    the JSON extensions of the ``json`` mode."""

    def __init__(
        self,
        *,
        exact: dict[type, Codec],
        fallbacks: Sequence[tuple[Accepts, Codec]],
        pickle: Codec,
        decode_only: Iterable[Codec] = (),
        json_extensions: Iterable[JsonExtension] = (),
    ) -> None:
        self._exact = dict(exact)
        self._fallbacks = list(fallbacks)
        self._pickle = pickle
        codecs = [*self._exact.values(), *(c for _, c in self._fallbacks), pickle, USER_CODEC]
        self._by_tag = {c.tag: c for c in (*codecs, *decode_only) if c.tag}
        self._json = list(json_extensions)
        self._json_by_tag = {e.tag: e for e in self._json}
        self._users: dict[type, UserCodec] = {}
        self._users_by_spec: dict[str, UserCodec] = {}

    # -- user codecs ------------------------------------------------------------------------
    def register_user(self, cls: type, spec: str, encode: Encoder, decode: Decoder) -> None:
        """Store instances of ``cls`` (and subclasses) through ``encode``/``decode``;
        registering a class again replaces its codec."""
        codec = UserCodec(cls, spec, encode, decode)
        self.unregister_user(cls)
        self._users[cls] = codec
        self._users_by_spec[spec] = codec

    def unregister_user(self, cls: type) -> None:
        codec = self._users.pop(cls, None)
        if codec is not None:
            self._users_by_spec.pop(codec.spec, None)

    def user_classes(self) -> list[type]:
        return list(self._users)

    def user_codec_for(self, value: Any) -> UserCodec | None:
        """The user codec of ``value``'s class or of its nearest registered base."""
        if not self._users:
            return None
        for base in type(value).__mro__:
            codec = self._users.get(base)
            if codec is not None:
                return codec
        return None

    def user_codec(self, spec: str) -> UserCodec | None:
        """The user codec registered for the class named ``spec`` (``module:qualname``)."""
        return self._users_by_spec.get(spec)

    # -- JSON -------------------------------------------------------------------------------
    def json_extension_for(self, value: Any) -> JsonExtension | None:
        return next((e for e in self._json if e.accepts(value)), None)

    def json_extension(self, tag: str) -> JsonExtension | None:
        return self._json_by_tag.get(tag)

    # -- dispatch ---------------------------------------------------------------------------
    def encode(self, value: Any, ctx: EncodeContext) -> Node:
        """The node that stores ``value`` (see the module docstring for the order)."""
        node = USER_CODEC.encode(value, ctx) if self._users else None
        if node is not None:
            return node
        codec = self._exact.get(type(value))
        if codec is not None:
            node = codec.encode(value, ctx)
            if node is not None:
                return node
        else:
            for accepts, fallback in self._fallbacks:
                if accepts(value):
                    node = fallback.encode(value, ctx)
                    if node is not None:
                        return node
                    break
        pickled = self._pickle.encode(value, ctx)
        assert pickled is not None  # cloudpickle never declines; it raises
        return pickled

    def decode(self, node: Node, ctx: DecodeContext) -> Any:
        """The value a node stores, by its ``_xs_type`` tag (untagged: array or dict)."""
        tag = tag_of(node)
        if tag is None:
            if isinstance(node, Var):
                return builtin.decode_default(node, ctx)
            return builtin.decode_mapping(node, ctx)
        codec = self._by_tag.get(tag)
        if codec is None:
            raise TypeError(
                f"{ctx.path} has the unknown type tag {tag!r} (written by a newer xstore?)"
            )
        return codec.decode(node, ctx)
