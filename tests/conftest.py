"""The one parametrisation of the suite: every behaviour is checked on every format.

:data:`FORMATS` lists each backend/engine (and the whole-document modes of
``save``/``load``) once; the fixtures below pick the ones a test is about:

``case``            every store backend and engine (netcdf4, h5netcdf, zarr, zarr-zip)
``interface_case``  one per StorageInterface driver (netcdf4, zarr)
``save_case``       every ``save`` mode (the stores plus json and cloudpickle)
``codec_case``      one per kind of encoding (netCDF, zarr, JSON)
``netcdf_case``     the two netCDF engines
``zarr_case``       zarr directory and zip
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import xarray as xr
from s3server import S3, S3Server, dead_endpoint_env, s3_store

import xstore
from xstore.backends.base import Backend

#: every Python process the tests start imports the xstore under test, never another
#: installed copy (children that only add tests/ to their path would find that one)
ROOT = str(Path(__file__).resolve().parent.parent)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [ROOT, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)


@dataclass(frozen=True)
class Format:
    """One way of storing: a backend with an engine, or a whole-document mode."""

    id: str
    suffix: str
    save_mode: str
    options: dict[str, Any] = field(default_factory=dict)
    backend: str | None = None  # None: a document mode (no store to open)


FORMATS = {
    f.id: f
    for f in (
        Format("netcdf4", ".nc", "hdf5", {"engine": "netcdf4"}, "netcdf"),
        Format("h5netcdf", ".nc", "hdf5", {"engine": "h5netcdf"}, "netcdf"),
        Format("zarr", ".zarr", "zarr", {}, "zarr"),
        Format("zarr-zip", ".zip", "zarr", {}, "zarr"),
        Format("json", ".json", "json"),
        Format("cloudpickle", ".pkl", "cloudpickle"),
    )
}
STORE_IDS = ("netcdf4", "h5netcdf", "zarr", "zarr-zip")


class Case:
    """One format under test: makes paths, opens stores and drivers, reads plainly."""

    def __init__(self, fmt: Format, folder: Path) -> None:
        self.format = fmt
        self.id = fmt.id
        self.suffix = fmt.suffix
        self.options = fmt.options
        self.backend = fmt.backend
        self.folder = folder
        self._count = 0

    def path(self, stem: str = "store") -> str:
        self._count += 1
        return str(self.folder / f"{stem}{self._count}{self.suffix}")

    def open(self, path: str, mode: str = "a", **kwargs: Any) -> xstore.Store:
        return xstore.open(path, mode, **self.options, **kwargs)

    def save(self, data: Any, path: str | os.PathLike[str], **kwargs: Any) -> None:
        xstore.save(data, path, mode=self.format.save_mode, **self.options, **kwargs)

    def round_trip(self, value: Any, **load_kw: Any) -> Any:
        """``value`` saved under the key ``"v"`` and loaded back."""
        path = self.path("value")
        self.save({"v": value}, path)
        return xstore.load(path, **load_kw)["v"]

    @property
    def driver(self) -> type:
        """The StorageInterface driver of this backend."""
        drivers = (xstore.NetCDFIODriver, xstore.ZarrIODriver)
        return next(d for d in drivers if d.backend == self.backend)

    def interface(self, path: str, mode: str | None = None, **options: Any) -> Any:
        return xstore.StorageInterface(self.driver(path, mode, **self.options, **options))

    @property
    def xr_engine(self) -> str:
        return "zarr" if self.backend == "zarr" else self.id

    @property
    def readers(self) -> list[str]:
        """The xarray engines that must open this backend's stores."""
        return ["zarr"] if self.backend == "zarr" else ["netcdf4", "h5netcdf"]

    def open_plain(self, path: str, engine: str | None = None, **kwargs: Any) -> xr.DataTree:
        """``xr.open_datatree`` as a user without xstore would call it, read into
        memory and closed (no file stays open after the test)."""
        engine = engine or self.xr_engine
        source: Any = path
        if self.suffix == ".zip":  # zarr reads a path string as a directory
            import zarr

            source = zarr.storage.ZipStore(path, mode="r")
        tree = xr.open_datatree(source, engine=engine, **kwargs)
        try:
            return tree.load()
        finally:
            tree.close()


def _fixture(ids: tuple[str, ...]) -> Callable[..., Case]:
    @pytest.fixture(params=[FORMATS[i] for i in ids], ids=list(ids))
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
        return Case(request.param, tmp_path)

    return make


case = _fixture(STORE_IDS)
interface_case = _fixture(("netcdf4", "zarr"))
save_case = _fixture((*STORE_IDS, "json", "cloudpickle"))
codec_case = _fixture(("netcdf4", "zarr", "json"))
netcdf_case = _fixture(("netcdf4", "h5netcdf"))
zarr_case = _fixture(("zarr", "zarr-zip"))


def backend_of(store: xstore.Store) -> Backend:
    """The backend object below an open store, for tests that count or break its calls
    (no face ever does this: the core is the only caller of a backend)."""
    return store.session.layout._backend


#: set (to 1) by .ci/run: what a test needs must be there, a missing tool or package fails
REQUIRE_VARIABLE = "XSTORE_REQUIRE_TOOLS"


def _missing(what: str, how: str) -> None:
    """Skip with the reason, or fail where everything is required (CI)."""
    if os.environ.get(REQUIRE_VARIABLE, "") not in ("", "0"):
        pytest.fail(f"{what} is missing but {REQUIRE_VARIABLE}=1 requires it; {how}")
    pytest.skip(f"{what} is not installed ({how})")


def require_tool(name: str) -> str:
    """The path of a command-line tool the test needs (skips without it; .ci/run
    installs it and requires it)."""
    found = shutil.which(name)
    if found is None:
        _missing(f"the command {name}", "apt-get install netcdf-bin hdf5-tools")
    assert found is not None
    return found


def require_module(name: str, extra: str) -> Any:
    """An optional package the test needs (skips without it; required in CI)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"the Python package {name}", f'pip install "xstore[{extra}]"')


Opener = Callable[..., xstore.Store]


# -- object storage (tests/s3server.py) ------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    """An S3-compatible server on loopback, for a module's tests."""
    require_module("s3fs", "test")
    require_module("moto", "test")
    running = S3Server()
    yield running
    running.stop()


@pytest.fixture
def dead_default_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default S3 endpoint is a dead loopback port (use it in every S3 module)."""
    for name, value in dead_endpoint_env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3(server: S3Server, dead_default_endpoint: None) -> S3:
    return s3_store(server)
