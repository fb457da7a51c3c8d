"""The zarr backend: directory, zip and fsspec stores, and what plain readers see."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest
import xarray as xr
import zarr

import xstore
from xstore.backends.zarr.backend import ZarrBackend
from xstore.backends.zarr.locations import store_exists
from xstore.core.chunks import record_chunks
from xstore.errors import StoreError
from xstore.tools.check import check

KINDS = ["dir", "zip", "memory"]


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def memory_url() -> Iterator[str]:
    url = f"memory://xstore-test-{uuid.uuid4().hex}"
    yield url
    fs = fsspec.filesystem("memory")
    path = url[len("memory://") :]
    if fs.exists(path):
        fs.rm(path, recursive=True)


@pytest.fixture(params=KINDS)
def location(request: pytest.FixtureRequest, tmp_path: Path, memory_url: str) -> str:
    """A store location of each kind (nothing exists there yet)."""
    return {
        "dir": str(tmp_path / "store.zarr"),
        "zip": str(tmp_path / "store.zip"),
        "memory": memory_url,
    }[request.param]


def plain_store(path: str) -> Any:
    """What plain zarr/xarray need to read ``path`` (a zip needs an explicit ZipStore)."""
    if path.endswith(".zip"):
        return zarr.storage.ZipStore(path, mode="r")
    return path


def assert_same(a: Any, b: Any, where: str = "data") -> None:
    """Equal values of identical types, recursively (NaN equals NaN)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a!r} != {b!r}"
        if a.dtype.kind in "fcmM":
            np.testing.assert_array_equal(a, b, err_msg=where)
        else:
            assert a.tolist() == b.tolist(), where
    elif isinstance(a, xr.Dataset):
        xr.testing.assert_identical(a, b)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def tree_digest(path: str) -> dict[str, str]:
    """Every file under ``path`` (or the file itself) with a hash of its bytes."""
    if os.path.isfile(path):
        return {"": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            out[os.path.relpath(full, path)] = hashlib.sha256(Path(full).read_bytes()).hexdigest()
    return out


def strict_json(text: bytes | str) -> Any:
    """Parse JSON the way non-Python readers do: NaN/Infinity tokens are errors."""

    def refuse(token: str) -> Any:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def walk_zarr(group: zarr.Group, prefix: str = "") -> dict[str, Any]:
    """Every node below ``group`` by path, read through plain zarr (arrays fully read)."""
    out: dict[str, Any] = {}
    for name, obj in group.members():
        path = f"{prefix}{name}"
        if isinstance(obj, zarr.Group):
            out[path] = "group"
            out.update(walk_zarr(obj, path + "/"))
        else:
            out[path] = (obj.shape, obj[...])
    return out


EXAMPLE: dict[str, Any] = {
    "int": 3,
    "float": 2.5,
    "nan": float("nan"),
    "inf": -float("inf"),
    "complex": 1 - 2j,
    "bool": True,
    "none": None,
    "str": "NaN",
    "bytes": b"\x00raw\xff",
    "list": [1, "two", 3.0, None],
    "tuple": (1, (2, 3)),
    "empty": np.zeros((0, 3)),
    "arrays": {
        "i1": np.arange(-3, 3, dtype=np.int8),
        "u8": np.arange(4, dtype=np.uint64),
        "f4": np.array([0.0, np.nan, np.inf], dtype=np.float32),
        "f8": np.linspace(0, 1, 12).reshape(3, 4),
        "c16": np.array([1 + 2j, np.nan - 1j]),
        "bool": np.array([[True, False], [False, True]]),
        "str": np.array(["a", "", "héllo wörld"]),
        "str0d": np.array("zero-d"),
        "bytes": np.array([b"ab", b"c\x00"]),
        "dt": np.array(["2020-01-01T00:00", "NaT"], dtype="datetime64[ns]"),
        "td": np.array([1, -2], dtype="timedelta64[s]"),
        "zeros": np.zeros(5, dtype=np.int32),
    },
    "scalars": {"f32": np.float32(1.5), "i16": np.int16(-7), "c64": np.complex64(1j)},
    "nested": {"deeper": {"deepest": {"x": [1.0, 2.0]}}},
    "escaped": {"__init__": 1, " x": 2, "a b": 3, "zarr.json": 4, "é": 5, "..x": 6},
    "ds": xr.Dataset(
        {"v": (("t",), [0.0, 1.0, np.nan], {"units": "m"}), "w": (("t",), [0, 1, 2])},
        coords={"t": [10, 20, 30]},
        attrs={"title": "run", "missing": np.nan, "limits": np.array([1.0, np.inf])},
    ),
}


# -- round trips -----------------------------------------------------------------------------


def test_save_load_round_trip(location: str) -> None:
    xstore.save(EXAMPLE, location, mode="zarr")
    assert_same(EXAMPLE, xstore.load(location))
    assert_same(EXAMPLE, xstore.load(location, mode="zarr"))


def test_open_infers_zarr_and_round_trips_through_the_store(location: str) -> None:
    with xstore.open(location, "w") as store:
        assert store.backend == "zarr"
        store["a"] = np.arange(3)
        store["g/b"] = {"c": [1, 2]}
        store.attrs["units"] = "nm"
    with xstore.open(location, "a") as store:
        store["a"] = np.ones((2, 2))  # replaced by another shape
        store["g/b/d"] = "new"
        del store["g/b/c"]
    with xstore.open(location, "r") as store:
        assert list(store) == ["a", "g"]
        assert_same(store["a"], np.ones((2, 2)))
        assert store["g/b"] == {"d": "new"}
        assert store.attrs["units"] == "nm"


def test_nan_and_inf_attributes_survive_as_strict_json(tmp_path: Path) -> None:
    path = str(tmp_path / "attrs.zarr")
    values = {"nan": np.float64(np.nan), "inf": np.float32(np.inf), "minf": np.float64(-np.inf)}
    backend = ZarrBackend(path, "w")
    backend.create_group(("g",))
    backend.set_attrs(("g",), {**values, "text": "NaN", "arr": np.array([1.0, np.nan, -np.inf])})
    backend.close()
    for root, _, files in os.walk(path):
        for name in files:
            if name == "zarr.json":
                strict_json(Path(root, name).read_bytes())  # no NaN/Infinity tokens anywhere
    attrs = ZarrBackend(path, "r").attrs(("g",))
    assert np.isnan(attrs["nan"]) and attrs["inf"] == np.inf and attrs["minf"] == -np.inf
    assert attrs["text"] == "NaN"  # a string that looks like a float stays a string
    np.testing.assert_array_equal(attrs["arr"], [1.0, np.nan, -np.inf])
    assert attrs["arr"].dtype == np.float64
    assert set(attrs) == {"nan", "inf", "minf", "text", "arr"}  # bookkeeping is hidden


def test_attribute_updates_and_deletes_keep_the_nonfinite_notes(tmp_path: Path) -> None:
    backend = ZarrBackend(str(tmp_path / "a.zarr"), "w")
    backend.set_attrs((), {"x": np.float64(np.nan), "y": np.float64(np.inf)})
    backend.set_attrs((), {"x": "now a string"})
    backend.delete_attrs((), ["y"])
    assert backend.attrs(()) == {"x": "now a string"}
    backend.set_attrs((), {"z": np.array([1, 2], dtype=np.int64), "n": np.int8(-1)})
    attrs = backend.attrs(())
    assert attrs["z"].tolist() == [1, 2] and attrs["n"] == -1
    backend.close()


# -- what plain readers see ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dir", "zip"])
def test_plain_readers_see_the_netcdf_tree(tmp_path: Path, kind: str) -> None:
    path = str(tmp_path / ("x.zarr" if kind == "dir" else "x.zip"))
    nc = str(tmp_path / "x.nc")
    xstore.save(EXAMPLE, path, mode="zarr")
    xstore.save(EXAMPLE, nc, mode="hdf5")

    walked = walk_zarr(zarr.open_group(plain_store(path), mode="r"))
    assert walked["arrays/f8"][0] == (3, 4)
    np.testing.assert_array_equal(walked["arrays/f8"][1], EXAMPLE["arrays"]["f8"])

    with (
        xr.open_datatree(plain_store(path), engine="zarr") as ztree,
        xr.open_datatree(nc, engine="netcdf4") as ntree,
    ):
        assert set(ztree.groups) == set(ntree.groups)
        for group in ntree.groups:
            # the one deliberate difference: zarr stores a node "zarr.json" escaped
            zds = ztree[group].to_dataset(inherit=False)
            zds = zds.rename({k: "zarr.json" for k in zds.variables if k == "_x_zarr.json"})
            nds = ntree[group].to_dataset(inherit=False)
            assert set(zds.variables) == set(nds.variables), group
            assert dict(zds.sizes) == dict(nds.sizes), group
            for name, nvar in nds.variables.items():
                zvar = zds.variables[name]
                assert zvar.dims == nvar.dims, f"{group}/{name}"
                if nvar.dtype.kind in "OUT":
                    assert zvar.values.tolist() == nvar.values.tolist(), f"{group}/{name}"
                else:
                    assert zvar.dtype == nvar.dtype, f"{group}/{name}"
                    np.testing.assert_array_equal(zvar.values, nvar.values, f"{group}/{name}")
        assert ztree["ds"].attrs["title"] == "run"
        np.testing.assert_array_equal(ztree["ds"]["t"].values, [10, 20, 30])
        assert ztree["arrays"]["dt"].dtype == np.dtype("M8[ns]")  # CF decoding works


def test_plain_xarray_masks_only_with_fill_value(tmp_path: Path) -> None:
    path = str(tmp_path / "f.zarr")
    backend = ZarrBackend(path, "w")
    backend.create_variable(("zeros_f",), np.zeros(3), ("a",), {})
    backend.create_variable(("zeros_i",), np.zeros(3, dtype=np.int32), ("a",), {})
    backend.create_variable(("masked",), np.array([1.0, -9.0]), ("b",), {"_FillValue": -9.0})
    backend.create_variable(
        ("masked_i",), np.array([1, -1], dtype=np.int16), ("b",), {"_FillValue": np.int16(-1)}
    )
    backend.create_variable(("s",), np.array(["a", ""], dtype=object), ("b",), {"_FillValue": ""})
    assert backend.attrs(("masked",))["_FillValue"] == -9.0
    assert backend.attrs(("masked_i",))["_FillValue"].dtype == np.int16
    assert backend.attrs(("s",))["_FillValue"] == ""
    backend.close()
    assert zarr.open_array(path + "/masked", mode="r").fill_value == -9.0
    assert np.isnan(zarr.open_array(path + "/zeros_f", mode="r").fill_value)
    with xr.open_dataset(path, engine="zarr") as ds:
        assert ds["zeros_f"].values.tolist() == [0.0, 0.0, 0.0]  # 0 is data, not missing
        assert ds["zeros_i"].values.tolist() == [0, 0, 0]
        assert ds["zeros_i"].dtype == np.int32
        assert ds["masked"].values[0] == 1.0 and np.isnan(ds["masked"].values[1])
        assert np.isnan(ds["masked_i"].values[1])
        assert ds["s"].values.tolist() == ["a", ""]


def test_strings_are_zarr_variable_length_strings(tmp_path: Path) -> None:
    path = str(tmp_path / "s.zarr")
    backend = ZarrBackend(path, "w")
    scalar = np.empty((), dtype=object)
    scalar[()] = "only one"
    backend.create_variable(("one",), scalar, (), {})
    backend.create_variable(("many",), np.array(["x", "yy", ""], dtype=object), ("n",), {})
    one, many = backend.read(("one",)), backend.read(("many",))
    assert one.dtype == object and one.shape == () and one[()] == "only one"
    assert many.dtype == object and many.tolist() == ["x", "yy", ""]
    assert backend.read(("many",), (slice(1, 2),)).tolist() == ["yy"]
    assert backend.info(("many",)).dtype == np.dtype(object)
    backend.write(("many",), np.array(["z"], dtype=object), (slice(0, 1),))
    backend.close()
    meta = strict_json(Path(path, "many", "zarr.json").read_text())
    assert meta["data_type"] == "string"
    with xr.open_dataset(path, engine="zarr") as ds:
        assert ds["many"].values.tolist() == ["z", "yy", ""]
        assert ds["one"].values[()] == "only one"


def test_empty_arrays(tmp_path: Path) -> None:
    path = str(tmp_path / "e.zarr")
    data = {
        "e1": np.zeros(0),
        "e2": np.zeros((3, 0), dtype=np.int16),
        "es": np.array([], dtype="U"),
    }
    xstore.save(data, path, mode="zarr")
    assert_same(data, xstore.load(path))
    with xr.open_datatree(path, engine="zarr") as tree:
        assert tree["e2"].shape == (3, 0)


@pytest.mark.parametrize("compression", ["zstd", "gzip", "blosc"])
def test_compression(tmp_path: Path, compression: str) -> None:
    path = str(tmp_path / "c.zarr")
    data = {"x": np.arange(1000.0), "s": np.array(["a"] * 50)}
    xstore.save(data, path, mode="zarr", compression=compression, compression_level=3)
    assert_same(data, xstore.load(path))
    codecs = [c["name"] for c in strict_json(Path(path, "x", "zarr.json").read_text())["codecs"]]
    assert codecs[-2:] == [compression, "crc32c"]  # the checksum covers what is stored
    xstore.save(data, path, mode="zarr")
    codecs = [c["name"] for c in strict_json(Path(path, "x", "zarr.json").read_text())["codecs"]]
    assert codecs == ["bytes", "crc32c"]  # no compression by default, a checksum
    xstore.save(data, path, mode="zarr", checksum=False)
    codecs = [c["name"] for c in strict_json(Path(path, "x", "zarr.json").read_text())["codecs"]]
    assert codecs == ["bytes"]
    with pytest.raises(ValueError, match="compression"):
        xstore.save(data, str(tmp_path / "bad.zarr"), mode="zarr", compression="lzma")


# -- names -------------------------------------------------------------------------------------


def test_keys_that_need_escaping(tmp_path: Path) -> None:
    path = str(tmp_path / "n.zarr")
    data = {"__init__": 1, " x": 2, "a b": {"__c__": [1]}, "zarr.json": {"zarr.json": 3}}
    xstore.save(data, path, mode="zarr")
    assert_same(data, xstore.load(path))
    names = {name for _, dirs, _ in os.walk(path) for name in dirs}
    assert not any(name.startswith("__") for name in names)  # reserved by zarr v3
    with xr.open_datatree(path, engine="zarr") as tree:
        assert len(tree.children) + len(tree.data_vars) == 4


def test_keys_escaping_the_store_are_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "k.zarr")
    with xstore.open(path, "w") as store:
        for key in ["..", "a/../../b", "\uff0e\uff0e"]:  # the last folds to '..' under NFKC
            with pytest.raises(ValueError):
                store[key] = 1
    assert not os.path.exists(tmp_path / "b")
    assert sorted(os.listdir(path)) == ["zarr.json"]


