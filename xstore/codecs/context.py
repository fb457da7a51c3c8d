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
    PickleFallbackWarning,
    PickleNotAllowedError,
    StoreError,
    VersionMismatchError,
    VersionWarning,
    warn,
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


#: makes a writable in-memory group for the Storable protocol (under the policy and
#: key path of the given context), and a function that returns its contents as a Tree
ScratchGroup = Callable[["EncodeContext"], tuple[Any, Callable[[], Tree]]]
VERSION_POLICIES = ("warn", "strict", "ignore")
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
        version_policy: str = "warn",
        trust: Iterable[str] = (),
    ) -> DecodeContext:
        return DecodeContext(
            self,
            root,
            allow_pickle=allow_pickle,
            location=location,
            version_policy=version_policy,
            trust=trust,
        )


class EncodeContext(_KeyPath):
    """Policy and position while encoding one value.

    ``pickle_ok`` is False for the JSON mode, JSON attributes and ``pickle=False``,
    where anything that would need pickle is a ``TypeError``.  The key paths of what
    was pickled are collected in :attr:`pickled` (:meth:`report` warns about them).
    """

    def __init__(self, codecs: Codecs, root: str = "data", *, pickle_ok: bool = True) -> None:
        super().__init__(root)
        self.codecs = codecs
        self.pickle_ok = pickle_ok
        self.pickled: list[str] = []

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
        return self.codecs.scratch_group(self)

    def pickle(self, value: object) -> bytes:
        """cloudpickle bytes of ``value`` (the value has no native encoding); a failure,
        or a context that refuses pickle, is a ``TypeError`` naming the key path."""
        if not self.pickle_ok:
            raise self.type_error(
                value, "it has no native encoding and pickling is off here (pickle=False, or json)"
            )
        try:
            blob = bytes(cloudpickle.dumps(value))
        except Exception as exc:  # pickling fails in many ways; all mean "cannot store"
            raise self.type_error(value, f"cloudpickle failed: {exc}") from exc
        self.pickled.append(f"{self.path} ({type(value).__qualname__})")
        return blob

    def report(self, paths: list[str] | None = None) -> None:
        """Warn (:class:`~xstore.PickleFallbackWarning`) about what was pickled."""
        paths = self.pickled if paths is None else paths
        if paths:
            shown = ", ".join(paths[:10]) + (
                f" and {len(paths) - 10} more" if len(paths) > 10 else ""
            )
            warn(
                PickleFallbackWarning(
                    f"stored with cloudpickle (no native encoding): {shown}; reading needs "
                    "allow_pickle=True, and pickle=False makes this a TypeError"
                )
            )

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
        version_policy: str = "warn",
        trust: Iterable[str] = (),
    ) -> None:
        super().__init__(root)
        if version_policy not in VERSION_POLICIES:
            raise ValueError(
                f"version_policy must be one of {VERSION_POLICIES}, not {version_policy!r}"
            )
        self.codecs = codecs
        self.allow_pickle = allow_pickle
        self.location = location
        self.version_policy = version_policy
        self.trust = trust_names(trust)
        self.refused: list[str] = []
        self.refused_modules: list[str] = []
        self.versions: list[str] = []  # restored objects whose version differs

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

    def check_version(self, spec: str, stored: Any, current: Any) -> None:
        """A restored object's class was stored at version ``stored`` and is now at
        ``current``: by the version policy, raise, note it for :meth:`finish`, or not."""
        if stored is None or stored == current:
            return
        what = f"{self.path}: {spec} was stored at version {stored!r}, it is now {current!r}"
        if self.version_policy == "strict":
            where = f" in {self.location}" if self.location else ""
            raise VersionMismatchError(f"{what}{where} (version_policy='strict')")
        if self.version_policy == "warn":
            self.versions.append(what)

    def finish(self) -> None:
        """The value is decoded: raise for refused pickles, warn about versions."""
        self.raise_if_refused()
        if self.versions:
            shown = "; ".join(self.versions[:10])
            more = f" (and {len(self.versions) - 10} more)" if len(self.versions) > 10 else ""
            warn(
                VersionWarning(
                    f"restored objects whose class changed version: {shown}{more}; they were "
                    "restored anyway (version_policy='strict' refuses, 'ignore' is silent)"
                )
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
