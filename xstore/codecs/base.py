"""What every codec sees: the encode/decode contexts and the codec record."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import cloudpickle

from xstore.errors import PickleNotAllowedError
from xstore.nodes import Node, Tree


class _Refused:
    """Stands in for a value whose unpickling was refused (never returned to users)."""

    def __repr__(self) -> str:
        return "<refused pickle>"


REFUSED = _Refused()


_dispatch: dict[str, Callable[..., Any]] = {}


def set_dispatch(encode: Callable[..., Node], decode: Callable[..., Any]) -> None:
    """Install the registry's dispatchers (called once by :mod:`xstore.codecs.registry`)."""
    _dispatch["encode"] = encode
    _dispatch["decode"] = decode


class _KeyPath:
    """The key path of the value being worked on, rendered like ``data['run']['fn']``."""

    def __init__(self, root: str) -> None:
        self._parts = [root]

    @contextmanager
    def at(self, key: object) -> Iterator[None]:
        self._parts.append(f"[{key!r}]")
        try:
            yield
        finally:
            self._parts.pop()

    @contextmanager
    def attr(self, name: str) -> Iterator[None]:
        self._parts.append(f".attrs[{name!r}]")
        try:
            yield
        finally:
            self._parts.pop()

    @property
    def path(self) -> str:
        return "".join(self._parts)


class EncodeContext(_KeyPath):
    """Policy and position while encoding one value.

    ``pickle_ok`` is False for the JSON mode, where anything that would need pickle
    is a ``TypeError``.  ``scratch_group`` makes an in-memory group (for the
    Storable protocol) and returns it with a function that yields its :class:`Tree`.
    """

    def __init__(
        self,
        root: str = "data",
        *,
        pickle_ok: bool = True,
        scratch_group: Callable[[], tuple[Any, Callable[[], Tree]]] | None = None,
    ) -> None:
        super().__init__(root)
        self.pickle_ok = pickle_ok
        self.scratch_group = scratch_group

    def encode(self, value: object) -> Node:
        """Encode a nested value with whichever codec applies."""
        node: Node = _dispatch["encode"](value, self)
        return node

    def encode_at(self, key: object, value: object) -> Node:
        with self.at(key):
            return self.encode(value)

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
    """Policy and position while decoding; collects refused pickles."""

    def __init__(
        self,
        root: str = "data",
        *,
        allow_pickle: bool = False,
        location: str = "",
        group_over: Callable[[Tree, bool], Any] | None = None,
    ) -> None:
        super().__init__(root)
        self.allow_pickle = allow_pickle
        self.location = location
        self.group_over = group_over
        self.refused: list[str] = []

    def decode(self, node: Node) -> Any:
        """Decode a nested node with whichever codec its tag names."""
        return _dispatch["decode"](node, self)

    def decode_at(self, key: object, node: Node) -> Any:
        with self.at(key):
            return self.decode(node)

    def refuse(self) -> _Refused:
        self.refused.append(self.path)
        return REFUSED

    def unpickle(self, blob: bytes) -> Any:
        """Unpickle ``blob`` if allowed, else record the key path and return REFUSED."""
        if not self.allow_pickle:
            return self.refuse()
        return cloudpickle.loads(blob)

    def raise_if_refused(self) -> None:
        if self.refused:
            raise PickleNotAllowedError(self.refused, self.location)


@dataclass(frozen=True)
class Codec:
    """How one kind of value is stored.

    ``encode`` returns None to decline a value it cannot store exactly (the next
    fallback, eventually cloudpickle, takes it).
    """

    tag: str
    encode: Callable[[Any, EncodeContext], Node | None]
    decode: Callable[[Node, DecodeContext], Any]