# -- deletion, consolidation -------------------------------------------------------------------


def test_delete_removes_the_data(tmp_path: Path) -> None:
    path = str(tmp_path / "d.zarr")
    with xstore.open(path, "w") as store:
        store["big"] = np.random.default_rng(0).random((300, 300))
        store["g"] = {"a": np.arange(10), "b": "x"}
        store["keep"] = 1
    big_dir = tmp_path / "d.zarr" / "big"
    assert sum(f.stat().st_size for f in big_dir.rglob("*") if f.is_file()) > 300 * 300 * 8
    with xstore.open(path, "a") as store:
        del store["big"]
        del store["g"]
        store["keep"] = np.zeros(4)  # replaced by another kind of value
    assert sorted(os.listdir(path)) == ["keep", "zarr.json"]
    assert xstore.load(path)["keep"].tolist() == [0.0] * 4


def consolidated_paths(path: str) -> dict[str, Any] | None:
    meta = strict_json(Path(path, "zarr.json").read_text()).get("consolidated_metadata")
    return None if meta is None else meta["metadata"]


def real_paths(path: str) -> dict[str, Any]:
    out = {}
    for root, _, files in os.walk(path):
        rel = os.path.relpath(root, path)
        if "zarr.json" in files and rel != ".":
            out[rel.replace(os.sep, "/")] = strict_json(Path(root, "zarr.json").read_text())
    return out


