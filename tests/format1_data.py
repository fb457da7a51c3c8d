"""A store written by xstore format 1 (before format 2 named unnamed axes ``dim_<n>``
and stored Datasets exactly): what it holds, and how it was made.

``tests/data/format1.nc`` and ``tests/data/format1.zip`` were written by the last
format-1 xstore (commit f092025) running :func:`write`::

    git worktree add /tmp/format1 f092025
    PYTHONPATH=/tmp/format1 python tests/format1_data.py tests/data

The test checks that format 2 reads them and extends them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

FRAMES = 4


def values() -> dict[str, Any]:
    """The values saved with ``save``."""
    return {
        "params": {"T": 300.0, "steps": 1000, "tags": ("a", "b")},
        "x": np.arange(6.0).reshape(2, 3),
        "y": np.arange(3, dtype=np.int16),
        "ds": xr.Dataset(
            {
                "t": ("time", np.array([1.5, 2.5, 3.5])),
                "flag": ("time", np.array([True, False, True])),
                "z": ("time", np.array([1j, 2, 3])),
            },
            coords={"time": np.array(["2020-01-01", "2020-01-02", "NaT"], dtype="M8[ns]")},
            attrs={"title": "format 1"},
        ),
        "da": xr.DataArray(np.arange(4.0), dims="x", name="v", attrs={"units": "m"}),
    }


def frames() -> tuple[np.ndarray, np.ndarray]:
    """The series appended to ``traj`` (record_dim ``frame``): energies, positions."""
    energy = np.arange(FRAMES, dtype=np.float64) - 1.5
    positions = np.arange(FRAMES * 6, dtype=np.float32).reshape(FRAMES, 2, 3)
    return energy, positions


def write(folder: Path) -> None:
    import xstore

    for suffix, mode in ((".nc", "hdf5"), (".zip", "zarr")):
        path = folder / f"format1{suffix}"
        xstore.save(values(), path, mode=mode)
        energy, positions = frames()
        with xstore.open(path, "a", chunk_bytes=64) as store:
            traj = store.create_group("traj")
            for e, p in zip(energy, positions, strict=True):
                traj.append("energy", float(e), record_dim="frame")
                traj.append("positions", p, record_dim="frame")
            traj.append("count", 1)


if __name__ == "__main__":
    write(Path(sys.argv[1]))
