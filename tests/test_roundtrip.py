"""``load(save(d))`` equals ``d`` with identical types, for every mode (SPEC §2)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_identical
from hypothesis import HealthCheck, given, settings
from strategies import DOCUMENTS

import xstore

MODES = [
    ("hdf5", ".h5", {}),
    ("hdf5", ".nc", {"engine": "h5netcdf"}),
    ("netcdf", ".nc", {}),
    ("zarr", ".zarr", {}),
    ("zarr", ".zip", {}),
    ("json", ".json", {}),
    ("cloudpickle", ".pkl", {}),
]
MODE_IDS = ["hdf5-netcdf4", "hdf5-h5netcdf", "netcdf", "zarr", "zarr-zip", "json", "cloudpickle"]


@pytest.mark.parametrize(("mode", "suffix", "options"), MODES, ids=MODE_IDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=DOCUMENTS)
def test_property_round_trip(mode: str, suffix: str, options: dict, data: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / f"doc{suffix}")
        xstore.save(data, path, mode=mode, **options)
        loaded = xstore.load(path, mode=mode)
        assert_identical(data, loaded)
        if mode != "cloudpickle":  # detection must find the same format by itself
            assert_identical(data, xstore.load(path))


EXAMPLE = {
    "T": 300.0,
    "steps": 1000,
    "flag": True,
    "nothing": None,
    "name": "run 1",
    "blob": b"\x00\x01\xff",
    "z": 1 - 2j,
    "f32": np.float32(1.5),
    "i8": np.int8(-3),
    "zero_d": np.array(2.5),
    "empty": np.zeros((0, 3)),
    "big": np.arange(12.0).reshape(3, 4),
    "when": np.array(["2020-01-01T00:00:00.123456789", "NaT"], dtype="M8[ns]"),
    "nested": {"a": [1, 2, 3], "b": (1, "x", None), "c": {1.5, 2.5}, "d": frozenset({"q"})},
    "mixed": [1, 1.0, "1", b"1", None, True, [np.int16(7)], {"k": ()}],
    "odd keys": {"": 1, ".": 2, "..": 3, "a/b": 4, "__x__": 5, " pad ": 6, "_xs_seq": 7},
    "nan": float("nan"),
    "neg zero": -0.0,
    "inf": [float("inf"), -float("inf")],
}


@pytest.mark.parametrize(("mode", "suffix", "options"), MODES, ids=MODE_IDS)
def test_example_round_trip(mode: str, suffix: str, options: dict, tmp_path: Path) -> None:
    path = tmp_path / f"doc{suffix}"
    xstore.save(EXAMPLE, path, mode=mode, **options)
    assert_identical(EXAMPLE, xstore.load(path, mode=mode))


@pytest.mark.parametrize(("mode", "suffix", "options"), MODES, ids=MODE_IDS)
def test_key_order_is_kept(mode: str, suffix: str, options: dict, tmp_path: Path) -> None:
    data = {k: {s: i for i, s in enumerate("zyxwv")} for k in ["b", "a", "c", "_", "A"]}
    path = tmp_path / f"order{suffix}"
    xstore.save(data, path, mode=mode, **options)
    loaded = xstore.load(path, mode=mode)
    assert list(loaded) == list(data)
    assert [list(v) for v in loaded.values()] == [list(v) for v in data.values()]


@pytest.mark.parametrize("target", [".zarr", ".zip", ".nc"])
def test_round_trip_between_backends(tmp_path: Path, target: str) -> None:
    """save(load(nc), zarr) then load(zarr) equals the original, types included."""
    source = tmp_path / "source.nc"
    xstore.save(EXAMPLE, source)
    other = tmp_path / f"other{target}"
    xstore.save(xstore.load(source), other, mode="zarr" if target != ".nc" else "hdf5")
    assert_identical(EXAMPLE, xstore.load(other))
    back = tmp_path / "back.nc"
    xstore.save(xstore.load(other), back)
    assert_identical(EXAMPLE, xstore.load(back))
