"""Naming the axes of appended series (SPEC §4): ``dims=``, DataArray records and the
record coordinate."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from conftest import Case, require_module

import xstore


def test_dims_name_the_axes_of_a_record(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        traj = store.create_group("traj")
        for step in range(5):
            traj.append("positions", np.full((4, 3), step, float), "frame", dims=("atom", "xyz"))
            traj.append("energy", float(step), record_dim="frame")
        traj.extend("velocity", np.zeros((2, 4, 3)), dims=["atom", "xyz"])
        store["final"] = xr.Dataset({"positions": (("atom", "xyz"), np.ones((4, 3)))})
        view = traj.to_dataset()
        assert view["positions"].dims == ("frame", "atom", "xyz")
        assert view["velocity"].dims[1:] == ("atom", "xyz")
    tree = case.open_plain(path)
    try:
        assert tree["traj"]["positions"].dims == ("frame", "atom", "xyz")
        assert tree["traj"].dataset.sizes["atom"] == 4
        moved = tree["traj"]["positions"].isel(frame=-1) - tree["final"]["positions"]
        assert moved.dims == ("atom", "xyz")  # the two line up by name
    finally:
        tree.close()


def test_wrong_dims_are_refused_and_nothing_is_written(case: Case) -> None:
    with case.open(case.path(), "w") as store:
        store.append("x", np.zeros(3), dims=("xyz",))
        for dims, match in (
            (("a", "b"), "names 2 axes"),
            (("atom",), "have the dimensions"),
        ):
            with pytest.raises(ValueError, match=match):
                store.append("x", np.zeros(3), dims=dims)
        with pytest.raises(ValueError, match="twice"):
            store.append("y", np.zeros((2, 2)), dims=("a", "a"))
        with pytest.raises(ValueError, match="record_dim"):
            store.append("z", np.zeros(2), record_dim="a", dims=("a",))
        assert store["x"].shape == (1, 3) and "y" not in store and "z" not in store


def test_a_dataarray_record_supplies_dims_and_attrs(case: Case) -> None:
    path = case.path()
    frame = xr.DataArray(np.zeros((4, 3)), dims=("atom", "xyz"), attrs={"units": "nm"})
    with case.open(path, "w") as store:
        for _ in range(3):
            store.append("positions", frame, record_dim="frame")
        store.extend("forces", xr.DataArray(np.zeros((2, 4)), dims=("step", "atom")))
        with pytest.raises(ValueError, match="units"):
            store.append("positions", frame.assign_attrs(units="m"), record_dim="frame")
        with pytest.raises(ValueError, match="coordinates"):
            store.append("c", frame.assign_coords(atom=np.arange(4)))
        assert store["positions"].shape == (3, 4, 3)
        assert dict(store.attrs_of("positions")) == {"units": "nm"}
    with case.open(path, "r") as store:
        view = store.to_dataset()
        assert view["positions"].dims == ("frame", "atom", "xyz")
        assert view["positions"].attrs == {"units": "nm"}  # metadata, not an encoding
        assert view["forces"].dims == ("step", "atom")
    with case.open(path, "a") as store:  # the attrs are checked after reopening too
        store.append("positions", frame, record_dim="frame")
        with pytest.raises(ValueError):
            store.append("positions", frame.assign_attrs(units="m"), record_dim="frame")


def test_a_series_named_like_its_record_dim_is_its_coordinate(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        for step in range(10):
            store.append("time", 0.5 * step, record_dim="time")
            store.append("energy", -float(step), record_dim="time")
        ds = store.to_dataset()
        assert ds.sel(time=2.0)["energy"].item() == -4.0
        with pytest.raises(ValueError, match="coordinate"):
            store.append("frame", np.zeros(3), record_dim="frame")
    with case.open(path, "r") as store:
        require_module("dask", "dask")
        # a chunked view reads the index coordinate at once (it once waited forever for
        # dask threads that needed the store's lock to read it)
        chunked = store.to_dataset(chunks={})
        assert chunked.sel(time=2.0)["energy"].compute().item() == -4.0
    tree = case.open_plain(path)
    try:
        assert "time" in tree.dataset.indexes
        assert tree.dataset.sel(time=slice(1.0, 2.0))["energy"].values.tolist() == [-2, -3, -4]
    finally:
        tree.close()
    assert xstore.load(path)["time"].tolist() == [0.5 * i for i in range(10)]


def test_user_dimension_with_two_sizes_on_a_path_is_refused(case: Case) -> None:
    """A user's dimension may not have two sizes on a root-to-leaf path (xarray
    refuses such a tree); nothing is written."""
    with case.open(case.path(), "w") as store:
        store.append("x", np.zeros(3), dims=("xyz",))
        with pytest.raises(ValueError, match=r"'xyz'.*size 4.*size 3"):
            store["g/ds"] = xr.Dataset({"v": ("xyz", np.zeros(4))})
        assert "g" not in store  # not even the group the key implied
        store.create_group("g")
        with pytest.raises(ValueError, match=r"'xyz'.*size 2"):
            store["g"].append("y", np.zeros(2), dims=("xyz",))
        store["g/fine"] = xr.Dataset({"v": ("xyz", np.zeros(3))})
        assert list(store["g"]) == ["fine"]
