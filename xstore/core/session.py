"""The open store the faces use: layout, series writer, codecs and lifetime in one.

A :class:`Session` is what ``xstore.open`` opens and every face works through
(``Store``/``Group``, ``StorageInterface``, the tools).  Its parts are public and
typed: :attr:`Session.layout` (the :class:`~xstore.core.layout.Core`: keys, index,
attributes, nodes), :attr:`Session.series` (the series writer, made on first use),
and the value methods that put the codecs between Python values and nodes.  Faces
never touch a backend; the core is the only caller of one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from xstore.backends.address import Address
from xstore.backends.base import Backend
from xstore.backends.locks import WriterLock
from xstore.codecs.classes import trust_names
from xstore.codecs.context import VERSION_POLICIES, Codecs, DecodeContext, EncodeContext
from xstore.core.entries import Entry
from xstore.core.layout import Core
from xstore.core.series.writer import SeriesOptions, SeriesWriter
from xstore.model import Node
from xstore.names import Path


class Session:
    """One open store.

    ``mode`` is the mode the user asked for (``r``, ``r+``, ``a``, ``w``, ``w-``);
    ``allow_pickle`` decides whether pickled values are read and ``trust`` which
    modules' classes may be imported to restore objects; ``pickle`` whether values
    without a native encoding may be written as pickles (else ``TypeError``),
    ``version_policy`` what a restored object of another version does.
    ``writer_lock`` (held by writers) is released when the session closes.  Faces
    hold :attr:`mutex` for every call, so threads sharing one store take turns;
    ``mutex`` is the backend's library lock where its library is not thread-safe
    across files.  ``address`` is how the store was reached (a URL's storage
    options, a store object).  ``outer``: the encoding this session's values are
    part of (the scratch group of a Storable), which reports what was pickled.
    """

    def __init__(
        self,
        backend: Backend,
        codecs: Codecs,
        *,
        mode: str,
        new: bool = False,
        allow_pickle: bool = False,
        trust: Iterable[str] = (),
        pickle: bool = True,
        version_policy: str = "warn",
        series: SeriesOptions | None = None,
        writer_lock: WriterLock | None = None,
        mutex: threading.RLock | None = None,
        address: Address | None = None,
        outer: EncodeContext | None = None,
    ) -> None:
        if version_policy not in VERSION_POLICIES:
            raise ValueError(
                f"version_policy must be one of {VERSION_POLICIES}, not {version_policy!r}"
            )
        self.mutex = mutex or threading.RLock()
        self.layout = Core(backend, new=new)
        self.codecs = codecs
        self.mode = mode
        self.allow_pickle = allow_pickle
        self.trust = trust_names(trust)
        self.pickle = pickle
        self.version_policy = version_policy
        self._outer = outer
        self.location = backend.location
        #: how the store was reached (readers in other processes open it again by it)
        self.address = address or Address(backend.location)
        self._series_options = series or SeriesOptions()
        self._writer: SeriesWriter | None = None
        self._writer_lock = writer_lock

    @property
    def backend_name(self) -> str:
        return self.layout.backend_name

    @property
    def closed(self) -> bool:
        return self.layout.closed

    def require_open(self) -> None:
        if self.layout.closed:
            raise ValueError(f"the store {self.location} is closed")

    @property
    def series(self) -> SeriesWriter:
        """The store's series writer (made on first use; the store must be writable)."""
        if self._writer is None:
            self.require_open()
            self.layout.require_writable("append")
            self._writer = SeriesWriter(self.layout, self.codecs, self._series_options)
            self.layout.attach(self._writer)
        return self._writer

    # -- values ----------------------------------------------------------------------------
    def label(self, key: str) -> str:
        """How messages name the value at ``key`` (a path from the root)."""
        root = "store" if self._outer is None else self._outer.path
        return f"{root}[{key!r}]"

    def encoder(self, label: str) -> EncodeContext:
        return self.codecs.encoder(label, pickle_ok=self.pickle)

    def decoder(self, label: str) -> DecodeContext:
        return self.codecs.decoder(
            label,
            allow_pickle=self.allow_pickle,
            location=self.location,
            version_policy=self.version_policy,
            trust=self.trust,
        )

    def encode(self, value: Any, label: str) -> Node:
        """The node of ``value``; what had to be pickled is reported
        (:class:`~xstore.PickleFallbackWarning`)."""
        ctx = self.encoder(label)
        node = ctx.encode(value)
        self.report(ctx.pickled)
        return node

    def report(self, pickled: list[str]) -> None:
        """Warn about values that were pickled (or hand them to the outer encoding)."""
        if self._outer is not None:
            self._outer.pickled.extend(pickled)
        elif pickled:
            self.encoder("").report(pickled)

    def decode(self, node: Node, label: str) -> Any:
        """The value ``node`` stores; refused pickles raise ``PickleNotAllowedError``,
        restored objects of another version follow the version policy."""
        ctx = self.decoder(label)
        with ctx.reading_stored():
            value = ctx.decode(node)
        ctx.finish()
        return value

    def read_value(self, parent: Path, entry: Entry, label: str) -> Any:
        """The decoded value of child ``entry`` of ``parent``."""
        return self.decode(self.layout.read_node((*parent, entry.stored), entry.is_group), label)

    def read_item(self, parent: Path, entry: Entry, item: int, label: str) -> Any:
        """Item ``item`` of child ``entry`` of ``parent``, a list or tuple stored as one
        array (only that item is read)."""
        node = self.layout.read_items((*parent, entry.stored), item, item + 1)
        return self.decode(node, label)[0]

    # -- lifetime --------------------------------------------------------------------------
    def flush(self) -> None:
        """Write buffered records and make everything durable."""
        with self.mutex:
            self.require_open()
            self.layout.flush()

    def close(self) -> None:
        """Flush and close (closing twice is fine); the writer lock goes last."""
        with self.mutex:
            try:
                self.layout.close()
            finally:
                lock, self._writer_lock = self._writer_lock, None
                if lock is not None:
                    lock.release()