def assert_consolidated_correct(path: str) -> None:
    consolidated = consolidated_paths(path)
    assert consolidated is not None
    real = real_paths(path)
    assert set(consolidated) == set(real)
    for key, meta in real.items():
        assert consolidated[key].get("shape") == meta.get("shape"), key
        assert consolidated[key]["attributes"] == meta["attributes"], key


def assert_absent_or_correct(path: str) -> None:
    if consolidated_paths(path) is not None:
        assert_consolidated_correct(path)


def test_consolidated_metadata_is_never_stale(tmp_path: Path) -> None:
    path = str(tmp_path / "c.zarr")
    store = xstore.open(path, "w")
    store["a"] = np.arange(3)
    assert_absent_or_correct(path)
    store.flush()
    assert_consolidated_correct(path)
    store["b"] = {"c": 1.5}  # a change after the flush: the root must not advertise old news
    assert_absent_or_correct(path)
    del store["a"]
    store.attrs["note"] = "x"
    assert_absent_or_correct(path)
    store.close()
    assert_consolidated_correct(path)
    with xr.open_datatree(path, engine="zarr", consolidated=True) as tree:
        assert set(tree.children) == {"b"}
    with xstore.open(path, "a") as store:
        store["b/d"] = np.ones(2)
        assert_absent_or_correct(path)
    assert_consolidated_correct(path)
    assert "b/d" in consolidated_paths(path)  # type: ignore[operator]


