"""Format 2: dimension names xarray users recognise (SPEC §1, §9), and format-1 stores
still read and extend."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import Case, require_module
from format1_data import FRAMES, frames, values
from helpers import assert_identical

import xstore
from xstore.model import FORMAT_VERSION

DATA = Path(__file__).resolve().parent / "data"


def _dims(case: Case, path: str) -> dict[str, tuple[str, ...]]:
    """Dimensions of every variable as plain xarray sees them, by path."""
    tree = case.open_plain(path)
    try:
        return {
            f"{node.path.rstrip('/')}/{name}": var.dims
            for node in tree.subtree
            for name, var in node.dataset.variables.items()
        }
    finally:
        tree.close()


def test_unnamed_axes_are_named_by_their_length_and_shared(case: Case) -> None:
    path = case.path()
    case.save(
        {
            "a": np.zeros(3),
            "b": np.zeros((5, 3)),
            "square": np.zeros((3, 3)),
            "traj": {"positions": np.zeros((4, 3))},
            "final": {"positions": np.ones((4, 3))},
            "s": 1.5,
        },
        path,
    )
    dims = _dims(case, path)
    assert dims["/a"] == ("dim_3",)
    assert dims["/b"] == ("dim_5", "dim_3")
    assert dims["/square"] == ("dim_3", "dim_3_1")  # xarray refuses a dimension twice
    assert dims["/traj/positions"] == dims["/final/positions"] == ("dim_4", "dim_3")
    assert dims["/s"] == ()
    tree = case.open_plain(path)
    try:  # arrays of different groups line up
        a, b = xr.align(tree["traj"]["positions"], tree["final"]["positions"], join="exact")
        assert (b - a).values.tolist() == np.ones((4, 3)).tolist()
    finally:
        tree.close()
    with xstore.open(path, "r") as store:
        assert store.session.layout.format_version() == FORMAT_VERSION == "2"


def test_many_small_arrays_share_a_handful_of_dimensions(case: Case) -> None:
    path = case.path()
    case.save({f"a{i}": np.zeros(i % 4 + 1) for i in range(200)}, path)
    tree = case.open_plain(path)
    try:
        assert set(tree.dataset.sizes) == {"dim_1", "dim_2", "dim_3", "dim_4"}
    finally:
        tree.close()


def test_a_key_named_like_a_generated_dimension(case: Case) -> None:
    """The generated name yields to a variable of that name in the group, and a later
    variable of that name is stored escaped: no variable is taken for a coordinate."""
    path = case.path()
    case.save({"dim_3": np.arange(5.0), "x": np.arange(3.0)}, path)
    assert _dims(case, path) == {"/dim_3": ("dim_5",), "/x": ("_xs_dim_3",)}
    other = case.path()
    with case.open(other, "w") as store:
        store["x"] = np.arange(3.0)
        store["dim_3"] = np.arange(5.0)  # dim_3 names x's axis already
        assert list(store) == ["x", "dim_3"]
    tree = case.open_plain(other)
    try:
        assert set(tree.dataset.data_vars) == {"x", "_x_dim_3"}
        assert not tree.dataset.coords
    finally:
        tree.close()
    assert_identical({"x": np.arange(3.0), "dim_3": np.arange(5.0)}, xstore.load(other))


def test_xarray_default_dimension_names_meet_generated_ones(case: Case) -> None:
    """xarray names the axes of a 3-d DataArray ``dim_0 .. dim_2``; ``dim_2`` of size
    4 and the unnamed axis of a 2-vector may share no name on a root-to-leaf path."""
    da = xr.DataArray(np.zeros((4, 4, 4)), name="a")
    for order in (("v", "da"), ("da", "v")):
        data = {"v": np.zeros(2), "da": da}
        data = {k: data[k] for k in order}
        path = case.path()
        case.save(data, path)
        assert_identical(data, xstore.load(path))
        dims = _dims(case, path)
        assert len({dims["/v"][0], dims["/da/a"][2]}) == 2
        case.open_plain(path).close()  # no dimension with two sizes on a path


def test_generated_names_avoid_user_dimensions_below(case: Case) -> None:
    """An unnamed axis of length 2 written above a DataArray whose ``dim_0`` has size 2
    (no conflict) and above one whose ``dim_2`` has size 4 (conflict)."""
    path = case.path()
    with case.open(path, "w") as store:
        store["g/da"] = xr.DataArray(np.zeros((4, 4, 4)))
        store["g/v"] = np.zeros(2)
        store["g/w"] = np.zeros(4)
    dims = _dims(case, path)
    assert dims["/g/v"] == ("_xs_dim_2",)
    assert dims["/g/w"] == ("dim_4",)
    case.open_plain(path).close()


# -- format 1 ------------------------------------------------------------------------------

FORMAT1 = [pytest.param("format1.nc", id="netcdf"), pytest.param("format1.zip", id="zarr")]


def _copy(name: str, tmp_path: Path) -> str:
    target = tmp_path / name
    shutil.copyfile(DATA / name, target)
    return str(target)


@pytest.mark.parametrize("name", FORMAT1)
def test_format1_stores_still_read(name: str, tmp_path: Path) -> None:
    loaded = xstore.load(_copy(name, tmp_path))
    energy, positions = frames()
    expected = {
        **values(),
        "traj": {"energy": energy, "positions": positions, "count": np.ones(1, dtype=np.int64)},
    }
    assert_identical(expected, loaded)
    with xstore.open(_copy(name, tmp_path), "r") as store:
        ds = store["traj"].to_dataset()
        assert ds["energy"].dims[0] == ds["positions"].dims[0] == "frame"
        assert_identical(values()["ds"], store["ds"])
        view = store.to_datatree()["ds"].to_dataset()  # format 1: CF-decoded by xarray
        assert view["time"].dtype.kind == "M" and view["t"].values.tolist() == [1.5, 2.5, 3.5]
        require_module("dask", "dask")
        chunked = store.to_datatree(chunks={})["ds"].to_dataset().compute()
        xr.testing.assert_identical(view, chunked)


@pytest.mark.parametrize("name", FORMAT1)
def test_format1_stores_extend_with_their_own_naming(name: str, tmp_path: Path) -> None:
    """A format-1 store stays format 1: new unnamed axes get names of their own."""
    path = _copy(name, tmp_path)
    with xstore.open(path, "a") as store:
        store["new"] = np.zeros(3)
        store["ds2"] = xr.Dataset({"u": ("x", np.arange(2.0), {"units": "days"})})
        store["traj"].append("energy", 9.0, record_dim="frame")
        store["traj"].append("positions", np.zeros((2, 3), dtype=np.float32), record_dim="frame")
        assert store.session.layout.format_version() == "1"
    with xstore.open(path, "r") as store:
        assert store["traj/energy"].shape == (FRAMES + 1,)
        assert_identical(xr.Dataset({"u": ("x", np.arange(2.0), {"units": "days"})}), store["ds2"])
    if name.endswith(".zip"):
        import zarr

        tree = xr.open_datatree(zarr.storage.ZipStore(path, mode="r"), engine="zarr")
    else:
        tree = xr.open_datatree(path)
    try:
        assert tree["new"].dims[0].startswith("_xs_")
        assert tree["traj"]["energy"].shape == (FRAMES + 1,)
    finally:
        tree.close()


def test_a_key_stored_under_both_spellings_is_refused(tmp_path: Path) -> None:
    """Both ``dim_3`` and its escaped spelling ``_x_dim_3`` are valid stored names; a
    group holding both would have two nodes for one key: damage or crafted."""
    import netCDF4

    path = str(tmp_path / "twice.nc")
    xstore.save({"dim_3": np.arange(5.0)}, path)
    with netCDF4.Dataset(path, "a") as nc:
        nc.createDimension("n", 2)
        nc.createVariable("_x_dim_3", "f8", ("n",))[:] = [1.0, 2.0]
    with pytest.raises(xstore.StoreError, match=r"repeats the key 'dim_3'"):
        xstore.load(path)
