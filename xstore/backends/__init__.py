"""Backends and how a path selects one."""

from __future__ import annotations

import os
from typing import Any

from xstore.backends.base import Backend, VarInfo

NETCDF_SUFFIXES = (".nc", ".nc4", ".h5", ".hdf5", ".he5", ".cdf")
ZARR_SUFFIXES = (".zarr", ".zip")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

__all__ = ["Backend", "VarInfo", "infer_backend", "open_backend"]


def is_remote(path: str) -> bool:
    """True for fsspec URLs such as ``s3://`` or ``memory://``."""
    return "://" in path and not path.startswith("file://")


def sniff(path: str) -> str | None:
    """The format of an existing file or directory, judged from its contents."""
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "zarr.json")):
            return "zarr"
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None
    if head.startswith(HDF5_SIGNATURE) or head.startswith(b"CDF"):
        return "netcdf"
    if head.startswith(b"PK"):
        return "zarr"
    if head.startswith(b"\x80"):
        return "cloudpickle"
    if head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return None


def infer_backend(path: str) -> str:
    """``"netcdf"`` or ``"zarr"`` for a store path (SPEC §3), or ``ValueError``."""
    lowered = path.lower().rstrip("/")
    if lowered.endswith(NETCDF_SUFFIXES):
        return "netcdf"
    if lowered.endswith(ZARR_SUFFIXES) or is_remote(path):
        return "zarr"
    found = sniff(path) if os.path.exists(path) else None
    if found in ("netcdf", "zarr"):
        return found
    raise ValueError(
        f"cannot tell which backend to use for {path!r}: use a suffix "
        f"({', '.join(NETCDF_SUFFIXES + ZARR_SUFFIXES)}) or pass backend='netcdf' or 'zarr'"
    )


def exists(path: str, backend: str) -> bool:
    if backend == "zarr":
        from xstore.backends.zarr import store_exists

        return store_exists(path)
    return os.path.exists(path)


def open_backend(path: str, mode: str, backend: str, **options: Any) -> Backend:
    """Open (or create) ``path`` with the named backend."""
    if backend == "netcdf":
        from xstore.backends.netcdf import NetCDFBackend

        return NetCDFBackend(path, mode, **options)
    if backend == "zarr":
        from xstore.backends.zarr import ZarrBackend

        return ZarrBackend(path, mode, **options)
    if backend == "memory":
        from xstore.backends.memory import MemoryBackend

        if options:
            raise TypeError(f"the memory backend takes no options, got {sorted(options)}")
        return MemoryBackend()
    raise ValueError(f"unknown backend {backend!r}; choose 'netcdf' or 'zarr'")
