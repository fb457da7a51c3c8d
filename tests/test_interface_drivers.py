"""openmmtools' driver-level calls on NetCDFIODriver and ZarrIODriver (SPEC §5, the
drop-in point): storage variables, directories, metadata by path, ``ncfile`` and the
dimension checks, and the error for a driver attribute that does not exist.

These are our own tests of the behaviours openmmtools' storage tests rely on.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from conftest import Case
from helpers import assert_identical

import xstore
from xstore import NetCDFIODriver, StorageInterface, ZarrIODriver
from xstore.faces.interface.drivers import StorageVariable

netCDF4 = pytest.importorskip("netCDF4")


# -- storage variables ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [4, 4.0, "four point oh", [4, 4, 4], (4, 4, 4), np.array([4, 4.0, 4]), {"a": 1, "b": "x"}],
    ids=["int", "float", "str", "list", "tuple", "ndarray", "dict"],
)
def test_storage_variables_write_append_and_read_back(case: Case, value: object) -> None:
    path = case.path()
    with case.driver(path, "w", **case.options) as driver:
        written = driver.create_storage_variable("data_write", type(value))
        appended = driver.create_storage_variable("group1/data_append", type(value))
        assert isinstance(written, StorageVariable) and written.type is type(value)
        for _ in range(2):
            written.write(value)
            appended.append(value)
        assert_identical(value, written.read())
        records = appended.read()
        if isinstance(value, dict):
            assert records == [value, value]
        else:
            assert_identical(np.stack([np.asarray(value)] * 2), records)
        appended.write(value, at_index=-1)
    with case.driver(path, "r", **case.options) as driver:  # unbound: found on disk
        assert_identical(value, driver.get_storage_variable("data_write").read())
        again = driver.get_storage_variable("/group1//data_append/")  # openmmtools' paths
        assert again.type is None and again.path == "/group1/data_append"
        assert len(again.read()) == 2


def test_storage_variables_check_their_type_and_kind(case: Case) -> None:
    with case.driver(case.path(), "w", **case.options) as driver:
        ints = driver.create_storage_variable("n", int)
        with pytest.raises(TypeError, match="made for int data, not str"):
            ints.write("4")
        with pytest.raises(TypeError, match="not float"):
            ints.append(4.0)
        with pytest.raises(KeyError):
            ints.write(4, at_index=0)  # never appended: no record 0
        ints.append(4)
        with pytest.raises(IndexError):
            ints.write(5, at_index=1)
        with pytest.raises(TypeError, match="appendable"):
            ints.write(5)
        ints.write(5, at_index=0)
        assert_identical(np.array([5]), ints.read())
        ints.add_metadata("units", "count")
        assert ints.metadata == {"units": "count"}
        with pytest.raises(KeyError, match="nothing"):
            driver.get_storage_variable("missing")
        driver.store.create_group("adir")
        with pytest.raises(KeyError, match="a directory"):
            driver.get_storage_variable("adir")
        with pytest.raises(TypeError, match="needs a type"):
            driver.create_storage_variable("x", 4)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="below the root"):
            driver.create_storage_variable("/", int)
        with pytest.raises(KeyError):
            driver.create_storage_variable("later", float).read()
        assert "later" not in driver.store  # nothing is written before write/append


def test_quantities_through_storage_variables(case: Case) -> None:
    unit = pytest.importorskip("openmm.unit", reason="openmm (the test extra) is not installed")
    values = [
        4 * unit.kelvin,
        [4, 4, 4] * unit.kilojoules_per_mole,
        np.array([4, 4, 4]) / unit.nanosecond,
        {"count": 4, "temperature": 4 * unit.kelvin, "box": np.eye(3) * 4.0 * unit.nanometer},
    ]
    for value in values:
        path = case.path()
        with case.driver(path, "w", **case.options) as driver:
            written = driver.create_storage_variable("w", type(value))
            appended = driver.create_storage_variable("g/a", type(value))
            written.write(value)
            for _ in range(3):
                appended.append(value)
        with case.driver(path, "r", **case.options) as driver:
            out = driver.get_storage_variable("w").read()
            records = driver.get_storage_variable("g/a").read()
            if isinstance(value, dict):
                for key in value:
                    assert np.all(out[key] == value[key])
                    assert all(np.all(r[key] == value[key]) for r in records)
            else:
                assert np.all(out == value)
                assert isinstance(records, unit.Quantity)  # ONE Quantity over the records
                assert len(records) == 3 and all(np.all(r == value) for r in records)


# -- directories and metadata by path -------------------------------------------------------------


def test_get_directory_and_add_metadata_by_path(interface_case: Case) -> None:
    case = interface_case  # get_directory needs the netcdf4 engine (tested below)
    path = case.path()
    with case.driver(path, "w", **case.options) as driver:
        inner = driver.get_directory("group1/group2")
        outer = driver.get_directory("/group1/", create=False)
        with pytest.raises(KeyError):
            driver.get_directory("nope", create=False)
        driver.add_metadata("root_metadata", "IAm(G)Root!")
        driver.add_metadata("group_metadata", "group1_metadata", path="/group1")
        driver.create_storage_variable("group1/v", int).write(3)
        driver.add_metadata("units", "nm", path="group1/v")
        with pytest.raises(KeyError, match="nothing is stored"):
            driver.add_metadata("x", 1, path="/group1/missing")
        with pytest.raises(TypeError):
            driver.get_directory("group1/v")  # a variable, not a directory
        if case.driver is NetCDFIODriver:
            assert inner is driver.ncfile.groups["group1"].groups["group2"]
            assert outer is driver.ncfile.groups["group1"]
            assert outer.getncattr("group_metadata") == "group1_metadata"
        else:
            assert isinstance(inner, xstore.Group) and inner.path == "/group1/group2"
            assert dict(outer.attrs) == {"group_metadata": "group1_metadata"}
    with xstore.open(path, "r") as store:
        assert dict(store.attrs) == {"root_metadata": "IAm(G)Root!"}
        assert dict(store.attrs_of("group1/v")) == {"units": "nm"}
        assert isinstance(store["group1/group2"], xstore.Group)


# -- ncfile ---------------------------------------------------------------------------------------


def test_ncfile_sees_everything_and_stays_consistent(tmp_path) -> None:
    path = str(tmp_path / "nc.nc")
    driver = NetCDFIODriver(path, "w", buffer_records=1000)
    si = StorageInterface(driver)
    si.add_metadata("name", "data")
    si.dir0.dir1.var.write("four")
    si.dir0.add_metadata("AmIAGroup", "yes")
    si.dir0.dir1.var.add_metadata("AmIAGroup", "no")
    for i in range(3):
        si.traj.x.append(float(i))  # buffered in xstore: ncfile writes them out first
    nc = driver.ncfile
    assert isinstance(nc, netCDF4.Dataset) and nc.isopen()
    assert nc.getncattr("name") == "data"
    dir0 = nc.groups["dir0"]
    assert dir0.getncattr("AmIAGroup") == "yes"
    assert dir0.groups["dir1"].variables["var"].getncattr("AmIAGroup") == "no"
    assert nc.groups["traj"].variables["x"][:].tolist() == [0.0, 1.0, 2.0]
    # the same handle sees what xstore writes later (after a sync for buffered records)
    si.traj.x.append(3.0)
    si.later.write(np.arange(3))
    driver.sync()
    assert nc.groups["traj"].variables["x"][:].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert nc.variables["later"][:].tolist() == [0, 1, 2]
    assert driver.ncfile is nc
    # and xstore goes on working after the user read through it
    si.traj.x.append(4.0)
    assert_identical(np.arange(5.0), si.traj.x.read())
    del driver.store["later"]  # netCDF deletes by reopening: ncfile is a new handle
    assert "later" not in driver.ncfile.variables
    driver.close()
    assert not nc.isopen()
    with xr.open_datatree(path) as tree:
        assert tree["traj"]["x"].values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_ncfile_in_read_mode_and_other_engines(netcdf_case: Case) -> None:
    path = netcdf_case.path()
    with netcdf_case.open(path, "w") as store:
        store["a/b"] = 1  # a directory a
        store["params"] = {"T": 1.0}  # a stored dict: no directory
    driver = NetCDFIODriver(path, "r", **netcdf_case.options)
    with pytest.raises(TypeError, match="stored value"):
        driver.get_directory("params")
    if netcdf_case.id == "netcdf4":
        assert driver.ncfile.groups["a"].variables["b"][...] == 1
        assert driver.get_directory("a") is driver.ncfile.groups["a"]
        with pytest.raises(PermissionError):
            driver.check_scalar_dimension()
    else:
        with pytest.raises(TypeError, match="engine='netcdf4'"):
            _ = driver.ncfile
        with pytest.raises(TypeError, match="engine='netcdf4'"):
            driver.get_directory("a")
    driver.close()


def test_dimension_checks(tmp_path) -> None:
    path = str(tmp_path / "dims.nc")
    with NetCDFIODriver(path, "w") as driver:
        NetCDFIODriver.check_scalar_dimension(driver)
        NetCDFIODriver.check_iterable_dimension(driver, length=4)
        NetCDFIODriver.check_infinite_dimension(driver)
        driver.check_scalar_dimension()  # again: nothing changes
        with pytest.raises(TypeError):
            driver.check_iterable_dimension(length=4.0)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            driver.check_iterable_dimension(length=-1)
        dims = driver.ncfile.dimensions
        assert len(dims["scalar"]) == 1 and len(dims["iterable4"]) == 4
        assert dims["iteration"].isunlimited() and len(dims["iteration"]) == 0
        si = StorageInterface(driver)
        for i in range(3):  # openmmtools' dimension as the record dimension of series
            si.energy.append(-1.0 * i, record_dim="iteration")
            si.step.append(i, record_dim="iteration")
        with pytest.raises(ValueError, match="iterable4"):
            si.other.append(1.0, record_dim="iterable4")  # a fixed dimension is not taken
    with xr.open_datatree(path) as tree:
        ds = tree.to_dataset()
        assert ds["energy"].dims == ds["step"].dims == ("iteration",)
        assert ds.sizes["iteration"] == 3
    assert_identical(np.array([0, 1, 2]), xstore.load(path)["step"])


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("driver_class", [NetCDFIODriver, ZarrIODriver])
def test_missing_driver_attributes_are_plain_errors(tmp_path, driver_class: type) -> None:
    suffix = ".nc" if driver_class is NetCDFIODriver else ".zarr"
    with driver_class(str(tmp_path / f"s{suffix}"), "w") as driver:
        with pytest.raises(AttributeError) as info:
            driver.add_metdata("a", 1)
        message = str(info.value)
        assert message.startswith(f"{driver_class.__name__} has no attribute 'add_metdata'")
        assert "did you mean 'add_metadata'" in message and "storage_driver" not in message
        with pytest.raises(AttributeError, match=r"has no attribute 'frobnicate'$"):
            _ = driver.frobnicate
        assert not hasattr(driver, "_private")
