"""zarr format 3 stores: a directory, a ``.zip`` file or an fsspec URL.

Layout (the same tree as the netCDF backend, so ``xr.open_datatree(engine="zarr")``
shows what it shows for the netCDF file): groups are zarr groups, variables are zarr
arrays whose ``dimension_names`` are the dimensions the core passes, attributes are
the node's JSON attributes.  Everything goes through zarr's store classes
(``LocalStore``, ``ZipStore``, ``FsspecStore``), never through the file system.

Decisions worth knowing:

* **Attributes.**  Numpy scalars become JSON numbers, 1-D arrays JSON lists.  JSON
  has no NaN or infinity (zarr-python writes the non-standard tokens ``NaN`` and
  ``Infinity``, which strict JSON readers reject, and one such token in consolidated
  metadata would make the whole tree unreadable for them), so non-finite floats are
  stored as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` -- the spelling of
  zarr v3 fill values -- and the names of the attributes holding them are listed in
  the internal ``_xs_nonfinite`` attribute.  Only those attributes are turned back
  into floats, so a string attribute ``"NaN"`` stays a string.
* **Fill values.**  A ``_FillValue`` attribute becomes the array's zarr
  ``fill_value`` and is also kept as an attribute encoded the way xarray writes
  zarr v3 (base64 of a little-endian double for floats), so plain xarray masks with
  it; string arrays keep it as ``_xs_fillvalue`` instead, because xarray fails on a
  ``_FillValue`` attribute of a zarr v3 string array.  Without one, floats get NaN
  (as xarray does) and other types zarr's default (0, ""); xarray does not mask with
  the zarr ``fill_value`` of zarr v3 arrays, so no data (e.g. a 0) ever turns into
  NaN for a plain reader.
* **Names.**  A child called ``zarr.json`` would clash with its group's metadata
  file; it is stored as ``_x_zarr.json`` (the escaped form of the same key).
* **Growable arrays and the commit record.**  Every zarr array can be resized;
  ``_xs_unlimited`` records that the first axis of this one is meant to grow.
  ``write_records`` writes the chunks at once (data before shape) but keeps the
  larger shape in memory.  ``flush()`` then commits: it writes the consolidated
  metadata of the whole tree, with the new shapes, as one atomic replacement of the
  root ``zarr.json`` -- the single commit record -- and only then the ``zarr.json``
  of each grown array.  Plain readers (xarray and zarr use consolidated metadata
  when it is there) therefore see every series at the lengths of one flush, never a
  shape covering unwritten records and never series sharing a record dimension at
  different lengths.  A writer killed among the per-array writes leaves some arrays
  shorter than the commit record: on opening, xstore takes the committed shape
  (the data is there) and a writable store writes it back at its next flush.
* **Consolidated metadata** otherwise only helps plain readers: xstore lists the
  real members.  The first change after opening (or after a flush) removes it from
  the root ``zarr.json``; ``flush()`` and ``close()`` write it afresh (built from the
  metadata held in memory, not re-read).  A reader therefore sees either no
  consolidated metadata or a correct one, never a stale tree.
* **Atomic metadata.**  zarr's ``LocalStore`` already writes every key to a
  temporary file in the same directory and renames it into place, so a ``zarr.json``
  is never torn, even by ``SIGKILL``; no subclass is needed.
* **Zip files** cannot overwrite or delete members, and zarr rewrites ``zarr.json``
  files often.  So a zip opened for writing is staged in a hidden temporary
  directory next to it (extracted first in mode ``r+``); ``flush()`` and ``close()``
  write a complete new zip beside the target and rename it over the target.  Every
  flush therefore rewrites the whole zip: zips suit archives, use a directory for
  long appends.  A killed writer leaves the last flushed zip intact (and the
  staging directory behind).  Mode ``r`` reads the zip in place.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import shutil
import struct
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec
from zarr.core.buffer import Buffer, default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import FsspecStore, LocalStore, StorePath, ZipStore

from xstore.backends.base import Backend, Index, VarInfo
from xstore.errors import StoreError
from xstore.names import ESCAPE_PREFIX, INTERNAL_PREFIX, Path, dimension_name

UNLIMITED = f"{INTERNAL_PREFIX}unlimited"  # 1 on arrays whose first axis grows
NONFINITE = f"{INTERNAL_PREFIX}nonfinite"  # JSON list of attrs holding "NaN"/"Infinity"
FILL = "_FillValue"
# xarray reads a `_FillValue` attribute of a string array as an error (zarr v3), so a
# string array keeps its `_FillValue` under this name (and as its zarr fill_value)
STRING_FILL = f"{INTERNAL_PREFIX}fillvalue"
_PRIVATE = (UNLIMITED, NONFINITE, STRING_FILL)  # bookkeeping attrs() never returns
RECORD_CHUNK_BYTES = 2**20  # target chunk size along the record axis of growable arrays
_STR_ITEM_BYTES = 16  # a guess at the size of one variable-length string
_NONFINITE_TEXT = {math.inf: "Infinity", -math.inf: "-Infinity"}
_TEXT_FLOAT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_STRING = np.dtype(object)
ZARR_JSON_ESCAPED = ESCAPE_PREFIX + "zarr.json"

Node = zarr.Group | zarr.Array


# -- locations ---------------------------------------------------------------------------


def _is_remote(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def _local(location: str) -> str:
    return location[len("file://") :] if location.startswith("file://") else location


def _is_zip(location: str) -> bool:
    if _is_remote(location):
        return False
    path = _local(location)
    return path.lower().endswith(".zip") or os.path.isfile(path)


def store_exists(location: str) -> bool:
    """True if something is stored at ``location`` (an empty directory is nothing)."""
    if _is_remote(location):
        return sync(_has_keys(FsspecStore.from_url(location, read_only=True)))
    path = _local(location)
    if os.path.isdir(path):
        return bool(os.listdir(path))
    return os.path.exists(path)


def _remove_partials(folder: str) -> None:
    """Delete temporary files a killed writer left (zarr writes ``*.partial`` and
    renames); chunk directories (``c``) are not walked."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file() and entry.name.endswith(".partial"):
                os.remove(entry.path)
            elif entry.is_dir() and entry.name != "c":
                _remove_partials(entry.path)