def test_a_committed_node_deleted_by_another_tool_is_damage(tmp_path: Path) -> None:
    """xstore never answers from consolidated metadata: a node that the commit record
    lists but whose own metadata is gone is reported as damage, naming the node."""
    path = str(tmp_path / "s.zarr")
    xstore.save({"a": 1, "b": 2}, path, mode="zarr")
    group = zarr.open_group(path, mode="r+", use_consolidated=False)
    del group["b"]  # another tool deletes a node and leaves the consolidated metadata stale
    assert "b" in consolidated_paths(path)  # type: ignore[operator]
    with pytest.raises(xstore.StoreError, match="/b"):
        xstore.load(path)
    assert any("/b" in problem for problem in check(path))


def test_read_only_mode_refuses_writes_and_changes_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "r.zarr")
    xstore.save({"a": np.arange(3), "g": {"b": 1}}, path, mode="zarr")
    before = tree_digest(path)
    with xstore.open(path, "r") as store:
        with pytest.raises(PermissionError):
            store["c"] = 1
        with pytest.raises(PermissionError):
            del store["a"]
        with pytest.raises(PermissionError):
            store.attrs["x"] = 1
        assert store["g"] == {"b": 1}
        store.flush()
    assert tree_digest(path) == before
    backend = ZarrBackend(path, "r")
    with pytest.raises(PermissionError):
        backend.set_attrs((), {"x": "y"})
    backend.close()
    assert tree_digest(path) == before


