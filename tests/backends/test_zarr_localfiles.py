"""The directory store xstore opens: small files read and written directly, big ones
through zarr's worker threads; either way a key is written whole or not at all."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr
from zarr.abc.store import RangeByteRequest
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from xstore.backends.zarr import localfiles
from xstore.backends.zarr.localfiles import SMALL_BYTES, DirectLocalStore


def _buffer(data: bytes):  # type: ignore[no-untyped-def]
    return default_buffer_prototype().buffer.from_bytes(data)


@pytest.mark.parametrize("size", [0, 10, SMALL_BYTES, SMALL_BYTES + 1, 3 * SMALL_BYTES])
def test_small_and_big_values_round_trip_in_new_folders(tmp_path, size: int) -> None:
    store = DirectLocalStore(tmp_path)
    data = os.urandom(size)
    sync(store.set("a/b/c/0", _buffer(data)))
    assert (tmp_path / "a/b/c/0").read_bytes() == data
    assert sync(store.get("a/b/c/0")).to_bytes() == data
    part = sync(store.get("a/b/c/0", byte_range=RangeByteRequest(0, 5)))
    assert part.to_bytes() == data[:5]
    assert sync(store.get("missing")) is None and sync(store.get("a/b")) is None
    assert not list(tmp_path.rglob("*.partial"))


def test_a_failed_write_leaves_the_old_value_and_no_temporary_file(tmp_path, monkeypatch) -> None:
    store = DirectLocalStore(tmp_path)
    sync(store.set("k", _buffer(b"old")))

    def full(handle: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(localfiles.os, "write", full)
    with pytest.raises(OSError, match="No space"):
        sync(store.set("k", _buffer(b"new")))
    monkeypatch.undo()
    assert (tmp_path / "k").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


def test_read_only_and_zarr_arrays_through_it(tmp_path) -> None:
    store = DirectLocalStore(tmp_path)
    arr = zarr.create_array(store, name="x", shape=(100,), chunks=(10,), dtype="f8")
    arr[:] = np.arange(100.0)
    reader = store.with_read_only(True)
    assert isinstance(reader, DirectLocalStore)
    np.testing.assert_array_equal(zarr.open_array(reader, path="x")[:], np.arange(100.0))
    with pytest.raises(ValueError):
        sync(reader.set("y", _buffer(b"1")))
