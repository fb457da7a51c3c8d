"""The one-shot face: ``save``/``load``, and ``open`` for the dict-like store."""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from xstore import backends
from xstore.backends import documents
from xstore.codecs import EncodeContext, encode
from xstore.codecs.base import DecodeContext
from xstore.codecs.builtin import decode_mapping
from xstore.core import Core
from xstore.errors import PickleNotAllowedError, StoreError
from xstore.nodes import FORMAT, FORMAT_VERSION
from xstore.store import Store, group_over, scratch_group

OPEN_MODES = ("r", "r+", "a", "w", "w-")
SERIES_OPTIONS = ("buffer_bytes", "buffer_records", "flush_interval", "chunk_bytes")
SAVE_MODES = ("hdf5", "netcdf", "zarr", "json", "cloudpickle")
_MODE_BACKEND = {"hdf5": "netcdf", "netcdf": "netcdf", "zarr": "zarr"}

PathLike = str | os.PathLike[str]


def _location(path: PathLike) -> str:
    if isinstance(path, str | os.PathLike):
        return os.fspath(path)
    raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")


def open(
    path: PathLike,
    mode: str = "a",
    *,
    backend: str | None = None,
    engine: str | None = None,
    allow_pickle: bool = False,
    **options: Any,
) -> Store:
    """Open a store as a dict-like :class:`~xstore.Store` (SPEC §3).

    ``mode``: ``"r"`` read-only, ``"r+"`` read/write (must exist), ``"a"`` read/write,
    create if missing, ``"w"`` create or truncate, ``"w-"`` create, fail if it exists.
    ``backend`` (``"netcdf"`` or ``"zarr"``) is inferred from the path if not given;
    ``engine`` picks the netCDF library (``"netcdf4"``, the default, or ``"h5netcdf"``).

    Options for appended series: ``buffer_bytes`` (records buffered per store, default
    16 MiB), ``buffer_records`` (per series, default 4096), ``flush_interval`` (seconds
    after which an append flushes, default 10; None: never), ``chunk_bytes`` (target
    chunk size along the record axis, default 1 MiB).  Backend options:
    ``compression`` (netCDF: ``"zlib"``; zarr: ``"zstd"``, ``"gzip"``, ``"blosc"``)
    and ``compression_level``.
    """
    location = _location(path)
    if mode not in OPEN_MODES:
        raise ValueError(f"mode must be one of {OPEN_MODES}, not {mode!r}")
    kind = backend or backends.infer_backend(location)
    if engine is not None:
        if kind != "netcdf":
            raise ValueError(f"engine= applies to netCDF files, not to the {kind} backend")
        options["engine"] = engine
    series_options = {k: options.pop(k) for k in SERIES_OPTIONS if k in options}
    present = backends.exists(location, kind)
    if mode in ("r", "r+") and not present:
        raise FileNotFoundError(errno.ENOENT, "no such store", location)
    if mode == "w-" and present:
        raise FileExistsError(errno.EEXIST, "store exists (mode 'w-')", location)
    backend_mode = "w" if mode == "a" and not present else ("r+" if mode == "a" else mode)
    opened = backends.open_backend(location, backend_mode, kind, **options)
    try:
        core = Core(opened, new=backend_mode in ("w", "w-"))
        _check_format(opened.attrs(()), location)
    except BaseException:
        opened.close()
        raise
    return Store(core, mode=mode, allow_pickle=allow_pickle, **series_options)


def _check_format(root_attrs: Mapping[str, Any], location: str) -> None:
    written = root_attrs.get(FORMAT)
    if written is not None and str(written) > FORMAT_VERSION:
        raise StoreError(f"{location} was written by a newer xstore (format {written})")


# -- save ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _beside(target: str) -> Iterator[str]:
    """A temporary path next to ``target`` that replaces it only if the block succeeds."""
    folder, name = os.path.split(os.path.abspath(target))
    # keep the suffix: backends tell a zarr zip (".zip") from a zarr directory by it
    suffix = os.path.splitext(name)[1]
    temp = os.path.join(folder, f".{name}.xstore-{uuid.uuid4().hex[:8]}.tmp{suffix}")
    try:
        yield temp
        _replace(temp, target)
    finally:
        _remove(temp)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def _replace(source: str, target: str) -> None:
    if os.path.isdir(source) and os.path.isdir(target):
        trash = f"{source}.old"
        os.replace(target, trash)
        os.replace(source, target)
        shutil.rmtree(trash)
    else:
        os.replace(source, target)


