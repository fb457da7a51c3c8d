"""New arrays of a zarr store are created together (concurrent writes); what a user
does in between sees them as if each had been written at once."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import xstore


def test_values_are_copied_when_set_and_readable_before_a_flush(tmp_path) -> None:
    path = tmp_path / "s.zarr"
    source = np.arange(5.0)
    with xstore.open(path, "w") as store:
        store["a"] = source
        source[:] = -1  # the caller reuses its buffer
        np.testing.assert_array_equal(store["a"], np.arange(5.0))
        store["g"] = {"x": np.ones(3), "y": "text"}
        assert sorted(store["g"]) == ["x", "y"]
    loaded = xstore.load(path)
    np.testing.assert_array_equal(loaded["a"], np.arange(5.0))
    assert loaded["g"]["y"] == "text"
    with xr.open_zarr(path) as ds:
        np.testing.assert_array_equal(ds["a"].values, np.arange(5.0))


def test_deleting_a_group_of_waiting_arrays(tmp_path) -> None:
    path = tmp_path / "s.zarr"
    with xstore.open(path, "w") as store:
        store["gone"] = {f"v{i}": np.full(4, i) for i in range(20)}
        store["here"] = {f"v{i}": np.full(4, i) for i in range(20)}
        del store["gone"]
        store["gone"] = np.zeros(2)
    loaded = xstore.load(path)
    np.testing.assert_array_equal(loaded["gone"], np.zeros(2))
    assert sorted(loaded["here"]) == sorted(f"v{i}" for i in range(20))
    np.testing.assert_array_equal(loaded["here"]["v7"], np.full(4, 7))
    with xr.open_datatree(path, engine="zarr") as tree:
        assert tree["here"]["v7"].values.tolist() == [7] * 4


def test_many_arrays_round_trip_through_plain_xarray(tmp_path) -> None:
    path = tmp_path / "many.zarr"
    data = {f"g{i}": {f"a{j}": np.arange(j + 1.0) for j in range(30)} for i in range(10)}
    xstore.save(data, path, mode="zarr")
    with xr.open_datatree(path, engine="zarr") as tree:
        np.testing.assert_array_equal(tree["g9"]["a29"].values, np.arange(30.0))
    loaded = xstore.load(path)
    np.testing.assert_array_equal(loaded["g3"]["a4"], np.arange(5.0))


def test_a_failed_array_names_its_key_and_leaves_the_old_store(tmp_path, monkeypatch) -> None:
    path = tmp_path / "s.zarr"
    xstore.save({"old": np.arange(3)}, path, mode="zarr")
    from xstore.backends.zarr import batch

    real = batch.save_metadata

    async def failing(path, metadata):  # type: ignore[no-untyped-def]
        if path.path.endswith("bad"):
            raise OSError("disk full")
        return await real(path, metadata)

    monkeypatch.setattr(batch, "save_metadata", failing)
    with pytest.raises(OSError, match="disk full") as info:
        xstore.save({"fine": np.ones(2), "sub": {"bad": np.ones(2)}}, path, mode="zarr")
    assert "/sub/bad" in "".join(getattr(info.value, "__notes__", []))
    np.testing.assert_array_equal(xstore.load(path)["old"], np.arange(3))
