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
from xstore.codecs.context import Codecs, DecodeContext, EncodeContext
from xstore.core.entries import Entry
from xstore.core.layout import Core
from xstore.core.series.writer import SeriesOptions, SeriesWriter
from xstore.model import Node
from xstore.names import Path


class Session:
    """One open store.

    ``mode`` is the mode the user asked for (``r``, ``r+``, ``a``, ``w``, ``w-``);
    ``allow_pickle`` decides whether pickled values are read and ``trust`` which
    modules' classes may be imported to restore objects.  ``writer_lock`` (held
    by writers) is released when the session closes.  Faces hold :attr:`mutex` for
    every call, so threads sharing one store take turns; ``mutex`` is the backend's
    library lock where its library is not thread-safe across files.  ``address`` is
    how the store was reached (a URL's storage options, a store object).
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
        series: SeriesOptions | None = None,
        writer_lock: WriterLock | None = None,
        mutex: threading.RLock | None = None,
        address: Address | None = None,
    ) -> None:
        self.mutex = mutex or threading.RLock()
        self.layout = Core(backend, new=new)
        self.codecs = codecs
        self.mode = mode
        self.allow_pickle = allow_pickle
        self.trust = trust_names(trust)
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
    def encoder(self, label: str) -> EncodeContext:
        return self.codecs.encoder(label)

    def decoder(self, label: str) -> DecodeContext:
        return self.codecs.decoder(
            label, allow_pickle=self.allow_pickle, location=self.location, trust=self.trust
        )

    def encode(self, value: Any, label: str) -> Node:
        return self.encoder(label).encode(value)

    def decode(self, node: Node, label: str) -> Any:
        """The value ``node`` stores; refused pickles raise ``PickleNotAllowedError``."""
        ctx = self.decoder(label)
        with ctx.reading_stored():
            value = ctx.decode(node)
        ctx.raise_if_refused()
        return value

    def read_value(self, parent: Path, entry: Entry, label: str) -> Any:
        """The decoded value of child ``entry`` of ``parent``."""
        return self.decode(self.layout.read_node((*parent, entry.stored), entry.is_group), label)

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
