"""Groups and arrays in a zarr store: reading their metadata, naming, deleting."""

from __future__ import annotations

import asyncio
import copy
import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec
from zarr.core.buffer import Buffer, default_buffer_prototype
from zarr.core.group import GroupMetadata
from zarr.storage import LocalStore, StorePath, WrapperStore

from xstore.backends.zarr import commit
from xstore.backends.zarr.attrs import COMPLETE, UNLIMITED
from xstore.backends.zarr.guard import ARRAY_CONFIG
from xstore.model import STRING
from xstore.names import ESCAPE_PREFIX, Path, dimension_name

Node = zarr.Group | zarr.Array
ZARR_JSON_ESCAPED = ESCAPE_PREFIX + "zarr.json"


def zarr_name(name: str) -> str:
    """The node name in the store: a child called ``zarr.json`` would clash with the
    group's own metadata file, so it is stored under its escaped form (which
    :func:`xstore.names.decode_name` also turns back into ``zarr.json``)."""
    return ZARR_JSON_ESCAPED if name == "zarr.json" else name


def xstore_name(name: str) -> str:
    """Inverse of :func:`zarr_name`."""
    return "zarr.json" if name == ZARR_JSON_ESCAPED else name


async def read_members(store: Store, prefix: str) -> list[tuple[str, bytes]]:
    """``(name, zarr.json bytes)`` of every child of the group at ``prefix``."""
    prototype = default_buffer_prototype()
    names = [name async for name in store.list_dir(prefix)]

    async def metadata(name: str) -> Buffer | None:
        return await store.get(f"{prefix}/{name}/zarr.json".lstrip("/"), prototype=prototype)

    blobs = await asyncio.gather(*(metadata(name) for name in names))
    return [(n, b.to_bytes()) for n, b in zip(names, blobs, strict=True) if b is not None]


def open_node(path: StorePath, doc: dict[str, Any]) -> Node:
    """A group or array handle from its parsed ``zarr.json``."""
    if doc.get("zarr_format") != 3:
        raise ValueError(f"not zarr format 3 metadata (zarr_format={doc.get('zarr_format')!r})")
    kind = doc.get("node_type")
    if kind == "group":
        return zarr.Group(zarr.AsyncGroup.from_dict(path, doc))
    if kind == "array":
        metadata: Any = doc  # validated by AsyncArray
        return zarr.Array(zarr.AsyncArray(metadata=metadata, store_path=path, config=ARRAY_CONFIG))
    raise ValueError(f"unknown node_type {kind!r}")


async def new_group(store: Store, key: str, attributes: dict[str, Any]) -> zarr.Group:
    """A group created at ``key`` of ``store``: its ``zarr.json`` written, as zarr
    writes it, without zarr's checks for nodes at and above it (the backend knows
    its parent is there and nothing else is at ``key``)."""
    metadata = GroupMetadata(attributes=attributes, zarr_format=3)
    path = StorePath(store, key)
    await (path / "zarr.json").set(metadata.to_buffer_dict(default_buffer_prototype())["zarr.json"])
    return zarr.Group(zarr.AsyncGroup(metadata=metadata, store_path=path))


async def delete_node(store: Store, path: str) -> None:
    """Remove a node: its ``zarr.json`` first, so no half-deleted node stays visible."""
    await store.delete(f"{path}/zarr.json")
    await store.delete_dir(path)


async def move_node(store: Store, old: str, new: str) -> None:
    """Move a node's keys from ``old`` to ``new`` (a directory rename where the store is
    local; elsewhere copy, then delete), its ``zarr.json`` last in and first out."""
    local = store._store if isinstance(store, WrapperStore) else store
    root = getattr(local, "root", None)
    if isinstance(local, LocalStore) and root is not None:
        os.rename(os.path.join(root, old), os.path.join(root, new))
        return
    prototype = default_buffer_prototype()
    keys = [key async for key in store.list_prefix(f"{old}/")]
    for key in sorted(keys, key=lambda k: k.endswith("zarr.json")):
        value = await store.get(key, prototype=prototype)
        if value is not None:
            await store.set(new + key[len(old) :], value)
    await delete_node(store, old)


def dtype_of(arr: zarr.Array) -> np.dtype:
    """The array's dtype as the core sees it (object for any kind of string)."""
    dtype = np.dtype(arr.dtype)
    return STRING if dtype.kind in "OUT" else dtype


def grows(arr: zarr.Array) -> bool:
    return bool(arr.metadata.attributes.get(UNLIMITED, 0))


