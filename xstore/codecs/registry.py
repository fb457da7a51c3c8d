"""The registry: which codec stores which value, and which tag decodes which node.

Encoding tries, in order: a user codec (``register_codec``) for the value's class,
the codec for its exact built-in type, then the fallbacks in their order (numpy
scalars, the Storable protocol, dataclasses, ``__setstate__`` objects) and finally
cloudpickle.  A codec may decline a value it cannot store exactly (an int beyond 64
bits, a dict with non-str keys, an object array), which passes it on down the list.

A :class:`Registry` is an ordinary object built from explicit lists (see
:mod:`xstore.codecs.defaults` for the one xstore uses); nothing registers itself by
being imported.

A codec for a class of an optional package is registered *lazily*
(:meth:`Registry.register_lazy`): the registry knows the class by name
(``module:qualname``) and asks the factory for the codec the first time a value of
that class is encoded or a stored value names that class, so the package is never
imported by xstore itself unless a stored value needs it.
"""

from __future__ import annotations

import importlib
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
#: makes the codec of a lazily registered class: ``() -> (encode, decode)``
LazyFactory = Callable[[], tuple[Encoder, Decoder]]


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
        self._lazy: dict[str, LazyFactory] = {}  # spec -> factory, until activated
        self._lazy_failed: dict[str, str] = {}  # spec -> why its codec could not be made
        self._lazy_seen: set[type] = set()  # classes already checked against ``_lazy``

    # -- user codecs ------------------------------------------------------------------------
    def register_user(self, cls: type, spec: str, encode: Encoder, decode: Decoder) -> None:
        """Store instances of ``cls`` (and subclasses) through ``encode``/``decode``;
        registering a class again replaces its codec."""
        codec = UserCodec(cls, spec, encode, decode)
        self.unregister_user(cls)
        self._lazy.pop(spec, None)  # the user's codec replaces a built-in lazy one
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
        if self._lazy and type(value) not in self._lazy_seen:
            self._activate_for(type(value))
        if not self._users:
            return None
        for base in type(value).__mro__:
            codec = self._users.get(base)
            if codec is not None:
                return codec
        return None

    def user_codec(self, spec: str) -> UserCodec | None:
        """The user codec registered for the class named ``spec`` (``module:qualname``)."""
        codec = self._users_by_spec.get(spec)
        if codec is None and spec in self._lazy:
            self._activate(spec)
            codec = self._users_by_spec.get(spec)
        return codec

    # -- lazily registered codecs -------------------------------------------------------
    def register_lazy(self, module: str, qualname: str, factory: LazyFactory) -> None:
        """Know a codec for the class ``module:qualname`` without importing ``module``.

        ``factory()`` returns ``(encode, decode)`` as for :meth:`register_user`; it is
        called, and the class imported, the first time a value of that class (or of a
        subclass) is encoded or a stored value names the class.  A codec the user
        registers for the class replaces this one.
        """
        spec = f"{module}:{qualname}"
        if spec in self._users_by_spec:
            return
        self._lazy[spec] = factory
        self._lazy_failed.pop(spec, None)
        self._lazy_seen.clear()

    def lazy_specs(self) -> list[str]:
        """The classes whose codec is known but not made yet (``module:qualname``)."""
        return list(self._lazy)

    def unavailable(self, spec: str) -> str | None:
        """Why the lazily registered codec of ``spec`` could not be made (None: it could,
        or there is none)."""
        return self._lazy_failed.get(spec)

    def _activate_for(self, cls: type) -> None:
        """Make the lazy codecs of ``cls`` and its bases (a value of ``cls`` exists, so
        their modules are imported already)."""
        self._lazy_seen.add(cls)
        for base in cls.__mro__:
            spec = f"{base.__module__}:{base.__qualname__}"
            if spec in self._lazy:
                self._activate(spec, base)

    def _activate(self, spec: str, cls: type | None = None) -> None:
        factory = self._lazy.pop(spec)
        try:
            if cls is None:
                module, qualname = spec.split(":")
                found: Any = importlib.import_module(module)
                for part in qualname.split("."):
                    found = getattr(found, part)
                cls = found
            encode, decode = factory()
        except Exception as exc:  # ImportError above all: the optional package is missing
            self._lazy_failed[spec] = f"{type(exc).__name__}: {exc}"
            return
        assert isinstance(cls, type)
        self.register_user(cls, spec, encode, decode)

    # -- JSON -------------------------------------------------------------------------------
    def json_extension_for(self, value: Any) -> JsonExtension | None:
        return next((e for e in self._json if e.accepts(value)), None)

    def json_extension(self, tag: str) -> JsonExtension | None:
        return self._json_by_tag.get(tag)

    # -- dispatch ---------------------------------------------------------------------------
    def encode(self, value: Any, ctx: EncodeContext) -> Node:
        """The node that stores ``value`` (see the module docstring for the order)."""
        if self._lazy and type(value) not in self._lazy_seen:
            self._activate_for(type(value))
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
