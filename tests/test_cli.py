"""The command line (SPEC §6): tree, cat, convert, check, demo; one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import assert_identical

import xstore


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xstore", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_demo_runs_a_simulation_and_shows_how_to_open_it(tmp_path: Path) -> None:
    result = run("demo", "--steps", "300", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "xr.open_datatree" in result.stdout and "positions" in result.stdout
    assert "series of 300 records" in result.stdout
    import xarray as xr

    with xr.open_datatree(tmp_path / "demo.nc") as tree:
        assert tree["trajectory"].sizes["frame"] == 300
        assert tree["trajectory"]["positions"].shape == (300, 100, 3)


def _sample(path: Path) -> dict:
    data = {"params": {"T": 300.0, "name": "run"}, "x": np.arange(5.0), "t": (1, "a")}
    xstore.save(data, path)
    with xstore.open(path, "a") as store:
        for i in range(7):
            store.append("traj/e", float(i), record_dim="frame")
            store.append("traj/p", np.full(3, i), record_dim="frame")
    return data


def test_tree_and_cat(tmp_path: Path) -> None:
    path = tmp_path / "s.nc"
    _sample(path)
    result = run("tree", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "params/  dict (2 keys)" in out and "float64  (5,)" in out
    assert "series of 7 records, record dim 'frame'" in out and "tuple" in out
    result = run("cat", str(path), "params/T")
    assert result.returncode == 0 and result.stdout.strip() == "300.0"
    assert_one_line_error(run("cat", str(path), "missing"))


@pytest.mark.parametrize(
    ("middle", "last"),
    [("b.zarr", "c.nc"), ("b.json", "c.zarr"), ("b.zip", "c.h5"), ("b.pkl", "c.nc")],
)
def test_convert_between_backends_and_modes(tmp_path: Path, middle: str, last: str) -> None:
    source = tmp_path / "a.nc"
    xstore.save({"x": np.arange(3), "d": {"k": [1, None]}, "z": 1j}, source)
    expected = xstore.load(source)
    for src, dst in ((source, tmp_path / middle), (tmp_path / middle, tmp_path / last)):
        result = run("convert", str(src), str(dst))
        assert result.returncode == 0, result.stderr
    assert_identical(expected, xstore.load(tmp_path / last, allow_pickle=True))


def test_convert_keeps_series_appendable_and_compacts(tmp_path: Path) -> None:
    path = tmp_path / "s.nc"
    _sample(path)
    with xstore.open(path, "a") as store:
        store["big"] = np.ones(2_000_000)
        store["after"] = np.ones(10)  # the freed space is not at the end of the file
    with xstore.open(path, "a") as store:
        del store["big"]
    assert path.stat().st_size > 16e6  # HDF5 keeps the freed space...
    compact = tmp_path / "compact.nc"
    assert run("convert", str(path), str(compact)).returncode == 0
    assert compact.stat().st_size < 8e6  # ...a copy does not
    with xstore.open(compact, "a") as store:
        store.append("traj/e", 7.0, record_dim="frame")
        store.append("traj/p", np.full(3, 7), record_dim="frame")
        assert len(store["traj/e"]) == 8


def test_check_reports_health_and_damage(tmp_path: Path) -> None:
    path = tmp_path / "s.nc"
    _sample(path)
    result = run("check", str(path))
    assert result.returncode == 0 and "ok" in result.stdout, result.stdout + result.stderr
    with h5py.File(path, "r+") as handle:  # one series of a lockstep pair loses records
        handle["traj/p"].resize(5, axis=0)
    result = run("check", str(path))
    assert result.returncode == 3
    assert "/traj/p: 5 records stored, its record dimension has 7" in result.stdout
    (tmp_path / ".s.nc.xstore-1234abcd.tmp.nc").write_bytes(b"partial")
    assert "leftover" in run("check", str(path)).stdout


def test_check_finds_a_torn_zarr_commit(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    with xstore.open(path, "w") as store:
        for i in range(9):
            store.append("e", float(i), record_dim="frame")
            store.append("f", float(i), record_dim="frame")
    meta = path / "e" / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["shape"] = [4]
    meta.write_text(json.dumps(doc))
    result = run("check", str(path))
    assert result.returncode == 3 and "torn commit" in result.stdout, result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("nonsense",),
        ("tree",),
        ("tree", "/no/such/file.nc"),
        ("cat", "/no/such/file.nc", "x"),
        ("convert", "/no/such/file.nc", "out.nc"),
        ("demo", "/no/such/dir/demo.nc"),
        ("tree", "--bogus", "x.nc"),
    ],
)
def test_errors_are_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert_one_line_error(run(*args, cwd=tmp_path))


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.nc"
    path.write_bytes(b"not a store at all")
    assert_one_line_error(run("tree", str(path)))
    result = run("check", str(path))
    assert result.returncode == 3 and "cannot open" in result.stdout