def dim_names(arr: zarr.Array, node: Path) -> tuple[str, ...]:
    """The array's dimension names; arrays written without them get generated ones."""
    names = getattr(arr.metadata, "dimension_names", None) or (None,) * arr.ndim
    return tuple(
        dimension_name(len(node) - 1, node[-1], axis) if name is None else name
        for axis, name in enumerate(names)
    )


def add_dims(
    dims: dict[str, tuple[int, bool]], names: Iterable[str], shape: Iterable[int], growing: bool
) -> None:
    """Record the dimensions of an array in a group's ``{name: (size, grows)}``."""
    for axis, (name, size) in enumerate(zip(names, shape, strict=True)):
        have_size, have_grows = dims.get(name, (0, False))
        dims[name] = (max(have_size, size), have_grows or (growing and axis == 0))


def with_shape(arr: zarr.Array, shape: tuple[int, ...]) -> Any:
    """An ``AsyncArray`` on ``arr``'s data with another shape (nothing is written)."""
    metadata = arr.metadata.update_shape(shape)
    return zarr.AsyncArray(metadata=metadata, store_path=arr.store_path, config=ARRAY_CONFIG)


def configured(obj: Node) -> Node:
    """``obj``, or for an array a handle that writes every chunk (:data:`ARRAY_CONFIG`)."""
    if isinstance(obj, zarr.Array):
        return zarr.Array(
            zarr.AsyncArray(metadata=obj.metadata, store_path=obj.store_path, config=ARRAY_CONFIG)
        )
    return obj


def is_complete(obj: Node) -> bool:
    """An array xstore wrote whole (every chunk in its shape is stored)."""
    return isinstance(obj, zarr.Array) and bool(obj.metadata.attributes.get(COMPLETE, 0))


def metadata_doc(obj: Node) -> dict[str, Any]:
    """A node's ``zarr.json`` as a dict (zarr's own JSON spelling of fill values etc.)."""
    return _parsed(obj.metadata.to_buffer_dict(default_buffer_prototype())["zarr.json"].to_bytes())


def _parsed(blob: bytes) -> dict[str, Any]:
    """A ``zarr.json`` as a dict, without consolidated metadata."""
    doc: dict[str, Any] = json.loads(blob)
    doc.pop("consolidated_metadata", None)
    return doc


class MetadataDocs:
    """:func:`metadata_doc` of each node, made again only when its metadata changed:
    zarr replaces an array's metadata object when its shape changes, but a group's
    attributes are updated in place, so the attributes are compared too."""

    def __init__(self) -> None:
        self._docs: dict[int, tuple[Any, dict[str, Any], dict[str, Any]]] = {}

    def __call__(self, obj: Node) -> dict[str, Any]:
        meta = obj.metadata
        found = self._docs.get(id(meta))
        if found is None or found[0] is not meta or found[1] != meta.attributes:
            found = self._docs[id(meta)] = (meta, copy.deepcopy(meta.attributes), metadata_doc(obj))
        return found[2]

    def know(self, obj: Node, blob: bytes) -> None:
        """Take ``blob``, the ``zarr.json`` just written for ``obj``, as its document."""
        meta = obj.metadata
        self._docs[id(meta)] = (meta, copy.deepcopy(meta.attributes), _parsed(blob))

    def clear(self) -> None:
        self._docs.clear()


def compressors(name: str | None, level: int | None) -> list[Any]:
    """zarr codecs for an xstore compression name and level."""
    if name is None:
        return []
    if name == "zstd":
        return [ZstdCodec(level=3 if level is None else level)]
    if name in ("gzip", "zlib"):
        return [GzipCodec(level=5 if level is None else level)]
    if name == "blosc":
        return [BloscCodec(cname="zstd", clevel=5 if level is None else level)]
    raise ValueError(f"zarr compression must be None, 'zstd', 'gzip' or 'blosc', not {name!r}")


def consolidated_root(
    nodes: Mapping[Path, Node],
    listing: Callable[[Path], Mapping[str, Node]],
    doc_of: Callable[[Node], dict[str, Any]] = metadata_doc,
) -> dict[str, Any]:
    """The root ``zarr.json`` with the metadata of every node, as held in memory
    (``nodes``: the nodes opened so far; ``listing``: a group's children)."""
    entries: dict[str, Any] = {}

    def walk(group: Path, prefix: str) -> None:
        for name, obj in listing(group).items():
            key = f"{prefix}/{zarr_name(name)}" if prefix else zarr_name(name)
            doc = doc_of(nodes.get((*group, name), obj))
            if isinstance(obj, zarr.Group):
                entries[key] = commit.empty_consolidated(doc)
                walk((*group, name), key)
            else:
                entries[key] = doc

    walk((), "")
    return commit.with_consolidated(doc_of(nodes[()]), entries)
