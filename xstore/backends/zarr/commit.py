"""The commit protocol of zarr stores: consolidated metadata as the commit record.

``write_records`` writes the chunks at once (data before shape) but keeps the larger
shape in memory.  A flush then commits: it writes the consolidated metadata of the
whole tree, with the new shapes, as one atomic replacement of the root
``zarr.json`` -- the single commit record -- and only then the ``zarr.json`` of each
grown array.  Plain readers (xarray and zarr use consolidated metadata when it is
there) therefore see every series at the lengths of one flush, never a shape
covering unwritten records and never series sharing a record dimension at different
lengths.  A writer killed among the per-array writes leaves some arrays shorter than
the commit record: on opening, xstore takes the committed shape (the data is there)
and a writable store writes it back at its next flush (:func:`repair_shapes`).

The first change after opening (or after a flush) removes the consolidated metadata
from the root ``zarr.json`` (:func:`drop_consolidated`), so a reader sees either no
consolidated metadata or a correct one, never a stale tree.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype

from xstore.backends.zarr.attrs import UNLIMITED


def _json_bytes(doc: Mapping[str, Any]) -> Any:
    return default_buffer_prototype().buffer.from_bytes(json.dumps(doc, indent=2).encode())


async def drop_consolidated(store: Store) -> None:
    """Remove consolidated metadata from the root ``zarr.json`` if it has any."""
    raw = await store.get("zarr.json", prototype=default_buffer_prototype())
    if raw is None:
        return
    doc = json.loads(raw.to_bytes())
    if doc.pop("consolidated_metadata", None) is None:
        return
    await store.set("zarr.json", _json_bytes(doc))


def with_consolidated(root: dict[str, Any], entries: dict[str, Any]) -> dict[str, Any]:
    """The root ``zarr.json`` document carrying ``entries`` as consolidated metadata."""
    return {
        **root,
        "consolidated_metadata": {"kind": "inline", "must_understand": False, "metadata": entries},
    }


def empty_consolidated(group_doc: dict[str, Any]) -> dict[str, Any]:
    """A group's entry in consolidated metadata (its own children are listed flat)."""
    return with_consolidated(group_doc, {})


async def commit(store: Store, root: dict[str, Any]) -> None:
    """Write the commit record: the root ``zarr.json`` with consolidated metadata."""
    await store.set("zarr.json", _json_bytes(root))


async def consolidated_entries(store: Store) -> dict[str, Any]:
    """The metadata of every node in the commit record (the consolidated metadata of
    the root ``zarr.json``), by key; empty if there is none."""
    raw = await store.get("zarr.json", prototype=default_buffer_prototype())
    if raw is None:
        return {}
    doc = json.loads(raw.to_bytes())  # damage here is the caller's StoreError
    entries = (doc.get("consolidated_metadata") or {}).get("metadata") or {}
    if not isinstance(entries, dict):
        raise ValueError("the consolidated metadata is not a mapping")
    return entries


def growable_shapes(entries: Mapping[str, Any]) -> dict[str, list[int]]:
    """The shapes of growable arrays among consolidated metadata entries."""
    return {
        key: list(doc["shape"])
        for key, doc in entries.items()
        if isinstance(doc, dict)
        and doc.get("shape")
        and (doc.get("attributes") or {}).get(UNLIMITED)
    }


async def repair_shapes(store: Store, committed: Mapping[str, list[int]]) -> None:
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
            await store.set(f"{key}/zarr.json", _json_bytes(doc))

    await asyncio.gather(*(repair(key, shape) for key, shape in committed.items()))


async def save_shapes(handles: list[Any]) -> None:
    """Write the ``zarr.json`` of arrays whose shape changed in memory (no chunk is
    touched: ``resize`` to the shape they already have only saves the metadata)."""
    await asyncio.gather(
        *(h.resize(h.metadata.shape, delete_outside_chunks=False) for h in handles)
    )


def agrees_with_record(doc: dict[str, Any], recorded: dict[str, Any]) -> bool:
    """A member's ``zarr.json`` agrees with its entry in the commit record (a growable
    array's shape may trail the record: a flush cut short, see :mod:`~.commit`)."""
    ours = {k: v for k, v in doc.items() if k not in ("consolidated_metadata", "shape")}
    theirs = {k: v for k, v in recorded.items() if k not in ("consolidated_metadata", "shape")}
    if ours != theirs:
        return False
    grows = bool((doc.get("attributes") or {}).get(UNLIMITED))
    shape, committed = doc.get("shape"), recorded.get("shape")
    if grows and isinstance(shape, list) and isinstance(committed, list) and shape:
        return shape[1:] == committed[1:] and shape[0] <= committed[0]
    return bool(shape == committed)


def reconcile(doc: dict[str, Any], recorded: Any, committed: list[int] | None) -> str:
    """Check a member's ``zarr.json`` (``doc``) against its commit-record entry and
    give it the committed shape where a flush was cut short among its per-array
    writes; returns a description of such a torn commit, else ""."""
    if recorded is not None and not agrees_with_record(doc, recorded):
        raise ValueError("its zarr.json differs from the store's commit record")
    if committed is None or committed[0] <= doc.get("shape", [0])[0]:
        return ""
    torn = f"{doc['shape'][0]} records, committed {committed[0]}"
    doc["shape"] = committed
    return torn


def lost_members(recorded: Mapping[str, Any], prefix: str, found: set[str]) -> list[str]:
    """Children of the group at ``prefix`` that the commit record lists but that are
    not in the store (a lost ``zarr.json`` would otherwise make a key vanish)."""
    start = f"{prefix}/" if prefix else ""
    listed = {
        key[len(start) :]
        for key in recorded
        if key.startswith(start) and "/" not in key[len(start) :]
    }
    return [f"/{start}{name}" for name in sorted(listed - found)]
