"""The attribute-access face for users of openmmtools' storage module.

``si.my_dir.my_var.append(x)``: directories and variables spring into being by
attribute access, and every operation is handed straight to the core's
:class:`~xstore.Group` (the way ``h5netcdf.legacyapi`` is a thin netCDF4-python
face over h5netcdf's core), so a file written here is an ordinary xstore store that
``xstore.open``, ``xstore.load`` and plain xarray read, and the other way round.
Nothing is kept in memory here except metadata added to a node that does not
exist yet (written when the node is, as in openmmtools).

How the interface sees a store:

==================  =================================================================
directory           a plain group
appendable variable a series (``append``), or a *table of records* (appended dicts)
static variable     any other stored value (``write``): arrays, dicts, objects, ...
==================  =================================================================

Paths are walked by the core's one rule (:mod:`~.lookup`), as ``xstore.open`` walks
keys: through directories and into stored dicts (``si.params.T`` is the key ``T`` of
the dict ``params``), never into a table.  Appended dicts make a table
(:mod:`~.tables`): ``read()`` (and ``xstore.load``, and ``store[key]``) give a list of
dicts; plain xarray sees a Dataset whose variables share one record dimension.

The names of the API (:data:`RESERVED`) are never directories or variables: using
one as such raises an ``AttributeError`` that says so; ``node["name"]`` reaches a
node of any name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from xstore.codecs.attrs import encode_value
from xstore.faces.interface import tables
from xstore.faces.interface.api_names import RESERVED, ApiStr, api, clash
from xstore.faces.interface.driver_base import IODriver
from xstore.faces.interface.lookup import KIND_WORDS, Found, find, names
from xstore.faces.store import CODECS, Store
from xstore.names import Path, split_key

__all__ = ["RESERVED", "StorageInterface", "kind_of"]


# -- nodes --------------------------------------------------------------------------------------

# values whose attributes are metadata only, kept when the value is replaced: every
# variable (tag None here) and groups of these tags (an xarray object's are its own)
_METADATA_KEPT = (None, "dict", "list", "tuple", "set", "frozenset")


class _Node:
    """A directory or variable of a :class:`StorageInterface`, made by attribute access."""

    def __init__(self, interface: StorageInterface, parent: _Node | None, parts: Path) -> None:
        object.__setattr__(self, "_interface", interface)
        object.__setattr__(self, "_store", interface._driver.store)
        object.__setattr__(self, "_parent", parent)
        object.__setattr__(self, "_parts", parts)
        object.__setattr__(self, "_key", "/".join(parts))
        object.__setattr__(self, "_children", {})
        object.__setattr__(self, "_pending", {})  # metadata waiting for the node to exist
        object.__setattr__(self, "_appending", False)  # known to be a series (fast path)

    _interface: StorageInterface
    _store: Store  # the driver's open store
    _parent: _Node | None
    _parts: Path
    _key: str
    _children: dict[str, _Node]
    _pending: dict[str, Any]
    _appending: bool

    # -- identity -----------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The absolute path in the store, e.g. ``"/my_dir/my_var"``."""
        return ApiStr("/" + self._key, "path")

    @property
    def name(self) -> str:
        """The last component of :attr:`path` (``""`` for the interface itself)."""
        return ApiStr(self._parts[-1] if self._parts else "", "name")

    @property
    def storage_driver(self) -> IODriver:
        """The driver this interface writes through."""
        return self._interface._driver

    @property
    def file_name(self) -> str:
        """The path of the store (the driver's ``file_name``)."""
        return ApiStr(self._interface._driver.file_name, "file_name")

    def __repr__(self) -> str:
        return f"<xstore.StorageInterface node {self.path!r} in {self.file_name!r}>"

    # -- dynamic children ---------------------------------------------------------------
    def __getattr__(self, name: str) -> _Node:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in RESERVED:
            raise clash(name, "a method")  # sync/close: methods of the interface only
        child = self._child(name)
        object.__setattr__(self, name, child)  # later lookups find it directly
        return child

    def __getitem__(self, key: str) -> _Node:
        """The node ``key`` (a name or ``/``-separated path) below this one, for names
        that attribute access cannot reach (the API's own, leading ``_``, ...)."""
        node = self
        for part in split_key(key):
            node = node._child(part)
        return node

    def _child(self, name: str) -> _Node:
        child = self._children.get(name)
        if child is None:
            split_key(name)  # not empty, ".", ".." or containing "/"
            child = self._children[name] = _Node(self._interface, self, (*self._parts, name))
        return child

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"cannot assign to {name!r}: use {self.path.rstrip('/')}/{name}.write(value) "
            "or .append(value)"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(
            f"cannot delete {name!r}: StorageInterface does not delete; "
            "use the dict-like face, del storage_driver.store[key]"
        )

    def __dir__(self) -> Iterator[str]:
        listed = set(RESERVED) | set(object.__dir__(self))
        if not self._store.closed:
            found = find(self._store, self._parts)
            if found.has_keys and found.depth == len(self._parts):
                listed.update(name for name in names(self._store, found) if name.isidentifier())
        return iter(sorted(listed))

    # -- kinds --------------------------------------------------------------------------
    def _locate(self, action: str) -> Found:
        """What this node is; ``TypeError`` if an ancestor is a variable."""
        found = find(self._store, self._parts)
        if found.kind != "missing" and found.depth < len(self._parts):
            ancestor = "/" + "/".join(self._parts[: found.depth])
            raise TypeError(
                f"cannot {action} {self.path}: {ancestor} is {KIND_WORDS[found.kind]}, "
                "not a directory"
            )
        return found

    def _wrong_kind(self, action: str, found: Found, hint: str = "") -> TypeError:
        more = f"; {hint}" if hint else ""
        return TypeError(f"cannot {action} {self.path}: it is {KIND_WORDS[found.kind]}{more}")

    # -- operations -----------------------------------------------------------------------
    @api
    def write(self, data: Any, at_index: int | None = None) -> None:
        """Store ``data`` as a static variable, replacing what it held (any new size,
        type or content; its metadata are kept).  With ``at_index``, overwrite record
        ``at_index`` of an appendable variable instead (negative counts from the end).

        ``write`` without ``at_index`` on an appendable variable, or with it on a static
        one, raises ``TypeError``; ``at_index`` on a variable never written
        ``KeyError``, out of range ``IndexError``.
        """
        if at_index is not None:
            self._write_record(data, at_index)
            return
        found = self._locate("write")
        if found.kind == "directory":
            raise self._wrong_kind("write", found, "write to a variable in it")
        if found.kind in ("series", "table"):
            raise self._wrong_kind(
                "write", found, "use append(), or write(value, at_index=i) for one record"
            )
        store = self._store
        keep = found.kind == "value" and found.tag in _METADATA_KEPT
        kept = dict(store.attrs_of(self._key)) if keep else {}
        store[self._key] = data
        object.__setattr__(self, "_appending", False)
        if kept:
            attrs = store.attrs_of(self._key)
            for name, value in kept.items():
                if name not in attrs:
                    try:
                        attrs[name] = value
                    except ValueError:  # the new value's own encoding uses this name
                        continue
        self._bound()

    def _write_record(self, data: Any, index: int) -> None:
        found = self._locate("write a record of")
        if found.kind == "missing":
            raise KeyError(
                f"{self.path}: nothing was appended to it yet, so there is no record "
                f"{index} to write"
            )
        if found.kind == "series":
            self._store.set_record(self._key, index, data)
        elif found.kind == "table":
            tables.write_record(self._store, self.path, self._key, data, found, index)
        else:
            raise self._wrong_kind(
                "write a record of", found, "at_index needs an appendable variable"
            )

    @api
    def append(self, data: Any, record_dim: str | None = None) -> None:
        """Append one record, creating an appendable variable on first use.

        The first record fixes the record shape and dtype (scalars read back with
        shape ``(n,)``, lists and arrays of shape ``s`` as one array ``(n, *s)``).
        Dicts make a table of records that reads back as a list of dicts; every dict
        must have the keys of the first, and a value may be ``None``.  ``record_dim``
        names the record dimension, so that variables appended in step (positions,
        time, energy) share it in xarray; the first append fixes it.  ``append`` on a
        static variable or a directory raises ``TypeError``.
        """
        if self._appending and not isinstance(data, dict):
            # the hot path: no lookup of the kind
            self._store.append(self._key, data, record_dim=record_dim)
            return
        found = self._locate("append to")
        if found.kind in ("directory", "value"):
            hint = "append to a variable in it" if found.kind == "directory" else ""
            raise self._wrong_kind("append to", found, hint or "it was written with write()")
        if isinstance(data, dict):
            if found.kind == "series":
                raise self._wrong_kind("append a dict to", found, "its records are not dicts")
            tables.append_record(self._store, self.path, self._parts, data, found, record_dim)
        else:
            if found.kind == "table":
                raise self._wrong_kind(
                    "append to", found, f"its records are dicts, not {type(data).__name__}"
                )
            self._store.append(self._key, data, record_dim=record_dim)
            object.__setattr__(self, "_appending", True)
        self._bound()

    @api
    def read(self) -> Any:
        """The stored value: a static variable as written, an appendable one as one
        array over its records (a list of dicts for records that are dicts).

        A missing variable raises ``KeyError``, a directory ``TypeError``.
        """
        found = self._locate("read")
        if found.kind == "missing":
            raise KeyError(f"{self.path}: no such variable in {self.file_name}")
        if found.kind == "directory":
            raise self._wrong_kind("read", found, "read the variables in it")
        return self._store[self._key]

    @api
    def add_metadata(self, name: str, value: Any) -> None:
        """Attach metadata (an attribute) to this directory or variable.

        Values are stored exactly (str, numbers, bools, lists, dicts, ...); ones that
        would need pickling raise ``TypeError``.  Metadata added to a node that does
        not exist yet are written when it is created.
        """
        _check_metadata(name, value, self.path)
        if not self._parts:
            self._store.attrs[name] = value
            return
        found = self._locate("add metadata to")
        if found.kind == "missing":
            if self._store.mode == "r":
                raise PermissionError(
                    f"cannot add metadata to {self.path}: {self.file_name} is open read-only"
                )
            self._pending[name] = value
            return
        self._store.attrs_of(self._key)[name] = value

    @property
    def metadata(self) -> dict[str, Any]:
        """A snapshot of this node's metadata."""
        if not self._parts:
            return dict(self._store.attrs)
        found = self._locate("read metadata of")
        if found.kind == "missing":
            return dict(self._pending)
        return dict(self._store.attrs_of(self._key))

    def _bound(self) -> None:
        """Write the metadata waiting on this node and on its ancestors (which exist
        now, as directories)."""
        chain: list[_Node] = []
        node: _Node | None = self
        while node is not None and node._parts:
            chain.append(node)
            node = node._parent
        for node in reversed(chain):
            if node._pending:
                pending = dict(node._pending)
                node._pending.clear()
                attrs = self._store.attrs_of(node._key)
                for name, value in pending.items():
                    attrs[name] = value


