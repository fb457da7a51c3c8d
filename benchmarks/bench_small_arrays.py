"""save/load of a dict of many small arrays: xstore against raw h5py and h5io, in one run.

The dict holds ``n`` float64 arrays of shape (3,) (issue 11: 1,000 took 4.8 s to save,
10,000 did not finish in 26 minutes).  For each ``n`` it prints seconds (best of
``--repeat``), microseconds per array (flat when the cost is linear in ``n``) and the
ratios xstore/h5py and xstore/h5io.  Raw h5py writes one dataset per array (no
dimension scales; "h5py+scales" also attaches each to one shared HDF5 dimension
scale, the floor of any netCDF-4 writer sharing ``dim_3``); xstore writes a netCDF-4
file plain xarray opens (``--mode zarr`` for a zarr store).  Targets (issue 11):
within 2x raw h5py, faster than h5io, linear.

Run: ``python benchmarks/bench_small_arrays.py [--sizes 1000,10000,50000] [--repeat 1]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import best_of, table

import xstore


def make_data(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {f"a{i}": rng.random(3) for i in range(n)}


def h5py_save(data: dict[str, np.ndarray], path: str) -> None:
    with h5py.File(path, "w") as f:
        for key, value in data.items():
            f.create_dataset(key, data=value)


def h5py_scales_save(data: dict[str, np.ndarray], path: str) -> None:
    """Raw h5py plus one shared HDF5 dimension scale per length, as every netCDF-4
    writer attaches them (what a shared ``dim_3`` costs in HDF5 itself)."""
    with h5py.File(path, "w", libver=("v108", "latest")) as f:
        scales: dict[int, h5py.Dataset] = {}
        for key, value in data.items():
            dset = f.create_dataset(key, data=value)
            length = len(value)
            if length not in scales:
                scales[length] = f.create_dataset(f"dim_{length}", data=np.zeros(length))
                scales[length].make_scale(f"dim_{length}")
            dset.dims[0].attach_scale(scales[length])


def h5py_load(path: str) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {key: f[key][()] for key in f}


def _remove(path: str) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def measure(
    n: int, mode: str, repeat: int, folder: str, h5io: object | None
) -> dict[str, tuple[float, float]]:
    """(save, load) seconds of each tool for ``n`` arrays."""
    data = make_data(n)
    out: dict[str, tuple[float, float]] = {}
    target = os.path.join(folder, f"x{n}.{'zarr' if mode == 'zarr' else 'nc'}")

    def xs_save() -> None:
        _remove(target)
        xstore.save(data, target, mode=mode)

    out["xstore"] = (best_of(xs_save, repeat), best_of(lambda: xstore.load(target), repeat))
    assert np.array_equal(xstore.load(target)[f"a{n - 1}"], data[f"a{n - 1}"])
    raw = os.path.join(folder, f"h{n}.h5")
    out["h5py"] = (
        best_of(lambda: h5py_save(data, raw), repeat),
        best_of(lambda: h5py_load(raw), repeat),
    )
    scaled = os.path.join(folder, f"s{n}.h5")
    out["h5py+scales"] = (best_of(lambda: h5py_scales_save(data, scaled), repeat), float("nan"))
    if h5io is not None:
        other = os.path.join(folder, f"i{n}.h5")
        write: Callable[..., None] = h5io.write_hdf5  # type: ignore[attr-defined]
        read: Callable[..., object] = h5io.read_hdf5  # type: ignore[attr-defined]
        out["h5io"] = (
            best_of(lambda: write(other, data, overwrite=True), repeat),
            best_of(lambda: read(other), repeat),
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--mode", default="hdf5", choices=["hdf5", "zarr"])
    args = parser.parse_args()
    try:
        import h5io
    except ImportError:  # optional comparison
        h5io = None
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n in (int(s) for s in args.sizes.split(",")):
            times = measure(n, args.mode, args.repeat, folder, h5io)
            for op, which in (("save", 0), ("load", 1)):
                xs, raw = times["xstore"][which], times["h5py"][which]
                scales = times["h5py+scales"][which]
                io = times["h5io"][which] if "h5io" in times else float("nan")
                rows.append(
                    [
                        f"{n:,}",
                        op,
                        f"{xs:.2f}",
                        f"{raw:.2f}",
                        f"{scales:.2f}",
                        f"{io:.2f}",
                        f"{xs / n * 1e6:.0f}",
                        f"{raw / n * 1e6:.0f}",
                        f"{xs / raw:.2f}",
                        f"{xs / io:.2f}",
                    ]
                )
    header = ["arrays", "op", "xstore s", "h5py s", "h5py+scales s", "h5io s"]
    header += ["xs us/arr", "h5py us/arr"]
    print(f"xstore mode {args.mode!r}, (3,) float64 arrays, best of {args.repeat}")
    print(table([*header, "xs/h5py", "xs/h5io"], rows))


if __name__ == "__main__":
    main()
