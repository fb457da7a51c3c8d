"""The attribute-access face (SPEC §5): StorageInterface over NetCDFIODriver and ZarrIODriver.

Every test runs on both drivers.  Files written here must be ordinary stores
(xstore.open, xstore.load, plain xarray) and the other way round.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from conftest import Case, backend_of
from helpers import assert_identical

import xstore
from xstore import NetCDFIODriver, StorageInterface
from xstore.codecs.defaults import REGISTRY, unregister_codec
from xstore.faces.interface.api_names import RESERVED


def snapshot(store: xstore.Group) -> dict[str, Any]:
    """Everything in a store (groups as nested dicts, plus their attributes)."""
    out: dict[str, Any] = {"@attrs": dict(store.attrs)}
    for key in store:
        value = store[key]
        out[key] = snapshot(value) if isinstance(value, xstore.Group) else value
        out[f"@{key}"] = dict(store.attrs_of(key))
    return out


def plain_tree(case: Case, path: str, engine: str) -> xr.DataTree:
    tree = case.open_plain(path, engine)
    return tree.load()


# -- the example of SPEC §5 ------------------------------------------------------------------


def test_spec_example(case: Case) -> None:
    path = case.path()
    driver = case.driver(path, access_mode=None)
    assert driver.access_mode == "w"  # None: the file did not exist
    si = StorageInterface(driver)
    si.my_arr.write(np.eye(3))
    si.IAmADir.AnInt.append(756)
    si.IAmADir.AnInt.append(757)
    assert_identical(np.array([756, 757]), si.IAmADir.AnInt.read())
    si.IAmADir.AnInt.write(1, at_index=0)
    assert_identical(np.array([1, 757]), si.IAmADir.AnInt.read())
    si.add_metadata("name", "value")
    si.IAmADir.add_metadata("kind", "directory")
    si.my_arr.add_metadata("units", "nm")
    driver.sync()
    driver.close()
    assert driver.closed
    with case.interface(path) as again:
        assert again.storage_driver.access_mode == "a"  # None: the file exists now
        assert_identical(np.eye(3), again.my_arr.read())
        assert_identical(np.array([1, 757]), again.IAmADir.AnInt.read())
        assert again.metadata == {"name": "value"}
        assert again.IAmADir.metadata == {"kind": "directory"}
        assert again.my_arr.metadata == {"units": "nm"}


# -- drivers ----------------------------------------------------------------------------------


def test_driver_modes(case: Case) -> None:
    path = case.path()
    with pytest.raises(FileNotFoundError):
        case.driver(path, "r")
    with pytest.raises(ValueError, match="access_mode"):
        case.driver(path, "x")
    with case.driver(os.fspath(Path(path)), "w") as driver:
        assert (driver.file_name, driver.access_mode) == (path, "w")
        si = StorageInterface(driver)
        assert si.storage_driver is driver and si.file_name == path
        si.x.write(1)
        si.s.append(1.0)
    with case.driver(path, "a") as driver:
        si = StorageInterface(driver)
        assert si.x.read() == 1
        si.s.append(2.0)
    with case.driver(path, "r") as driver:
        si = StorageInterface(driver)
        assert_identical(np.array([1.0, 2.0]), si.s.read())
        for action in (
            lambda: si.x.write(2),
            lambda: si.s.append(3.0),
            lambda: si.s.write(3.0, at_index=0),
            lambda: si.add_metadata("a", 1),
            lambda: si.x.add_metadata("a", 1),
            lambda: si.not_yet.add_metadata("a", 1),
        ):
            with pytest.raises(PermissionError):
                action()
        assert si.x.read() == 1
    with case.driver(path, "w") as driver:  # 'w' truncates
        si = StorageInterface(driver)
        with pytest.raises(KeyError):
            si.x.read()
    with pytest.raises(TypeError, match="NetCDFIODriver or ZarrIODriver"):
        StorageInterface(path)  # type: ignore[arg-type]


def test_closed_driver_refuses_use(case: Case) -> None:
    si = case.interface(case.path())
    si.x.write(1)
    si.close()
    si.close()  # twice is fine
    assert "write" in dir(si)  # tab completion still works
    assert si.storage_driver.closed
    with pytest.raises(ValueError, match="closed"):
        si.x.read()
    with pytest.raises(ValueError, match="closed"):
        si.y.append(1)


def test_driver_options_reach_open(tmp_path: Path) -> None:
    path = str(tmp_path / "h5.nc")
    with StorageInterface(NetCDFIODriver(path, engine="h5netcdf", buffer_records=2)) as si:
        for i in range(5):
            si.x.append(i)
        si.s.write("text")
    with StorageInterface(NetCDFIODriver(path, "r", engine="netcdf4")) as si:
        assert_identical(np.arange(5), si.x.read())
        assert si.s.read() == "text"


# -- static variables ---------------------------------------------------------------------------

STATIC_VALUES: list[Any] = [
    np.float32(1.5),
    np.int16(-3),
    np.bool_(True),
    np.complex64(1 - 2j),
    True,
    None,
    b"raw\x00bytes",
    1 + 2j,
    "text",
    7,
    2.5,
    [1, 2, 3],
    ("a", 1, None),
    {"T": 300.0, "steps": 1000, "nested": {"ok": True}},
    np.arange(6, dtype=np.uint8).reshape(2, 3),
    np.array([1 + 1j, 2 - 2j]),
    np.array(["a", "bcd"]),
    np.zeros((0, 3)),
]


def test_write_and_read_every_kind_of_value(case: Case) -> None:
    path = case.path()
    with case.interface(path) as si:
        for i, value in enumerate(STATIC_VALUES):
            si.values[f"v{i}"].write(value)
        for i, value in enumerate(STATIC_VALUES):  # read back in the same session
            assert_identical(value, si.values[f"v{i}"].read(), f"v{i}")
    with case.interface(path, "r") as si:
        for i, value in enumerate(STATIC_VALUES):
            assert_identical(value, si.values[f"v{i}"].read(), f"v{i}")
    loaded = xstore.load(path)
    for i, value in enumerate(STATIC_VALUES):
        assert_identical(value, loaded["values"][f"v{i}"], f"v{i}")


def test_write_overwrites_with_any_size_and_type(case: Case) -> None:
    path = case.path()
    with case.interface(path) as si:
        si.x.write(np.zeros(3))
        si.x.add_metadata("units", "nm")
        si.x.write(np.ones(3))  # same shape: in place
        si.x.write(np.arange(10))  # new size and dtype
        si.x.write({"now": "a dict"})  # new kind of value
        si.x.write("a string")
        assert si.x.read() == "a string"
        assert si.x.metadata == {"units": "nm"}  # metadata survive a write
    with case.interface(path, "r") as si:
        assert si.x.read() == "a string"
        assert si.x.metadata == {"units": "nm"}


# -- appendable variables -------------------------------------------------------------------------


def test_appended_scalars_read_back_as_one_array(case: Case) -> None:
    path = case.path()
    with case.interface(path) as si:
        for i in range(5):
            si.run.energy.append(-1.5 * i)
            si.run.step.append(i)
            si.run.ok.append(i % 2 == 0)
            si.run.z.append(complex(i, -i))
            si.run.f32.append(np.float32(i))
            si.run.label.append(f"step {i}")
        expected = {
            "energy": -1.5 * np.arange(5.0),
            "step": np.arange(5),
            "ok": np.array([True, False, True, False, True]),
            "z": np.array([complex(i, -i) for i in range(5)]),
            "f32": np.arange(5, dtype=np.float32),
            "label": np.array([f"step {i}" for i in range(5)]),
        }
        for name, value in expected.items():  # buffered records included
            assert_identical(value, si.run[name].read(), name)
    with case.interface(path) as si:  # reopen and continue
        for name in expected:
            assert si.run[name].read().shape == (5,)
        si.run.energy.append(1.0)
        si.run.label.append("more")
        assert_identical(np.append(expected["energy"], 1.0), si.run.energy.read())
    with case.interface(path, "r") as si:
        assert si.run.label.read().tolist()[-1] == "more"
        assert si.run.energy.read().shape == (6,)


def test_appended_lists_read_back_vectorised(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    path = case.path()
    with case.interface(path) as si:
        for i in range(100):
            si.pos.append([float(i), 0.0, -float(i)])
            si.pair.append((i, i + 1))
    with case.interface(path, "r") as si:
        backend = backend_of(si.storage_driver.store)
        reads: list[Any] = []
        original = backend.read

        def counting(node: Any, index: Any = ()) -> np.ndarray:
            reads.append(node)
            return original(node, index)

        monkeypatch.setattr(backend, "read", counting)
        pos = si.pos.read()
        assert len(reads) == 1  # one read for the whole series, not one per record
        assert pos.shape == (100, 3) and pos.dtype == np.float64
        assert_identical(np.array([[i, i + 1] for i in range(100)]), si.pair.read())


def test_write_at_index(case: Case) -> None:
    path = case.path()
    with case.interface(path, buffer_records=1000) as si:
        for i in range(6):
            si.e.append(float(i))
            si.frames.append(np.full((2, 2), i, dtype=np.int32))
            si.names.append(f"n{i}")
        si.storage_driver.sync()  # records 0-5 on disk
        for i in range(6, 9):
            si.e.append(float(i))
            si.frames.append(np.full((2, 2), i, dtype=np.int32))
            si.names.append(f"n{i}")  # records 6-8 buffered
        si.e.write(-1.0, at_index=1)  # on disk
        si.e.write(-2.0, at_index=7)  # buffered
        si.e.write(-3.0, at_index=-1)  # the last one (buffered)
        si.e.write(-4.0, at_index=np.int64(-9))  # the first one, numpy integer
        si.e.write(-5, at_index=np.int32(2))  # an int casts safely into the float series
        si.frames.write(np.ones((2, 2), dtype=np.int32), at_index=0)
        si.frames.write(np.zeros((2, 2), dtype=np.int32), at_index=8)
        si.names.write("a longer name than before", at_index=3)
        si.names.write("b", at_index=-2)
        expected_e = np.array([-4.0, -1.0, -5.0, 3.0, 4.0, 5.0, 6.0, -2.0, -3.0])
        assert_identical(expected_e, si.e.read())
        for bad in (9, -10, 100):
            with pytest.raises(IndexError):
                si.e.write(0.0, at_index=bad)
        with pytest.raises(TypeError):
            si.e.write(0.0, at_index=1.0)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            si.frames.write(np.ones(3, dtype=np.int32), at_index=0)  # wrong shape
        with pytest.raises(TypeError):
            si.frames.write(np.full((2, 2), 0.5), at_index=0)  # float into an int series
        with pytest.raises(KeyError):
            si.never.write(1.0, at_index=0)
        assert "never" not in si.storage_driver.store
        assert_identical(expected_e, si.e.read())
    with case.interface(path, "r") as si:
        assert_identical(expected_e, si.e.read())
        frames = si.frames.read()
        assert_identical(np.ones((2, 2), dtype=np.int32), frames[0])
        assert_identical(np.zeros((2, 2), dtype=np.int32), frames[8])
        assert_identical(np.full((2, 2), 4, dtype=np.int32), frames[4])
        names = si.names.read().tolist()
        assert names[3] == "a longer name than before" and names[7] == "b" and names[8] == "n8"
    with case.interface(path) as si:  # after reopening, records are on disk only
        si.e.write(42.0, at_index=-1)
        si.e.append(9.0)
        si.e.write(43.0, at_index=-1)
        assert_identical(np.append(expected_e[:-1], [42.0, 43.0]), si.e.read())


# -- kinds of nodes and their errors ---------------------------------------------------------------


def test_stored_dicts_are_traversed_as_by_the_store(case: Case) -> None:
    """One rule for every face: keys lead into a stored dict (``store["params/T"]``)."""
    with case.interface(case.path()) as si:
        si.params.write({"T": 300.0, "steps": 10})
        assert si.params.T.read() == 300.0
        si.params.T.write(310.0)
        assert si.params.read() == {"T": 310.0, "steps": 10}
        assert si.storage_driver.store["params/T"] == 310.0


def test_wrong_kind_errors_leave_the_store_unchanged(case: Case) -> None:
    with case.interface(case.path()) as si:
        si.static.write(np.arange(3))
        si.series.append(1.0)
        si.adir.inner.write(1)
        si.params.write({"T": 300.0})
        store = si.storage_driver.store
        before = snapshot(store)
        checks: list[tuple[Any, type[Exception], str | None]] = [
            (lambda: si.series.write(2.0), TypeError, "appendable"),
            (lambda: si.static.append(4), TypeError, "static"),
            (lambda: si.static.write(1, at_index=0), TypeError, "static"),
            (lambda: si.static.child.write(1), TypeError, "/static is a static variable"),
            (lambda: si.static.child.append(1), TypeError, "not a directory"),
            (lambda: si.series.child.read(), TypeError, "/series is an appendable variable"),
            (lambda: si.adir.write(1), TypeError, "directory"),
            (lambda: si.adir.append(1), TypeError, "directory"),
            (lambda: si.adir.read(), TypeError, "directory"),
            (lambda: si.adir.write(1, at_index=0), TypeError, "directory"),
            (lambda: si.write(1), TypeError, "directory"),
            (lambda: si.append(1), TypeError, "directory"),
            (lambda: si.read(), TypeError, "directory"),
            (lambda: si.series.append("text"), TypeError, None),
            (lambda: si.series.append(np.zeros(2)), ValueError, None),
            (lambda: si.series.append({"a": 1}), TypeError, "not dicts"),
            (lambda: si.missing.read(), KeyError, "missing"),
            (lambda: si.adir.missing.read(), KeyError, None),
            (lambda: si.new.append(None), TypeError, "NoneType"),
            (lambda: si.new.append(object()), TypeError, None),
        ]
        for action, error, words in checks:
            with pytest.raises(error, match=words):
                action()
        assert_identical(before, snapshot(store))


def test_reserved_and_private_names(case: Case) -> None:
    with case.interface(case.path()) as si:
        si.d.v.write(1)
        for name in sorted(RESERVED):
            # the API is never swallowed by dynamic attribute access
            for node in (si.d, si.d.v, si.other):
                value = getattr(node, name, None)
                assert not isinstance(value, type(si.d)), name
        assert si.d.path == "/d" and si.d.name == "d"
        assert si.d.v.path == "/d/v" and si.d.v.name == "v"
        assert si.path == "/" and si.name == ""
        with pytest.raises(AttributeError, match="'close' is a method of the StorageInterface"):
            _ = si.d.close  # only the interface itself closes
        with pytest.raises(AttributeError, match="'sync' is a method"):
            si.d.v.sync()
        with pytest.raises(AttributeError, match=r"'read' is a method .* use node\['read'\]"):
            si.read.append(1)  # a variable named like the API
        with pytest.raises(AttributeError, match="'write' is a method"):
            si.d.write.read()
        with pytest.raises(AttributeError, match="'name' is a property"):
            si.name.write(1)
        with pytest.raises(AttributeError, match="'path' is a property"):
            si.d.path.append(1)
        with pytest.raises(AttributeError, match="'file_name' is a property"):
            si.file_name.read()
        with pytest.raises(AttributeError, match=r"Driver has no attribute 'append'$"):
            si.storage_driver.append(1)  # a plain error, naming no node
        for private in ("_hidden", "__len__", "_repr_html_"):
            assert not hasattr(si.d, private)
        with pytest.raises(AttributeError, match="write"):
            si.x = 1  # type: ignore[attr-defined]
        with pytest.raises(AttributeError, match="delete"):
            del si.d
        # node[name] reaches any name, the API's own and private ones included
        si["close"].write("a variable called close")
        si.d["read"].append(1.0)
        si["_private"].write(2)
        si["deep/er"].write(3)
        assert si["close"].read() == "a variable called close"
        assert_identical(np.array([1.0]), si.d["read"].read())
        assert si["_private"].read() == 2 and si.deep.er.read() == 3
        assert si["close"].path == "/close"
        assert {"d", "close", "deep"} <= set(dir(si)) and "write" in dir(si.d)
        with pytest.raises(ValueError):
            si[".."].write(1)
    with case.interface(si.file_name, "r") as again:
        assert again["close"].read() == "a variable called close"


def test_metadata_on_three_levels(case: Case) -> None:
    path = case.path()
    values: dict[str, Any] = {
        "text": "hello",
        "count": 3,
        "ratio": 0.5,
        "flag": False,
        "none": None,
        "list": [1, "two", 3.0],
        "nested": {"a": [1, 2]},
        "f32": np.float32(2.5),
        "vector": np.arange(3.0),
    }
    with case.interface(path) as si:
        si.dir.var.write(np.zeros(2))
        si.dir.series.append(1.0)
        for name, value in values.items():
            si.add_metadata(name, value)
            si.dir.add_metadata(name, value)
            si.dir.var.add_metadata(name, value)
            si.dir.series.add_metadata(name, value)
        # metadata on nodes that do not exist yet wait for them
        si.later.add_metadata("when", "first append")
        si.later_dir.add_metadata("role", "directory")
        assert si.later.metadata == {"when": "first append"}
        assert "later" not in si.storage_driver.store
        si.later.append(1)
        si.later_dir.child.write(2)
        si.add_metadata("count", 4)  # overwrite
        with pytest.raises(TypeError, match="pickle"):
            si.dir.add_metadata("fn", lambda: 1)
        with pytest.raises(TypeError):
            si.add_metadata(1, "name must be str")  # type: ignore[arg-type]
        si.dir.series.append(2.0)
    expected = {**values, "count": 4}
    with case.interface(path, "r") as si:
        assert_identical(expected, si.metadata)
        assert_identical(values, si.dir.metadata)
        assert_identical(values, si.dir.var.metadata)
        assert_identical(values, si.dir.series.metadata)
        assert si.later.metadata == {"when": "first append"}
        assert si.later_dir.metadata == {"role": "directory"}
    with xstore.open(path, "r") as store:  # the same metadata through the dict face
        assert store.attrs["count"] == 4
        assert store["dir"].attrs["flag"] is False
        assert_identical(values["list"], store.attrs_of("dir/var")["list"])
    for engine in case.readers:  # plain xarray sees the string metadata as attributes
        tree = plain_tree(case, path, engine)
        assert tree.attrs["text"] == "hello"
        assert tree["dir"].attrs["text"] == "hello"
        assert tree["dir"]["var"].attrs["text"] == "hello"
        assert tree["dir"]["series"].attrs["ratio"] == 0.5
        assert tree["later"].attrs["when"] == "first append"


# -- dict records -----------------------------------------------------------------------------


def test_appended_dicts_read_back_as_a_list_of_dicts(case: Case) -> None:
    path = case.path()
    records = [
        {
            "T": 300.0 + i,
            "step": i,
            "accepted": i % 2 == 0,
            "label": f"r{i}",
            "z": complex(i, 1),
            "f32": np.float32(i / 2),
            "pos": np.full(3, float(i)),
        }
        for i in range(4)
    ]
    with case.interface(path) as si:
        for record in records[:3]:
            si.run.states.append(record)
        assert_identical(records[:3], si.run.states.read())
    with case.interface(path) as si:  # reopen and continue
        si.run.states.append(records[3])
        assert_identical(records, si.run.states.read())
        si.run.states.write({**records[1], "label": "changed"}, at_index=1)
        si.run.states.append({**records[0], "step": 10})  # buffered ...
        si.run.states.write({**records[0], "step": 11}, at_index=-1)  # ... and changed
    expected = [*records, {**records[0], "step": 11}]
    expected[1] = {**records[1], "label": "changed"}
    with case.interface(path, "r") as si:
        assert_identical(expected, si.run.states.read())
    assert_identical(expected, xstore.load(path)["run"]["states"])  # xstore.load: the same
    with xstore.open(path, "r") as store:
        assert_identical(expected, store["run/states"])
    for engine in case.readers:  # plain xarray: one Dataset along a shared dimension
        ds = plain_tree(case, path, engine)["run/states"].to_dataset()
        assert ds.sizes["record"] == 5
        assert_identical(np.array([r["T"] for r in expected]), ds["T"].values)
        assert ds["pos"].dims[0] == "record" and ds["pos"].shape == (5, 3)


def test_dict_records_are_all_or_nothing(case: Case) -> None:
    path = case.path()
    with case.interface(path) as si:
        store = si.storage_driver.store
        for bad, error in [
            ({}, ValueError),
            ({"a": 1, "b": {"nested": 1}}, TypeError),
            ({"a/b": 1}, ValueError),
            ({1: 1}, TypeError),
        ]:
            with pytest.raises(error):
                si.t.append(bad)
            assert "t" not in store  # no table was left behind
        si.t.append({"a": 1, "b": "x"})
        before = snapshot(store)
        for bad, error in [
            ({"a": 2}, ValueError),  # a missing key
            ({"a": 2, "b": "y", "c": 3}, ValueError),  # an extra key
            ({"a": 2.5, "b": "y"}, TypeError),  # float into the int column
            ({"a": 2, "b": 3}, TypeError),  # int into the str column: a is untouched
            ({"a": np.zeros(2), "b": "y"}, ValueError),
            (5, TypeError),  # not a dict
        ]:
            with pytest.raises(error):
                si.t.append(bad)
            with pytest.raises(error):
                si.t.write(bad, at_index=0)
        with pytest.raises(TypeError, match="appendable"):
            si.t.write({"a": 2, "b": "y"})
        with pytest.raises(TypeError):
            si.t.child.write(1)  # a table is a variable, not a directory
        with pytest.raises(IndexError):
            si.t.write({"a": 2, "b": "y"}, at_index=1)
        assert_identical(before, snapshot(store))
        assert si.t.read() == [{"a": 1, "b": "x"}]
        si.static_dict.write({"a": 1})  # write (not append) stores one dict
        assert si.static_dict.read() == {"a": 1}
        with pytest.raises(TypeError, match="static"):
            si.static_dict.append({"a": 2})


def test_record_dimension_names_never_collide(case: Case) -> None:
    path = case.path()
    with xstore.open(path, "w", backend=case.driver.backend) as store:
        store.append("run/step", 0, record_dim="record")  # a dimension above the tables
    with case.interface(path) as si:
        for i in range(3):
            si.t.append({"record": np.full(2, i), "x": i})  # a key named like it
            si.run.states.append({"T": float(i)})
    assert_identical([{"T": float(i)} for i in range(3)], xstore.load(path)["run"]["states"])
    for engine in case.readers:
        tree = plain_tree(case, path, engine)
        assert tree["run/states"].to_dataset()["T"].dims == ("record_1",)
    assert_identical([{"record": np.full(2, i), "x": i} for i in range(3)], xstore.load(path)["t"])
    for engine in case.readers:
        ds = plain_tree(case, path, engine)["t"].to_dataset()
        assert ds["record"].dims[0] == "record_1" and ds["record"].shape == (3, 2)
        assert ds["x"].dims == ("record_1",)


# -- registered codecs ----------------------------------------------------------------------------


class Tagged:
    """A tiny unit-carrying value: an array and a unit string."""

    def __init__(self, values: Any, unit: str) -> None:
        self.values = np.asarray(values, dtype=float)
        self.unit = unit

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Tagged)
            and self.unit == other.unit
            and self.values.shape == other.values.shape
            and bool(np.array_equal(self.values, other.values))
        )

    __hash__ = None  # type: ignore[assignment]


@pytest.fixture
def tagged_codec() -> Iterator[None]:
    xstore.register_codec(
        Tagged, lambda t: (t.values, {"unit": t.unit}), lambda a, attrs: Tagged(a, attrs["unit"])
    )
    yield
    unregister_codec(Tagged)


def test_registered_codec_through_the_interface(case: Case, tagged_codec: None) -> None:
    path = case.path()
    with case.interface(path) as si:
        si.box.write(Tagged([1.0, 2.0], "nm"))
        si.box.add_metadata("note", "edges")
        for i in range(3):
            si.traj.energy.append(Tagged(-1.5 * i, "kJ/mol"))
        si.traj.energy.add_metadata("description", "potential energy")
        assert si.traj.energy.read() == Tagged([0.0, -1.5, -3.0], "kJ/mol")  # ONE object
        with pytest.raises(ValueError, match="attributes"):
            si.traj.energy.append(Tagged(1.0, "kcal/mol"))  # attrs differ
        for bare in (1.0, np.float64(1.0), np.array(1.0)):  # no attributes at all
            with pytest.raises(ValueError, match="Tagged"):
                si.traj.energy.append(bare)
            with pytest.raises(ValueError, match="Tagged"):
                si.traj.energy.write(bare, at_index=0)
        with pytest.raises(ValueError, match="encodes the stored value"):
            si.traj.energy.add_metadata("unit", "K")  # metadata cannot change the value
        si.traj.energy.write(Tagged(7.0, "kJ/mol"), at_index=1)
        with pytest.raises(ValueError):
            si.traj.energy.write(Tagged(7.0, "eV"), at_index=1)
        si.box.write(Tagged([3.0, 4.0, 5.0], "angstrom"))  # overwrite; metadata kept
        for i in range(2):
            si.states.append({"E": Tagged(float(i), "eV"), "step": i})
    with case.interface(path) as si:  # reopen: metadata are not mistaken for codec attributes
        si.traj.energy.append(Tagged(2.0, "kJ/mol"))
        assert si.traj.energy.read() == Tagged([0.0, 7.0, -3.0, 2.0], "kJ/mol")
        assert si.traj.energy.metadata == {"description": "potential energy"}
        assert si.box.read() == Tagged([3.0, 4.0, 5.0], "angstrom")
        assert si.box.metadata == {"note": "edges"}
        assert si.states.read() == [
            {"E": Tagged(0.0, "eV"), "step": 0},
            {"E": Tagged(1.0, "eV"), "step": 1},
        ]
    loaded = xstore.load(path)
    assert loaded["traj"]["energy"] == Tagged([0.0, 7.0, -3.0, 2.0], "kJ/mol")
    for engine in case.readers:  # plain readers see values plus a unit attribute
        var = plain_tree(case, path, engine)["traj"]["energy"]
        assert var.attrs["unit"] == "kJ/mol"
        assert var.attrs["description"] == "potential energy"
        assert_identical(np.array([0.0, 7.0, -3.0, 2.0]), var.values)


def test_pint_quantities(case: Case) -> None:
    pint = pytest.importorskip("pint")
    ureg = pint.UnitRegistry()
    xstore.register_codec(
        ureg.Quantity,
        lambda q: (np.asarray(q.magnitude), {"units": str(q.units)}),
        lambda values, attrs: ureg.Quantity(values, attrs["units"]),
    )
    try:
        path = case.path()
        with case.interface(path) as si:
            si.box.write(ureg.Quantity(np.array([2.0, 3.0]), "nm"))
            for i in range(3):
                si.energy.append(ureg.Quantity(-1.0 * i, "kJ/mol"))
            with pytest.raises(ValueError):
                si.energy.append(ureg.Quantity(1.0, "kcal/mol"))
        with case.interface(path, "r") as si:
            energy = si.energy.read()
            assert str(energy.units) == "kilojoule / mole"
            assert_identical(np.array([-0.0, -1.0, -2.0]), energy.magnitude)
            assert si.box.read().to("angstrom").magnitude.tolist() == [20.0, 30.0]
        for engine in case.readers:
            assert plain_tree(case, path, engine)["energy"].attrs["units"] == "kilojoule / mole"
    finally:
        unregister_codec(ureg.Quantity)


# -- cross-face reading ---------------------------------------------------------------------------


def test_interface_files_are_ordinary_stores(case: Case) -> None:
    path = case.path()
    with case.interface(path) as si:
        si.params.write({"T": 300.0, "steps": 1000})
        si.traj.x.write(np.zeros((4, 3)))
        for i in range(5):
            si.traj.energy.append(float(i))
        si.traj.add_metadata("units", "nm")
    assert_identical(
        {
            "params": {"T": 300.0, "steps": 1000},
            "traj": {"x": np.zeros((4, 3)), "energy": np.arange(5.0)},
        },
        xstore.load(path),
    )
    with xstore.open(path, "a") as store:
        assert store["traj"].attrs["units"] == "nm"
        assert_identical(np.arange(5.0), store["traj/energy"])
        store["traj"].append("energy", 5.0)  # the dict face continues the series
        store.set_record("traj/energy", 0, -1.0)
    for engine in case.readers:
        tree = plain_tree(case, path, engine)
        assert_identical(np.array([-1.0, 1.0, 2.0, 3.0, 4.0, 5.0]), tree["traj"]["energy"].values)
        assert tree["traj"].attrs["units"] == "nm"
        assert tree["traj"]["x"].shape == (4, 3)


def test_stores_written_elsewhere_read_through_the_interface(case: Case) -> None:
    path = case.path()
    with xstore.open(path, "w") as store:
        store["params"] = {"T": 300.0}
        traj = store.create_group("traj")
        traj.attrs["units"] = "nm"
        for i in range(4):
            traj.append("pos", np.full(3, i), record_dim="frame")
            traj.append("t", float(i), record_dim="frame")
        store["flag"] = True
    with case.interface(path) as si:
        assert si.params.read() == {"T": 300.0}
        assert si.traj.metadata == {"units": "nm"}
        assert si.traj.pos.read().shape == (4, 3)
        assert si.flag.read() is True
        si.traj.pos.append(np.full(3, 4))  # continue the shared record dimension
        si.traj.t.append(4.0)
        si.traj.t.write(-1.0, at_index=0)
        assert si.params.T.read() == 300.0  # keys lead into a stored dict, as in the store
    assert_identical(np.array([-1.0, 1.0, 2.0, 3.0, 4.0]), xstore.load(path)["traj"]["t"])
    # a file written by plain xarray reads too
    plain = case.path()
    ds = xr.Dataset({"v": ("n", np.arange(3.0))}, attrs={"source": "xarray"})
    if case.suffix == ".nc":
        ds.to_netcdf(plain)
    elif case.suffix == ".zip":  # a zarr directory, zipped
        ds.to_zarr(plain + ".d", zarr_format=3, consolidated=False)
        shutil.make_archive(plain[: -len(".zip")], "zip", plain + ".d")
    else:
        ds.to_zarr(plain, zarr_format=3, consolidated=False)
    with case.interface(plain, "r") as si:
        assert_identical(np.arange(3.0), si.v.read())
        assert si.metadata["source"] == "xarray"


def test_pickled_values_stay_gated(case: Case) -> None:
    path = case.path()
    with case.interface(path) as si, pytest.warns(xstore.PickleFallbackWarning, match="fn"):
        si.fn.write(lambda x: x + 1)
    with case.interface(path, "r") as si, pytest.raises(xstore.PickleNotAllowedError):
        si.fn.read()
    with case.interface(path, "r", allow_pickle=True) as si:
        assert si.fn.read()(1) == 2


# -- the core support the face needs (Group.set_record, Group.attrs_of) ---------------------------


def test_group_set_record_and_attrs_of(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        for i in range(3):
            store.append("s", f"s{i}")
            store.append("c", complex(i, 0))
            store.append("when", np.datetime64("2020-01-01") + np.timedelta64(i, "D"))
        store.flush()
        store.set_record("s", 0, "zero")
        store.set_record("c", -1, 5j)
        store.set_record("when", 1, np.datetime64("1999-12-31"))
        with pytest.raises(TypeError):
            store.set_record("s", 0, 1.0)
        store["static"] = np.arange(3)
        with pytest.raises(TypeError):
            store.set_record("static", 0, 1)
        attrs = store.attrs_of("when")
        assert dict(attrs) == {}  # the CF encoding attributes are not metadata
        attrs["long_name"] = "time"
        with pytest.raises(ValueError):
            attrs["units"] = "days"
        with pytest.raises(KeyError):
            store.attrs_of("missing")
    with xstore.open(path, "r") as store:
        assert store["s"].tolist() == ["zero", "s1", "s2"]
        assert_identical(np.array([0j, 1 + 0j, 5j]), store["c"])
        assert store["when"][1] == np.datetime64("1999-12-31")
        assert dict(store.attrs_of("when")) == {"long_name": "time"}


# -- the examples in the docs run ----------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(text: str) -> list[str]:
    return [block.split("```")[0] for block in text.split("```python\n")[1:]]


@pytest.mark.parametrize(
    "source", ["README.md#Attribute access", "docs/units.md", "docs/interface.md"]
)
def test_doc_examples_run(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pint")
    name, _, heading = source.partition("#")
    text = (ROOT / name).read_text()
    if heading:
        text = text.split(f"## {heading}")[1].split("\n## ")[0]
    if "import openmm" in text:
        pytest.importorskip("openmm", reason="openmm (the test extra) is not installed")
    blocks = [b for b in python_blocks(text) if "register_codec(cls," not in b]
    assert blocks
    monkeypatch.chdir(tmp_path)
    try:
        for block in blocks:
            exec(compile(block, source, "exec"), {})
    finally:
        for cls in REGISTRY.user_classes():
            if cls.__module__.startswith("pint"):
                unregister_codec(cls)
