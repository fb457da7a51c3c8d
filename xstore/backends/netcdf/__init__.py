"""The netCDF-4/HDF5 backend: :mod:`~.backend` (the backend), :mod:`~.engines`
(netCDF4-python and h5netcdf), :mod:`~.hdf5` (what only h5py can do)."""

from __future__ import annotations

import os
import threading
from typing import Any

from xstore.backends.address import Address
from xstore.backends.base import Backend, BackendSpec

SUFFIXES = (".nc", ".nc4", ".h5", ".hdf5", ".he5", ".cdf")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _sniff(path: str) -> bool:
    if not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return False
    return head.startswith(HDF5_SIGNATURE) or head.startswith(b"CDF")


def _open(address: Address, mode: str, **options: Any) -> Backend:
    from xstore.backends.netcdf.backend import NetCDFBackend

    return NetCDFBackend(address.location, mode, **options)


def _exists(address: Address) -> bool:
    return os.path.exists(address.location)


def _problems(location: str) -> list[str]:
    from xstore.backends.netcdf.hdf5 import short_series, uncommitted_records

    lines = [f"series shorter than its frames: {line}" for line in short_series(location)]
    lines.extend(
        "interrupted flush (xstore reads up to the commit record and truncates on the "
        f"next writable open; other readers see these records): {line}"
        for line in uncommitted_records(location)
    )
    return lines


SPEC = BackendSpec(
    name="netcdf",
    open=_open,
    exists=_exists,
    suffixes=SUFFIXES,
    sniff=_sniff,
    problems=_problems,
    save_modes=("hdf5", "netcdf"),
    engines=("netcdf4", "h5netcdf"),
    library_lock=threading.RLock(),  # netCDF-C and HDF5 are not thread-safe across files
)
