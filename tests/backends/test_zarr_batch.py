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
    from xstore.backends.zarr.localfiles import DirectLocalStore

    real = DirectLocalStore.set

    async def failing(self, key, value):  # type: ignore[no-untyped-def]
        if key.endswith("bad/zarr.json"):
            raise OSError("disk full")
        return await real(self, key, value)

    monkeypatch.setattr(DirectLocalStore, "set", failing)
    with pytest.raises(OSError, match="disk full") as info:
        xstore.save({"fine": np.ones(2), "sub": {"bad": np.ones(2)}}, path, mode="zarr")
    assert "/sub/bad" in "".join(getattr(info.value, "__notes__", []))
    np.testing.assert_array_equal(xstore.load(path)["old"], np.arange(3))


def test_each_array_gets_the_zarr_json_zarr_itself_writes(tmp_path) -> None:
    """Batched arrays share their kind's metadata but for attributes and dimension
    names: each stored zarr.json is byte for byte what zarr makes of the array."""
    import zarr
    from zarr.core.buffer import default_buffer_prototype

    path = tmp_path / "s.zarr"
    values = {
        "f": np.arange(5.0),
        "g": np.arange(5.0) * 2,  # the same kind as f
        "i": np.arange(6, dtype=np.int16).reshape(2, 3),
        "nan": np.array([np.nan, np.inf, -np.inf]),
        "s": np.array(["a", "bc"]),
        "b": np.array([True, False]),
        "empty": np.zeros((0, 2)),
        "scalar": np.float32(1.5),
        "u": "text",
    }
    xstore.save({"top": values, "t2": {"f": np.ones(5)}}, path, mode="zarr")
    root = zarr.open_group(path, mode="r", use_consolidated=False)
    arrays = [arr for _, arr in root.arrays()] + [
        a for _, g in root.groups() for _, a in g.arrays()
    ]
    assert len(arrays) >= len(values)
    for arr in arrays:
        stored = (path / arr.path / "zarr.json").read_bytes()
        made = arr.metadata.to_buffer_dict(default_buffer_prototype())["zarr.json"].to_bytes()
        assert stored == made, arr.path
    loaded = xstore.load(path)
    for key, value in values.items():
        np.testing.assert_array_equal(loaded["top"][key], value)
    names = {a.path: a.metadata.dimension_names for a in arrays}
    assert names["top/f"] == names["top/g"] and names["top/i"] != names["top/f"]
