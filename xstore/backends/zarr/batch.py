"""New in-memory arrays of a zarr store, created together with concurrent writes.

Creating an array through zarr's synchronous API waits for each of its requests in
turn (existence check, parents, ``zarr.json``, every chunk): a dict of hundreds of
small arrays spends its time waiting, locally and far more against object storage.
The backend collects the arrays it is given (:class:`Batch`) and creates them with
zarr's asynchronous API, many requests in flight (:func:`create_arrays`), when the
batch is full or before anything else reads or changes the store.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.api import asynchronous as zarr_async
from zarr.core.buffer import default_buffer_prototype
from zarr.core.metadata.v3 import ArrayV3Metadata
from zarr.storage import MemoryStore, StorePath

from xstore.backends.slabs import is_big, nbytes
from xstore.backends.zarr.guard import ARRAY_CONFIG
from xstore.names import Path

IN_FLIGHT = 16  # arrays being created at once
BATCH_BYTES = 64 * 2**20  # data held before the batch is written
BATCH_ARRAYS = 4096


@dataclass(slots=True)
class NewArray:
    """An array to create at ``key``: zarr's creation arguments and its values."""

    node: Path
    key: str
    spec: dict[str, Any]
    data: np.ndarray


def batchable(data: Any) -> bool:
    """True for values a batch takes: numpy arrays small enough to hold in memory."""
    return isinstance(data, np.ndarray) and not is_big(data)


class Batch:
    """The arrays waiting to be created, by node."""

    def __init__(self) -> None:
        self._arrays: dict[Path, NewArray] = {}
        self._bytes = 0

    def __bool__(self) -> bool:
        return bool(self._arrays)

    def __contains__(self, node: object) -> bool:
        return node in self._arrays

    def add(self, new: NewArray) -> None:
        """Hold ``new`` (its data copied: the caller may change its array)."""
        new.data = np.array(new.data, copy=True)
        self._arrays[new.node] = new
        self._bytes += nbytes(new.data)

    @property
    def full(self) -> bool:
        return self._bytes > BATCH_BYTES or len(self._arrays) >= BATCH_ARRAYS

    def take(self) -> list[NewArray]:
        """The waiting arrays, in order; none wait afterwards."""
        taken, self._arrays, self._bytes = list(self._arrays.values()), {}, 0
        return taken


@dataclass(frozen=True)
class _Kind:
    """zarr's metadata of one kind of array, and its document without attributes."""

    metadata: ArrayV3Metadata
    doc: dict[str, Any]


class Templates:
    """zarr's metadata for each kind of array (shape, type, chunks, fill value,
    codecs), made once by zarr itself; arrays of a kind differ only in attributes and
    dimension names.  Building and serialising that metadata through zarr (which
    validates every field again) is most of the time zarr spends creating an array,
    so an array's metadata is a copy of its kind's with those two fields set, and its
    ``zarr.json`` the kind's document with them filled in: the bytes zarr writes."""

    def __init__(self) -> None:
        self._made: dict[tuple[Any, ...], _Kind] = {}

    async def metadata(self, spec: dict[str, Any]) -> tuple[ArrayV3Metadata, bytes]:
        """The metadata of the array ``spec`` describes, and its ``zarr.json``."""
        kind = {k: v for k, v in spec.items() if k not in ("attributes", "dimension_names")}
        key = tuple((k, repr(v)) for k, v in sorted(kind.items()))
        found = self._made.get(key)
        if found is None:
            made = await zarr_async.create_array(MemoryStore(), **kind, config=ARRAY_CONFIG)
            template = cast(ArrayV3Metadata, made.metadata)
            found = self._made[key] = _Kind(template, template.to_dict())
        attributes, names = dict(spec["attributes"]), tuple(spec["dimension_names"])
        metadata = copy.copy(found.metadata)  # frozen: the two fields set below only
        object.__setattr__(metadata, "attributes", attributes)
        object.__setattr__(metadata, "dimension_names", names)
        doc: dict[str, Any] = {}
        for field, value in found.doc.items():  # in zarr's order of fields
            doc[field] = attributes if field == "attributes" else value
            if field == "attributes":
                doc["dimension_names"] = names
        indent = zarr.config.get("json_indent")
        return metadata, json.dumps(doc, allow_nan=True, indent=indent).encode()


async def create_arrays(
    store: Store, arrays: Sequence[NewArray], templates: Templates
) -> list[tuple[zarr.Array, bytes]]:
    """Create ``arrays`` in ``store`` (each node new, its group there) and write their
    values, :data:`IN_FLIGHT` at a time: one ``zarr.json`` and the chunks each.
    Every one is tried; the first failure is raised, noting its node.  Returns each
    array with its ``zarr.json``."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def create(new: NewArray) -> tuple[zarr.Array, bytes]:
        async with slots:
            metadata, doc = await templates.metadata(new.spec)
            path = StorePath(store, new.key)
            arr = zarr.AsyncArray(metadata=metadata, store_path=path, config=ARRAY_CONFIG)
            await (path / "zarr.json").set(default_buffer_prototype().buffer.from_bytes(doc))
            if 0 not in new.data.shape:
                await arr.setitem(Ellipsis, new.data)
            return zarr.Array(arr), doc

    results = await asyncio.gather(*(create(new) for new in arrays), return_exceptions=True)
    created: list[tuple[zarr.Array, bytes]] = []
    for new, result in zip(arrays, results, strict=True):
        if isinstance(result, BaseException):
            result.add_note(f"while creating /{'/'.join(new.node)}")
            raise result
        created.append(result)
    return created