def kind_of(node: _Node) -> str:
    """What ``node`` is: ``"missing"``, ``"directory"``, ``"series"``, ``"table"`` or
    ``"value"`` (``TypeError`` if a variable stands on its path)."""
    return node._locate("find").kind


def _check_metadata(name: Any, value: Any, where: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"metadata names must be str, not {name!r} ({where})")
    try:
        encode_value(value, CODECS.encoder(f"{where} metadata {name!r}", pickle_ok=False))
    except TypeError as exc:
        raise TypeError(
            f"metadata {name!r} of {where} cannot be stored without pickle: {exc}"
        ) from exc


class StorageInterface(_Node):
    """Attribute access to a store: ``si.my_dir.my_var.append(x)``.

    ``storage_driver`` is a :class:`NetCDFIODriver` or :class:`ZarrIODriver`.  The
    interface itself is the root directory: ``add_metadata`` sets attributes of the
    store, ``sync``/``close`` (and ``with``) act on the driver.
    """

    def __init__(self, storage_driver: IODriver) -> None:
        if not isinstance(storage_driver, IODriver):
            raise TypeError(
                "StorageInterface needs a NetCDFIODriver or ZarrIODriver, "
                f"not {type(storage_driver).__name__}"
            )
        object.__setattr__(self, "_driver", storage_driver)
        super().__init__(self, None, ())

    _driver: IODriver

    def __repr__(self) -> str:
        return f"<xstore.StorageInterface of {self._driver!r}>"

    @api
    def sync(self) -> None:
        """Write everything buffered and make it durable (the driver's ``sync``)."""
        self._driver.sync()

    @api
    def close(self) -> None:
        """Close the driver (flushing first)."""
        self._driver.close()

    def __enter__(self) -> StorageInterface:
        return self

    def __exit__(self, *exc: object) -> None:
        self._driver.close()
