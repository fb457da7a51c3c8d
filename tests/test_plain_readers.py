"""Files open with plain xarray (both engines), ncdump -h and h5dump -H (SPEC §1)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import xarray as xr
from conftest import Case, require_tool
from test_roundtrip import EXAMPLE

import xstore
from xstore.model import Tree, Var


def _messy_store(case: Case) -> str:
    """A store with every kind of value, then deletions and replacements."""
    path = case.path()
    case.save(EXAMPLE, path)
    with case.open(path, "a", allow_pickle=True) as store:
        store["ds"] = xr.Dataset(
            {"t": (("time",), np.arange(3.0)), "z": (("time",), np.array([1j, 2, 3]))},
            coords={"time": np.array(["2020-01-01", "2020-01-02", "2020-01-03"], dtype="M8[ns]")},
            attrs={"title": "a dataset", "flag": True},
        )
        store["group/sub/x"] = np.ones((2, 2))
        with pytest.warns(xstore.PickleFallbackWarning, match="group/pickled"):
            store["group/pickled"] = {(1, 2): "tuple key"}
        store["group/sub/y"] = np.zeros((2, 5))  # same name depth as another group's x
        store["nested/group/sub/x"] = np.ones((7,))  # same variable name, other size, deeper
        del store["big"]
        store["nested"] = {"replaced": [1, 2]}
        store["name"] = np.arange(10)  # a string replaced by an array
    return path


def _close(tree: xr.DataTree) -> None:
    tree.close()


@pytest.mark.parametrize("which", [0, 1])
def test_open_datatree_with_every_engine(case: Case, which: int) -> None:
    path = _messy_store(case)
    reader = case.readers[which % len(case.readers)]
    tree = case.open_plain(path, reader)
    try:
        assert {"ds", "group", "nested"} <= set(tree.children)
        assert tree["ds"]["t"].values.tolist() == [0.0, 1.0, 2.0]
        assert tree["ds"]["time"].dtype == np.dtype("M8[ns]")
        assert tree["ds"].attrs["title"] == "a dataset"
        np.testing.assert_array_equal(tree["name"].values, np.arange(10))
        tree.load()
    finally:
        _close(tree)


def test_every_group_has_consistent_dimensions(case: Case) -> None:
    path = _messy_store(case)
    for reader in case.readers:
        tree = case.open_plain(path, reader)
        try:
            for node in tree.subtree:
                for var in node.to_dataset(inherit=False).variables.values():
                    for dim, size in zip(var.dims, var.shape, strict=True):
                        assert node.sizes[dim] == size
        finally:
            _close(tree)


def test_ncdump_and_h5dump(netcdf_case: Case) -> None:
    """Debian's netCDF and HDF5 tools read what both netCDF engines wrote."""
    ncdump, h5dump = require_tool("ncdump"), require_tool("h5dump")
    _check_tools(ncdump, h5dump, _messy_store(netcdf_case))


def _check_tools(ncdump: str, h5dump: str, path: str) -> None:
    out = subprocess.run([ncdump, "-h", path], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "group: ds" in out.stdout and "_xs_format" in out.stdout
    out = subprocess.run([h5dump, "-H", path], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert 'GROUP "ds"' in out.stdout


def test_dataset_group_opens_as_the_same_dataset(case: Case) -> None:
    ds = xr.Dataset(
        {"v": (("x", "y"), np.arange(6.0).reshape(2, 3), {"units": "m"})},
        coords={"x": [10, 20], "label": ("y", ["a", "b", "c"])},
        attrs={"source": "test"},
    )
    path = case.path()
    with case.open(path, "w") as store:
        store["ds"] = ds
    for reader in case.readers:
        tree = case.open_plain(path, reader)
        try:
            plain = tree["ds"].to_dataset()
            xr.testing.assert_equal(plain, ds)
            assert plain["v"].attrs["units"] == "m"
            assert plain.attrs["source"] == "test"
            assert "label" in plain.coords
        finally:
            _close(tree)


def test_conflicting_user_dimension_on_a_path_is_refused(case: Case) -> None:
    """A node tree whose child reuses an ancestor's dimension name with another size
    (xarray's own DataTree cannot even hold this) is refused before anything is written."""
    node = Tree(
        {},
        {
            "a": Var(np.arange(3), {}, ("x",)),
            "child": Tree({}, {"b": Var(np.arange(2), {}, ("x",))}),
        },
    )
    with case.open(case.path(), "w") as store:
        core = store.session.layout
        with pytest.raises(ValueError, match="two sizes"):
            core.write_node((), "outer", node)
        assert "outer" not in store
        core.write_node((), "fine", Tree({}, {"a": Var(np.arange(3), {}, ("x",))}))
        core.write_node((), "sibling", Tree({}, {"b": Var(np.arange(2), {}, ("x",))}))
        assert list(store) == ["fine", "sibling"]


def test_engine_written_files_cross_read_and_extend(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for writer, extender in [("netcdf4", "h5netcdf"), ("h5netcdf", "netcdf4")]:
        path = str(tmp_path / f"{writer}.nc")
        xstore.save({"a": np.arange(3), "d": {"x": "y"}}, path, engine=writer)
        with xstore.open(path, "a", engine=extender) as store:
            assert store["d"] == {"x": "y"}
            store["b"] = np.ones(2)
            store["d/z"] = 1.5
            del store["a"]
        with xstore.open(path, "r", engine=writer) as store:
            assert list(store) == ["d", "b"]
            assert store["d"] == {"x": "y", "z": 1.5}