# -- errors and atomic saves ----------------------------------------------------------------------


def test_corrupt_metadata_gives_store_error(tmp_path: Path) -> None:
    path = str(tmp_path / "bad.zarr")
    xstore.save({"a": 1, "g": {"b": 2}}, path, mode="zarr")
    Path(path, "g", "zarr.json").write_text("{not json")
    with pytest.raises(StoreError, match=r"bad\.zarr"):
        xstore.load(path)
    Path(path, "zarr.json").write_text('{"zarr_format": 3, "node_type": ')
    for mode in ("r", "r+", "a"):
        with pytest.raises(StoreError, match=r"bad\.zarr"):
            xstore.open(path, mode)


def test_not_a_zarr_store(tmp_path: Path) -> None:
    folder = tmp_path / "plain.zarr"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    for mode in ("r", "a", "w"):
        with pytest.raises(StoreError, match=r"plain\.zarr"):
            xstore.open(str(folder), mode)
    assert os.listdir(folder) == ["notes.txt"]  # mode 'w' did not wipe a foreign folder
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK but not a zip")
    with pytest.raises(StoreError, match=r"junk\.zip"):
        xstore.load(str(junk))


def test_missing_and_existing_stores(location: str) -> None:
    assert not store_exists(location)
    with pytest.raises(FileNotFoundError):
        xstore.open(location, "r")
    with pytest.raises(FileNotFoundError):
        xstore.open(location, "r+")
    xstore.save({"a": 1}, location, mode="zarr")
    assert store_exists(location)
    with pytest.raises(FileExistsError):
        xstore.open(location, "w-")
    with xstore.open(location, "w") as store:  # truncates
        assert list(store) == []


def test_empty_directory_is_not_a_store(tmp_path: Path) -> None:
    folder = tmp_path / "empty.zarr"
    folder.mkdir()
    assert not store_exists(str(folder))
    with xstore.open(str(folder), "a") as store:
        store["x"] = 1
    assert xstore.load(str(folder)) == {"x": 1}


class Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle this on purpose")


@pytest.mark.parametrize("kind", ["dir", "zip"])
def test_failing_save_leaves_the_target_untouched(tmp_path: Path, kind: str) -> None:
    path = str(tmp_path / ("t.zarr" if kind == "dir" else "t.zip"))
    xstore.save({"old": np.arange(5)}, path, mode="zarr")
    before = tree_digest(path)
    with pytest.raises(TypeError):
        xstore.save({"new": np.ones(3), "bad": Unpicklable()}, path, mode="zarr")
    assert tree_digest(path) == before
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(path)]  # no temporary leftovers
    assert xstore.load(path)["old"].tolist() == list(range(5))


