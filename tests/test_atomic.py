"""``save`` is atomic: on any error the target is left exactly as it was (SPEC §2)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import xstore
from xstore.backends.netcdf.backend import NetCDFBackend

ORIGINAL = {"kept": np.arange(10.0), "text": "original"}


class Exploding:
    """A Storable whose _store fails halfway, after writing something."""

    def _store(self, group: xstore.Group) -> None:
        group["partial"] = np.ones(5)
        raise RuntimeError("boom in _store")

    @classmethod
    def _restore(cls, group: xstore.Group, version: object) -> Exploding:
        return cls()


def _snapshot(path: Path) -> tuple[bytes, list[str]]:
    return path.read_bytes(), sorted(os.listdir(path.parent))


@pytest.mark.parametrize(
    ("mode", "suffix", "bad", "error"),
    [
        ("hdf5", ".h5", {"a": np.ones(3), "b": (x for x in "gen")}, TypeError),
        ("hdf5", ".h5", {"a": np.ones(3), "b": Exploding()}, RuntimeError),
        ("netcdf", ".nc", {"a": 1, "b": {"c": Exploding()}}, RuntimeError),
        ("zarr", ".zip", {"a": 1, "b": {"c": Exploding()}}, RuntimeError),
        ("json", ".json", {"a": 1, "b": {1, lambda: 0}}, TypeError),
        ("cloudpickle", ".pkl", {"a": 1, "b": (x for x in "gen")}, TypeError),
    ],
)
def test_failing_save_leaves_old_file_intact(
    tmp_path: Path, mode: str, suffix: str, bad: dict, error: type
) -> None:
    path = tmp_path / f"doc{suffix}"
    xstore.save(ORIGINAL, path, mode=mode)
    before = _snapshot(path)
    with pytest.raises(error):
        xstore.save(bad, path, mode=mode)
    assert _snapshot(path) == before  # same bytes, no temporary files left behind
    assert list(xstore.load(path, mode=mode)) == ["kept", "text"]


def test_io_error_midway_leaves_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "doc.nc"
    xstore.save(ORIGINAL, path)
    before = _snapshot(path)
    calls = {"n": 0}
    original = NetCDFBackend.create_variable

    def failing(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NetCDFBackend, "create_variable", failing)
    with pytest.raises(OSError, match="disk full"):
        xstore.save({f"k{i}": np.arange(i) for i in range(5)}, path)
    assert _snapshot(path) == before


def test_interrupted_save_leaves_no_new_file(tmp_path: Path) -> None:
    path = tmp_path / "new.nc"
    with pytest.raises(RuntimeError):
        xstore.save({"a": 1, "b": Exploding()}, path)
    assert os.listdir(tmp_path) == []


def test_save_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        xstore.save([1, 2], tmp_path / "x.nc")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        xstore.save({1: 2}, tmp_path / "x.nc")  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="mode"):
        xstore.save({}, tmp_path / "x.nc", mode="hdf4")
    with pytest.raises(TypeError):
        xstore.save({}, tmp_path / "x.nc", nonsense=1)
    assert os.listdir(tmp_path) == []


def test_failing_save_leaves_a_zarr_directory_intact(tmp_path: Path) -> None:
    path = tmp_path / "doc.zarr"
    xstore.save(ORIGINAL, path, mode="zarr")
    before = {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    with pytest.raises(RuntimeError):
        xstore.save({"a": np.ones(3), "b": Exploding()}, path, mode="zarr")
    after = {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    assert after == before
    assert sorted(os.listdir(tmp_path)) == ["doc.zarr"]


@pytest.mark.parametrize(("first", "then"), [("hdf5", "zarr"), ("zarr", "hdf5"), ("zarr", "json")])
def test_save_replaces_a_store_of_the_other_kind(tmp_path: Path, first: str, then: str) -> None:
    """A netCDF file saved over a zarr directory (and back) replaces it, leaving nothing
    else beside it (the two cannot be swapped by a plain rename)."""
    target = tmp_path / "result.store"
    xstore.save(ORIGINAL, target, mode=first)
    xstore.save({"new": np.arange(3)}, target, mode=then)
    assert sorted(os.listdir(tmp_path)) == ["result.store"]
    assert os.path.isdir(target) == (then == "zarr")
    np.testing.assert_array_equal(xstore.load(target)["new"], np.arange(3))
    assert "kept" not in xstore.load(target)
