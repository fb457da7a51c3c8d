"""netCDF-specific behaviour: the commit record of growing variables, static empty
arrays (netCDF makes zero-length dimensions unlimited), deletion below netCDF."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import xstore

ENGINES = ["netcdf4", "h5netcdf"]


def _series_file(path: Path, engine: str) -> None:
    with xstore.open(path, "w", engine=engine) as store:
        for i in range(10):
            store.append("t/x", float(i), record_dim="frame")
            store.append("t/y", np.full(2, i), record_dim="frame")


@pytest.mark.parametrize("engine", ENGINES)
def test_records_past_the_commit_record_are_ignored_reported_and_cut(
    tmp_path: Path, engine: str
) -> None:
    path = tmp_path / "s.nc"
    _series_file(path, engine)
    with h5py.File(path, "r+") as handle:  # as if killed inside the HDF5 flush of a flush
        for name in ("t/x", "t/y"):
            handle[name].resize(13, axis=0)
    with xr.open_datatree(path, engine=engine) as tree:  # plain readers see the extents
        assert tree["t"].sizes["frame"] == 13
    with xstore.open(path, "r", engine=engine) as store:
        np.testing.assert_array_equal(store["t/x"], np.arange(10.0))
        assert store["t/y"].shape == (10, 2)
        assert store["t"].to_dataset().sizes["frame"] == 10
    report = subprocess.run(
        [sys.executable, "-m", "xstore", "check", str(path)], capture_output=True, text=True
    )
    assert report.returncode == 3 and "3 records past the commit record" in report.stdout
    with xstore.open(path, "a", engine=engine) as store:  # a writable reopen cuts them
        store.append("t/x", 10.0, record_dim="frame")
        store.append("t/y", np.full(2, 10), record_dim="frame")
    with xr.open_datatree(path, engine=engine) as tree:
        np.testing.assert_array_equal(tree["t"]["x"].values, np.arange(11.0))
    report = subprocess.run(
        [sys.executable, "-m", "xstore", "check", str(path)], capture_output=True, text=True
    )
    assert report.returncode == 0, report.stdout


@pytest.mark.parametrize("engine", ENGINES)
def test_commit_record_follows_every_flush(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "s.nc"
    store = xstore.open(path, "w", engine=engine, flush_interval=None)
    try:
        store.extend("x", np.arange(5.0))
        store.flush()
        store.extend("x", np.arange(5.0, 8.0))
        store.flush()
    finally:
        store.close()
    with h5py.File(path, "r") as handle:
        assert '"x": 8' in str(handle.attrs["_xs_commit"])


@pytest.mark.parametrize("engine", ENGINES)
def test_static_empty_arrays_are_not_series(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "e.nc"
    with xstore.open(path, "w", engine=engine) as store:
        store["empty"] = np.zeros((0, 3))
        store.append("series", 1.0)
    with xstore.open(path, "a", engine=engine) as store:
        with pytest.raises(TypeError, match="not a series"):
            store.append("empty", np.zeros(3))
        store.append("series", 2.0)
        assert store["empty"].shape == (0, 3)


@pytest.mark.parametrize("engine", ENGINES)
def test_deleting_keeps_the_file_valid_for_netcdf_c(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "d.nc"
    with xstore.open(path, "w", engine=engine) as store:
        store["a"] = np.arange(4)
        store["b"] = np.ones((2, 3))
        store.append("s", 1.0, record_dim="frame")
        store.append("s2", 1.0, record_dim="frame")
        del store["a"]
        del store["s"]  # a shared dimension stays while s2 uses it
        store["a"] = "new"
    with h5py.File(path, "r") as handle:
        assert "_xs_0_a_0" not in handle  # the dimension only 'a' used is gone
        assert "frame" in handle
    with xr.open_datatree(path, engine="netcdf4") as tree:
        assert set(tree.data_vars) == {"b", "s2", "a"}
    with xstore.open(path, "r") as store:
        assert list(store) == ["b", "s2", "a"] and store["a"] == "new"


@pytest.mark.parametrize("engine", ["netcdf4", "h5netcdf"])
def test_data_carry_checksums_unless_turned_off(tmp_path: Path, engine: str) -> None:
    """Chunked variables use HDF5's fletcher32 (plain readers check it too); a small
    contiguous variable carries its crc32 in ``_xs_crc``; ``checksum=False`` writes
    neither."""
    data = {"big": np.arange(4096, dtype=np.float64), "small": np.arange(3)}
    on, off = tmp_path / "on.nc", tmp_path / "off.nc"
    xstore.save(data, on, engine=engine)
    xstore.save(data, off, engine=engine, checksum=False)
    with xstore.open(on, "a", engine=engine) as store:
        store.append("series", np.zeros(3))
    with h5py.File(on, "r") as f:
        assert f["big"].fletcher32 and f["series"].fletcher32
        assert f["small"].chunks is None and "_xs_crc" in f["small"].attrs
    with h5py.File(off, "r") as f:
        assert not f["big"].fletcher32 and "_xs_crc" not in f["small"].attrs
    for path in (on, off):
        loaded = xstore.load(path)
        np.testing.assert_array_equal(loaded["big"], data["big"])


def test_a_flipped_bit_in_a_small_variable_is_an_error_not_a_value(tmp_path: Path) -> None:
    path = tmp_path / "s.nc"
    xstore.save({"small": np.arange(3, dtype=np.int64)}, path)
    with h5py.File(path, "r") as f:
        offset = f["small"].id.get_offset()
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(xstore.StoreError, match="small"):
        xstore.load(path)