def save(data: Mapping[str, Any], path: PathLike, mode: str = "hdf5", **options: Any) -> None:
    """Write ``data`` (a str-keyed mapping) to ``path`` in one go (SPEC §2).

    ``mode``: ``"hdf5"``/``"netcdf"`` (a netCDF-4 file), ``"zarr"``, ``"json"`` or
    ``"cloudpickle"``.  Atomic: on any error the target is left exactly as it was.
    Options: ``engine`` and ``compression`` for netCDF, ``compression`` for zarr.
    """
    location = _location(path)
    if mode not in SAVE_MODES:
        raise ValueError(f"mode must be one of {SAVE_MODES}, not {mode!r}")
    if not isinstance(data, Mapping):
        raise TypeError(f"save() needs a mapping of str keys, not {type(data).__name__}")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise TypeError(f"save() needs str keys; got {bad[0]!r}")
    if mode in ("json", "cloudpickle"):
        if options:
            raise TypeError(f"mode {mode!r} takes no options, got {sorted(options)}")
        with _beside(location) as temp, builtins.open(temp, "wb") as handle:
            (documents.dump_json if mode == "json" else documents.dump_pickle)(data, handle)
        return
    kind = _MODE_BACKEND[mode]
    if backends.is_remote(location):
        _write_tree(data, location, kind, options)
        return
    with _beside(location) as temp:
        _write_tree(data, temp, kind, options)


def _write_tree(data: Mapping[str, Any], location: str, kind: str, options: dict[str, Any]) -> None:
    store = open(location, "w", backend=kind, **options)
    try:
        core = store._live_core()
        for key, value in data.items():
            node = encode(value, EncodeContext(f"data[{key!r}]", scratch_group=scratch_group))
            core.write_node((), key, node)
    finally:
        store.close()


# -- load ------------------------------------------------------------------------------------


def detect(location: str) -> str:
    """The save mode of an existing file or store, judged from its contents."""
    if backends.is_remote(location):
        return "zarr"
    if not os.path.exists(location):
        raise FileNotFoundError(errno.ENOENT, "no such file or store", location)
    found = backends.sniff(location)
    if found is None:
        raise StoreError(
            f"cannot tell the format of {location}: not netCDF/HDF5, zarr, JSON or a pickle"
        )
    return "hdf5" if found == "netcdf" else found


def load(path: PathLike, mode: str | None = None, *, allow_pickle: bool = False) -> dict[str, Any]:
    """Read a whole file written by :func:`save` (or any store) back as a dict (SPEC §2).

    ``mode=None`` detects the format.  Pickled values are refused with
    :class:`~xstore.PickleNotAllowedError` unless ``allow_pickle=True``; passing
    ``mode="cloudpickle"`` explicitly counts as consent.
    """
    location = _location(path)
    if mode is not None and mode not in SAVE_MODES:
        raise ValueError(f"mode must be one of {SAVE_MODES} or None, not {mode!r}")
    chosen = mode or detect(location)
    if chosen in ("json", "cloudpickle"):
        if not os.path.exists(location):
            raise FileNotFoundError(errno.ENOENT, "no such file", location)
        with builtins.open(location, "rb") as handle:
            if chosen == "json":
                return _as_dict(
                    documents.load_json(handle, allow_pickle=allow_pickle, location=location),
                    location,
                )
            if mode is None and not allow_pickle:
                raise PickleNotAllowedError(["data"], location)
            try:
                return _as_dict(documents.load_pickle(handle), location)
            except Exception as exc:
                raise StoreError(f"cannot unpickle {location}: {exc}") from exc
    with open(location, "r", backend=_MODE_BACKEND[chosen], allow_pickle=allow_pickle) as store:
        core = store._live_core()
        ctx = DecodeContext(
            "data", allow_pickle=allow_pickle, location=location, group_over=group_over
        )
        value = decode_mapping(core.read_node((), True), ctx)
        ctx.raise_if_refused()
        return value


def _as_dict(value: Any, location: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StoreError(f"{location} does not hold a dict but a {type(value).__name__}")
    return value
