"""The one-shot face: ``save``/``load``, and ``open`` for the dict-like store."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from xstore.backends import files, locks, registry
from xstore.backends.base import BackendSpec
from xstore.codecs.builtin import decode_mapping
from xstore.codecs.classes import trust_names
from xstore.codecs.context import VERSION_POLICIES
from xstore.core.series.writer import SeriesOptions
from xstore.core.session import Session
from xstore.errors import StoreError
from xstore.faces import documents
from xstore.faces.store import CODECS, Store
from xstore.model import FORMAT_VERSION

OPEN_MODES = ("r", "r+", "a", "w", "w-")
SERIES_OPTIONS = ("buffer_bytes", "buffer_records", "flush_interval", "chunk_bytes")

PathLike = str | os.PathLike[str]


def _location(path: PathLike) -> str:
    if isinstance(path, str | os.PathLike):
        return os.fspath(path)
    raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")


def save_modes() -> tuple[str, ...]:
    """Every ``save`` mode: the backends' own, then the whole-document ones."""
    return (*registry.save_modes(), *documents.MODES)


def open_session(
    location: str,
    mode: str = "a",
    *,
    backend: str | None = None,
    engine: str | None = None,
    allow_pickle: bool = False,
    trust: str | Iterable[str] = (),
    pickle: bool = True,
    version_policy: str = "warn",
    **options: Any,
) -> Session:
    """The :class:`~xstore.core.session.Session` that :func:`open` wraps (for faces
    and tools that work below ``Store``)."""
    if mode not in OPEN_MODES:
        raise ValueError(f"mode must be one of {OPEN_MODES}, not {mode!r}")
    trust = trust_names(trust)
    if version_policy not in VERSION_POLICIES:
        raise ValueError(
            f"version_policy must be one of {VERSION_POLICIES}, not {version_policy!r}"
        )
    spec = registry.get(backend) if backend is not None else registry.infer(location)
    if engine is not None:
        if engine not in spec.engines:
            raise ValueError(
                f"engine={engine!r} does not apply to the {spec.name} backend"
                + (f" (engines: {', '.join(spec.engines)})" if spec.engines else "")
            )
        options["engine"] = engine
    series = SeriesOptions(**{k: options.pop(k) for k in SERIES_OPTIONS if k in options})
    lease_seconds = options.pop("lease_seconds", locks.DEFAULT_LEASE_SECONDS)
    if mode != "r":
        files.require_folder(location)  # a store is created in a folder, never with it
    # the writer lock comes first: nothing at the path changes unless we hold it
    lock = locks.acquire(location, lease_seconds=lease_seconds) if _locks(spec, mode) else None
    try:
        present = spec.exists(location)
        if mode in ("r", "r+") and not present:
            raise FileNotFoundError(errno.ENOENT, "no such store", location)
        if mode == "w-" and present:
            raise FileExistsError(errno.EEXIST, "store exists (mode 'w-')", location)
        backend_mode = "w" if mode == "a" and not present else ("r+" if mode == "a" else mode)
        mutex = spec.library_lock or threading.RLock()
        with mutex:
            opened = spec.open(location, backend_mode, **options)
        try:
            session = Session(
                opened,
                CODECS,
                mode=mode,
                new=backend_mode in ("w", "w-"),
                allow_pickle=allow_pickle,
                trust=trust,
                pickle=pickle,
                version_policy=version_policy,
                series=series,
                writer_lock=lock,
                mutex=mutex,
            )
            _check_format(session.layout.format_version(), location)
        except BaseException:
            with mutex:
                opened.close()
            raise
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return session


def _locks(spec: BackendSpec, mode: str) -> bool:
    return mode != "r" and spec.locking


