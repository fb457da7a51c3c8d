"""The dict-like face: :class:`Group` (a ``MutableMapping``) and :class:`Store`.

A group's keys are names or ``/``-separated relative paths.  Reading a plain group
gives a :class:`Group`; reading a stored value (dict, list, array, object) gives the
decoded value, a snapshot.  A stored dict can be changed entry by entry by path,
``store["params/T"] = 310.0``.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from xstore.backends.memory import MemoryBackend
from xstore.codecs.context import Codecs, DecodeContext, EncodeContext
from xstore.codecs.defaults import REGISTRY
from xstore.core.entries import TABLE_TAG, Entry, Resolved
from xstore.core.series.buffer import Series
from xstore.core.session import Session
from xstore.faces import display, views
from xstore.faces.arrays import LazyArray
from xstore.faces.attributes import Attributes, ValueAttributes
from xstore.faces.chunked import Chunks, dask_array
from xstore.faces.serial import serialised
from xstore.model import Tree
from xstore.names import Path, encode_name, split_key

if TYPE_CHECKING:
    import xarray as xr


class MissingKey(KeyError):
    """A ``KeyError`` whose message suggests close matches; ``args[0]`` is the key."""

    def __init__(self, key: str, close: list[str]) -> None:
        super().__init__(key)
        self.close = close

    def __str__(self) -> str:
        if not self.close:
            return repr(self.args[0])
        return f"{self.args[0]!r} (did you mean {' or '.join(map(repr, self.close))}?)"


class Group(MutableMapping[str, Any]):
    """One group of a store, a ``MutableMapping[str, Any]``; the root group is the
    :class:`Store` itself.

    Keys are names or ``/``-separated relative paths (``group["traj/x"]``).  Reading
    a plain group gives a :class:`Group`; reading a stored value gives the decoded
    value, a snapshot (``store["params/T"] = 310.0`` changes one entry of a stored
    dict).  :meth:`array` reads part of an array without loading it, :meth:`append`
    grows a series, :attr:`attrs` holds the metadata.

    A missing key raises ``KeyError`` (suggesting close matches), a bad name
    ``ValueError``, writing to a store opened read-only ``PermissionError``.
    """

    def __init__(self, store: Store, stored: Path, names: tuple[str, ...]) -> None:
        self._store = store
        self._stored = stored
        self._names = names
        self._fast: dict[str, Series] = {}  # series appended through this object
        self._mutex = store._session.mutex  # threads sharing the store take turns

    # -- identity ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The last component of :attr:`path` (``""`` for the root)."""
        return self._names[-1] if self._names else ""

    @property
    def path(self) -> str:
        """The absolute path of this group in its store, e.g. ``"/traj"``."""
        return "/" + "/".join(self._names)

    @property
    def store(self) -> Store:
        """The open store this group belongs to."""
        return self._store

    @property
    def session(self) -> Session:
        """The open store below this face (``ValueError`` once it is closed)."""
        return self._store.session

    @property
    def stored_path(self) -> Path:
        """This group's path of stored (escaped) names (as it is now: a commit renames a
        group that replaced a committed one)."""
        self._stored = self.session.layout.current(self._stored)
        return self._stored

    @property
    def attrs(self) -> Attributes:
        """The group's metadata (attributes), a mutable mapping."""
        return Attributes(self)

    def _header(self) -> str:
        closed = " (closed)" if self._store.closed else ""
        return f"<xstore.Group {self.path!r} in {self._store.location}{closed}>"

    @serialised
    def __repr__(self) -> str:
        """A short tree of the group: its children, two levels deep."""
        if self._store.closed:
            return self._header()
        return display.text_tree(self.session.layout, self.stored_path, self._header())

    @serialised
    def _repr_html_(self) -> str:
        """An HTML tree of the group (how Jupyter shows it)."""
        if self._store.closed:
            return html.escape(self._header())
        return display.html_tree(self.session.layout, self.stored_path, self._header())

    # -- key resolution ------------------------------------------------------------------
    def _label(self, key: str) -> str:
        return self.session.label("/".join((*self._names, key)))

    def _lookup(self, key: str, item: bool = False) -> Resolved:
        """Where ``key`` is stored (:class:`MissingKey`, a ``KeyError``, if nothing is).
        Only with ``item`` may ``key`` be an item of a list stored as one array
        (``TypeError`` otherwise: it is no node of its own)."""
        layout = self.session.layout
        found = layout.resolve(self.stored_path, key)
        if found.problem is not None:
            raise KeyError(f"{key!r}: {found.problem}")
        if found.item is not None and not item:
            raise TypeError(
                f"{self._label(key)} is an item of a list stored as one array, not a node "
                "of its own: read it with store[key]"
            )
        if not found.exists:
            if found.blocked:
                part = found.parts[found.depth]
                raise KeyError(f"{key!r}: {part!r} holds a stored value, not a group")
            missing = found.parts[found.depth]
            close = difflib.get_close_matches(missing, list(layout.index(found.parent)), n=3)
            raise MissingKey(key, ["/".join((*found.parts[: found.depth], c)) for c in close])
        return found

    def _child(self, found: Resolved) -> Group:
        names = (*self._names, *found.parts)
        return Group(self._store, found.node, names)

    def _writable_parent(self, found: Resolved, key: str, action: str) -> None:
        """``TypeError`` unless ``key``'s parent can hold a value written there."""
        if not found.writable:
            raise TypeError(
                f"cannot {action} {key!r}: it is inside a stored object; only plain groups "
                "and dicts can be changed by path (store the changed object instead)"
            )
        if found.blocked or found.parent_tag == TABLE_TAG:
            where = found.parts[found.depth] if found.blocked else found.parts[found.depth - 1]
            raise TypeError(f"cannot {action} {key!r}: {where!r} holds a stored value, not a group")

    # -- mapping -------------------------------------------------------------------------
    @serialised
    def __getitem__(self, key: str) -> Any:
        found = self._lookup(key, item=True)
        assert found.entry is not None
        if found.item is not None:
            return self.session.read_item(found.parent, found.entry, found.item, self._label(key))
        if found.entry.plain_group and found.writable:
            return self._child(found)
        return self.session.read_value(found.parent, found.entry, self._label(key))

    @serialised
    def __setitem__(self, key: str, value: Any) -> None:
        session = self.session
        layout = session.layout
        parts = split_key(key)
        layout.require_writable(f"write {key!r}")
        for part in parts:
            encode_name(part)  # a name that cannot be stored fails before anything is written
        node = (
            layout.read_node(value.stored_path, True)
            if isinstance(value, Group)
            else session.encode(value, self._label(key))
        )
        found = layout.resolve(self.stored_path, key)
        self._writable_parent(found, key, "write")
        missing = parts[found.depth : -1]
        parent = layout.create_groups(found.parent, missing)
        try:
            layout.write_node(parent, parts[-1], node)
        except BaseException:
            if missing:
                layout.delete(found.parent, missing[0])
            raise

    @serialised
    def __delitem__(self, key: str) -> None:
        found = self._lookup(key, item=True)
        self._writable_parent(found, key, "delete")
        self.session.layout.delete(found.parent, found.name)

    @serialised
    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:  # no KeyError here: a miss must not pay for suggesting close matches
            return self.session.layout.resolve(self.stored_path, key).exists
        except ValueError:
            return False

    @serialised
    def __iter__(self) -> Iterator[str]:
        return iter(list(self.session.layout.index(self.stored_path)))

    @serialised
    def __len__(self) -> int:
        return len(self.session.layout.index(self.stored_path))

    @serialised
    def create_group(self, name: str) -> Group:
        """The group ``name`` (a name or relative path), created if missing.

        Raises ``TypeError`` if ``name`` holds a value.
        """
        layout = self.session.layout
        parts = split_key(name)
        layout.require_writable(f"create group {name!r}")
        found = layout.resolve(self.stored_path, name)
        self._writable_parent(found, name, "create group")
        parent = layout.create_groups(found.parent, parts[found.depth : -1])
        entry: Entry | None = found.entry if found.complete else None
        if entry is None:
            entry = layout.create_group(parent, parts[-1])
        elif not entry.plain_group:
            kind = entry.tag or "array"
            raise TypeError(f"cannot create group {name!r}: it holds a stored {kind}")
        return Group(self._store, (*parent, entry.stored), (*self._names, *parts))

    def array(self, key: str) -> LazyArray:
        """The array or series ``key`` as a :class:`~xstore.LazyArray`: indexing it
        reads only that part from the store.

        ``store[key]`` reads a whole value; ``store.array(key)[5000:6000]`` reads 1000
        records (records still buffered in this process included), and
        ``store.array(key).shape`` reads nothing.

        Raises
        ------
        KeyError
            Nothing is stored under ``key``.
        TypeError
            ``key`` holds a group or a value that is not an array.
        """
        found = self._lookup(key)
        assert found.entry is not None
        if found.entry.is_group:
            what = found.entry.tag or "group"
            raise TypeError(
                f"{self._label(key)} holds a {what}, not an array (read it with store[key], "
                "or parts of its arrays with to_dataset())"
            )
        return LazyArray(self.session, found.node, self._label(key))

    # -- xarray views ----------------------------------------------------------------------
    def to_dataset(self, chunks: Chunks | None = None) -> xr.Dataset:
        """This group's variables as an ``xarray.Dataset`` (lazily read, records still
        buffered in this process included).  Child groups are left out.

        With ``chunks`` the variables are dask arrays, as ``xr.open_dataset(chunks=)``
        gives: ``{}`` the preferred chunks (whole stored chunks, grouped along the
        first axis up to dask's ``array.chunk-size``), ``"auto"`` dask's sizes
        (whole multiples of the stored chunks), or sizes by dimension.  Variables
        sharing a dimension are chunked alike along it.  The chunks read through
        this open store, or, on ``dask.distributed`` workers in other processes,
        through the store opened read-only there; a store open for writing is
        flushed first, so that those workers see every record.
        """
        return self._view(views.group_dataset, chunks)

    def to_datatree(self, chunks: Chunks | None = None) -> xr.DataTree:
        """This group and everything below it as an ``xarray.DataTree`` (``chunks``:
        dask-backed, as for :meth:`to_dataset`)."""
        return self._view(views.group_datatree, chunks)

    def _view(self, make: Callable[..., Any], chunks: Chunks | None) -> Any:
        """``make(session, group, ctx, chunks, undecoded)``, refusing pickled attributes
        as reads do; format-1 xarray values are CF-decoded outside the lock (dask
        threads may read while it decodes)."""
        undecoded: list[str] = []
        with self._mutex:
            session = self.session
            if chunks is not None:
                dask_array()  # a missing dask is an ImportError, never damage
            if chunks is not None and session.layout.writable:
                session.flush()  # workers elsewhere read the store as flushed
            ctx = session.decoder(f"{self.path}.attrs")
            with ctx.reading_stored():
                view = make(session, self.stored_path, ctx, chunks, undecoded)
            ctx.finish()
        return views.decoded(view, undecoded)

    def flush(self) -> None:
        """Write everything buffered and make it durable (see :meth:`Store.flush`)."""
        self._store.flush()

    # -- time series -----------------------------------------------------------------------
    def append(self, key: str, value: Any, record_dim: str | None = None, dims: Any = None) -> None:
        """Append one record to the series ``key`` (created by the first record).

        The first record fixes the record shape and dtype; later records of another
        shape raise ``ValueError``, ones that do not cast safely (numpy ``same_kind``)
        ``TypeError``, and nothing is written then.  ``record_dim`` names a record
        dimension shared with other series appended in lockstep; a series named like
        its ``record_dim`` is that dimension's coordinate (``append("time", t,
        record_dim="time")`` makes ``ds.sel(time=...)`` work).  ``dims`` names the
        axes of one record, e.g. ``("atom", "xyz")``; an ``xarray.DataArray`` record
        supplies its own dims and attrs (the attrs become the series' metadata).
        Records are buffered; reading the series here includes them; :meth:`flush`
        writes them.
        """
        mutex = self._mutex
        mutex.acquire()  # not `with`: this is the hot path of a simulation loop
        try:
            series = self._fast.get(key)
            if (
                series is not None
                and series.alive
                and (record_dim is None or record_dim == series.user_dim)
                and (dims is None or tuple(dims) == series.record_dims)
                and series.push(value)
            ):
                return
            self._fast[key] = self.session.series.append(
                self.stored_path, key, value, record_dim, dims
            )
        finally:
            mutex.release()

    @serialised
    def extend(
        self, key: str, values: Any, record_dim: str | None = None, dims: Any = None
    ) -> None:
        """Append many records at once (the leading axis of ``values``); ``dims`` names
        the axes of one record.  An ``xarray.DataArray`` supplies its dims (the first
        is the record dimension) and attrs."""
        self.session.series.extend(self.stored_path, key, values, record_dim, dims)

    @serialised
    def set_record(self, key: str, index: int, value: Any) -> None:
        """Overwrite record ``index`` of the series ``key`` (negative counts from the end).

        ``value`` must fit the series as an appended record would (same shape, a
        dtype that casts safely, the same codec attributes).  Works whether the
        record is still buffered or already written.  A missing key raises
        ``KeyError``, a key that is not a series ``TypeError``, an index out of range
        ``IndexError``; nothing is written then.
        """
        self.session.series.set_records(self.stored_path, index, {key: value})

    @serialised
    def attrs_of(self, key: str) -> Attributes:
        """The metadata (attributes) of the child ``key``: a group, a variable or a
        stored value.  Attributes that encode a value (CF ``units``/``calendar``/
        ``dtype`` of an encoded dtype, the attributes of a registered codec) are not
        metadata: they are hidden here and setting them raises ``ValueError``."""
        found = self._lookup(key)
        assert found.entry is not None
        child = self._child(found)
        if found.entry.plain_group:
            return child.attrs
        return ValueAttributes(child)


