"""save/load of a nested dict: xstore against h5io and raw h5py, in one run.

The dict has 3 levels, 200 arrays of 5000 float64, 200 float scalars and 200 strings.
Prints seconds (best of N) and ratios; targets (issue 2): faster than h5io on both
save and load, and within 3x of raw h5py.  Run: ``python benchmarks/bench_save_load.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import best_of, table

import xstore


def make_data() -> dict:
    rng = np.random.default_rng(0)
    data: dict = {}
    for i in range(10):
        level1 = data[f"group{i}"] = {}
        for j in range(4):
            level2 = level1[f"sub{j}"] = {}
            for k in range(5):
                level2[f"array{k}"] = rng.random(5000)
                level2[f"scalar{k}"] = float(rng.random())
                level2[f"text{k}"] = f"string {i} {j} {k}"
    return data


def h5py_save(data: dict, path: str) -> None:
    def write(group: h5py.Group, tree: dict) -> None:
        for key, value in tree.items():
            if isinstance(value, dict):
                write(group.create_group(key), value)
            else:
                group[key] = value

    with h5py.File(path, "w") as handle:
        write(handle, data)


def h5py_load(path: str) -> dict:
    def read(group: h5py.Group) -> dict:
        return {k: read(v) if isinstance(v, h5py.Group) else v[()] for k, v in group.items()}

    with h5py.File(path, "r") as handle:
        return read(handle)


def zarr_save(data: dict, path: str) -> None:
    import zarr

    def write(group: zarr.Group, tree: dict) -> None:
        for key, value in tree.items():
            if isinstance(value, dict):
                write(group.create_group(key), value)
            else:
                group.create_array(key, data=np.asarray(value), compressors=None)

    write(zarr.create_group(path, zarr_format=3, overwrite=True), data)


def zarr_load(path: str) -> dict:
    import zarr

    def read(group: zarr.Group) -> dict:
        return {k: read(v) if isinstance(v, zarr.Group) else v[()] for k, v in group.members()}

    return read(zarr.open_group(path, mode="r", zarr_format=3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = make_data()
    folder = tempfile.mkdtemp()
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    runs: dict[str, tuple[float, float]] = {}

    def measure(name: str, save, load) -> None:  # type: ignore[no-untyped-def]
        runs[name] = (best_of(save, args.repeat), best_of(load, args.repeat))

    measure("raw h5py", lambda: h5py_save(data, path("raw.h5")), lambda: h5py_load(path("raw.h5")))
    try:
        import h5io

        measure(
            "h5io",
            lambda: h5io.write_hdf5(path("h5io.h5"), data, overwrite=True),
            lambda: h5io.read_hdf5(path("h5io.h5")),
        )
    except ImportError:
        print("h5io is not installed (pip install '.[bench]'): its row is missing")
    for engine in ("netcdf4", "h5netcdf"):
        target = path(f"{engine}.nc")
        measure(
            f"xstore netcdf ({engine})",
            lambda t=target, e=engine: xstore.save(data, t, engine=e),
            lambda t=target: xstore.load(t),
        )
    measure(
        "raw zarr", lambda: zarr_save(data, path("raw.zarr")), lambda: zarr_load(path("raw.zarr"))
    )
    measure(
        "xstore zarr",
        lambda: xstore.save(data, path("x.zarr"), mode="zarr"),
        lambda: xstore.load(path("x.zarr")),
    )
    measure(
        "xstore netcdf, checksum=False",
        lambda: xstore.save(data, path("nc.nc"), checksum=False),
        lambda: xstore.load(path("nc.nc")),
    )
    measure(
        "xstore zarr, checksum=False",
        lambda: xstore.save(data, path("nc.zarr"), mode="zarr", checksum=False),
        lambda: xstore.load(path("nc.zarr")),
    )

    base = runs["raw h5py"]
    peer = runs.get("h5io")
    rows = []
    for name, (save, load) in runs.items():
        row = [name, f"{save:.3f}", f"{load:.3f}", f"{save / base[0]:.2f}", f"{load / base[1]:.2f}"]
        if peer:
            row += [f"{save / peer[0]:.2f}", f"{load / peer[1]:.2f}"]
        rows.append(row)
    header = ["", "save s", "load s", "save / h5py", "load / h5py"]
    if peer:
        header += ["save / h5io", "load / h5io"]
    print(table(header, rows))
    raw_zarr, ours = runs["raw zarr"], runs["xstore zarr"]
    save, load = ours[0] / raw_zarr[0], ours[1] / raw_zarr[1]
    print(f"xstore zarr / raw zarr: save {save:.2f}, load {load:.2f}")


if __name__ == "__main__":
    main()