def open(
    path: PathLike,
    mode: str = "a",
    *,
    backend: str | None = None,
    engine: str | None = None,
    allow_pickle: bool = False,
    trust: str | Iterable[str] = (),
    pickle: bool = True,
    version_policy: str = "warn",
    **options: Any,
) -> Store:
    """Open a store as a dict-like :class:`~xstore.Store` (use it in a ``with`` block).

    Parameters
    ----------
    path : str or os.PathLike
        A netCDF-4/HDF5 file (``.nc``, ``.h5``, ...), a zarr directory (``.zarr``),
        zip (``.zip``) or fsspec URL (``s3://...``).
    mode : {"a", "r", "r+", "w", "w-"}
        ``"r"`` read-only, ``"r+"`` read/write (must exist), ``"a"`` read/write,
        created if missing (the default), ``"w"`` create or truncate, ``"w-"``
        create, fail if it exists.
    backend : {"netcdf", "zarr"}, optional
        Inferred from the path (its suffix, a URL, or what an existing path holds).
    engine : {"netcdf4", "h5netcdf"}, optional
        The netCDF library; ``"netcdf4"`` is the default.
    allow_pickle : bool
        Read values stored as pickles (unpickling can run arbitrary code: only for
        files you trust).
    trust : str or list of str
        Modules (a package trusts its submodules) whose classes may be imported to
        restore stored objects; classes in modules already imported need no trust.
    pickle : bool
        Store values without a native encoding as cloudpickle bytes (with an
        :class:`~xstore.PickleFallbackWarning` naming their key paths); ``False``
        makes that a ``TypeError``.
    version_policy : {"warn", "strict", "ignore"}
        When a restored Storable or dataclass was stored at another version of its
        class: warn (:class:`~xstore.VersionWarning`) and restore, raise
        :class:`~xstore.VersionMismatchError`, or restore silently.
    **options
        For appended series: ``buffer_bytes`` (records buffered per store, default
        16 MiB), ``buffer_records`` (per series, default 4096), ``flush_interval``
        (seconds after which an append flushes, default 10; None: never),
        ``chunk_bytes`` (chunk size along the record axis, default 1 MiB).  For the
        backend: ``compression`` (netCDF: ``"zlib"``; zarr: ``"zstd"``, ``"gzip"``,
        ``"blosc"``) and ``compression_level``.

    Returns
    -------
    Store
        The root group of the open store.

    Raises
    ------
    FileNotFoundError
        Mode ``"r"``/``"r+"`` and no store at ``path``, or its folder is missing.
    FileExistsError
        Mode ``"w-"`` and something is stored at ``path``.
    StoreError
        The path holds something that is not a readable store.
    ValueError
        An unknown mode, backend, engine or version policy.

    Examples
    --------
    >>> with xstore.open("run.nc") as store:  # doctest: +SKIP
    ...     store["params"] = {"T": 300.0}
    ...     store.append("energy", -1.5)
    """
    location = _location(path)
    return Store(
        open_session(
            location,
            mode,
            backend=backend,
            engine=engine,
            allow_pickle=allow_pickle,
            trust=trust,
            pickle=pickle,
            version_policy=version_policy,
            **options,
        )
    )


def _check_format(written: str | None, location: str) -> None:
    if written is not None and written > FORMAT_VERSION:
        raise StoreError(f"{location} was written by a newer xstore (format {written})")


# -- save ------------------------------------------------------------------------------------


def save(
    data: Mapping[str, Any],
    path: PathLike,
    mode: str = "hdf5",
    *,
    pickle: bool = True,
    **options: Any,
) -> None:
    """Write ``data`` to ``path`` in one go, replacing what was there atomically.

    The file is written beside the target and renamed over it: on any error the
    target is left exactly as it was.  Values without a native encoding fall back to
    cloudpickle (see the type table in the docs).

    Parameters
    ----------
    data : Mapping[str, Any]
        The values to store, by key (nested dicts become groups).
    path : str or os.PathLike
        Where to write; its folder must exist.
    mode : {"hdf5", "netcdf", "zarr", "json", "cloudpickle"}
        ``"hdf5"`` and ``"netcdf"`` both write a netCDF-4/HDF5 file (the default);
        the mode is not inferred from the suffix.
    pickle : bool
        Store values without a native encoding as cloudpickle bytes (with an
        :class:`~xstore.PickleFallbackWarning` naming their key paths); ``False``
        makes that a ``TypeError`` and nothing is written.
    **options
        ``engine`` and ``compression`` (``"zlib"``) for netCDF, ``compression``
        (``"zstd"``, ``"gzip"``, ``"blosc"``) for zarr, ``compression_level``.

    Raises
    ------
    TypeError
        ``data`` is not a mapping of str keys, or (mode ``"json"``, or
        ``pickle=False``) a value would need pickling; the message names its key path.
    FileNotFoundError
        The folder of ``path`` does not exist.
    """
    location = _location(path)
    modes = save_modes()
    if mode not in modes:
        raise ValueError(f"mode must be one of {modes}, not {mode!r}")
    if not isinstance(data, Mapping):
        raise TypeError(f"save() needs a mapping of str keys, not {type(data).__name__}")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise TypeError(f"save() needs str keys; got {bad[0]!r}")
    spec = registry.for_save_mode(mode)
    if spec is None and options:
        raise TypeError(f"mode {mode!r} takes no options, got {sorted(options)}")
    if mode == documents.PICKLE and not pickle:
        raise ValueError("mode 'cloudpickle' pickles everything: it contradicts pickle=False")
    files.require_folder(location)
    # a URL store is leased by the session that writes it; anything else is locked here
    local_lock = (spec is None or spec.locking) and not files.is_url(location)
    lock = locks.acquire(location) if local_lock else None
    try:
        if spec is None:
            with files.beside(location) as temp:
                documents.dump(data, temp, mode, CODECS)
        elif files.is_url(location):
            write_tree(data, location, spec, options, pickle=pickle)
        else:
            with files.beside(location) as temp:
                write_tree(data, temp, spec, options, pickle=pickle)
    finally:
        if lock is not None:
            lock.release()


