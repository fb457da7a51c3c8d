"""Codecs beyond the property tests: objects, xarray values, fallbacks (SPEC §2, §3)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import Case
from helpers import assert_identical

import xstore
from xstore.faces.store import CODECS
from xstore.model import CLASS, TYPE, VERSION, Tree, Var


def encode(value: object) -> object:
    return CODECS.encoder().encode(value)


def round_trip(value: object, tmp_path: Path, **load_kw: object) -> object:
    path = tmp_path / "v.h5"
    xstore.save({"v": value}, path)
    return xstore.load(path, **load_kw)["v"]  # type: ignore[arg-type]


@dataclasses.dataclass
class Settings:
    temperature: float
    steps: int = 10
    labels: list[str] = dataclasses.field(default_factory=list)
    inner: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class Frozen:
    a: int
    b: tuple


@dataclasses.dataclass
class Computed:
    x: int
    double: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.double = 2 * self.x


def test_dataclasses(codec_case: Case) -> None:
    for value in [
        Settings(300.0, 5, ["a"], {"k": np.arange(2)}),
        Frozen(1, (2, "x")),
        Computed(4),
        [Settings(1.0), Frozen(0, ())],
    ]:
        out = codec_case.round_trip(value)
        assert type(out) is type(value)
        if isinstance(value, Settings):
            assert_identical(value.inner, out.inner)  # type: ignore[union-attr]
            assert (out.temperature, out.labels) == (300.0, ["a"])  # type: ignore[union-attr]
        else:
            assert out == value


def test_dataclass_field_without_encoding_is_pickled_alone(tmp_path: Path) -> None:
    value = Settings(1.0, inner={"f": lambda x: x + 1})
    path = tmp_path / "d.h5"
    with pytest.warns(xstore.PickleFallbackWarning, match=r"data\['v'\]\['inner'\]\['f'\]"):
        xstore.save({"v": value}, path)
    with pytest.raises(xstore.PickleNotAllowedError, match=r"data\['v'\]\['inner'\]\['f'\]"):
        xstore.load(path)
    assert xstore.load(path, allow_pickle=True)["v"].inner["f"](1) == 2


class Stateful:
    def __init__(self, a: int) -> None:
        self.a = a
        self.cache = "not stored"

    def __getstate__(self) -> dict:
        return {"a": self.a}

    def __setstate__(self, state: dict) -> None:
        self.a = state["a"]
        self.cache = "rebuilt"


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self) -> None:
        self.a, self.b = 1, np.arange(3)

    def __setstate__(self, state: tuple) -> None:
        for key, value in state[1].items():
            setattr(self, key, value)


def test_getstate_objects_are_stored_as_groups(tmp_path: Path) -> None:
    node = encode(Stateful(3))
    assert isinstance(node, Tree) and node.attrs[TYPE] == "getstate"
    assert list(node.children) == ["a"]
    out = round_trip(Stateful(3), tmp_path, allow_pickle=True)
    assert (out.a, out.cache) == (3, "rebuilt")  # type: ignore[attr-defined]
    slotted = round_trip(Slotted(), tmp_path, allow_pickle=True)
    assert_identical(np.arange(3), slotted.b)  # type: ignore[attr-defined]


class Versioned:
    __version__ = (1, 2)

    def __init__(self, seen: object = None) -> None:
        self.seen = seen

    def _store(self, group: xstore.Group) -> None:
        sub = group.create_group("sub")
        sub["x"] = np.arange(3)
        sub.attrs["note"] = "hi"

    @classmethod
    def _restore(cls, group: xstore.Group, version: object) -> Versioned:
        assert group["sub"].attrs["note"] == "hi"
        assert_identical(np.arange(3), group["sub/x"])
        return cls(version)


def test_storable_records_class_and_version(codec_case: Case) -> None:
    node = encode(Versioned())
    assert node.attrs[TYPE] == "storable"
    assert node.attrs[CLASS] == f"{__name__}:Versioned"
    assert VERSION in node.attrs
    out = codec_case.round_trip(Versioned())
    assert out.seen == (1, 2)  # type: ignore[attr-defined]


def test_fallbacks_to_cloudpickle(tmp_path: Path) -> None:
    values = {
        "lambda": lambda x: x * 2,
        "big int": 2**80,
        "non-str keys": {1: "a", (2, 3): "b"},
        "object array": np.array([1, "a", None], dtype=object),
        "ordered": __import__("collections").OrderedDict({1: "non-str key"}),
        "range": range(3),
    }
    path = tmp_path / "p.h5"
    with pytest.warns(xstore.PickleFallbackWarning) as warned:
        xstore.save(values, path)
    assert len(warned) == 1  # one warning naming every pickled key path
    for key in values:
        assert f"data[{key!r}]" in str(warned[0].message)
    out = xstore.load(path, allow_pickle=True)
    assert out["lambda"](2) == 4
    for key in ("big int", "non-str keys", "range"):
        assert out[key] == values[key]
    assert type(out["ordered"]) is type(values["ordered"])
    assert out["object array"].tolist() == [1, "a", None]


def test_large_pickles_go_to_a_uint8_variable() -> None:
    small = encode({1: "x"})
    large = encode({1: "x" * 100_000})
    assert isinstance(small, Var) and small.data.ndim == 0 and "_xs_pickle" in small.attrs
    assert isinstance(large, Var) and large.data.dtype == np.uint8 and large.data.size > 65536
    ctx = CODECS.decoder(allow_pickle=True)
    assert ctx.decode(large) == {1: "x" * 100_000}


def _dataset() -> xr.Dataset:
    time = pd.date_range("2020-01-01", periods=4, freq="6h")
    return xr.Dataset(
        {
            "temp": (("time", "site"), np.arange(8.0).reshape(4, 2), {"units": "K", "ok": True}),
            "flag": (("time",), np.array([True, False, True, True])),
            "z": (("site",), np.array([1 + 1j, 2 - 1j])),
            "name": (("site",), np.array(["alpha", "beta"])),
            "dt": (("time",), np.array([1, 2, 3, 4], dtype="m8[s]")),
            "half": (("site",), np.array([1.5, 2.5], dtype=np.float16)),
        },
        coords={"time": time, "site": ["a", "b"], "elevation": ("site", [10.0, 20.0])},
        attrs={"title": "obs", "version": 2, "meta": {"nested": [1, 2]}},
    )


def test_xarray_values(codec_case: Case) -> None:
    ds = _dataset()
    da = ds["temp"].rename("temperature")
    unnamed = xr.DataArray(np.arange(3), dims="x")
    tree = xr.DataTree.from_dict({"/": ds[["temp"]], "/child": xr.Dataset({"v": ("site", [1, 2])})})
    for value in [ds, da, unnamed, tree, ds.isel(time=0)]:
        assert_identical(value, codec_case.round_trip(value))


def test_datasets_xarray_cannot_encode_fall_back_to_pickle(tmp_path: Path) -> None:
    stacked = _dataset()[["temp"]].stack(point=("time", "site"))
    with pytest.warns(xstore.PickleFallbackWarning, match=r"data\['v'\] \(Dataset\)"):
        out = round_trip(stacked, tmp_path, allow_pickle=True)
    assert_identical(stacked, out)
