"""Chunks for analysis: one records-per-chunk per lockstep set, dask-backed views
(``to_dataset(chunks=...)``), and several stores read as one tree."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from conftest import Case, require_module

import xstore


def _chunks(store: xstore.Store, key: str) -> tuple[int, ...]:
    layout = store.session.layout
    chunks = layout.chunks(layout.resolve((), key).node)
    assert chunks is not None
    return chunks


def test_a_lockstep_set_has_one_records_per_chunk(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        for step in range(50):  # the small series first: made again once the large joins
            store.append("time", float(step), record_dim="frame")
            store.append("positions", np.full((1000, 3), step, np.float32), record_dim="frame")
            store.append("alone", float(step))
        rows = _chunks(store, "positions")[0]
        assert _chunks(store, "time")[0] == rows and 2 < rows < 1000
        assert _chunks(store, "alone")[0] > rows  # its own record dim: its own chunks
    with case.open(path, "a") as store:  # reopened: the set keeps its rows
        store.append("time", 50.0, record_dim="frame")
        store.append("positions", np.zeros((1000, 3), np.float32), record_dim="frame")
        assert _chunks(store, "time")[0] == rows
    loaded = xstore.load(path)
    assert loaded["time"].tolist() == [float(i) for i in range(51)]
    assert loaded["positions"][49, 999, 2] == 49


def test_a_set_with_a_record_larger_than_a_chunk_splits_that_record(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        for step in range(3):
            store.append("big", np.full(300_000, step, np.float64), record_dim="frame")
            store.append("t", float(step), record_dim="frame")
        rows = _chunks(store, "t")[0]
        big = _chunks(store, "big")
        assert big[0] == rows >= 64  # never a few records per chunk for the small one
        assert rows * big[1] * 8 <= 4 * 2**20  # the large record is split: bounded chunks
    assert xstore.load(path)["big"][2, -1] == 2


def test_plain_xarray_chunks_a_lockstep_set_without_warnings(tmp_path: Path) -> None:
    require_module("dask", "dask")
    path = str(tmp_path / "run.zarr")
    with xstore.open(path, "w") as store:
        for step in range(2000):
            store.append("energy", float(step), record_dim="frame")
            store.append("x", np.full((200, 3), step, np.float32), record_dim="frame")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_dataset(path, engine="zarr", chunks={})
        assert ds["energy"].chunks[0] == ds["x"].chunks[0]
        rows = ds["x"].chunks[0][0]
        xr.open_dataset(path, engine="zarr", chunks={"frame": 4 * rows})  # no cut chunk


# -- dask-backed views ------------------------------------------------------------------------


def _fill(store: xstore.Store, frames: int = 3000) -> None:
    traj = store.create_group("traj")
    for step in range(frames):
        traj.append("time", step * 0.5, record_dim="frame")
        traj.append("x", np.full((50, 3), step, np.float64), record_dim="frame")
    traj["z"] = np.array([1 + 2j, 3 - 1j])  # an encoded type: decoded, then chunked
    store["top"] = np.arange(10)


def test_views_with_chunks_are_dask_arrays_equal_to_the_lazy_ones(case: Case) -> None:
    require_module("dask", "dask")
    import dask
    import dask.array as da

    path = case.path()
    with case.open(path, "w") as store:
        _fill(store)
        lazy = store["traj"].to_dataset()
        stored = store["traj"].to_dataset(chunks={})
        rows = _chunks(store, "traj/x")[0]
        assert isinstance(stored["x"].data, da.Array)
        # {}: whole stored chunks, grouped along the records up to dask's chunk size
        assert stored["x"].chunks[0] == stored["time"].chunks[0] == (3000,)
        with dask.config.set({"array.chunk-size": f"{2 * rows * 50 * 3 * 8}B"}):
            grouped = store["traj"].to_dataset(chunks={})
        assert grouped["x"].chunks[0][0] == grouped["time"].chunks[0][0] == 2 * rows < 3000
        auto = store["traj"].to_dataset(chunks="auto")
        assert auto["x"].chunks[0] == auto["time"].chunks[0]  # one chunking per dimension
        assert auto["x"].chunks[0][0] % rows == 0 or auto["x"].chunks[0][0] == 3000
        given = store["traj"].to_dataset(chunks={"frame": 700})
        assert given["time"].chunks[0][:2] == (700, 700)
        for view in (stored, grouped, auto, given):
            xr.testing.assert_identical(view.compute(), lazy.compute())
        tree = store.to_datatree(chunks={})
        assert float(tree["traj/x"].mean()) == pytest.approx(1499.5)
        assert tree["top"].values.tolist() == list(range(10))
        store["traj"].append("time", 1500.0, record_dim="frame")  # buffered: flushed first
        store["traj"].append("x", np.zeros((50, 3)), record_dim="frame")
        assert store["traj"].to_dataset(chunks={})["time"].shape == (3001,)


def test_a_chunked_view_outlives_its_store_through_a_pickle(tmp_path: Path) -> None:
    require_module("dask", "dask")
    import pickle

    path = str(tmp_path / "run.zarr")
    with xstore.open(path, "w") as store:
        _fill(store, frames=500)
        view = store.to_datatree(chunks={})
    copy = pickle.loads(pickle.dumps(view))  # what a dask worker receives
    assert float(copy["traj/x"].sum()) == pytest.approx(50 * 3 * sum(range(500)))


def test_a_distributed_cluster_reads_a_store_it_never_opened(tmp_path: Path) -> None:
    require_module("distributed", "dask")
    from dask.distributed import Client, LocalCluster

    path = str(tmp_path / "run.zarr")
    with xstore.open(path, "w") as store:
        _fill(store, frames=2000)
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        with Client(cluster), xstore.open(path, "r") as store:
            ds = store["traj"].to_dataset(chunks={"frame": 500})
            mean = ds["x"].mean("frame").compute()  # read by the worker processes
            assert mean.shape == (50, 3) and float(mean[0, 0]) == pytest.approx(999.5)
    finally:
        cluster.close()


def test_chunks_need_dask_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "run.zarr")
    with xstore.open(path, "w") as store:
        store.append("e", 1.0)
        monkeypatch.setitem(sys.modules, "dask.array", None)  # as if dask were missing
        assert store.to_dataset()["e"].values.tolist() == [1.0]
        with pytest.raises(ImportError, match=r"xstore\[dask\]"):
            store.to_dataset(chunks={})


# -- many writers: one store each, read together ------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, numpy as np, xstore
    path, k = sys.argv[1], int(sys.argv[2])
    with xstore.open(path, "w") as store:
        store.attrs["replica"] = k
        for step in range(300):
            store.append("energy", float(k * 1000 + step), record_dim="frame")
            store.append("x", np.full(3, k), record_dim="frame")
            if step % 50 == 0:
                store.flush()
    """
)


def test_parallel_writers_write_a_store_each_read_together(tmp_path: Path) -> None:
    paths = [str(tmp_path / f"replica{k}.zarr") for k in range(3)]
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, path, str(k)])
        for k, path in enumerate(paths)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    with xstore.open_datatree(paths) as tree:
        assert list(tree.children) == ["replica0", "replica1", "replica2"]
        assert tree["replica2"].attrs["replica"] == 2
        assert tree["replica1/energy"].values[-1] == 1299.0
    with xstore.open(paths[0], "a") as held:
        held["note"] = "busy"
        with pytest.raises(xstore.StoreLockedError, match="open_datatree"):
            xstore.open(paths[0], "a")  # a second writer of one store is told the pattern
    named: dict[str, Any] = {"a": paths[0], "b": paths[1]}
    tree = xstore.open_datatree(named, chunks={})
    assert float(tree["b/energy"].mean()) == pytest.approx(1149.5)
    tree.close()
    with pytest.raises(ValueError, match="need names"):
        xstore.open_datatree([paths[0], paths[0]])