def test_save_replaces_an_existing_store(tmp_path: Path) -> None:
    for name in ("t.zarr", "t.zip"):
        path = str(tmp_path / name)
        xstore.save({"old": 1, "gone": 2}, path, mode="zarr")
        xstore.save({"new": 3}, path, mode="zarr")
        assert xstore.load(path) == {"new": 3}
    assert sorted(os.listdir(tmp_path)) == ["t.zarr", "t.zip"]


def test_zip_is_rewritten_whole_on_flush(tmp_path: Path) -> None:
    path = str(tmp_path / "z.zip")
    xstore.save({"a": 1, "b": np.arange(4)}, path, mode="zarr")
    with xstore.open(path, "a") as store:
        store["c"] = "new"
        del store["a"]
        store.flush()
        with zarr.storage.ZipStore(path, mode="r") as plain:
            assert set(zarr.open_group(plain, mode="r").keys()) == {"b", "c"}
    loaded = xstore.load(path)
    assert list(loaded) == ["b", "c"] and loaded["c"] == "new"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert len(names) == len(set(names))  # no duplicate members
    assert not any(name.startswith("a/") for name in names)
    assert sorted(os.listdir(tmp_path)) == ["z.zip"]  # staging directory removed


def test_url_store_is_written_directly(memory_url: str) -> None:
    xstore.save({"a": np.arange(3), "g": {"b": "x"}}, memory_url, mode="zarr")
    fs = fsspec.filesystem("memory")
    root = memory_url[len("memory://") :]
    assert fs.exists(f"{root}/zarr.json") and fs.exists(f"{root}/g/b/zarr.json")
    group = zarr.open_group(memory_url, mode="r")
    assert set(group.keys()) == {"a", "g"}
    with xstore.open(memory_url, "a") as store:
        del store["g"]
    assert not fs.exists(f"{root}/g")
    assert list(xstore.load(memory_url)) == ["a"]


# -- growable arrays ---------------------------------------------------------------------------


def test_growable_arrays(tmp_path: Path) -> None:
    path = str(tmp_path / "g.zarr")
    backend = ZarrBackend(path, "w")
    chunks = record_chunks((3,), 8)  # the core's policy: about 1 MiB of records per chunk
    backend.create_variable(
        ("e",), np.zeros((0, 3)), ("rec", "x"), {}, unlimited=True, chunks=chunks
    )
    backend.create_variable(("fixed",), np.zeros(2), ("y",), {})
    info = backend.info(("e",))
    assert info.unlimited and info.shape == (0, 3) and info.dims == ("rec", "x")
    assert not backend.info(("fixed",)).unlimited
    assert zarr.open_array(path + "/e", mode="r").chunks == chunks
    for start in range(0, 10, 2):
        backend.write_records(("e",), start, np.full((2, 3), float(start)))
    assert backend.info(("e",)).shape == (10, 3)
    assert backend.dims(()) == {"rec": 10, "x": 3, "y": 2}
    assert backend.read(("e",))[:, 0].tolist() == [0.0, 0.0, 2.0, 2.0, 4.0, 4.0, 6, 6, 8, 8]
    assert [name for name, _ in backend.children(())] and backend.info(("e",)).shape == (10, 3)
    # the data is on disk, the shape that exposes it only after the flush
    assert zarr.open_array(path + "/e", mode="r").shape == (0, 3)
    backend.flush()
    assert zarr.open_array(path + "/e", mode="r").shape == (10, 3)
    backend.close()
    reopened = ZarrBackend(path, "r+")
    assert reopened.info(("e",)).unlimited
    reopened.write_records(("e",), 10, np.ones((1, 3)))
    assert reopened.info(("e",)).shape == (11, 3)
    reopened.close()
    with xr.open_dataset(path, engine="zarr") as ds:
        assert ds["e"].shape == (11, 3)


def test_dimension_sizes_are_checked(tmp_path: Path) -> None:
    backend = ZarrBackend(str(tmp_path / "d.zarr"), "w")
    backend.create_variable(("a",), np.zeros(3), ("x",), {})
    with pytest.raises(ValueError, match="'x'"):
        backend.create_variable(("b",), np.zeros(4), ("x",), {})
    backend.create_variable(("r",), np.zeros(2), ("rec",), {}, unlimited=True)
    backend.create_variable(("s",), np.zeros(5), ("rec",), {}, unlimited=True)  # shared, grows
    assert backend.dims(()) == {"x": 3, "rec": 5}
    backend.close()