async def _has_keys(store: Store) -> bool:
    if await store.exists("zarr.json"):
        return True
    async for _ in store.list_dir(""):
        return True
    return False


# -- attributes --------------------------------------------------------------------------


def _json_number(value: Any) -> tuple[Any, bool]:
    """A JSON-safe number and whether it had to be spelled as text (NaN, inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return ("NaN" if math.isnan(value) else _NONFINITE_TEXT[value]), True
    return value, False


def _to_json(value: Any) -> tuple[Any, bool]:
    """An attribute value as JSON, and whether it holds non-finite floats as text."""
    if isinstance(value, str):
        return value, False
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, list):
        pairs = [_json_number(v.item() if isinstance(v, np.generic) else v) for v in value]
        return [v for v, _ in pairs], any(text for _, text in pairs)
    return _json_number(value)


def _number(value: Any) -> Any:
    """A JSON number as a numpy scalar (Python int if it fits no 64-bit type)."""
    if isinstance(value, float):
        return np.float64(value)
    try:
        return np.asarray(value)[()]
    except OverflowError:
        return value


def _from_json(value: Any, nonfinite: bool) -> Any:
    """Inverse of :func:`_to_json` (str stays str, numbers numpy, lists 1-D arrays)."""
    if nonfinite:
        if isinstance(value, list):
            return np.array([_TEXT_FLOAT.get(v, v) for v in value], dtype=np.float64)
        return np.float64(_TEXT_FLOAT.get(value, value))
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return _number(value)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        return np.asarray(value)
    return value  # JSON written by other tools (dicts, mixed lists) is passed on as is


def _encode_fill(value: Any, dtype: np.dtype) -> Any:
    """``_FillValue`` as xarray writes it for zarr v3 (``FillValueCoder.encode``)."""
    if dtype.kind == "f":
        return base64.standard_b64encode(struct.pack("<d", float(value))).decode()
    if dtype.kind in "iu":
        return int(value)
    if dtype.kind == "b":
        return bool(value)
    return str(value)


def _decode_fill(value: Any, dtype: np.dtype) -> Any:
    """Inverse of :func:`_encode_fill`, as a scalar of the array's dtype."""
    if dtype == _STRING:
        return str(value)
    if dtype.kind == "f" and isinstance(value, str):
        if value in _TEXT_FLOAT:  # a zarr-style spelling written by another tool
            value = _TEXT_FLOAT[value]
        else:
            value = struct.unpack("<d", base64.standard_b64decode(value))[0]
    return np.asarray(value).astype(dtype)[()]


