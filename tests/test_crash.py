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
import pytest
import xarray as xr
import zarr
from conftest import Case

import xstore

KILLS = {"store": 6, "new": 6, "save": 4}


def _plain_open(case: Case, path: str) -> None:
    """Plain xarray opens whatever a killed writer left (or nothing is there)."""
    if not Path(path).exists():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr's notes on stray directories
        target = zarr.storage.ZipStore(path, mode="r") if case.suffix == ".zip" else path
        with xr.open_datatree(target, engine=case.xr_engine) as tree:
            tree.load()


@pytest.mark.parametrize("scenario", ["store", "new", "save"])
def test_kills_leave_old_or_new_values(case: Case, tmp_path: Path, scenario: str) -> None:
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
        _plain_open(case, path)
        if problems:
            failures.append((seed, problems))
    assert not failures, failures


def test_a_killed_writer_leaves_nothing_that_the_next_writer_trips_on(
    case: Case, tmp_path: Path
) -> None:
    engine = str(case.options.get("engine", "-"))
    path, log = case.path(), str(tmp_path / "log")
    crashkit.write_store(path, log, engine, 1, stop=2)
    crashkit.kill_during(crashkit.write_store, (path, log, engine, 2), 0.3)
    with case.open(path, "r") as store:  # a reader hides what the writer left half done
        report = store.session.layout.problems()
    assert all("killed" in line or "torn" in line or "commit" in line for line in report)
    with case.open(path, "a") as store:  # writable reopen: finishes and cleans up
        for key in crashkit.KEYS:
            store[key] = crashkit.value_of(key, 10_000)
    with case.open(path, "r") as store:
        for key in crashkit.KEYS:
            assert crashkit.same(crashkit.value_of(key, 10_000), store[key])
        assert store.session.layout.problems() == []
