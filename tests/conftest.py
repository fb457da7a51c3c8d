"""Fixtures shared by the suite: every behaviour is checked on every backend and engine."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import xarray as xr

import xstore

# (id, file suffix, extra open() arguments)
BACKENDS = [
    ("netcdf4", ".nc", {"engine": "netcdf4"}),
    ("h5netcdf", ".nc", {"engine": "h5netcdf"}),
    ("zarr", ".zarr", {}),
    ("zarr-zip", ".zip", {}),
]
BACKEND_IDS = [b[0] for b in BACKENDS]


class Case:
    """One backend/engine under test: makes paths and opens stores."""

    def __init__(self, ident: str, suffix: str, options: dict[str, Any], folder: Path) -> None:
        self.id = ident
        self.suffix = suffix
        self.options = options
        self.folder = folder
        self.backend = "zarr" if suffix in (".zarr", ".zip") else "netcdf"
        self._count = 0

    def path(self, stem: str = "store") -> str:
        self._count += 1
        return str(self.folder / f"{stem}{self._count}{self.suffix}")

    def open(self, path: str, mode: str = "a", **kwargs: Any) -> xstore.Store:
        return xstore.open(path, mode, **self.options, **kwargs)

    def save(self, data: Any, path: str) -> None:
        mode = "zarr" if self.backend == "zarr" else "hdf5"
        xstore.save(data, path, mode=mode, **self.options)

    @property
    def xr_engine(self) -> str:
        return "zarr" if self.backend == "zarr" else self.id

    @property
    def readers(self) -> list[str]:
        """The xarray engines that must open this backend's stores."""
        return ["zarr"] if self.backend == "zarr" else ["netcdf4", "h5netcdf"]

    def open_plain(self, path: str, engine: str | None = None, **kwargs: Any) -> xr.DataTree:
        """``xr.open_datatree`` as a user without xstore would call it."""
        engine = engine or self.xr_engine
        if self.suffix == ".zip":  # zarr reads a path string as a directory
            import zarr

            return xr.open_datatree(zarr.storage.ZipStore(path, mode="r"), engine=engine, **kwargs)
        return xr.open_datatree(path, engine=engine, **kwargs)


@pytest.fixture(params=BACKENDS, ids=BACKEND_IDS)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    ident, suffix, options = request.param
    return Case(ident, suffix, options, tmp_path)


def require_tool(name: str) -> str:
    """The path of a command-line tool the test needs (the CI installs it)."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; .ci/run installs it (apt-get install)")
    return found


Opener = Callable[..., xstore.Store]
