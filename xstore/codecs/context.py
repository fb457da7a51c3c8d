"""What every codec sees: the encode/decode contexts, and :class:`Codecs`, the one
factory that makes them.

A context carries the policy (may this value be pickled? may that one be
unpickled?), the key path of the value being worked on (for error messages, e.g.
``data['run']['fn']``) and the dispatcher that picks a codec for a nested value.
The dispatcher is a :class:`Dispatch` (in practice :class:`xstore.codecs.registry.Registry`),
handed in explicitly: nothing is wired by import side effects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import cloudpickle
import numpy as np

from xstore.codecs.classes import trust_names
from xstore.errors import (
    MissingCodecError,
    PickleNotAllowedError,
    StoreError,
    VersionMismatchError,
)
from xstore.model import Node, Tree


class _Refused:
    """Stands in for a value whose unpickling was refused (never returned to users)."""

    def __repr__(self) -> str:
        return "<refused pickle>"


REFUSED = _Refused()


class JsonExtension(Protocol):
    """JSON support for a family of values defined outside :mod:`xstore.codecs.jsontag`."""

    @property
    def tag(self) -> str: ...

    def accepts(self, value: Any) -> bool: ...

    def encode(self, value: Any, ctx: EncodeContext) -> dict[str, Any]: ...

    def decode(self, obj: dict[str, Any], ctx: DecodeContext) -> Any: ...


class Dispatch(Protocol):
    """Picks the codec of a value or node (implemented by ``Registry``)."""

    def encode(self, value: Any, ctx: EncodeContext) -> Node: ...

    def decode(self, node: Node, ctx: DecodeContext) -> Any: ...

    def user_codec_for(self, value: Any) -> UserCodec | None: ...

    def user_codec(self, spec: str) -> UserCodec | None: ...

    def unavailable(self, spec: str) -> str | None: ...

    def json_extension_for(self, value: Any) -> JsonExtension | None: ...

    def json_extension(self, tag: str) -> JsonExtension | None: ...


#: makes a writable in-memory group for the Storable protocol, and a function that
#: returns its contents as a Tree
ScratchGroup = Callable[[], tuple[Any, Callable[[], Tree]]]
#: makes a read-only group over a Tree (what ``_restore`` receives)
GroupOver = Callable[[Tree, "DecodeContext"], Any]


class _KeyPath:
    """The key path of the value being worked on, rendered like ``data['run']['fn']``."""

    def __init__(self, root: str) -> None:
        self._parts = [root]
        self.failed_at: str | None = None  # the deepest key path an error passed through

    def at(self, key: object) -> AbstractContextManager[None]:
        """Inside the item ``key`` of the current value."""
        return self._inside(f"[{key!r}]")

    def attr(self, name: str) -> AbstractContextManager[None]:
        """Inside the attribute ``name`` of the current value."""
        return self._inside(f".attrs[{name!r}]")

    @contextmanager
    def _inside(self, part: str) -> Iterator[None]:
        self._parts.append(part)
        try:
            yield
        except BaseException:
            self.failed_at = self.failed_at or self.path
            raise
        finally:
            self._parts.pop()

    @property
    def path(self) -> str:
        return "".join(self._parts)


@dataclass(frozen=True)
class Codecs:
    """The one factory of encode/decode contexts: a dispatcher plus the two group
    factories the Storable protocol needs (supplied by the store face)."""

    dispatch: Dispatch
    scratch_group: ScratchGroup | None = None
    group_over: GroupOver | None = None

    def encoder(self, root: str = "data", *, pickle_ok: bool = True) -> EncodeContext:
        return EncodeContext(self, root, pickle_ok=pickle_ok)

    def decoder(
        self,
        root: str = "data",
        *,
        allow_pickle: bool = False,
        location: str = "",
        trust: Iterable[str] = (),
    ) -> DecodeContext:
        return DecodeContext(self, root, allow_pickle=allow_pickle, location=location, trust=trust)


class EncodeContext(_KeyPath):
    """Policy and position while encoding one value.

    ``pickle_ok`` is False for the JSON mode and JSON attributes, where anything
    that would need pickle is a ``TypeError``.
    """

    def __init__(self, codecs: Codecs, root: str = "data", *, pickle_ok: bool = True) -> None:
        super().__init__(root)
        self.codecs = codecs
        self.pickle_ok = pickle_ok

    @property
    def dispatch(self) -> Dispatch:
        return self.codecs.dispatch

    def strict(self) -> EncodeContext:
        """A context at the same key path that refuses pickle."""
        return EncodeContext(self.codecs, self.path, pickle_ok=False)

    def encode(self, value: object) -> Node:
        """Encode a nested value with whichever codec applies."""
        return self.codecs.dispatch.encode(value, self)

    def encode_at(self, key: object, value: object) -> Node:
        with self.at(key):
            return self.encode(value)

    def scratch_group(self) -> tuple[Any, Callable[[], Tree]]:
        if self.codecs.scratch_group is None:
            raise TypeError(f"the Storable protocol needs a group to store into ({self.path})")
        return self.codecs.scratch_group()

    def pickle(self, value: object) -> bytes:
        """cloudpickle bytes of ``value``; a failure is a ``TypeError`` naming the key path."""
        try:
            return bytes(cloudpickle.dumps(value))
        except Exception as exc:  # pickling fails in many ways; all mean "cannot store"
            raise self.type_error(value, f"cloudpickle failed: {exc}") from exc

    def type_error(self, value: object, why: str = "") -> TypeError:
        reason = f": {why}" if why else ""
        return TypeError(f"cannot store {type(value).__qualname__} at {self.path}{reason}")


class DecodeContext(_KeyPath):
    """Policy and position while decoding; collects refused pickles and classes.

    ``trust`` names the modules (and packages) whose classes may be imported to
    restore an object without ``allow_pickle``.
    """

    def __init__(
        self,
        codecs: Codecs,
        root: str = "data",
        *,
        allow_pickle: bool = False,
        location: str = "",
        trust: Iterable[str] = (),
    ) -> None:
        super().__init__(root)
        self.codecs = codecs
        self.allow_pickle = allow_pickle
        self.location = location
        self.trust = trust_names(trust)
        self.refused: list[str] = []
        self.refused_modules: list[str] = []

    @property
    def dispatch(self) -> Dispatch:
        return self.codecs.dispatch

    def decode(self, node: Node) -> Any:
        """Decode a nested node with whichever codec its tag names."""
        return self.codecs.dispatch.decode(node, self)

    def decode_at(self, key: object, node: Node) -> Any:
        with self.at(key):
            return self.decode(node)

    def group_over(self, tree: Tree) -> Any:
        if self.codecs.group_over is None:
            raise TypeError(f"cannot restore the Storable at {self.path} without a group")
        return self.codecs.group_over(tree, self)

    def refuse(self, module: str = "") -> _Refused:
        """Record a refused value at the current key path (and the untrusted module
        restoring it would have imported) and return the REFUSED placeholder."""
        self.refused.append(self.path)
        if module:
            self.refused_modules.append(module)
        return REFUSED

    def unpickle(self, blob: bytes) -> Any:
        """Unpickle ``blob`` if allowed, else record the key path and return REFUSED."""
        if not self.allow_pickle:
            return self.refuse()
        return cloudpickle.loads(blob)

    def raise_if_refused(self) -> None:
        if self.refused:
            raise PickleNotAllowedError(self.refused, self.location, self.refused_modules)

    @contextmanager
    def reading_stored(self) -> Iterator[None]:
        """Decoding stored data: an error that is not one of xstore's own (a refused
        pickle, a missing codec, a version policy) means the data is damaged or
        crafted, and becomes a ``StoreError`` naming the key path and the store."""
        try:
            yield
        except (StoreError, PickleNotAllowedError, MissingCodecError, VersionMismatchError):
            raise
        except Exception as exc:
            raise self.damaged(exc) from exc

    def damaged(self, exc: Exception) -> StoreError:
        """The ``StoreError`` for a stored value that could not be decoded."""
        where = self.failed_at or self.path
        store = f" in {self.location}" if self.location else ""
        return StoreError(
            f"{where}{store} cannot be read back (damaged or crafted?): {type(exc).__name__}: {exc}"
        )


Encoder = Callable[[Any], tuple[Any, Mapping[str, Any]]]
Decoder = Callable[[np.ndarray, dict[str, Any]], Any]


@dataclass(frozen=True)
class UserCodec:
    """A codec given to ``xstore.register_codec``: ``encode(obj) -> (array, attrs)``,
    ``decode(array, attrs) -> obj``; ``spec`` is the class's ``module:qualname``."""

    cls: type
    spec: str
    encode: Encoder
    decode: Decoder


@dataclass(frozen=True)
class Codec:
    """How one kind of value is stored.

    ``encode`` returns None to decline a value it cannot store exactly (the next
    fallback, eventually cloudpickle, takes it).
    """

    tag: str
    encode: Callable[[Any, EncodeContext], Node | None]
    decode: Callable[[Node, DecodeContext], Any]