def _fill_key(dtype: np.dtype) -> str:
    return STRING_FILL if dtype == _STRING else FILL


def _nonfinite_names(raw: Mapping[str, Any]) -> set[str]:
    text = raw.get(NONFINITE)
    return set(json.loads(text)) if isinstance(text, str) else set()


def _compressors(name: str | None, level: int | None) -> Any:
    if name is None:
        return None
    if name == "zstd":
        return ZstdCodec(level=3 if level is None else level)
    if name in ("gzip", "zlib"):
        return GzipCodec(level=5 if level is None else level)
    if name == "blosc":
        return BloscCodec(cname="zstd", clevel=5 if level is None else level)
    raise ValueError(f"zarr compression must be None, 'zstd', 'gzip' or 'blosc', not {name!r}")


def _record_chunks(shape: tuple[int, ...], dtype: np.dtype) -> tuple[int, ...]:
    """About :data:`RECORD_CHUNK_BYTES` of records per chunk, whole records."""
    item = _STR_ITEM_BYTES if dtype == _STRING else dtype.itemsize
    record = item * math.prod(shape[1:])
    rows = max(1, RECORD_CHUNK_BYTES // max(1, record))
    return (rows, *(max(1, s) for s in shape[1:]))


# -- store-level helpers (async, run through zarr's event loop) ---------------------------


async def _copy(source: Store, target: Store) -> None:
    prototype = default_buffer_prototype()
    async for key in source.list():
        if key.endswith(".partial"):  # a temporary file of an interrupted write
            continue
        value = await source.get(key, prototype=prototype)
        if value is not None:
            await target.set(key, value)


async def _read_members(store: Store, prefix: str) -> list[tuple[str, bytes]]:
    """``(name, zarr.json bytes)`` of every child of the group at ``prefix``."""
    prototype = default_buffer_prototype()
    names = [name async for name in store.list_dir(prefix)]

    async def metadata(name: str) -> Buffer | None:
        return await store.get(f"{prefix}/{name}/zarr.json".lstrip("/"), prototype=prototype)

    blobs = await asyncio.gather(*(metadata(name) for name in names))
    return [(n, b.to_bytes()) for n, b in zip(names, blobs, strict=True) if b is not None]


def _open_node(path: StorePath, doc: dict[str, Any]) -> Node:
    """A group or array handle from its parsed ``zarr.json``."""
    if doc.get("zarr_format") != 3:
        raise ValueError(f"not zarr format 3 metadata (zarr_format={doc.get('zarr_format')!r})")
    kind = doc.get("node_type")
    if kind == "group":
        return zarr.Group(zarr.AsyncGroup.from_dict(path, doc))
    if kind == "array":
        metadata: Any = doc  # validated by AsyncArray
        return zarr.Array(zarr.AsyncArray(metadata=metadata, store_path=path))
    raise ValueError(f"unknown node_type {kind!r}")


async def _drop_consolidated(store: Store) -> None:
    """Remove consolidated metadata from the root ``zarr.json`` if it has any."""
    prototype = default_buffer_prototype()
    raw = await store.get("zarr.json", prototype=prototype)
    if raw is None:
        return
    doc = json.loads(raw.to_bytes())
    if doc.pop("consolidated_metadata", None) is None:
        return
    text = json.dumps(doc, indent=2).encode()
    await store.set("zarr.json", prototype.buffer.from_bytes(text))


def _inline(entries: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "inline", "must_understand": False, "metadata": entries}


def _metadata_doc(obj: Node) -> dict[str, Any]:
    """A node's ``zarr.json`` as a dict (zarr's own JSON spelling of fill values etc.)."""
    blob = obj.metadata.to_buffer_dict(default_buffer_prototype())["zarr.json"].to_bytes()
    doc: dict[str, Any] = json.loads(blob)
    doc.pop("consolidated_metadata", None)
    return doc


async def _committed_shapes(store: Store) -> dict[str, list[int]]:
    """Array shapes in the consolidated metadata of the root ``zarr.json`` (if any)."""
    raw = await store.get("zarr.json", prototype=default_buffer_prototype())
    if raw is None:
        return {}
    try:
        entries = json.loads(raw.to_bytes()).get("consolidated_metadata") or {}
    except ValueError:
        return {}
    return _growable_shapes(entries.get("metadata") or {})


def _growable_shapes(entries: Mapping[str, Any]) -> dict[str, list[int]]:
    """The shapes of growable arrays among consolidated metadata entries."""
    return {
        key: list(doc["shape"])
        for key, doc in entries.items()
        if isinstance(doc, dict)
        and doc.get("shape")
        and (doc.get("attributes") or {}).get(UNLIMITED)
    }


async def _repair_shapes(store: Store, committed: Mapping[str, list[int]]) -> None:
    """Give arrays left behind the commit record (a writer killed among a flush's
    per-array writes) their committed shape, before anything else changes."""
    prototype = default_buffer_prototype()

    async def repair(key: str, shape: list[int]) -> None:
        raw = await store.get(f"{key}/zarr.json", prototype=prototype)
        if raw is None:
            return
        doc = json.loads(raw.to_bytes())
        if doc.get("shape") and doc["shape"][0] < shape[0]:
            doc["shape"] = shape
            await store.set(
                f"{key}/zarr.json", prototype.buffer.from_bytes(json.dumps(doc, indent=2).encode())
            )

    await asyncio.gather(*(repair(key, shape) for key, shape in committed.items()))


async def _delete_node(store: Store, path: str) -> None:
    """Remove a node: its ``zarr.json`` first, so no half-deleted node stays visible."""
    await store.delete(f"{path}/zarr.json")
    await store.delete_dir(path)


async def _save_shapes(handles: list[Any]) -> None:
    """Write the ``zarr.json`` of arrays whose shape changed in memory (no chunk is
    touched: ``resize`` to the shape they already have only saves the metadata)."""
    await asyncio.gather(
        *(h.resize(h.metadata.shape, delete_outside_chunks=False) for h in handles)
    )


# -- the backend -------------------------------------------------------------------------


class ZarrBackend(Backend):
    """A zarr format 3 store (directory, zip file or fsspec URL)."""

    name = "zarr"

    def __init__(
        self,
        location: str,
        mode: str,
        compression: str | None = None,
        compression_level: int | None = None,
    ) -> None:
        if mode not in ("r", "r+", "w", "w-"):
            raise ValueError(f"zarr backend mode must be 'r', 'r+', 'w' or 'w-', not {mode!r}")
        self.location = os.fspath(location)
        self.writable = mode != "r"
        self._compressors = _compressors(compression, compression_level)
        self._zip: str | None = None  # the zip file a writable zip store is flushed to
        self._staging: str | None = None  # the directory it is staged in
        self._nodes: dict[Path, Node] = {}
        self._members: dict[Path, dict[str, Node]] = {}  # listings, kept current
        self._dims: dict[Path, dict[str, tuple[int, bool]]] = {}  # name -> (size, grows)
        self._uncommitted: dict[Path, Any] = {}  # grown arrays whose zarr.json lags behind
        self._committed: dict[str, list[int]] = {}  # shapes in the last commit record
        self.torn: list[str] = []  # arrays found behind the commit record (for xstore check)
        self._dirty = mode in ("w", "w-")  # changed since the last consolidation
        self._touched = False  # consolidated metadata already removed since last flush
        self._store = self._open_store(mode)
        try:
            self._nodes[()] = self._open_root(mode)
            if mode in ("r", "r+"):
                self._committed = sync(_committed_shapes(self._store))
            if mode == "r+" and self._committed:
                sync(_repair_shapes(self._store, self._committed))
        except BaseException:
            self._discard()
            raise

    # -- opening ---------------------------------------------------------------------
    def _open_store(self, mode: str) -> Store:
        location = self.location
        if _is_remote(location):
            return FsspecStore.from_url(location, read_only=mode == "r")
        path = _local(location)
        if mode == "w-" and store_exists(location):
            raise FileExistsError(f"{location} already exists (mode 'w-')")
        if _is_zip(location):
            if mode == "r":
                try:
                    return sync(ZipStore.open(path, mode="r", read_only=True))
                except Exception as exc:
                    raise StoreError(f"cannot open {location} as a zarr zip file: {exc}") from exc
            return self._stage_zip(path, mode)
        if os.path.isfile(path):  # pragma: no cover - _is_zip takes every file
            raise StoreError(f"{location} is a file, not a zarr directory")
        if (
            mode == "w"
            and os.path.isdir(path)
            and os.listdir(path)
            and not os.path.exists(os.path.join(path, "zarr.json"))
        ):
            raise StoreError(f"refusing to overwrite {location}: it is not a zarr store")
        if mode == "r+":
            _remove_partials(path)
        return LocalStore(path, read_only=mode == "r")

    def _stage_zip(self, path: str, mode: str) -> Store:
        folder, name = os.path.split(os.path.abspath(path))
        self._zip = path
        self._staging = tempfile.mkdtemp(prefix=f".{name}.xstore-", dir=folder)
        staging = LocalStore(self._staging)
        if mode == "r+":
            try:
                source = sync(ZipStore.open(path, mode="r", read_only=True))
                try:
                    sync(_copy(source, staging))
                finally:
                    source.close()
            except Exception as exc:
                shutil.rmtree(self._staging, ignore_errors=True)
                raise StoreError(f"cannot open {self.location} as a zarr zip file: {exc}") from exc
        return staging

    def _open_root(self, mode: str) -> zarr.Group:
        try:
            if mode in ("w", "w-"):
                return zarr.create_group(self._store, zarr_format=3, overwrite=mode == "w")
            access: Any = mode  # "r" or "r+"
            return zarr.open_group(self._store, mode=access, zarr_format=3, use_consolidated=False)
        except (FileExistsError, PermissionError):
            raise
        except zarr.errors.ContainsGroupError as exc:
            raise FileExistsError(f"{self.location} already exists (mode {mode!r})") from exc
        except Exception as exc:
            raise StoreError(f"cannot open {self.location} as a zarr v3 group: {exc}") from exc

    # -- lookups ---------------------------------------------------------------------
    def _node(self, node: Path) -> Node:
        obj = self._nodes.get(node)
        if obj is None:
            parent = self._group(node[:-1])
            try:
                obj = parent[_zarr_name(node[-1])]
            except KeyError:  # no such node: the caller's KeyError
                raise
            except Exception as exc:
                raise self._corrupt(node, exc) from exc
            self._nodes[node] = obj
        return obj

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
        listing = self._members.get(group)
        if listing is None:
            prefix = self._group(group).store_path.path
            listing = {}
            for name, blob in sync(_read_members(self._store, prefix)):
                key = f"{prefix}/{name}" if prefix else name
                path = (*group, _xstore_name(name))
                if path in self._uncommitted:  # its zarr.json does not have the shape yet
                    listing[path[-1]] = self._nodes[path]
                    continue
                try:
                    doc = json.loads(blob)
                    committed = self._committed.get(key)
                    torn = committed is not None and committed[0] > doc.get("shape", [0])[0]
                    if committed is not None and torn:  # killed among a flush's shape writes
                        have = doc["shape"][0]  # the commit record wins: its data is there
                        self.torn.append(f"/{key}: {have} records, committed {committed[0]}")
                        doc["shape"] = committed
                    obj = _open_node(StorePath(self._store, key), doc)
                except Exception as exc:
                    raise self._corrupt(path, exc) from exc
                if torn and self.writable:
                    assert isinstance(obj, zarr.Array)
                    self._uncommitted[path] = obj._async_array
                    self._dirty = True
                listing[path[-1]] = obj
                self._nodes[path] = obj
            self._members[group] = listing
        return listing

    def _group_dims(self, group: Path) -> dict[str, tuple[int, bool]]:
        dims = self._dims.get(group)
        if dims is None:
            dims = {}
            for name, obj in self._listing(group).items():
                if isinstance(obj, zarr.Array):
                    _add_dims(dims, _dim_names(obj, (*group, name)), obj.shape, _grows(obj))
            self._dims[group] = dims
        return dims

    # -- change tracking -------------------------------------------------------------
    def _touch(self) -> None:
        """Call before every change: drop consolidated metadata once per flush cycle."""
        if not self._touched:
            if not self.writable:
                raise PermissionError(f"{self.location} is open read-only (mode 'r')")
            sync(_drop_consolidated(self._store))
            self._touched = True
        self._dirty = True

    # -- structure -------------------------------------------------------------------
    def children(self, group: Path) -> list[tuple[str, bool]]:
        self._members.pop(group, None)  # always the real members, never a stale listing
        return [(n, isinstance(o, zarr.Group)) for n, o in self._listing(group).items()]

    def create_group(self, group: Path) -> None:
        self._touch()
        parent = self._group(group[:-1])
        obj = parent.create_group(_zarr_name(group[-1]))
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
        key = self._node(node).store_path.path  # KeyError if it is not there
        sync(_delete_node(self._store, key))
        for cache in (self._nodes, self._members, self._dims, self._uncommitted):
            for path in [p for p in cache if p[: len(node)] == node]:
                del cache[path]
        self._members.get(node[:-1], {}).pop(node[-1], None)
        self._dims.pop(node[:-1], None)

    def dims(self, group: Path) -> dict[str, int]:
        return {name: size for name, (size, _) in self._group_dims(group).items()}

    # -- attributes ------------------------------------------------------------------
    def attrs(self, node: Path) -> dict[str, Any]:
        obj = self._node(node)
        raw = obj.metadata.attributes
        nonfinite = _nonfinite_names(raw)
        out = {k: _from_json(v, k in nonfinite) for k, v in raw.items() if k not in _PRIVATE}
        if isinstance(obj, zarr.Array):
            key = _fill_key(_dtype(obj))
            if key in raw:
                out[FILL] = _decode_fill(raw[key], _dtype(obj))
        return out

    def set_attrs(self, node: Path, attrs: Mapping[str, Any]) -> None:
        self._touch()
        obj = self._node(node)
        raw = dict(obj.metadata.attributes)
        self._encode_into(raw, attrs, _dtype(obj) if isinstance(obj, zarr.Array) else None)
        obj.attrs.put(raw)

    def delete_attrs(self, node: Path, names: Iterable[str]) -> None:
        self._touch()
        obj = self._node(node)
        raw = dict(obj.metadata.attributes)
        nonfinite = _nonfinite_names(raw)
        for name in names:
            if name == FILL and isinstance(obj, zarr.Array):
                name = _fill_key(_dtype(obj))
            del raw[name]
            nonfinite.discard(name)
        _set_nonfinite(raw, nonfinite)
        obj.attrs.put(raw)

    @staticmethod
    def _encode_into(raw: dict[str, Any], attrs: Mapping[str, Any], dtype: np.dtype | None) -> None:
        """Add ``attrs`` to the JSON attributes ``raw`` (array dtype for ``_FillValue``)."""
        nonfinite = _nonfinite_names(raw)
        for name, value in attrs.items():
            if name in _PRIVATE:
                raise ValueError(f"attribute name {name!r} is reserved by the zarr backend")
            if name == FILL and dtype is not None:
                raw[_fill_key(dtype)], text = _encode_fill(value, dtype), False
            else:
                raw[name], text = _to_json(value)
            if text:
                nonfinite.add(name)
            else:
                nonfinite.discard(name)
        _set_nonfinite(raw, nonfinite)

    # -- variables -------------------------------------------------------------------
    def create_variable(
        self,
        node: Path,
        data: np.ndarray,
        dims: tuple[str, ...],
        attrs: Mapping[str, Any],
        *,
        unlimited: bool = False,
        chunks: tuple[int, ...] | None = None,
    ) -> None:
        if len(dims) != data.ndim:
            raise ValueError(f"{len(dims)} dimension names for a {data.ndim}-d array")
        self._touch()
        group = node[:-1]
        existing = self._group_dims(group)
        for axis, (dim, size) in enumerate(zip(dims, data.shape, strict=True)):
            have = existing.get(dim)
            flexible = (unlimited and axis == 0) or size == 0
            if have is not None and not (have[1] or flexible or have[0] in (0, size)):
                raise ValueError(f"dimension {dim!r} has size {have[0]}, not {size}")
        dtype = _STRING if data.dtype.kind in "OUT" else data.dtype
        attrs = dict(attrs)
        fill = attrs.pop(FILL, None)
        raw: dict[str, Any] = {}
        self._encode_into(raw, attrs, dtype)
        if fill is not None:
            fill = np.asarray(fill).astype(dtype)[()]
            raw[_fill_key(dtype)] = _encode_fill(fill, dtype)
        elif dtype.kind == "f":
            fill = np.nan  # as xarray does; never used as a mask by zarr v3 readers
        if unlimited:
            raw[UNLIMITED] = 1
        if chunks is None:
            if unlimited:
                chunks = _record_chunks(data.shape, dtype)
            elif 0 in data.shape or data.ndim == 0:
                chunks = tuple(max(1, s) for s in data.shape)
        arr = self._group(group).create_array(
            _zarr_name(node[-1]),
            shape=data.shape,
            dtype=str if dtype == _STRING else dtype,
            chunks=chunks if chunks is not None else "auto",
            fill_value=fill,
            compressors=self._compressors,
            dimension_names=list(dims),
            attributes=raw,
        )
        if data.size:
            arr[...] = data
        self._added(node, arr)
        _add_dims(existing, tuple(dims), data.shape, unlimited)

    def info(self, node: Path) -> VarInfo:
        arr = self._array(node)
        return VarInfo(tuple(arr.shape), _dtype(arr), _dim_names(arr, node), _grows(arr))

    def read(self, node: Path, index: Index = ()) -> np.ndarray:
        arr = self._array(node)
        value = arr[index if index else ...]
        if _dtype(arr) == _STRING:
            if isinstance(value, str):
                out = np.empty((), dtype=object)
                out[()] = value
                return out
            return np.asarray(value).astype(object)
        return np.asarray(value)

    def write(self, node: Path, data: np.ndarray, index: Index = ()) -> None:
        self._touch()
        self._array(node)[index if index else ...] = data

    def write_records(self, node: Path, start: int, block: np.ndarray) -> None:
        self._touch()
        arr = self._array(node)
        end = start + len(block)
        if end > arr.shape[0]:
            # the data goes first, through a handle with the larger shape; the shape
            # reaches zarr.json at the next flush, together with every other series
            handle = _handle(arr, (end, *arr.shape[1:]))
            self._uncommitted[node] = handle
            arr = self._reshaped(node, handle)
        arr[start:end] = block

    def _reshaped(self, node: Path, handle: Any) -> zarr.Array:
        """Make ``handle`` (the node with a new shape) the node's cached array."""
        arr = zarr.Array(handle)
        self._added(node, arr)
        dims = self._dims.get(node[:-1])
        if dims is not None:
            _add_dims(dims, _dim_names(arr, node), arr.shape, _grows(arr))
        return arr

    def _commit_shapes(self) -> None:
        """Write the shapes that grew since the last flush, all at once."""
        handles, self._uncommitted = list(self._uncommitted.values()), {}
        if handles:
            sync(_save_shapes(handles))

    def array_chunks(self, node: Path) -> tuple[int, ...]:
        """The chunk shape of a variable (for tests and ``xstore tree``)."""
        return tuple(self._array(node).chunks)

    # -- lifetime --------------------------------------------------------------------
    def flush(self) -> None:
        """Commit: the consolidated metadata (one atomic write) first, then the shapes."""
        if not self.writable or self._store is None:
            return
        if self._dirty or self._uncommitted:
            document = json.dumps(self._consolidated(), indent=2).encode()
            prototype = default_buffer_prototype()
            sync(self._store.set("zarr.json", prototype.buffer.from_bytes(document)))
            self._commit_shapes()
            if self._zip is not None:
                self._write_zip()
        self._dirty = False
        self._touched = False

    def _consolidated(self) -> dict[str, Any]:
        """The root ``zarr.json`` with the metadata of every node, as held in memory."""
        entries: dict[str, Any] = {}

        def walk(group: Path, prefix: str) -> None:
            for name, obj in self._listing(group).items():
                key = f"{prefix}/{_zarr_name(name)}" if prefix else _zarr_name(name)
                doc = _metadata_doc(self._nodes.get((*group, name), obj))
                if isinstance(obj, zarr.Group):
                    doc["consolidated_metadata"] = _inline({})
                    entries[key] = doc
                    walk((*group, name), key)
                else:
                    entries[key] = doc

        walk((), "")
        root = _metadata_doc(self._nodes[()])
        root["consolidated_metadata"] = _inline(entries)
        self._committed = _growable_shapes(entries)
        return root

    def _write_zip(self) -> None:
        assert self._zip is not None
        folder, name = os.path.split(os.path.abspath(self._zip))
        temp = os.path.join(folder, f".{name}.xstore-{uuid.uuid4().hex[:8]}.zip")
        try:
            target = ZipStore(temp, mode="w")
            try:
                sync(_copy(self._store, target))
            finally:
                target.close()
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temp, self._zip)
        finally:
            if os.path.exists(temp):
                os.remove(temp)

    def close(self) -> None:
        if self._store is None:
            return
        try:
            self.flush()
        finally:
            self._discard()

    def _discard(self) -> None:
        store, self._store = self._store, None  # type: ignore[assignment]
        if store is not None:
            store.close()
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        self._nodes.clear()
        self._members.clear()
        self._dims.clear()
        self._uncommitted.clear()


