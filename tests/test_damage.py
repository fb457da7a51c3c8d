"""Damaged and crafted stores (SPEC §8): a corruption fuzz and crafted sizes.

Every damaged copy of a realistic store either loads equal to the original or raises
``StoreError`` — never another exception, a different value, a hang, a crash or a
memory blow-up.  Loading happens in a child process with a time and memory limit per
variant (tests/damagekit.py); ``tests/stress/run_damage.py`` runs hundreds more.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import damagekit
import netCDF4
import numpy as np
import pytest

import xstore
from xstore.backends import plausible

#: (mode, suffix, variants in CI)
FUZZ = {
    "hdf5": ("hdf5", ".nc", 150),
    "zarr": ("zarr", ".zarr", 150),
    "zarr-zip": ("zarr", ".zip", 60),
    "json": ("json", ".json", 60),
}


@pytest.fixture(scope="module")
def fuzz_bench(tmp_path_factory: pytest.TempPathFactory):
    """Per mode: a folder, the pristine store and a batch judge (made on first use)."""
    made: dict[str, tuple[str, str, damagekit.BatchJudge]] = {}

    def get(name: str) -> tuple[str, str, damagekit.BatchJudge]:
        if name not in made:
            mode, suffix, _ = FUZZ[name]
            folder = str(tmp_path_factory.mktemp(f"fuzz-{name}"))
            pristine = f"{folder}/pristine{suffix}"
            damagekit.write(pristine, mode)
            made[name] = (folder, pristine, damagekit.BatchJudge(mode))
        return made[name]

    yield get
    for _, _, judge in made.values():
        judge.close()


@pytest.mark.parametrize(
    ("name", "seed"), [(name, seed) for name, (_, _, n) in FUZZ.items() for seed in range(n)]
)
def test_damaged_store_loads_the_same_or_raises_store_error(fuzz_bench, name: str, seed: int):
    folder, pristine, judge = fuzz_bench(name)
    path, what = damagekit.copy_and_damage(folder, FUZZ[name][1], 1000 + seed, pristine)
    try:
        verdict = judge.judge(path)
    finally:
        damagekit.remove(path)
    assert verdict in ("same", "storeerror"), f"{what}: {verdict}"


# -- crafted sizes: no allocation beyond what the store holds -------------------------------


def _as_foreign(path: Path, name: str) -> None:
    """Make an xstore zarr array look foreign: no ``_xs_complete`` promise that every
    chunk exists, and no consolidated metadata to check it against."""
    meta = path / name / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"].pop("_xs_complete")
    meta.write_text(json.dumps(doc))
    root = json.loads((path / "zarr.json").read_text())
    root.pop("consolidated_metadata", None)
    (path / "zarr.json").write_text(json.dumps(root))


def _grow_declared_shape(store: Path, key: str, rows: int) -> None:
    """Edit a zarr array's declared shape (in its zarr.json and the commit record)."""
    meta = store / key / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["shape"][0] = rows
    meta.write_text(json.dumps(doc))
    root = store / "zarr.json"
    top = json.loads(root.read_text())
    consolidated = (top.get("consolidated_metadata") or {}).get("metadata", {})
    if key in consolidated:
        consolidated[key]["shape"][0] = rows
        root.write_text(json.dumps(top))


@pytest.mark.parametrize("complete", [True, False])
def test_a_huge_declared_zarr_shape_is_refused_before_allocating(tmp_path: Path, complete):
    path = tmp_path / "small.zarr"
    xstore.save({"x": np.arange(1000.0)}, path, mode="zarr")
    if not complete:  # as a foreign store would be: no promise that every chunk exists
        _as_foreign(path, "x")
    _grow_declared_shape(path, "x", 10**11)  # 800 GB of float64 over 8 KB of data
    with pytest.raises(xstore.StoreError, match=r"/x in .*small\.zarr declares"):
        xstore.load(path)
    with xstore.open(path, "r") as store:
        with pytest.raises(xstore.StoreError, match="chunks are stored"):
            store["x"]
        assert store.array("x")[:10].tolist() == list(range(10))  # slices still read


