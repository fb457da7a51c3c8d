"""Peak memory of saving, setting, converting and slicing a big array (not a test).

Each operation runs in a fresh process; the script prints how far the process's peak
resident memory (``ru_maxrss``) rose above what it held before the operation (for
saving and setting: with the array already in memory), and how long it took.
Target (issue 13): under 300 MB above the array itself, i.e. bounded by a few chunks,
not by the size of the value.

Run: ``python benchmarks/bench_memory.py [--gib 1.0] [--only save-netcdf,...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import table

MiB = 2**20
OPERATIONS = (
    "save-netcdf",
    "save-zarr",
    "set-netcdf",
    "set-zarr",
    "convert-zarr-to-netcdf",
    "convert-netcdf-to-zarr",
    "slice-netcdf",
    "slice-zarr",
)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MiB


def _array(gib: float) -> np.ndarray:
    rows = max(1, int(gib * 2**30 / 8 / (512 * 256)))
    arr = np.empty((rows, 512, 256))
    for i in range(rows):  # touch every page, a row at a time (no temporary copy)
        arr[i] = i
    return arr


def child(operation: str, folder: str, gib: float) -> dict[str, float]:
    """Run one operation in this process; the peak memory it added and its time."""
    import xstore
    from xstore.tools.convert import convert

    nc, zarr = os.path.join(folder, "big.nc"), os.path.join(folder, "big.zarr")
    action, _, kind = operation.partition("-")
    target = nc if kind == "netcdf" else zarr
    arr = _array(gib) if action in ("save", "set") else None
    before, start = _peak_mib(), time.perf_counter()
    if action == "save":
        xstore.save({"big": arr}, target, mode="zarr" if kind == "zarr" else "hdf5")
    elif action == "set":
        with xstore.open(target, "w") as store:
            store["big"] = arr
    elif action == "convert":
        source, dest = (zarr, nc) if kind == "zarr-to-netcdf" else (nc, zarr)
        convert(source, dest + ".copy" + os.path.splitext(dest)[1], progress=False)
    elif action == "slice":
        with xstore.open(target, "r") as store:
            store.array("big")[0, 0, :3]
    seconds = time.perf_counter() - start
    return {"extra_mib": _peak_mib() - before, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0, help="size of the array in GiB")
    parser.add_argument("--only", default=",".join(OPERATIONS), help="comma-separated list")
    parser.add_argument("--child", nargs=2, metavar=("OPERATION", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.gib)))
        return
    wanted = args.only.split(",")
    for op in list(wanted):  # converting and slicing read what saving wrote
        action, _, kind = op.partition("-")
        source = kind.split("-to-")[0]
        if action in ("convert", "slice") and f"save-{source}" not in wanted:
            wanted.insert(0, f"save-{source}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for operation in wanted:
            result = subprocess.run(
                [sys.executable, __file__, "--gib", str(args.gib), "--child", operation, folder],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                rows.append([operation, "failed", result.stderr.strip().splitlines()[-1]])
                continue
            out = json.loads(result.stdout.strip().splitlines()[-1])
            rows.append([operation, f"{out['extra_mib']:.0f}", f"{out['seconds']:.2f}"])
    print(f"array: {args.gib:g} GiB float64")
    print(table(["operation", "peak MiB above before", "seconds"], rows))


if __name__ == "__main__":
    main()