def write_tree(
    data: Mapping[str, Any],
    location: str,
    spec: BackendSpec,
    options: dict[str, Any],
    *,
    pickle: bool = True,
) -> None:
    """Write ``data`` as a new store at ``location`` (no atomic replacement here);
    what had to be pickled is reported once, when everything is written."""
    session = open_session(location, "w", backend=spec.name, pickle=pickle, **options)
    pickled: list[str] = []
    try:
        layout = session.layout
        for key, value in data.items():
            ctx = session.encoder(f"data[{key!r}]")
            layout.write_node((), key, ctx.encode(value))
            pickled.extend(ctx.pickled)
    finally:
        session.close()
    session.report(pickled)


# -- load ------------------------------------------------------------------------------------


def detect(location: str) -> str:
    """The save mode of an existing file or store, judged from its contents."""
    if files.is_url(location):
        spec = registry.infer(location)
        return spec.save_modes[0]
    if not os.path.exists(location):
        raise FileNotFoundError(errno.ENOENT, "no such file or store", location)
    found = registry.sniff(location)
    if found is not None and found.save_modes:
        return found.save_modes[0]
    document = documents.sniff(location)
    if document is None:
        raise StoreError(
            f"cannot tell the format of {location}: not netCDF/HDF5, zarr, JSON or a pickle"
        )
    return document


def load(
    path: PathLike,
    mode: str | None = None,
    *,
    allow_pickle: bool = False,
    trust: str | Iterable[str] = (),
    version_policy: str = "warn",
) -> dict[str, Any]:
    """Read a whole file written by :func:`save` (or any store) back as a dict.

    Parameters
    ----------
    path : str or os.PathLike
        The file or store.
    mode : {None, "hdf5", "netcdf", "zarr", "json", "cloudpickle"}
        None detects the format from the file itself.
    allow_pickle : bool
        Unpickle values that need it (only for files you trust); passing
        ``mode="cloudpickle"`` explicitly counts as consent too.
    trust : str or list of str
        Modules (a package trusts its submodules) whose classes may be imported to
        restore stored dataclasses and Storable objects.
    version_policy : {"warn", "strict", "ignore"}
        When a restored Storable or dataclass was stored at another version of its
        class: warn (:class:`~xstore.VersionWarning`) and restore, raise
        :class:`~xstore.VersionMismatchError`, or restore silently.

    Returns
    -------
    dict
        The stored values with their types (a tuple stays a tuple, ``np.float32``
        stays ``np.float32``, key order is kept).

    Raises
    ------
    FileNotFoundError
        Nothing at ``path``.
    PickleNotAllowedError
        The file holds pickled values and ``allow_pickle`` is off, or objects whose
        module is neither imported nor trusted; the message names their key paths
        and modules.
    VersionMismatchError
        ``version_policy="strict"`` and a restored object's version differs.
    StoreError
        The file is not a readable store, or is damaged.
    """
    location = _location(path)
    trust = trust_names(trust)
    modes = save_modes()
    if mode is not None and mode not in modes:
        raise ValueError(f"mode must be one of {modes} or None, not {mode!r}")
    chosen = mode or detect(location)
    spec = registry.for_save_mode(chosen)
    if spec is None:
        value = documents.load(
            location,
            chosen,
            CODECS,
            allow_pickle=allow_pickle,
            consent=mode is not None,
            trust=trust,
            version_policy=version_policy,
        )
        if not isinstance(value, dict):
            raise StoreError(f"{location} does not hold a dict but a {type(value).__name__}")
        return value
    session = open_session(
        location,
        "r",
        backend=spec.name,
        allow_pickle=allow_pickle,
        trust=trust,
        version_policy=version_policy,
    )
    try:
        ctx = session.decoder("data")
        with ctx.reading_stored():
            value = decode_mapping(session.layout.read_node((), True), ctx)
        ctx.finish()
        return value
    finally:
        session.close()
