"""Error classes and messages (SPEC §7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Case

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


def test_a_missing_folder_is_file_not_found(save_case: Case, tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / f"x{save_case.suffix}"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_case.save({"a": 1}, path)
    if save_case.backend is not None:
        for mode in ("w", "a", "w-"):
            with pytest.raises(FileNotFoundError, match=str(tmp_path / "no" / "such")):
                save_case.open(str(path), mode)
    assert not (tmp_path / "no").exists()  # nothing was created on the way


def test_save_removes_what_an_interrupted_save_left(save_case: Case, tmp_path: Path) -> None:
    path = tmp_path / f"x{save_case.suffix}"
    suffix = save_case.suffix
    ours = [
        tmp_path / f".x{suffix}.xstore-1234abcd.tmp{suffix}",
        tmp_path / f".x{suffix}.xstore-0000ffff.tmp{suffix}.old",
    ]
    (tmp_path / f".x{suffix}.xstore-5678abcd.tmp{suffix}").mkdir()  # a directory store
    ours.append(tmp_path / f".x{suffix}.xstore-5678abcd.tmp{suffix}")
    others = [
        tmp_path / f".y{suffix}.xstore-1234abcd.tmp{suffix}",  # another target's
        tmp_path / f".x{suffix}.xstore-notours.tmp{suffix}",  # not xstore's pattern
        tmp_path / f"x{suffix}.xstore-1234abcd.tmp{suffix}",  # not hidden
    ]
    for leftover in [*ours[:2], *others]:
        leftover.write_bytes(b"half-written")
    save_case.save({"a": 1}, path)
    assert xstore.load(path, allow_pickle=True) == {"a": 1}
    assert not any(p.exists() for p in ours)
    assert all(p.exists() for p in others)
