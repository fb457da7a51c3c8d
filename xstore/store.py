"""The dict-like face: :class:`Group` (a ``MutableMapping``) and :class:`Store`.

A group's keys are names or ``/``-separated relative paths.  Reading a plain group
gives a :class:`Group`; reading a stored value (dict, list, array, object) gives the
decoded value, a snapshot.  A stored dict can be changed entry by entry by path,
``store["params/T"] = 310.0``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from xstore.backends.memory import MemoryBackend
from xstore.codecs import DecodeContext, EncodeContext, decode, encode
from xstore.codecs.attrs import decode_value, encode_value
from xstore.codecs.user import codec_attr_names
from xstore.core import Core, Entry
from xstore.names import Path, encode_name, is_internal, split_key
from xstore.nodes import ATTR_TYPES, DTYPE, TYPE, Node, Tree
from xstore.series import SeriesWriter, _Series

if TYPE_CHECKING:
    import xarray as xr

_TRAVERSABLE = (None, "dict")  # group tags whose children can be addressed by path
# group tags whose children can be series: tables of records hold one series per key
_SERIES_PARENTS = (*_TRAVERSABLE, "records")
# CF attributes that encode a value's dtype (see xstore.codecs.arrays) when _xs_dtype is set
_ENCODING_ATTRS = ("units", "calendar", "dtype")


class Group(MutableMapping[str, Any]):
    """One group of a store; the root group is the :class:`Store` itself."""

    def __init__(self, store: Store, stored: Path, names: tuple[str, ...]) -> None:
        self._store = store
        self._stored = stored
        self._names = names
        self._fast: dict[str, _Series] = {}  # series appended through this object

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
        return self._store

    @property
    def attrs(self) -> Attributes:
        """The group's metadata (attributes), a mutable mapping."""
        return Attributes(self)

    def __repr__(self) -> str:
        return f"<xstore.Group {self.path!r} ({len(self)} keys) in {self._store.location}>"

    # -- key resolution ------------------------------------------------------------------
    @property
    def _core(self) -> Core:
        return self._store._live_core()

    def _label(self, key: str) -> str:
        full = "/".join((*self._names, key))
        return f"store[{full!r}]"

    def _walk(self, parts: tuple[str, ...], key: str) -> tuple[Path, tuple[str, ...]] | None:
        """The stored and user path of the group holding ``parts[-1]``, or None if absent."""
        core = self._core
        stored, names = self._stored, self._names
        for part in parts[:-1]:
            entry = core.index(stored).get(part)
            if entry is None:
                return None
            if not entry.is_group or entry.tag not in _TRAVERSABLE:
                raise KeyError(f"{key!r}: {part!r} holds a stored value, not a group")
            stored, names = (*stored, entry.stored), (*names, part)
        return stored, names

    def _lookup(self, key: str) -> tuple[Path, tuple[str, ...], Entry]:
        """(stored path of the parent, user path of the child, child entry) of ``key``."""
        parts = split_key(key)
        found = self._walk(parts, key)
        entry = None if found is None else self._core.index(found[0]).get(parts[-1])
        if found is None or entry is None:
            raise KeyError(key)
        return found[0], (*found[1], parts[-1]), entry

    # -- mapping -------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        stored, names, entry = self._lookup(key)
        if entry.is_group and entry.tag is None:
            return Group(self._store, (*stored, entry.stored), names)
        node = self._core.read_node((*stored, entry.stored), entry.is_group)
        return self._store._decode(node, self._label(key))

    def __setitem__(self, key: str, value: Any) -> None:
        parts = split_key(key)
        core = self._core
        core.require_writable(f"write {key!r}")
        for part in parts:
            encode_name(part)  # a name that cannot be stored fails before anything is written
        node = self._store._encode(value, self._label(key))
        parent, created = self._require_groups(parts[:-1], key)
        try:
            core.write_node(parent, parts[-1], node)
        except BaseException:
            if created is not None:
                core.delete(*created)
            raise

    def __delitem__(self, key: str) -> None:
        stored, names, _ = self._lookup(key)
        self._core.delete(stored, names[-1])

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self._lookup(key)
        except (KeyError, ValueError):
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._core.index(self._stored)))

    def __len__(self) -> int:
        return len(self._core.index(self._stored))

    def _require_groups(
        self, parts: tuple[str, ...], key: str
    ) -> tuple[Path, tuple[Path, str] | None]:
        """The stored path of group ``parts`` (created as plain groups where missing),
        and the (parent, name) of the first group created, if any."""
        core = self._core
        stored = self._stored
        created: tuple[Path, str] | None = None
        for part in parts:
            entry = core.index(stored).get(part)
            if entry is None:
                entry = core.create_group(stored, part)
                created = created or (stored, part)
            elif not entry.is_group or entry.tag not in _TRAVERSABLE:
                kind = entry.tag or "array"
                raise TypeError(
                    f"cannot write {key!r}: {part!r} holds a stored {kind}, not a group"
                )
            stored = (*stored, entry.stored)
        return stored, created

    def create_group(self, name: str) -> Group:
        """The group ``name`` (a name or relative path), created if missing.

        Raises ``TypeError`` if ``name`` holds a value.
        """
        parts = split_key(name)
        core = self._core
        core.require_writable(f"create group {name!r}")
        parent, _ = self._require_groups(parts[:-1], name)
        entry = core.index(parent).get(parts[-1])
        if entry is None:
            entry = core.create_group(parent, parts[-1])
        elif not entry.is_group or entry.tag is not None:
            kind = entry.tag or "array"
            raise TypeError(f"cannot create group {name!r}: it holds a stored {kind}")
        names = (*self._names, *parts)
        return Group(self._store, (*parent, entry.stored), names)

    # -- xarray views ----------------------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        """This group's variables as an ``xarray.Dataset`` (lazily read, records still
        buffered in this process included).  Child groups are left out."""
        from xstore.views import group_dataset

        return self._view(group_dataset)

    def to_datatree(self) -> xr.DataTree:
        """This group and everything below it as an ``xarray.DataTree``."""
        from xstore.views import group_datatree

        return self._view(group_datatree)

    def _view(self, make: Any) -> Any:
        """``make(core, group, ctx)``, refusing pickled attributes as reads do."""
        ctx = self._store._decode_context(f"{self.path}.attrs")
        view = make(self._core, self._stored, ctx)
        ctx.raise_if_refused()
        return view

    def flush(self) -> None:
        """Write everything buffered and make it durable (see :meth:`Store.flush`)."""
        self._store.flush()

    # -- time series -----------------------------------------------------------------------
    def append(self, key: str, value: Any, record_dim: str | None = None) -> None:
        """Append one record to the series ``key`` (created by the first record).

        The first record fixes the record shape and dtype; later records of another
        shape raise ``ValueError``, ones that do not cast safely (numpy ``same_kind``)
        ``TypeError``, and nothing is written then.  ``record_dim`` names a record
        dimension shared with other series appended in lockstep.  Records are
        buffered; reading the series here includes them; :meth:`flush` writes them.
        """
        series = self._fast.get(key)
        if (
            series is not None
            and series.alive
            and (record_dim is None or record_dim == series.user_dim)
            and series.push(value)
        ):
            return
        self._fast[key] = self._store._series().append(self._stored, key, value, record_dim)

    def extend(self, key: str, values: Any, record_dim: str | None = None) -> None:
        """Append many records at once (the leading axis of ``values``)."""
        self._store._series().extend(self._stored, key, values, record_dim)

    def set_record(self, key: str, index: int, value: Any) -> None:
        """Overwrite record ``index`` of the series ``key`` (negative counts from the end).

        ``value`` must fit the series as an appended record would (same shape, a
        dtype that casts safely, the same codec attributes).  Works whether the
        record is still buffered or already written.  A missing key raises
        ``KeyError``, a key that is not a series ``TypeError``, an index out of range
        ``IndexError``; nothing is written then.
        """
        self._store._series().set_records(self._stored, index, {key: value})

    def attrs_of(self, key: str) -> Attributes:
        """The metadata (attributes) of the child ``key``: a group, a variable or a
        stored value.  Attributes that encode a value (CF ``units``/``calendar``/
        ``dtype`` of an encoded dtype, the attributes of a registered codec) are not
        metadata: they are hidden here and setting them raises ``ValueError``."""
        stored, names, entry = self._lookup(key)
        child = Group(self._store, (*stored, entry.stored), names)
        if entry.is_group and entry.tag is None:
            return child.attrs
        return _ValueAttributes(child)


def resolve_series_target(
    core: Core, group: Path, key: str, create: bool
) -> tuple[Path | None, str, Entry | None]:
    """Where series ``key`` (relative to ``group``) lives: (parent, name, entry).

    With ``create`` missing parent groups are made; without, a missing parent gives
    ``None``.  Parents must be plain groups or stored dicts.
    """
    parts = split_key(key)
    stored = group
    for position, part in enumerate(parts[:-1]):
        entry = core.index(stored).get(part)
        if entry is None:
            if not create:
                return None, parts[-1], None
            for name in parts[position:-1]:
                stored = (*stored, core.create_group(stored, name).stored)
            return stored, parts[-1], None
        if not entry.is_group or entry.tag not in _SERIES_PARENTS:
            raise TypeError(f"cannot append to {key!r}: {part!r} holds a stored value, not a group")
        stored = (*stored, entry.stored)
    return stored, parts[-1], core.index(stored).get(parts[-1])


class Attributes(MutableMapping[str, Any]):
    """The attributes of a group, with exact Python types (see :mod:`xstore.codecs.attrs`)."""

    def __init__(self, group: Group) -> None:
        self._group = group

    def _raw(self) -> dict[str, Any]:
        return self._group._core.attrs(self._group._stored)

    @staticmethod
    def _notes(raw: dict[str, Any]) -> dict[str, str]:
        return json.loads(raw[ATTR_TYPES]) if ATTR_TYPES in raw else {}

    def __getitem__(self, key: str) -> Any:
        raw = self._raw()
        name = encode_name(key)
        if name not in raw or is_internal(name):
            raise KeyError(key)
        ctx = self._group._store._decode_context(f"{self._group.path}.attrs")
        with ctx.at(key):
            value = decode_value(raw[name], self._notes(raw).get(name), ctx)
        ctx.raise_if_refused()
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"attribute names must be str, not {key!r}")
        core = self._group._core
        core.require_writable(f"set attribute {key!r}")
        name = encode_name(key)
        ctx = EncodeContext(f"{self._group.path}.attrs")
        with ctx.at(key):
            raw_value, note = encode_value(value, ctx)
        raw = self._raw()
        notes = self._notes(raw)
        update: dict[str, Any] = {}
        if notes.get(name) != note:
            if note is None:
                notes.pop(name, None)
            else:
                notes[name] = note
            update[ATTR_TYPES] = json.dumps(notes)
        update[name] = raw_value
        core.set_attrs(self._group._stored, update)

    def __delitem__(self, key: str) -> None:
        core = self._group._core
        core.require_writable(f"delete attribute {key!r}")
        raw = self._raw()
        name = encode_name(key)
        if name not in raw or is_internal(name):
            raise KeyError(key)
        notes = self._notes(raw)
        core.delete_attrs(self._group._stored, [name])
        if notes.pop(name, None) is not None:
            core.set_attrs(self._group._stored, {ATTR_TYPES: json.dumps(notes)})

    def __iter__(self) -> Iterator[str]:
        from xstore.names import decode_name

        return iter([decode_name(n) for n in self._raw() if not is_internal(n)])

    def __len__(self) -> int:
        return sum(1 for n in self._raw() if not is_internal(n))

    def __repr__(self) -> str:
        return f"<xstore.Attributes of {self._group.path!r}: {dict(self)!r}>"


class _ValueAttributes(Attributes):
    """The attributes of a stored value (``Group.attrs_of``), without those that
    encode the value.  ``_group`` addresses the value's node, not a real group."""

    def _encoding(self, raw: dict[str, Any]) -> set[str]:
        hidden = {n for n in _ENCODING_ATTRS if n in raw} if DTYPE in raw else set()
        if raw.get(TYPE) == "codec":
            names = codec_attr_names(raw)
            if names is None:  # written before codecs listed their attributes: all are
                hidden.update(n for n in raw if not is_internal(n))
            else:
                hidden.update(encode_name(n) for n in names)
        return hidden

    def _raw(self) -> dict[str, Any]:
        raw = super()._raw()
        encoding = self._encoding(raw)
        return {k: v for k, v in raw.items() if k not in encoding} if encoding else raw

    def _refuse(self, key: str) -> None:
        if encode_name(key) in self._encoding(super()._raw()):
            raise ValueError(
                f"attribute {key!r} of {self._group.path} encodes the stored value; "
                "it cannot be set or deleted as metadata"
            )

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(key, str):
            self._refuse(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._refuse(key)
        super().__delitem__(key)


class Store(Group):
    """An open store: the root :class:`Group` plus flush/close and ``with`` support."""

    def __init__(
        self, core: Core, *, mode: str, allow_pickle: bool = False, **series_options: Any
    ) -> None:
        self._core_ref: Core | None = core
        self.mode = mode
        self.allow_pickle = allow_pickle
        self.location = core.location
        self._series_options = series_options
        self._writer: SeriesWriter | None = None
        super().__init__(self, (), ())

    def _series(self) -> SeriesWriter:
        """The store's series writer (created on first use)."""
        if self._writer is None:
            core = self._live_core()
            core.require_writable("append")
            self._writer = SeriesWriter(core, **self._series_options)
            core.hooks.append(self._writer)
        return self._writer

    def _live_core(self) -> Core:
        if self._core_ref is None:
            raise ValueError(f"the store {self.location} is closed")
        return self._core_ref

    @property
    def backend(self) -> str:
        """``"netcdf"``, ``"zarr"`` or ``"memory"``."""
        return self._live_core().backend.name

    @property
    def closed(self) -> bool:
        return self._core_ref is None

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"mode {self.mode!r}"
        return f"<xstore.Store {self.location} ({state})>"

    # -- codec plumbing (shared by every group of this store) ------------------------------
    def _decode_context(self, label: str) -> DecodeContext:
        return DecodeContext(
            label, allow_pickle=self.allow_pickle, location=self.location, group_over=group_over
        )

    def _decode(self, node: Node, label: str) -> Any:
        ctx = self._decode_context(label)
        value = decode(node, ctx)
        ctx.raise_if_refused()
        return value

    def _encode(self, value: Any, label: str) -> Node:
        if isinstance(value, Group):
            return value._core.read_node(value._stored, True)
        return encode(value, EncodeContext(label, scratch_group=scratch_group))

    # -- lifetime --------------------------------------------------------------------------
    def flush(self) -> None:
        """Write buffered records and make everything durable: after this returns, a
        crash of this process (even SIGKILL) loses nothing written so far."""
        self._live_core().flush()

    def close(self) -> None:
        """Flush and close; further use raises ``ValueError``.  Closing twice is fine."""
        core, self._core_ref = self._core_ref, None
        if core is not None:
            core.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- in-memory groups for the Storable protocol ------------------------------------------------


def scratch_group() -> tuple[Group, Any]:
    """A writable in-memory group, and a function giving its contents as a Tree."""
    core = Core(MemoryBackend())
    store = Store(core, mode="w", allow_pickle=False)
    return store, lambda: core.read_node((), True)


def group_over(tree: Tree, allow_pickle: bool = False) -> Group:
    """A read-only in-memory group holding ``tree`` (what ``_restore`` receives)."""
    backend = MemoryBackend()
    core = Core(backend)
    backend.set_attrs((), {k: v for k, v in tree.attrs.items()})
    for name, child in tree.children.items():
        core.write_node((), name, child)
    backend.writable = False
    return Store(core, mode="r", allow_pickle=allow_pickle)
