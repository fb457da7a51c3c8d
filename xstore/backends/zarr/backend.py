"""zarr format 3 stores: a directory, a ``.zip`` file or an fsspec URL.

Layout (the same tree as the netCDF backend, so ``xr.open_datatree(engine="zarr")``
shows what it shows for the netCDF file): groups are zarr groups, variables are zarr
arrays whose ``dimension_names`` are the dimensions the core passes, attributes are
the node's JSON attributes (:mod:`~.attrs`).  Everything goes through zarr's store
classes (``LocalStore``, ``ZipStore``, ``FsspecStore``), never through the file
system.  Growing arrays commit through consolidated metadata (:mod:`~.commit`);
writable zips are staged in a directory (:mod:`~.staging`).

Decisions worth knowing:

* **Fill values.**  Without a ``_FillValue``, floats get NaN (as xarray does) and
  other types zarr's default (0, ""); xarray does not mask with the zarr
  ``fill_value`` of zarr v3 arrays, so no data (e.g. a 0) ever turns into NaN for a
  plain reader.
* **Names.**  A child called ``zarr.json`` would clash with its group's metadata
  file; it is stored as ``_x_zarr.json`` (the escaped form of the same key).
* **Growable arrays.**  Every zarr array can be resized; ``_xs_unlimited`` records
  that the first axis of this one is meant to grow.
* **Listings.**  xstore lists the real members, never the consolidated metadata
  (which only helps plain readers).
* **Atomic metadata.**  zarr's ``LocalStore`` writes every key to a temporary file
  and renames it into place: a ``zarr.json`` is never torn, even by ``SIGKILL``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.codecs import Crc32cCodec
from zarr.core.sync import sync
from zarr.storage import StorePath

from xstore.backends import files
from xstore.backends.address import Address
from xstore.backends.base import Backend, Index, VarInfo, reading
from xstore.backends.slabs import write_slabs
from xstore.backends.zarr import attrs as json_attrs
from xstore.backends.zarr import commit, locations, replace
from xstore.backends.zarr.batch import Batch, NewArray, Templates, batchable, create_arrays
from xstore.backends.zarr.guard import ARRAY_CONFIG, ChunkGuard, require_plausible
from xstore.backends.zarr.network import Flushes, GuardedStore, guarded
from xstore.backends.zarr.nodes import (
    MetadataDocs,
    Node,
    add_dims,
    compressors,
    configured,
    consolidated_root,
    delete_node,
    dim_names,
    dtype_of,
    grows,
    is_complete,
    move_node,
    new_group,
    open_node,
    read_members,
    with_shape,
    xstore_name,
    zarr_name,
)
from xstore.backends.zarr.staging import ZipStaging, open_zip_reader
from xstore.backends.zarr.tails import Tails
from xstore.errors import StoreError
from xstore.model import STRING, ArraySource, string_array
from xstore.names import Path


class ZarrBackend(Backend):
    """A zarr format 3 store (directory, zip file or fsspec URL)."""

    name = "zarr"

    def __init__(
        self,
        location: str | Address,
        mode: str,
        compression: str | None = None,
        compression_level: int | None = None,
        checksum: bool = True,
    ) -> None:
        if mode not in ("r", "r+", "w", "w-"):
            raise ValueError(f"zarr backend mode must be 'r', 'r+', 'w' or 'w-', not {mode!r}")
        self.address = location if isinstance(location, Address) else Address(os.fspath(location))
        self.location = self.address.location
        self.writable = mode != "r"
        self._tails = Tails()  # the last chunk of each growing array, as written
        self._flushed = Flushes()  # when the last flush completed (for failure messages)
        codecs = compressors(compression, compression_level)
        # crc32c after compression: every chunk is checked when read (plain readers too)
        self._compressors = [*codecs, Crc32cCodec()] if checksum else codecs
        self._staging: ZipStaging | None = None  # where a writable zip is staged
        self._nodes: dict[Path, Node] = {}
        self._members: dict[Path, dict[str, Node]] = {}  # listings, kept current
        self._dims: dict[Path, dict[str, tuple[int, bool]]] = {}  # name -> (size, grows)
        self._uncommitted: dict[Path, Any] = {}  # grown arrays whose zarr.json lags behind
        self._committed: dict[str, list[int]] = {}  # shapes in the last commit record
        self._recorded: dict[str, Any] = {}  # the commit record's metadata, by key
        self._torn: list[str] = []  # arrays found behind the commit record (xstore check)
        self._batch = Batch()  # new arrays created together (_create_batched)
        self._templates = Templates()  # their metadata, by kind
        self._docs = MetadataDocs()  # each node's zarr.json, for the commit record
        self._dirty = mode in ("w", "w-")  # changed since the last consolidation
        self._touched = False  # consolidated metadata already removed since last flush
        self._store: ChunkGuard | None = ChunkGuard(self._open_store(mode))
        try:
            self._nodes[()] = locations.open_root(self._zarr, self.address, mode)
            if mode in ("r", "r+"):
                self._recorded = sync(commit.consolidated_entries(self._zarr))
                self._committed = commit.growable_shapes(self._recorded)
            if mode == "r+" and self._committed:
                sync(commit.repair_shapes(self._zarr, self._committed))
        except BaseException:
            self._discard()
            raise

    @property
    def _zarr(self) -> ChunkGuard:
        if self._store is None:
            raise ValueError(f"the zarr store {self.location} is closed")
        return self._store

    # -- opening ---------------------------------------------------------------------
    def _open_store(self, mode: str) -> Store:
        location, address = self.location, self.address
        if address.remote:
            store = guarded(location, "opening", lambda: locations.open_remote(address, mode))
            return GuardedStore(store, location, self._survived)
        path = files.local_path(location)
        if mode == "w-" and locations.store_exists(location):
            raise FileExistsError(f"{location} already exists (mode 'w-')")
        if locations.is_zip(location):
            if mode == "r":
                return open_zip_reader(path)
            self._staging = ZipStaging(path, extract=mode == "r+")
            return self._staging.store
        return locations.open_directory(path, mode, location)

    # -- lookups ---------------------------------------------------------------------
    def _node(self, node: Path) -> Node:
        if node in self._batch:
            self._create_batched()
        obj = self._nodes.get(node)
        if obj is None:
            parent = self._group(node[:-1])
            try:
                obj = configured(parent[zarr_name(node[-1])])
            except KeyError:  # no such node: the caller's KeyError
                raise
            except Exception as exc:
                raise self._corrupt(node, exc) from exc
            self._known(obj)
            self._nodes[node] = obj
        return obj

    def _known(self, obj: Node) -> None:
        """Note an array whose every chunk must be stored (for the chunk guard)."""
        if is_complete(obj):
            self._zarr.complete.add(obj.store_path.path)

    def _group(self, group: Path) -> zarr.Group:
        obj = self._node(group)
        if not isinstance(obj, zarr.Group):
            raise TypeError(f"{'/'.join(group)} in {self.location} is an array, not a group")
        return obj

    def _array(self, node: Path) -> zarr.Array:
        obj = self._node(node)
        if not isinstance(obj, zarr.Array):
            raise TypeError(f"{'/'.join(node)} in {self.location} is a group, not an array")
        return obj

    def _corrupt(self, node: Path, exc: Exception) -> StoreError:
        where = "/" + "/".join(node)
        return StoreError(f"cannot read the zarr metadata of {where} in {self.location}: {exc}")

    def _listing(self, group: Path) -> dict[str, Node]:
        """The group's children, read from the store on first use, then kept current.

        Only entries with a ``zarr.json`` count: a directory still being written (or
        a temporary file) is not a node yet.
        """
        self._create_batched()
        listing = self._members.get(group)
        if listing is None:
            prefix = self._group(group).store_path.path
            listing = {}
            for name, blob in sync(read_members(self._zarr, prefix)):
                if not group and replace.is_staged_inside(name):
                    continue  # a replacement being written inside a store object
                path = (*group, xstore_name(name))
                if path in self._uncommitted:  # its zarr.json does not have the shape yet
                    listing[path[-1]] = self._nodes[path]
                    continue
                key = f"{prefix}/{name}" if prefix else name
                listing[path[-1]] = self._nodes[path] = self._open_member(path, key, blob)
            lost = commit.lost_members(self._recorded, prefix, {zarr_name(n) for n in listing})
            if lost:
                raise StoreError(
                    f"{self.location} is damaged: {lost[0]} is in the store's commit "
                    f"record but its metadata is gone ({len(lost)} node(s) missing)"
                )
            self._members[group] = listing
        return listing

    def _open_member(self, path: Path, key: str, blob: bytes) -> Node:
        """A child from its ``zarr.json``, with the commit record's shape where a flush
        was cut short among its per-array writes."""
        try:
            doc = json.loads(blob)
            torn = commit.reconcile(doc, self._recorded.get(key), self._committed.get(key))
            if torn:  # the commit record wins: its data is there
                self._torn.append(f"/{key}: {torn}")
            obj = open_node(StorePath(self._zarr, key), doc)
        except Exception as exc:
            raise self._corrupt(path, exc) from exc
        self._known(obj)
        if torn and self.writable:
            assert isinstance(obj, zarr.Array)
            self._uncommitted[path] = obj._async_array
            self._dirty = True
        return obj

    def _group_dims(self, group: Path) -> dict[str, tuple[int, bool]]:
        dims = self._dims.get(group)
        if dims is None:
            dims = {}
            for name, obj in self._listing(group).items():
                if isinstance(obj, zarr.Array):
                    add_dims(dims, dim_names(obj, (*group, name)), obj.shape, grows(obj))
            self._dims[group] = dims
        return dims

    # -- change tracking -------------------------------------------------------------
    def _touch(self, metadata: bool = True) -> None:
        """Call before every change: drop consolidated metadata once per flush cycle
        when ``metadata`` changes (new data within or beyond the committed shapes leaves
        the commit record true: readers see the committed shapes)."""
        if not self.writable:
            raise PermissionError(f"{self.location} is open read-only (mode 'r')")
        if metadata and not self._touched:
            sync(commit.drop_consolidated(self._zarr))
            self._touched = True
            self._recorded = {}  # members change now: the record describes the past
        self._dirty = True

    # -- structure -------------------------------------------------------------------
    @reading
    def children(self, group: Path) -> list[tuple[str, bool]]:
        self._members.pop(group, None)  # always the real members, never a stale listing
        return [(n, isinstance(o, zarr.Group)) for n, o in self._listing(group).items()]

    def create_group(self, group: Path, attrs: Mapping[str, Any] | None = None) -> None:
        self._touch()
        parent = self._group(group[:-1])
        raw: dict[str, Any] = {}
        json_attrs.encode_into(raw, attrs or {}, None)
        prefix, name = parent.store_path.path, zarr_name(group[-1])
        obj = sync(new_group(self._zarr, f"{prefix}/{name}" if prefix else name, raw))
        self._added(group, obj)
        self._members[group] = {}
        self._dims[group] = {}

    def _added(self, node: Path, obj: Node) -> None:
        self._nodes[node] = obj
        listing = self._members.get(node[:-1])
        if listing is not None:
            listing[node[-1]] = obj

    def delete(self, node: Path) -> None:
        self._touch()
        self._create_batched()
        key = self._node(node).store_path.path  # KeyError if it is not there
        sync(delete_node(self._zarr, key))
        self._forget(node)
        self._members.get(node[:-1], {}).pop(node[-1], None)
        self._dims.pop(node[:-1], None)

    def rename(self, node: Path, name: str) -> None:
        self._touch()
        self._create_batched()
        old = self._node(node).store_path.path
        prefix = self._group(node[:-1]).store_path.path
        new = f"{prefix}/{zarr_name(name)}" if prefix else zarr_name(name)
        sync(move_node(self._zarr, old, new))
        self._forget(node)
        self._members.pop(node[:-1], None)
        self._dims.pop(node[:-1], None)

    def _forget(self, node: Path) -> None:
        self._tails.forget_below(node)
        for cache in (self._nodes, self._members, self._dims, self._uncommitted):
            for path in [p for p in cache if p[: len(node)] == node]:
                del cache[path]

    @reading
    def dims(self, group: Path) -> dict[str, int]:
        return {name: size for name, (size, _) in self._group_dims(group).items()}

    # -- attributes ------------------------------------------------------------------
    @reading
    def attrs(self, node: Path) -> dict[str, Any]:
        obj = self._node(node)
        dtype = dtype_of(obj) if isinstance(obj, zarr.Array) else None
        return json_attrs.decode(obj.metadata.attributes, dtype)

    def set_attrs(self, node: Path, attrs: Mapping[str, Any]) -> None:
        self._touch()
        obj = self._node(node)
        raw = dict(obj.metadata.attributes)
        json_attrs.encode_into(raw, attrs, dtype_of(obj) if isinstance(obj, zarr.Array) else None)
        obj.attrs.put(raw)

    def delete_attrs(self, node: Path, names: Iterable[str]) -> None:
        self._touch()
        obj = self._node(node)
        raw = dict(obj.metadata.attributes)
        json_attrs.delete_from(raw, names, dtype_of(obj) if isinstance(obj, zarr.Array) else None)
        obj.attrs.put(raw)

    # -- variables -------------------------------------------------------------------
    def create_variable(
        self,
        node: Path,
        data: np.ndarray | ArraySource,
        dims: tuple[str, ...],
        attrs: Mapping[str, Any],
        *,
        unlimited: bool = False,
        chunks: tuple[int, ...] | None = None,
    ) -> None:
        if len(dims) != len(data.shape):
            raise ValueError(f"{len(dims)} dimension names for a {len(data.shape)}-d array")
        self._touch()
        group = node[:-1]
        existing = self._group_dims(group)
        for axis, (dim, size) in enumerate(zip(dims, data.shape, strict=True)):
            have = existing.get(dim)
            flexible = (unlimited and axis == 0) or size == 0
            if have is not None and not (have[1] or flexible or have[0] in (0, size)):
                raise ValueError(f"dimension {dim!r} has size {have[0]}, not {size}")
        dtype = STRING if data.dtype.kind in "OUT" else data.dtype
        attrs = dict(attrs)
        fill = attrs.pop(json_attrs.FILL, None)
        raw: dict[str, Any] = {}
        json_attrs.encode_into(raw, attrs, dtype)
        if fill is not None:
            fill = np.asarray(fill).astype(dtype)[()]
            raw[json_attrs.fill_key(dtype)] = json_attrs.encode_fill(fill, dtype)
        elif dtype.kind == "f":
            fill = np.nan  # as xarray does; never used as a mask by zarr v3 readers
        if unlimited:
            raw[json_attrs.UNLIMITED] = 1
        raw[json_attrs.COMPLETE] = 1  # every chunk is written (the guard relies on it)
        if chunks is None and not data.shape:
            chunks = ()
        spec: dict[str, Any] = {
            "shape": data.shape,
            "dtype": str if dtype == STRING else dtype,
            "chunks": chunks if chunks is not None else "auto",
            "fill_value": fill,
            "compressors": self._compressors,
            "dimension_names": list(dims),
            "attributes": raw,
        }
        if batchable(data):  # created with others, concurrently (see batch)
            prefix = self._group(group).store_path.path
            key = f"{prefix}/{zarr_name(node[-1])}" if prefix else zarr_name(node[-1])
            self._batch.add(NewArray(node, key, spec, np.asarray(data)))
            if self._batch.full:
                self._create_batched()
        else:  # an array source: slab by slab, along whole chunks
            arr = self._group(group).create_array(zarr_name(node[-1]), **spec, config=ARRAY_CONFIG)
            self._known(arr)
            write_slabs(data, lambda part, index: arr.__setitem__(index, part), arr.chunks)
            self._added(node, arr)
        add_dims(existing, tuple(dims), data.shape, unlimited)

    def _create_batched(self) -> None:
        """Create the waiting arrays (before anything reads or changes the store)."""
        if not self._batch:
            return
        batch = self._batch.take()
        created = sync(create_arrays(self._zarr, batch, self._templates))
        for new, (arr, doc) in zip(batch, created, strict=True):
            self._docs.know(arr, doc)
            self._known(arr)
            self._added(new.node, arr)

    @reading
    def info(self, node: Path) -> VarInfo:
        arr = self._array(node)
        return VarInfo(tuple(arr.shape), dtype_of(arr), dim_names(arr, node), grows(arr))

    @reading
    def chunks(self, node: Path) -> tuple[int, ...]:
        return tuple(self._array(node).chunks)

    @reading
    def read(self, node: Path, index: Index = ()) -> np.ndarray:
        arr = self._array(node)
        require_plausible(self._zarr, arr, index, self.location, node)
        guard = self._zarr
        guard.reading = True  # a missing chunk is damage now (not while writing)
        try:
            value = arr[index if index else ...]
        finally:
            guard.reading = False
        if dtype_of(arr) == STRING:
            if isinstance(value, str):
                return string_array([value], ())
            return np.asarray(value).astype(object)
        return np.asarray(value)

    def write(self, node: Path, data: np.ndarray, index: Index = ()) -> None:
        self._touch(metadata=False)
        self._tails.forget(node)
        self._array(node)[index if index else ...] = data

    def write_records(self, node: Path, start: int, block: np.ndarray) -> None:
        self._touch(metadata=False)
        arr = self._array(node)
        end = start + len(block)
        if end > arr.shape[0]:
            # the data goes first, through a handle with the larger shape; the shape
            # reaches zarr.json at the next flush, together with every other series
            handle = with_shape(arr, (end, *arr.shape[1:]))
            self._uncommitted[node] = handle
            arr = zarr.Array(handle)
            self._added(node, arr)
            dims = self._dims.get(node[:-1])
            if dims is not None:
                add_dims(dims, dim_names(arr, node), arr.shape, grows(arr))
        self._tails.write(node, arr, start, block)

    # -- lifetime --------------------------------------------------------------------
    def flush(self) -> None:
        """Commit: the consolidated metadata (one atomic write) first, then the shapes."""
        if not self.writable or self._store is None:
            return
        self._create_batched()
        if self._dirty or self._uncommitted:
            root = consolidated_root(self._nodes, self._listing, self._docs)
            sync(commit.commit(self._store, root))
            self._committed = commit.growable_shapes(root["consolidated_metadata"]["metadata"])
            handles, self._uncommitted = list(self._uncommitted.values()), {}
            if handles:
                sync(commit.save_shapes(handles))
            if self._staging is not None:
                self._staging.write_zip()
        self._dirty = False
        self._touched = False
        self._flushed.done()

    def _survived(self) -> str:
        """What a failure leaves of the store, for its message."""
        return self._flushed.describe(self._committed)

    def problems(self) -> list[str]:
        return [f"torn commit (repaired when opened for writing): {t}" for t in self._torn]

    def close(self) -> None:
        if self._store is None:
            return
        try:
            self.flush()
        finally:
            self._discard()

    def discard(self) -> None:
        self._discard()

    def _discard(self) -> None:
        store, self._store = self._store, None
        if store is not None and self.address.store is None:  # a store object stays the user's
            store.close()
        self._tails.clear()
        self._batch.take()
        self._docs.clear()
        if self._staging is not None:
            self._staging.discard()
            self._staging = None
        self._nodes.clear()
        self._members.clear()
        self._dims.clear()
        self._uncommitted.clear()