def test_a_huge_declared_netcdf_extent_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "sparse.nc"
    with netCDF4.Dataset(path, "w") as ds:  # one value written 10^10 records out
        ds.createDimension("t", None)
        var = ds.createVariable("x", "f8", ("t",), chunksizes=(1024,))
        var[10**10] = 1.0
    assert path.stat().st_size < 100_000
    with pytest.raises(xstore.StoreError, match=r"declares .* whole file has"):
        xstore.load(path)


def test_a_refused_declaration_never_touched_the_memory(tmp_path: Path) -> None:
    """2 GB declared over 8 KB of a foreign-looking array: the child that loads it
    stays far below 2 GB of resident memory (it refused before filling anything)."""
    path = tmp_path / "small.zarr"
    xstore.save({"x": np.arange(1000.0)}, path, mode="zarr")
    _as_foreign(path, "x")
    _grow_declared_shape(path, "x", 250_000_000)
    code = (
        "import resource, sys, xstore\n"
        "try:\n    xstore.load(sys.argv[1]); print('loaded')\n"
        "except xstore.StoreError:\n    print('storeerror')\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    verdict, peak_mb = out.stdout.split()
    assert verdict == "storeerror", out.stderr
    assert int(peak_mb) < 600


def test_a_tiny_file_declaring_millions_of_tiny_chunks_is_refused_not_filled(
    tmp_path: Path,
) -> None:
    """HDF5 fills every chunk that is not stored, one at a time (~8 s per million):
    a few KB declaring 2e7 values in 16-value chunks would spin rather than fail."""
    path = tmp_path / "tiny-chunks.nc"
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("t", None)
        var = ds.createVariable("x", "f8", ("t",), chunksizes=(16,))
        var[2 * 10**7 - 1] = 1.0
    assert path.stat().st_size < 100_000
    with pytest.raises(xstore.StoreError, match=r"declares \d+ chunks"):
        xstore.load(path)
    with xstore.open(path, "r") as store:  # a slice of it is fine
        assert store.array("x")[:32].shape == (32,)


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        ((), 100 * 4),
        ((slice(0, 10),), 1 * 4),
        ((slice(5, 15), 3), 2),
        ((slice(None, None, -1),), 100 * 4),
        ((slice(0, 1000, 500),), 2 * 4),
        ((slice(7, 7),), 0),
    ],
)
def test_chunks_touched_by_a_selection(index: tuple, expected: int) -> None:
    assert plausible.selection_chunks((1000, 40), (10, 10), index) == expected


@pytest.fixture(scope="module")
def zarr_original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("orig") / "store.zarr"
    damagekit.write(str(path), "zarr")
    return path


def _without(original: Path, folder: Path, chunks: list[str]) -> str:
    import shutil

    copy = folder / "damaged.zarr"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(original, copy)
    for chunk in chunks:
        (copy / chunk).unlink()
    return str(copy)


def _array_of(chunk: str) -> str:
    parts = chunk.split("/")
    return "/" + "/".join(parts[: len(parts) - 1 - parts[::-1].index("c")])


def test_check_names_the_array_of_every_deleted_zarr_chunk(zarr_original: Path, tmp_path):
    from xstore.tools.check import check

    chunks = sorted(
        str(p.relative_to(zarr_original))
        for p in zarr_original.rglob("*")
        if p.is_file() and "c" in p.relative_to(zarr_original).parts
    )
    assert len(chunks) > 10
    for chunk in chunks:
        problems = check(_without(zarr_original, tmp_path, [chunk]))
        assert any(p.startswith(f"{_array_of(chunk)}:") for p in problems), (chunk, problems)


def test_check_names_each_damaged_array_inside_one_value(zarr_original: Path, tmp_path):
    """Two damaged arrays of one stored Dataset, and of one dict: four lines, not two."""
    from xstore.tools.check import check

    chunks = ["dataset/v/c/0/0", "dataset/x/c/0", "params/T/c", "params/name/c", "traj/t/c/0"]
    problems = check(_without(zarr_original, tmp_path, chunks))
    named = sorted(p.split(":")[0] for p in problems)
    assert named == ["/dataset/v", "/dataset/x", "/params/T", "/params/name", "/traj/t"]
