"""Many small arrays: written in bulk below netCDF (one REFERENCE_LIST write per
dimension scale), still read by netCDF-C, h5netcdf and xarray, also after appends."""

from __future__ import annotations

import subprocess

import h5py
import numpy as np
import pytest
import xarray as xr
from conftest import require_tool

import xstore
from xstore.backends.netcdf.backend import BULK_MIN

N = BULK_MIN + 10  # enough for the bulk path


def _data(prefix: str, n: int) -> dict[str, np.ndarray]:
    return {f"{prefix}{i}": np.arange(3.0) + i for i in range(n)}


def _check(path: str, names: dict[str, list[str]]) -> None:
    """Every variable has dims (dim_3,) for ncdump, both xarray engines and h5py."""
    header = subprocess.run(
        [require_tool("ncdump"), "-h", path], capture_output=True, text=True, check=True
    ).stdout
    for group, keys in names.items():
        for key in keys:
            assert f"double {key}(dim_3) ;" in header
        for engine in ("netcdf4", "h5netcdf"):
            with xr.open_dataset(path, engine=engine, group=group or None) as ds:
                ds.load()
                assert sorted(ds.data_vars) == sorted(keys)
                assert all(ds[k].dims == ("dim_3",) for k in keys)
                for key in (keys[0], keys[-1]):
                    np.testing.assert_array_equal(ds[key].values, np.arange(3.0) + int(key[1:]))
    for engine in ("netcdf4", "h5netcdf"):
        with xr.open_datatree(path, engine=engine) as tree:
            assert sum(len(node.ds.data_vars) for node in tree.subtree) >= sum(
                map(len, names.values())
            )
    with h5py.File(path, "r") as h5:
        for group, keys in names.items():
            where = h5[group] if group else h5
            table = where["dim_3"].attrs["REFERENCE_LIST"]
            assert table.dtype.names == ("dataset", "dimension")
            assert sorted(h5[ref].name.rsplit("/", 1)[1] for ref in table["dataset"]) == sorted(
                keys
            )
            assert set(table["dimension"].tolist()) == {0}
            for key in keys:
                (ref,) = where[key].attrs["DIMENSION_LIST"][0]
                assert h5[ref] == where["dim_3"]


@pytest.mark.parametrize("engine", ["netcdf4", "h5netcdf"])
def test_many_arrays_in_nested_groups_then_more(tmp_path, engine: str) -> None:
    path = str(tmp_path / "many.nc")
    xstore.save({**_data("a", N), "g": {"h": _data("b", N)}}, path, engine=engine)
    root, nested = [f"a{i}" for i in range(N)], [f"b{i}" for i in range(N)]
    _check(path, {"": root, "g/h": nested})
    other = "h5netcdf" if engine == "netcdf4" else "netcdf4"
    with xstore.open(path, "a", engine=other) as store:  # a second writer, the other engine
        for key, value in _data("c", N).items():
            store[key] = value
        for key, value in _data("d", 3).items():  # few: through the engine
            store[f"g/h/{key}"] = value
    _check(path, {"": root + [f"c{i}" for i in range(N)], "g/h": [*nested, "d0", "d1", "d2"]})
    loaded = xstore.load(path)
    assert list(loaded)[: N + 1] == [*root, "g"]
    np.testing.assert_array_equal(loaded["g"]["h"]["b7"], np.arange(3.0) + 7)
    np.testing.assert_array_equal(loaded[f"c{N - 1}"], np.arange(3.0) + N - 1)


def test_a_large_variable_after_many_small_ones(tmp_path) -> None:
    """Small variables waiting to be written in bulk, then one the engine writes (and a
    dimension named like a waiting variable): every one lands, in order."""
    path = str(tmp_path / "mixed.nc")
    with xstore.open(path, "w") as store:
        store["small"] = _data("a", N)
        store["small/big"] = np.arange(20_000.0).reshape(5000, 4)
        store["small/a0_axis"] = np.arange(2.0)
    loaded = xstore.load(path)
    assert list(loaded["small"]) == [*_data("a", N), "big", "a0_axis"]
    np.testing.assert_array_equal(loaded["small"]["big"], np.arange(20_000.0).reshape(5000, 4))
    with xr.open_dataset(path, group="small") as ds:
        assert list(ds.data_vars) == list(loaded["small"])
        assert ds["a7"].dims == ("dim_3",)
        np.testing.assert_array_equal(ds["a7"].values, np.arange(3.0) + 7)


@pytest.mark.parametrize("engine", ["netcdf4", "h5netcdf"])
def test_many_scalars_keep_their_shape(tmp_path, engine: str) -> None:
    path = str(tmp_path / "scalars.nc")
    values = {f"k{i}": np.int64(i) for i in range(N)} | {"f": np.float32(0.5)}
    xstore.save(values, path, engine=engine)
    loaded = xstore.load(path)
    assert loaded == values and all(type(v) is type(values[k]) for k, v in loaded.items())
    with xr.open_dataset(path) as ds:
        assert ds["k7"].shape == () and int(ds["k7"]) == 7 and ds["f"].dtype == np.float32
    header = subprocess.run(
        [require_tool("ncdump"), "-h", path], capture_output=True, text=True, check=True
    ).stdout
    assert "int64 k7 ;" in header and "float f ;" in header