class Store(Group):
    """An open store (what :func:`xstore.open` returns): the root :class:`Group`,
    plus :meth:`flush`, :meth:`close` and ``with`` support."""

    def __init__(self, session: Session) -> None:
        self._session: Session = session
        super().__init__(self, (), ())

    @property
    def session(self) -> Session:
        """The open store below this face (``ValueError`` once it is closed)."""
        self._session.require_open()
        return self._session

    @property
    def mode(self) -> str:
        """The mode the store was opened with (``r``, ``r+``, ``a``, ``w``, ``w-``)."""
        return self._session.mode

    @property
    def allow_pickle(self) -> bool:
        """Whether pickled values are read (the ``allow_pickle`` it was opened with)."""
        return self._session.allow_pickle

    @property
    def location(self) -> str:
        """The path or URL of the store."""
        return self._session.location

    @property
    def backend(self) -> str:
        """The name of the backend (``"netcdf"``, ``"zarr"`` or ``"memory"``)."""
        return self.session.backend_name

    @property
    def closed(self) -> bool:
        """True once the store is closed."""
        return self._session.closed

    def _header(self) -> str:
        state = "closed" if self.closed else f"{self._session.backend_name}, mode {self.mode!r}"
        return f"<xstore.Store {self.location} ({state})>"

    # -- lifetime --------------------------------------------------------------------------
    def flush(self) -> None:
        """Write buffered records and make everything durable: after this returns, a
        crash of this process (even SIGKILL) loses nothing written so far."""
        self.session.flush()

    def close(self) -> None:
        """Flush and close; further use raises ``ValueError``.  Closing twice is fine."""
        self._session.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the codec contexts of every face, with in-memory groups for the Storable protocol --------


def _scratch_group(ctx: EncodeContext) -> tuple[Group, Callable[[], Tree]]:
    """A writable in-memory group (under the policy and key path of ``ctx``), and a
    function giving its contents as a Tree."""
    session = Session(MemoryBackend(), CODECS, mode="w", pickle=ctx.pickle_ok, outer=ctx)

    def contents() -> Tree:
        tree = session.layout.read_node((), True)
        assert isinstance(tree, Tree)
        return tree

    return Store(session), contents


def _group_over(tree: Tree, ctx: DecodeContext) -> Group:
    """A read-only in-memory group holding ``tree`` (what ``_restore`` receives)."""
    session = Session(
        MemoryBackend(),
        CODECS,
        mode="r",
        allow_pickle=ctx.allow_pickle,
        trust=ctx.trust,
        version_policy=ctx.version_policy,
    )
    layout = session.layout
    layout.set_attrs((), dict(tree.attrs))
    for name, child in tree.children.items():
        layout.write_node((), name, child)
    layout.make_read_only()
    return Store(session)


#: the one factory of codec contexts every face uses
CODECS = Codecs(REGISTRY, _scratch_group, _group_over)