# -- names and array helpers ---------------------------------------------------------


def _zarr_name(name: str) -> str:
    """The node name in the store: a child called ``zarr.json`` would clash with the
    group's own metadata file, so it is stored under its escaped form (which
    :func:`xstore.names.decode_name` also turns back into ``zarr.json``)."""
    return ZARR_JSON_ESCAPED if name == "zarr.json" else name


def _xstore_name(name: str) -> str:
    """Inverse of :func:`_zarr_name`."""
    return "zarr.json" if name == ZARR_JSON_ESCAPED else name


def _dtype(arr: zarr.Array) -> np.dtype:
    dtype = np.dtype(arr.dtype)
    return _STRING if dtype.kind in "OUT" else dtype


def _grows(arr: zarr.Array) -> bool:
    return bool(arr.metadata.attributes.get(UNLIMITED, 0))


def _dim_names(arr: zarr.Array, node: Path) -> tuple[str, ...]:
    """The array's dimension names; arrays written without them get generated ones."""
    names = getattr(arr.metadata, "dimension_names", None) or (None,) * arr.ndim
    return tuple(
        dimension_name(len(node) - 1, node[-1], axis) if name is None else name
        for axis, name in enumerate(names)
    )


def _add_dims(
    dims: dict[str, tuple[int, bool]], names: Iterable[str], shape: Iterable[int], grows: bool
) -> None:
    for axis, (name, size) in enumerate(zip(names, shape, strict=True)):
        have_size, have_grows = dims.get(name, (0, False))
        dims[name] = (max(have_size, size), have_grows or (grows and axis == 0))


def _set_nonfinite(raw: dict[str, Any], names: set[str]) -> None:
    if names:
        raw[NONFINITE] = json.dumps(sorted(names))
    else:
        raw.pop(NONFINITE, None)


def _handle(arr: zarr.Array, shape: tuple[int, ...]) -> Any:
    """An ``AsyncArray`` on ``arr``'s data with another shape (nothing is written)."""
    metadata = arr.metadata.update_shape(shape)
    return zarr.AsyncArray(metadata=metadata, store_path=arr.store_path)
