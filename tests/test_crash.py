"""SIGKILL at random moments: every value reads back as it was after the last
completed flush or as a newer complete value; a new store is absent or valid; save
leaves the old or the new file, zip or directory.  Writers run in child processes
(tests/crashkit.py); ``tests/stress/run_crashes.py`` runs hundreds of kills on demand.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import crashkit
import numpy as np
import pytest
import xarray as xr
import zarr
from conftest import Case

import xstore
from xstore.tools.check import check

KILLS = {"store": 6, "new": 6, "save": 4}


def _plain_problems(case: Case, path: str) -> list[str]:
    """Plain xarray opens whatever a killed writer left (or nothing is there); where
    xstore reports nothing left half done, it also reads every value.  (Values written
    after the last flush, or a replacement the flush had not finished, can be torn in
    an HDF5 file: xstore hides them and the next writable open repairs the file, but a
    plain reader that loads them may get an HDF5 error.)"""
    if not Path(path).exists():
        return []
    try:
        with case.open(path, "r") as store:
            for key in store:  # a reader finds what to hide as it lists groups
                value = store[key]
                if isinstance(value, xstore.Group):
                    list(value)
            clean = not store.session.layout.problems()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zarr's notes on stray directories
            target = zarr.storage.ZipStore(path, mode="r") if case.suffix == ".zip" else path
            with xr.open_datatree(target, engine=case.xr_engine) as tree:
                if clean:
                    tree.load()
    except Exception as exc:
        return [f"plain xarray: {type(exc).__name__}: {exc}"]
    return []


def _hdf5_flushing(case: Case, scenario: str, log: str) -> bool:
    """Was the writer killed where HDF5 may have been flushing its metadata?  In
    xstore's flushes; with the netcdf4 engine also inside any write, since netCDF-C
    flushes HDF5 each time it leaves define mode (see docs/series.md)."""
    if scenario == "save" or case.backend != "netcdf":
        return False
    expected = crashkit.expected_from_log(log)
    return expected.in_flush or (case.options.get("engine") == "netcdf4" and expected.in_write)


@pytest.mark.parametrize("scenario", ["store", "new", "save"])
def test_kills_leave_old_or_new_values(case: Case, tmp_path: Path, scenario: str) -> None:
    """A kill inside an HDF5 flush is the one window HDF5 cannot protect (it writes
    its metadata in no particular order); there the damage must be reported by
    ``xstore check``.  Anywhere else nothing may be damaged."""
    engine = str(case.options.get("engine", "-"))
    mode = case.format.save_mode

    def opener(path: str, how: str) -> xstore.Store:
        return case.open(path, how)

    failures = []
    for seed in range(KILLS[scenario]):
        rng = random.Random(f"{case.id}-{scenario}-{seed}")
        path, log = case.path(f"kill{seed}-"), str(tmp_path / f"{scenario}{seed}.log")
        if scenario == "save":
            crashkit.kill_during(crashkit.write_saves, (path, log, mode, seed), rng.random())
            problems = crashkit.check_saved(path, log, mode)
        elif scenario == "new":
            args = (path, log, engine, seed)
            crashkit.kill_during(crashkit.write_store, args, rng.random() * 0.1)
            problems = crashkit.check_store(path, log, opener)
        else:
            crashkit.write_store(path, log, engine, seed, stop=2)
            args = (path, log, engine, seed + 1)
            crashkit.kill_during(crashkit.write_store, args, rng.random() * 0.6)
            problems = crashkit.check_store(path, log, opener)
        problems += _plain_problems(case, path)
        if not problems:
            continue
        if _hdf5_flushing(case, scenario, log) and check(path):
            continue  # HDF5's one window, and xstore check reports the damage
        failures.append((seed, problems))
    assert not failures, failures


def test_a_killed_writer_leaves_nothing_that_the_next_writer_trips_on(
    case: Case, tmp_path: Path
) -> None:
    engine = str(case.options.get("engine", "-"))
    path, log = case.path(), str(tmp_path / "log")
    crashkit.write_store(path, log, engine, 1, stop=2)
    # no flush in the killed session: the kill lands among writes, never inside a flush
    crashkit.kill_during(crashkit.write_store, (path, log, engine, 2, 0, 0.0), 0.3)
    with case.open(path, "r") as store:  # a reader hides what the writer left half done
        report = store.session.layout.problems()
    assert all(any(w in line for w in ("killed", "torn", "commit", "finish")) for line in report)
    with case.open(path, "a") as store:  # writable reopen: finishes and cleans up
        for key in crashkit.KEYS:
            store[key] = crashkit.value_of(key, 10_000)
    with case.open(path, "r") as store:
        for key in crashkit.KEYS:
            assert crashkit.same(crashkit.value_of(key, 10_000), store[key])
        assert store.session.layout.problems() == []


def test_replaced_values_stay_until_the_flush_commits_them(case: Case) -> None:
    """A replaced or deleted committed value is what readers see until the flush."""
    path = case.path()
    with case.open(path, "w") as store:
        store["x"] = np.arange(3)
        store["d"] = {"a": 1, "b": {"c": 2}}
        store["s"] = 1.0
        store.append("gone", 1.0)
    with case.open(path, "a") as store:
        store["x"] = "now a string"
        store["d/b/c"] = 3  # into a stored dict, by path
        del store["s"]
        del store["gone"]
        store.extend("gone", [5.0, 6.0])  # a new series where a committed one was
        store.extend("gone", [7.0])
        assert store["x"] == "now a string" and store["d"] == {"a": 1, "b": {"c": 3}}
        assert "s" not in store and store["gone"].tolist() == [5.0, 6.0, 7.0]
        if case.backend == "zarr" and case.suffix == ".zarr":  # readers run beside writers
            with case.open(path, "r") as reader:
                assert reader["x"].tolist() == [0, 1, 2] and reader["s"] == 1.0
                assert reader["d"] == {"a": 1, "b": {"c": 2}}
        store.flush()
        if case.backend == "zarr" and case.suffix == ".zarr":
            with case.open(path, "r") as reader:
                assert reader["x"] == "now a string" and "s" not in reader
        store.extend("gone", [8.0])
    with case.open(path, "r") as store:
        assert list(store) == ["x", "d", "gone"]
        assert store["x"] == "now a string" and store["d"] == {"a": 1, "b": {"c": 3}}
        assert store["gone"].tolist() == [5.0, 6.0, 7.0, 8.0]
        assert store.session.layout.problems() == []
    tree = case.open_plain(path)  # plain readers see only final names
    try:
        assert not any(name.startswith("_xs_") for name in tree.to_dataset().variables)
    finally:
        tree.close()
