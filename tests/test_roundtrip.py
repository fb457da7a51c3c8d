"""``load(save(d))`` equals ``d`` with identical types, for every mode (SPEC §2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import Case
from helpers import assert_identical
from hypothesis import HealthCheck, given, settings
from strategies import DOCUMENTS

import xstore


# each example gets its own path from the case, so the function-scoped fixture is safe
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=DOCUMENTS)
def test_property_round_trip(save_case: Case, data: dict) -> None:
    path = save_case.path("doc")
    save_case.save(data, path)
    mode = save_case.format.save_mode
    assert_identical(data, xstore.load(path, mode=mode))
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


def test_example_round_trip(save_case: Case) -> None:
    path = save_case.path("doc")
    save_case.save(EXAMPLE, path)
    assert_identical(EXAMPLE, xstore.load(path, mode=save_case.format.save_mode))


@pytest.mark.parametrize(("mode", "suffix"), [("netcdf", ".nc"), ("hdf5", ".h5")])
def test_netcdf_and_hdf5_modes_write_one_format(tmp_path: Path, mode: str, suffix: str) -> None:
    path = tmp_path / f"doc{suffix}"
    xstore.save(EXAMPLE, path, mode=mode)
    assert_identical(EXAMPLE, xstore.load(path))
    assert_identical(EXAMPLE, xstore.load(path, mode="netcdf" if mode == "hdf5" else "hdf5"))


def test_key_order_is_kept(save_case: Case) -> None:
    data = {k: {s: i for i, s in enumerate("zyxwv")} for k in ["b", "a", "c", "_", "A"]}
    path = save_case.path("order")
    save_case.save(data, path)
    loaded = xstore.load(path, mode=save_case.format.save_mode)
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


ODD = ["\ud800", "\udfff", "a\x00b", "\x00", "\U0001f600", "e\u0301", "\ud83d\ude00", "x\ud83dy"]


@pytest.mark.parametrize("text", ODD, ids=[ascii(t) for t in ODD])
def test_odd_strings_come_back_exactly_in_every_mode(save_case: Case, text: str) -> None:
    """Lone and split-pair surrogates, NUL, non-BMP and non-NFC text, as keys and values."""
    data = {
        text: text,
        "nested": {"list": [text, {text: (text, {text})}], text: {text: [text]}},
        "__xstore__": {text: text},
    }
    path = save_case.path("doc")
    save_case.save(data, path)
    assert_identical(data, xstore.load(path, mode=save_case.format.save_mode))


def test_odd_strings_as_store_keys_and_attributes(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        for i, text in enumerate(ODD):
            store[f"k{i}{text}"] = {text: text}
            store.attrs[f"a{i}{text}"] = text
    with case.open(path, "r") as store:
        for i, text in enumerate(ODD):
            assert store[f"k{i}{text}"] == {text: text}
            assert store.attrs[f"a{i}{text}"] == text
