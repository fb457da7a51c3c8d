"""Tables of records with ``None`` values, ``record_dim`` on interface appends, and
stored dicts walked by the interface exactly as by the store (SPEC §5)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from conftest import Case
from helpers import assert_identical

import xstore
from xstore.codecs.nulls import NONE

# -- None in appended dicts -----------------------------------------------------------------------

RECORDS: list[dict[str, Any]] = [
    {"T": None, "step": 0, "label": None, "flag": True, "pos": None, "never": None},
    {"T": 300.5, "step": None, "label": "b", "flag": None, "pos": np.ones(3), "never": None},
    {"T": None, "step": 2, "label": "c", "flag": False, "pos": np.full(3, 2.0), "never": None},
    {"T": 301.0, "step": 3, "label": None, "flag": True, "pos": None, "never": None},
]


def test_none_values_in_tables_read_back_exactly(case: Case) -> None:
    path = case.path()
    with case.interface(path, "w", buffer_records=2) as si:  # some records reach the disk
        for record in RECORDS[:3]:
            si.t.append(record)
        assert_identical(RECORDS[:3], si.t.read())
    with case.interface(path) as si:  # reopened: the marks are read back from the file
        si.t.append(RECORDS[3])
        assert_identical(RECORDS, si.t.read())
    assert_identical(RECORDS, xstore.load(path)["t"])
    with xstore.open(path, "r") as store:
        assert_identical(RECORDS, store["t"])
        assert NONE not in store.attrs_of("t/T")  # a mark, not metadata
    for engine in case.readers:  # plain readers: ordinary columns of one dimension
        ds = case.open_plain(path, engine)["t"].to_dataset().load()
        assert ds.sizes["record"] == 4
        assert ds["T"].dtype == np.float64
        assert np.isnan(ds["T"].values[[0, 2]]).all() and ds["T"].values[1] == 300.5
        assert ds["step"].dtype == np.int64 and ds["step"].values.tolist()[2:] == [2, 3]
        assert ds["never"].dtype == np.float64 and np.isnan(ds["never"].values).all()
        assert ds["pos"].shape == (4, 3) and np.isnan(ds["pos"].values[0]).all()
        assert json.loads(ds["T"].attrs[NONE]) == [[0, 1], [2, 3]]
        assert json.loads(ds["never"].attrs[NONE]) == [[0, None]]


def test_first_value_none_gives_the_column_the_type_of_its_first_value(case: Case) -> None:
    path = case.path()
    values = [None, None, "text", None, "more"]
    with case.interface(path, "w", buffer_records=2) as si:
        for i, value in enumerate(values):
            si.t.append({"i": i, "s": value})
            assert [r["s"] for r in si.t.read()] == values[: i + 1]
        si.t.append({"i": 5, "s": "last"})
    with case.interface(path, "r") as si:
        assert [r["s"] for r in si.t.read()] == [*values, "last"]
        assert [r["i"] for r in si.t.read()] == list(range(6))
    for engine in case.readers:
        ds = case.open_plain(path, engine)["t"].to_dataset().load()
        assert ds["s"].values.tolist() == ["", "", "text", "", "more", "last"]
        assert ds["i"].values.tolist() == list(range(6))  # the column it was rewritten beside


def test_none_records_can_be_overwritten(case: Case) -> None:
    path = case.path()
    with case.interface(path, "w", buffer_records=2) as si:
        for i in range(5):
            si.t.append({"x": None if i % 2 else i, "y": None})
        si.t.write({"x": None, "y": 1.5}, at_index=0)  # value -> None, None -> value
        si.t.write({"x": 11, "y": None}, at_index=-1)
        si.t.write({"x": 3, "y": None}, at_index=1)
        expected = [
            {"x": None, "y": 1.5},
            {"x": 3, "y": None},
            {"x": 2, "y": None},
            {"x": None, "y": None},
            {"x": 11, "y": None},
        ]
        assert_identical(expected, si.t.read())
        si.t.append({"x": None, "y": None})
        expected.append({"x": None, "y": None})
        assert_identical(expected, si.t.read())
    assert_identical(expected, xstore.load(path)["t"])


def test_all_none_columns_and_codec_columns(case: Case) -> None:
    unit = pytest.importorskip("openmm.unit", reason="openmm (the test extra) is not installed")
    path = case.path()
    energies = [None, -1.5 * unit.kilojoule_per_mole, None]
    with case.interface(path) as si:
        for energy in energies:
            si.only_none.append({"a": None})
            si.states.append({"E": energy, "step": 1})
        si.states.write({"E": None, "step": 2}, at_index=1)
    loaded = xstore.load(path)
    assert loaded["only_none"] == [{"a": None}] * 3
    assert [r["E"] for r in loaded["states"]] == [None, None, None]
    assert [r["step"] for r in loaded["states"]] == [1, 2, 1]
    with case.interface(path) as si:
        si.states.write({"E": 2.0 * unit.kilojoule_per_mole, "step": 2}, at_index=1)
        assert si.states.read()[1]["E"] == 2.0 * unit.kilojoule_per_mole
        with pytest.raises(ValueError):  # the column's unit is fixed by its first value
            si.states.append({"E": 1.0 * unit.kelvin, "step": 3})


def test_none_is_still_refused_where_it_has_no_place(case: Case) -> None:
    with case.interface(case.path()) as si:
        with pytest.raises(TypeError, match="NoneType"):
            si.series.append(None)  # a series of values, not a table
        si.series.append(1.0)
        with pytest.raises(TypeError, match="only the columns of a table"):
            si.series.write(None, at_index=0)
        store = si.storage_driver.store
        with pytest.raises(TypeError, match="only the columns of a table"):
            store.set_record("series", 0, None)  # the dict-like face: the same rule
        with pytest.raises(TypeError, match="only the columns of a table"):
            store.session.series.append_none((), "series", None)
        si.t.append({"a": 1})
        with pytest.raises(TypeError):
            si.t.append({"a": {"nested": None}})
        assert si.t.read() == [{"a": 1}] and si.series.read().tolist() == [1.0]


# -- record_dim -----------------------------------------------------------------------------------


def test_record_dim_lines_series_up_in_xarray(case: Case) -> None:
    path = case.path()
    with case.interface(path) as si:
        for step in range(4):
            si.traj.pos.append(np.full((2, 3), float(step)), record_dim="frame")
            si.traj.time.append(0.5 * step, record_dim="frame")
            si.traj.energy.append(-1.0 * step, record_dim="frame")
        with pytest.raises(ValueError, match="frame"):
            si.traj.energy.append(1.0, record_dim="other")
        si.traj.energy.append(-4.0)  # later appends may leave it out
        si.traj.pos.append(np.full((2, 3), 4.0))
        si.traj.time.append(2.0)
        si.log.append({"step": 0, "note": None}, record_dim="entry")
        si.log.append({"step": 1, "note": "ok"}, record_dim="entry")
        with pytest.raises(ValueError):
            si.log.append({"step": 2, "note": "x"}, record_dim="record")
    for engine in case.readers:
        tree = case.open_plain(path, engine)
        traj = tree["traj"].to_dataset()
        assert traj["pos"].dims[0] == traj["time"].dims[0] == traj["energy"].dims[0] == "frame"
        assert traj.sizes["frame"] == 5
        log = tree["log"].to_dataset()
        assert log["step"].dims == log["note"].dims == ("entry",)
    assert xstore.load(path)["log"] == [{"step": 0, "note": None}, {"step": 1, "note": "ok"}]


# -- stored dicts are walked as by the store ------------------------------------------------------


def test_every_operation_walks_into_stored_dicts(case: Case) -> None:
    path = case.path()
    case.save({"a": {"b": 1, "inner": {"c": "x"}}}, path)
    with case.interface(path) as si:
        assert si.a.b.read() == 1 and si.a.inner.c.read() == "x"
        assert {"b", "inner"} <= set(dir(si.a)) and "c" in dir(si.a.inner)
        si.a.c.write(2)
        si.a.inner.d.write([1, 2])
        si.a.new.deeper.write(3.5)  # directories made inside a dict are keys of it
        si.a.s.append(1.0)
        si.a.s.append(2.0)
        si.a.s.write(5.0, at_index=0)
        si.a.t.append({"k": 1, "v": None})
        si.a.pending.add_metadata("note", "set before the write")
        si.a.pending.write("now")
        si.a.add_metadata("kind", "parameters")
        si.a.b.add_metadata("units", "nm")
        assert si.a.metadata == {"kind": "parameters"}
        assert si.a.b.metadata == {"units": "nm"} and si.a.pending.metadata["note"]
        with pytest.raises(TypeError, match="/a/b is a static variable"):
            si.a.b.c.read()  # an int, not a dict
        with pytest.raises(TypeError, match="static"):
            si.a.append(1)
        with pytest.raises(TypeError, match="records of dicts"):
            si.a.t.k.read()  # never into a table
        with pytest.raises(KeyError):
            si.a.missing.read()
        expected = {
            "b": 1,
            "inner": {"c": "x", "d": [1, 2]},
            "c": 2,
            "new": {"deeper": 3.5},
            "s": np.array([5.0, 2.0]),
            "t": [{"k": 1, "v": None}],
            "pending": "now",
        }
        assert_identical(expected, si.a.read())
        store = si.storage_driver.store
        assert_identical(expected, store["a"])
        assert store["a/inner/d"] == [1, 2] and store["a/t"] == [{"k": 1, "v": None}]
        assert dict(store.attrs_of("a/b")) == {"units": "nm"}
        driver = si.storage_driver
        driver.add_metadata("by", "path", path="a/c")
        assert driver.get_storage_variable("a/inner/c").read() == "x"
        assert si.a.c.metadata == {"by": "path"}
        si.a.write({"replaced": True})  # the dict as a whole is still a static variable
        assert si.a.read() == {"replaced": True} and si.a.metadata == {"kind": "parameters"}
    assert xstore.load(path)["a"] == {"replaced": True}
