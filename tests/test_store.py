"""The dict-like store (SPEC §3), checked on every backend and engine."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Any

import numpy as np
import pytest
import xarray as xr
from conftest import Case, backend_of
from helpers import assert_identical

import xstore

VALUES = {
    "scalar": 1.5,
    "int": 7,
    "text": "hello",
    "array": np.arange(6.0).reshape(2, 3),
    "dict": {"T": 300.0, "steps": 10},
    "list": [1, "a", None],
    "complex": np.array([1 + 2j, 3 - 4j]),
    "bytes": b"\x00raw",
    "none": None,
    "pickled": {1: "non-str key"},
}


def _warns_if_pickled(value: object) -> Any:
    """``pytest.warns`` for the values of these tables that are pickled."""
    pickled = isinstance(value, dict) and not all(isinstance(k, str) for k in value)
    return pytest.warns(xstore.PickleFallbackWarning) if pickled else contextlib.nullcontext()


def test_set_get_every_kind(case: Case) -> None:
    path = case.path()
    with case.open(path, "w", allow_pickle=True) as store:
        for key, value in VALUES.items():
            with _warns_if_pickled(value):
                store[key] = value
        for key, value in VALUES.items():
            assert_identical(value, store[key], key)
    with case.open(path, "r", allow_pickle=True) as store:
        assert list(store) == list(VALUES)
        for key, value in VALUES.items():
            assert_identical(value, store[key], key)


def test_mapping_protocol(case: Case) -> None:
    with case.open(case.path(), "w") as store:
        store["a"] = 1
        store["b/c"] = 2
        assert len(store) == 2
        assert "a" in store and "b/c" in store and "b" in store
        assert "missing" not in store and "b/missing" not in store and 3 not in store
        assert "" not in store and ".." not in store
        assert list(store.keys()) == ["a", "b"]
        items = dict(store.items())
        assert items["a"] == 1 and isinstance(items["b"], xstore.Group)
        assert store.get("missing", "default") == "default"
        with pytest.raises(KeyError):
            store["missing"]
        with pytest.raises(KeyError):
            store["a/below"]
        with pytest.raises(KeyError):
            del store["missing"]
        assert store.pop("a") == 1 and "a" not in store
        store.update({"x": 1, "y": 2})
        assert store.setdefault("x", 5) == 1


def test_groups_by_path_and_create_group(case: Case) -> None:
    with case.open(case.path(), "w") as store:
        traj = store.create_group("traj")
        assert isinstance(traj, xstore.Group)
        assert (traj.name, traj.path) == ("traj", "/traj")
        assert (store.name, store.path) == ("", "/")
        traj["x0"] = np.zeros((4, 3))
        assert_identical(np.zeros((4, 3)), store["traj/x0"])
        assert store.create_group("traj")["x0"].shape == (4, 3)  # existing group returned
        deep = store.create_group("a/b/c")
        assert deep.path == "/a/b/c" and isinstance(store["a/b"], xstore.Group)
        store["implied/by/path"] = 1
        assert isinstance(store["implied"], xstore.Group)
        assert store["implied"]["by"]["path"] == 1
        store["value"] = 3
        with pytest.raises(TypeError):
            store.create_group("value")
        store["params"] = {"T": 1.0}
        with pytest.raises(TypeError):
            store.create_group("params")
        with pytest.raises(TypeError):
            store["value/below"] = 1
        assert store["value"] == 3


def test_stored_dict_is_a_snapshot_changed_by_path(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store["params"] = {"T": 300.0, "steps": 1000}
        snapshot = store["params"]
        snapshot["T"] = 0.0  # changes the copy only
        assert store["params"]["T"] == 300.0
        store["params/T"] = 310.0
        store["params/new"] = {"x": 1}
        assert store["params/new/x"] == 1
    with case.open(path, "r") as store:
        assert_identical({"T": 310.0, "steps": 1000, "new": {"x": 1}}, store["params"])


def test_modes(case: Case) -> None:
    path = case.path()
    with pytest.raises(FileNotFoundError):
        case.open(path, "r")
    with pytest.raises(FileNotFoundError):
        case.open(path, "r+")
    with case.open(path, "a") as store:  # created
        store["x"] = 1
    with case.open(path, "a") as store:  # opened
        assert store["x"] == 1
        store["y"] = 2
    with case.open(path, "r+") as store:
        assert list(store) == ["x", "y"]
    with pytest.raises(FileExistsError):
        case.open(path, "w-")
    with case.open(path, "w") as store:  # truncated
        assert len(store) == 0
    with pytest.raises(ValueError, match="mode"):
        case.open(path, "x")


def test_read_only_changes_nothing(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store["x"] = np.arange(3)
        store.attrs["a"] = 1
        store.create_group("g")
    before = xstore.load(path)
    with case.open(path, "r") as store:
        with pytest.raises(PermissionError):
            store["x"] = 5
        with pytest.raises(PermissionError):
            store["new"] = 5
        with pytest.raises(PermissionError):
            del store["x"]
        with pytest.raises(PermissionError):
            store.attrs["a"] = 2
        with pytest.raises(PermissionError):
            del store.attrs["a"]
        with pytest.raises(PermissionError):
            store.create_group("h")
        with pytest.raises(PermissionError):
            store["g/y"] = 1
    assert_identical(before, xstore.load(path))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        ".",
        "..",
        "a//b",
        "/abs",
        "a/",
        "a/../b",
        "a/./b",
        "\u2024\u2024",
        "\uff0e\uff0e",
        "a\uff0fb",
    ],
)
def test_bad_keys_are_value_errors(case: Case, bad: str) -> None:
    with case.open(case.path(), "w") as store:
        with pytest.raises(ValueError):
            store[bad] = 1
        with pytest.raises(ValueError):
            store.create_group(bad)
        assert len(store) == 0


def test_non_str_keys_are_type_errors(case: Case) -> None:
    with case.open(case.path(), "w") as store, pytest.raises(TypeError):
        store[1] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    "key",
    [
        "__init__",
        " lead",
        "trail ",
        "a b",
        "é",
        "e\u0301",
        "-x",
        "_xs_seq",
        "_x_y",
        "tab\there",
        "%41",
        "1st",
    ],
)
def test_keys_any_backend_rejects_are_escaped(case: Case, key: str) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store[key] = 1
        store.create_group("g")[key] = 2
        store.attrs[key] = 3
    with case.open(path, "r") as store:
        assert list(store) == [key, "g"]
        assert store[key] == 1 and store["g"][key] == 2 and store.attrs[key] == 3


REPLACEMENTS = [
    np.arange(5.0),
    np.arange(5.0) * 2,  # same shape and dtype: written in place
    np.zeros((2, 2), dtype=np.int16),
    {"now": "a dict"},
    [1, "mixed", None],
    "a string",
    None,
    b"bytes",
    np.array(["a", "bb"]),
    {1: "pickled"},
    3.0,
]


def test_overwrite_and_delete_every_kind(case: Case) -> None:
    path = case.path()
    with case.open(path, "w", allow_pickle=True) as store:
        store["first"] = 0
        store["last"] = 0
        for value in REPLACEMENTS:
            with _warns_if_pickled(value):
                store["key"] = value
            assert_identical(value, store["key"])
            assert list(store) == ["first", "last", "key"]
        with pytest.raises(TypeError):
            store.create_group("key")  # create_group never replaces a value
    with case.open(path, "a", allow_pickle=True) as store:
        assert_identical(3.0, store["key"])
        for value in REPLACEMENTS[::-1]:
            with _warns_if_pickled(value):
                store["first"] = value
            assert list(store) == ["first", "last", "key"]  # position kept
        del store["first"]
        del store["key"]
        assert list(store) == ["last"]
        group = store.create_group("g")
        group["x"] = np.ones(3)
        store["g"] = 5  # a group replaced by a value
        assert store["g"] == 5
        store["g"] = {"again": "a dict"}
        del store["g"]
    with case.open(path, "r") as store:
        assert list(store) == ["last"]


def test_failed_write_leaves_nothing_behind(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store["keep"] = 1
        with pytest.raises(TypeError):
            store["a/b/c"] = (x for x in range(3))  # generators cannot be stored
        assert list(store) == ["keep"]
        with pytest.raises(ValueError):
            store["a/" + "x" * 300] = 1
        assert list(store) == ["keep"]


def test_writes_do_not_relist_a_growing_group(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    with case.open(case.path(), "w") as store:
        backend = backend_of(store)
        original = backend.children
        monkeypatch.setattr(backend, "children", lambda g: calls.append(g) or original(g))
        group = store.create_group("g")
        for i in range(200):
            group[f"k{i}"] = i
        assert len(group) == 200
        assert len(calls) <= 2


def test_attrs(case: Case) -> None:
    path = case.path()
    values = {
        "units": "nm",
        "count": 3,
        "scale": 0.5,
        "flag": True,
        "nothing": None,
        "mapping": {"a": [1, 2]},
        "one": [1.0],
        "f32": np.float32(2.5),
        "vec": np.array([1, 2, 3], dtype=np.int16),
        "bytes": b"\x00\x01",
        "nul": "a\x00b",
        "tuple": (1, "x"),
    }
    with case.open(path, "w") as store:
        group = store.create_group("g")
        for key, value in values.items():
            group.attrs[key] = value
        group.attrs["count"] = 4  # overwrite with the same type
        group.attrs["scale"] = "now text"  # and with another type
        del group.attrs["nothing"]
        with pytest.raises(KeyError):
            del group.attrs["nothing"]
    expected = {**values, "count": 4, "scale": "now text"}
    del expected["nothing"]
    with case.open(path, "r") as store:
        attrs = dict(store["g"].attrs)
        assert next(iter(attrs)) == "units"  # creation order (h5py moves an overwritten one last)
        assert_identical(dict(sorted(expected.items())), dict(sorted(attrs.items())))
        assert "_xs_seq" not in store["g"].attrs
        with pytest.raises(KeyError):
            store["g"].attrs["_xs_seq"]


def test_to_dataset_and_datatree(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store["x"] = np.arange(4.0)
        store["z"] = np.array([1 + 1j, 2 - 2j])
        store["s"] = "text"
        store["params"] = {"T": 300.0}
        store.attrs["title"] = "run"
        group = store.create_group("traj")
        group["pos"] = np.ones((5, 3), dtype=np.float32)
        ds = store.to_dataset()
        assert set(ds.data_vars) == {"x", "z", "s"}
        assert ds.attrs == {"title": "run"}
        assert ds["z"].dtype == np.complex128 and ds["z"].values[1] == 2 - 2j
        assert isinstance(ds["x"].variable._data, xr.core.indexing.LazilyIndexedArray)
        np.testing.assert_array_equal(ds["x"][1:3].values, [1.0, 2.0])
        tree = store.to_datatree()
        lazy = store.to_dataset()
        assert set(tree.children) == {"params", "traj"}
        assert tree["traj/pos"].shape == (5, 3)
        assert "_xs_seq" not in tree["traj/pos"].attrs
        tree.load()
    with pytest.raises(ValueError, match="closed"):
        lazy["x"].load()
    plain = case.open_plain(path)
    try:
        assert set(plain.children) == set(tree.children)
        assert plain["traj/pos"].dims == tree["traj/pos"].dims
        np.testing.assert_array_equal(plain["x"].values, tree["x"].values)
    finally:
        plain.close()


def test_group_value_copies_a_subtree(case: Case) -> None:
    with case.open(case.path(), "w") as store:
        store["a/x"] = np.arange(3)
        store["a"].attrs["u"] = "m"
        store["b"] = store["a"]
        assert isinstance(store["b"], xstore.Group)
        assert_identical(np.arange(3), store["b/x"])
        assert store["b"].attrs["u"] == "m"


def test_closed_store_refuses_use(case: Case) -> None:
    store = case.open(case.path(), "w")
    store["x"] = 1
    store.close()
    store.close()  # twice is fine
    assert store.closed
    with pytest.raises(ValueError, match="closed"):
        store["x"]


def test_flush_makes_data_visible_to_other_readers(case: Case) -> None:
    path = case.path()
    store = case.open(path, "w")
    try:
        store["x"] = np.arange(3)
        store.flush()
        assert os.path.exists(path)
    finally:
        store.close()
    assert_identical({"x": np.arange(3)}, xstore.load(path))


@dataclasses.dataclass
class Point:
    x: float
    y: float
    tags: list = dataclasses.field(default_factory=list)


class Particle:
    """A Storable: stores its arrays itself."""

    __version__ = "2.1"

    def __init__(self, pos: np.ndarray, mass: float) -> None:
        self.pos, self.mass = pos, mass

    def _store(self, group: xstore.Group) -> None:
        group["pos"] = self.pos
        group.attrs["mass"] = self.mass

    @classmethod
    def _restore(cls, group: xstore.Group, version: object) -> Particle:
        assert version == "2.1"
        return cls(group["pos"], group.attrs["mass"])


def test_objects_in_a_store(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store["p"] = Point(1.0, 2.0, ["a"])
        store["particles"] = [Particle(np.ones(3), 2.0), Particle(np.zeros(3), 1.0)]
    with case.open(path, "r") as store:
        assert store["p"] == Point(1.0, 2.0, ["a"])
        particles = store["particles"]
        assert [type(p) for p in particles] == [Particle, Particle]
        assert_identical(np.zeros(3), particles[1].pos)
        assert particles[0].mass == 2.0
