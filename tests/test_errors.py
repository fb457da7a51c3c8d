"""Error classes and messages (SPEC §7)."""

from __future__ import annotations

from pathlib import Path

import pytest

import xstore


def test_error_hierarchy() -> None:
    assert issubclass(xstore.StoreError, OSError)
    assert issubclass(xstore.PickleNotAllowedError, ValueError)


@pytest.mark.parametrize("suffix", [".nc", ".h5"])
def test_unreadable_store_names_its_path(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(b"this is not HDF5" * 10)
    with pytest.raises(xstore.StoreError, match=str(path)):
        xstore.open(path, "r")
    with pytest.raises(xstore.StoreError, match=str(path)):
        xstore.load(path)


def test_truncated_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.nc"
    xstore.save({"x": list(range(1000))}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(xstore.StoreError, match=r"cut\.nc"):
        xstore.load(path)


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        xstore.load(tmp_path / "missing.nc")
    with pytest.raises(FileNotFoundError):
        xstore.open(tmp_path / "missing.nc", "r")
    with pytest.raises(FileNotFoundError):
        xstore.load(tmp_path / "missing.json", mode="json")


def test_unknown_backend_for_a_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="backend"):
        xstore.open(tmp_path / "store.unknown", "w")
    with xstore.open(tmp_path / "store.unknown", "w", backend="netcdf") as store:
        store["x"] = 1
    assert xstore.load(tmp_path / "store.unknown") == {"x": 1}
    with xstore.open(tmp_path / "store.unknown", "r") as store:  # sniffed from content
        assert store["x"] == 1


def test_undetectable_format(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"\x00\x01\x02")
    with pytest.raises(xstore.StoreError, match="cannot tell"):
        xstore.load(path)