WRITER = """
import os, signal, sys
import numpy as np
from xstore.backends.zarr.backend import ZarrBackend

backend = ZarrBackend(sys.argv[1], "w")
backend.create_group(("g",))
for name in ("v", "w"):  # two series sharing the record dimension "rec"
    backend.create_variable(("g", name), np.zeros((0, 4)), ("rec", "x"), {}, unlimited=True)
for i in range(200):
    backend.write_records(("g", "v"), i, np.full((1, 4), float(i)))
    if i == 150:  # killed between the two series of one frame
        os.kill(os.getpid(), signal.SIGKILL)
    backend.write_records(("g", "w"), i, np.full((1, 4), float(i)))
    backend.set_attrs(("g",), {"count": np.int64(i)})
    if i == 100:
        backend.flush()
        print("flushed", flush=True)
"""


def test_killed_writer_leaves_a_readable_store(tmp_path: Path) -> None:
    path = str(tmp_path / "k.zarr")
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(WRITER))
    result = subprocess.run(
        [sys.executable, str(script), path], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert "flushed" in result.stdout
    for key, meta in real_paths(path).items():
        assert meta["zarr_format"] == 3, key
    strict_json(Path(path, "zarr.json").read_text())
    assert_absent_or_correct(path)  # changed after the flush: no stale consolidated tree
    with xr.open_datatree(path, engine="zarr", consolidated=False) as tree:
        group = tree["g"].to_dataset()  # fails if "rec" had two sizes
    assert group.sizes["rec"] == 101  # exactly what the flush made durable
    for name in ("v", "w"):
        assert group[name].values[:, 0].tolist() == [float(i) for i in range(101)]
    with xstore.open(path, "r") as store:
        assert store.session.layout.info(("g", "v")).shape == (101, 4)


def test_concurrent_reader_during_writes(tmp_path: Path) -> None:
    """A plain reader polling while xstore writes never fails to open the store."""
    path = str(tmp_path / "c.zarr")
    xstore.save({"start": 0}, path, mode="zarr")
    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        while not stop.is_set():
            try:
                with xstore.open(path, "r") as store:
                    list(store)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        with xstore.open(path, "a") as store:
            for i in range(30):
                store[f"k{i}"] = np.arange(i)
                if i % 10 == 0:
                    store.flush()
    finally:
        stop.set()
        reader.join()
    assert not errors, errors
    assert len(xstore.load(path)) == 31


def test_a_torn_commit_is_read_and_repaired_at_the_committed_lengths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A writer killed after the commit record (consolidated metadata) but among the
    per-array shape writes: readers see the committed lengths, reopening repairs."""
    path = str(tmp_path / "torn.zarr")
    with xstore.open(path, "w") as store:
        for i in range(15):
            store.append("t/x", float(i), record_dim="frame")
            store.append("t/y", np.full(3, i), record_dim="frame")
    meta = tmp_path / "torn.zarr" / "t" / "x" / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["shape"] = [10]  # as if the kill landed before this array's shape was written
    meta.write_text(json.dumps(doc))
    with xstore.open(path, "r") as store:
        assert len(store["t/x"]) == len(store["t/y"]) == 15
    with xr.open_datatree(path, engine="zarr") as tree:
        assert tree["t"].sizes["frame"] == 15
    with xstore.open(path, "a") as store:
        assert json.loads(meta.read_text())["shape"] == [15]  # repaired before any change
        store.append("t/x", 15.0, record_dim="frame")
        store.append("t/y", np.full(3, 15), record_dim="frame")
    with xstore.open(path, "r") as store:
        np.testing.assert_array_equal(store["t/x"], np.arange(16.0))


def test_a_new_group_never_lands_without_its_attributes(tmp_path: Path) -> None:
    """Its generation is among them: a writer killed right after creating a group must
    not leave a group that readers take for committed (one zarr.json, written once)."""
    path = tmp_path / "g.zarr"
    backend = ZarrBackend(str(path), "w")
    backend.create_group(("g",), {"_xs_seq": np.array([0, 1])})
    doc = json.loads((path / "g" / "zarr.json").read_bytes())  # before any flush
    assert "_xs_seq" in doc["attributes"]
    backend.close()
