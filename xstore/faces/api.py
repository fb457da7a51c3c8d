"""The one-shot face: ``save``/``load``, and ``open`` for the dict-like store."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from xstore.backends import files, locks, registry
from xstore.backends.address import Address, address_of, read_only_object
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

#: a path, a URL, or a zarr store object (``zarr.storage.FsspecStore``, ``ObjectStore``, ...)
PathLike = str | os.PathLike[str] | Any
StorageOptions = Mapping[str, Any] | None


def save_modes() -> tuple[str, ...]:
    """Every ``save`` mode: the backends' own, then the whole-document ones."""
    return (*registry.save_modes(), *documents.MODES)


def open_session(
    location: str | Address,
    mode: str = "a",
    *,
    backend: str | None = None,
    engine: str | None = None,
    allow_pickle: bool = False,
    trust: str | Iterable[str] = (),
    pickle: bool = True,
    version_policy: str = "warn",
    locking: bool = True,
    **options: Any,
) -> Session:
    """The :class:`~xstore.core.session.Session` that :func:`open` wraps (for faces
    and tools that work below ``Store``); ``location`` a path or an
    :class:`~xstore.backends.address.Address` (a URL with storage options, a store
    object).  ``locking=False``: no writer lock, for a hidden copy that ``save``
    writes while it holds the lock of the store the copy replaces."""
    if mode not in OPEN_MODES:
        raise ValueError(f"mode must be one of {OPEN_MODES}, not {mode!r}")
    trust = trust_names(trust)
    if version_policy not in VERSION_POLICIES:
        raise ValueError(
            f"version_policy must be one of {VERSION_POLICIES}, not {version_policy!r}"
        )
    address = location if isinstance(location, Address) else Address(location)
    spec = registry.chosen(backend, address)
    if address.remote and not spec.urls:
        raise ValueError(
            f"the {spec.name} backend stores local files only, not {address} "
            "(URLs and zarr store objects need backend='zarr')"
        )
    if engine is not None:
        if engine not in spec.engines:
            raise ValueError(
                f"engine={engine!r} does not apply to the {spec.name} backend"
                + (f" (engines: {', '.join(spec.engines)})" if spec.engines else "")
            )
        options["engine"] = engine
    series = SeriesOptions(**{k: options.pop(k) for k in SERIES_OPTIONS if k in options})
    lease_seconds = options.pop("lease_seconds", locks.DEFAULT_LEASE_SECONDS)
    location = address.location
    if mode != "r" and not address.remote:
        files.require_folder(location)  # a store is created in a folder, never with it
    # the writer lock comes first: nothing at the path changes unless we hold it
    take = locking and _locks(spec, mode)
    lock = locks.acquire(address, lease_seconds=lease_seconds) if take else None
    try:
        present = spec.exists(address)
        if mode in ("r", "r+") and not present:
            raise FileNotFoundError(errno.ENOENT, "no such store", location)
        if mode == "w-" and present:
            raise FileExistsError(errno.EEXIST, "store exists (mode 'w-')", location)
        backend_mode = "w" if mode == "a" and not present else ("r+" if mode == "a" else mode)
        mutex = spec.library_lock or threading.RLock()
        with mutex:
            opened = spec.open(address, backend_mode, **options)
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
                address=address,
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
    storage_options: StorageOptions = None,
    **options: Any,
) -> Store:
    """Open a store as a dict-like :class:`~xstore.Store` (use it in a ``with`` block).

    Parameters
    ----------
    path : str, os.PathLike or zarr store
        A netCDF-4/HDF5 file (``.nc``, ``.h5``, ...), a zarr directory (``.zarr``),
        zip (``.zip``) or fsspec URL (``s3://...``), or a zarr store object
        (``zarr.storage.FsspecStore``, ``ObjectStore``, ``LocalStore``, ...).
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
    storage_options : dict, optional
        fsspec's options for a URL (an ``endpoint_url``, credentials, ...), used for
        every access: the existence check, the writer lease, every read and write.
    **options
        ``lease_seconds`` (URL stores: how long the writer lease lasts unrenewed,
        default 60; a lease of this process or of a gone pid of this host is taken
        over at once; network timeouts and retries are the ``storage_options``
        ``config_kwargs`` of s3fs, see docs/object-storage.md).
        For appended series: ``buffer_bytes`` (records buffered per store, default
        16 MiB), ``buffer_records`` (per series, default 4096), ``flush_interval``
        (seconds after which an append flushes, default 10; None: never),
        ``chunk_bytes`` (chunk size along the record axis, default 1 MiB).  For the
        backend: ``compression`` (netCDF: ``"zlib"``; zarr: ``"zstd"``, ``"gzip"``,
        ``"blosc"``), ``compression_level`` and ``checksum`` (default True: data
        written carry checksums, HDF5 ``fletcher32`` / zarr ``crc32c``; False: none).

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
    address = address_of(path, storage_options)
    if mode != "r" and read_only_object(path):
        raise PermissionError(f"{address} is a read-only store object; open it with mode 'r'")
    return Store(
        open_session(
            address,
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
    storage_options: StorageOptions = None,
    **options: Any,
) -> None:
    """Write ``data`` to ``path`` in one go, replacing what was there atomically.

    The file is written beside the target and renamed over it: on any error the
    target is left exactly as it was.  A URL store (or a store object) is written
    completely beside the old one, which stays as it was until then, and then
    switched in (see "Object storage" in the docs for what readers see meanwhile).
    Values without a native encoding fall back to cloudpickle (see the type table in
    the docs).

    Parameters
    ----------
    data : Mapping[str, Any]
        The values to store, by key (nested dicts become groups).
    path : str, os.PathLike or zarr store
        Where to write; its folder must exist.  A URL or a zarr store object needs
        ``mode="zarr"``.
    mode : {"hdf5", "netcdf", "zarr", "json", "cloudpickle"}
        ``"hdf5"`` and ``"netcdf"`` both write a netCDF-4/HDF5 file (the default);
        the mode is not inferred from the suffix.
    pickle : bool
        Store values without a native encoding as cloudpickle bytes (with an
        :class:`~xstore.PickleFallbackWarning` naming their key paths); ``False``
        makes that a ``TypeError`` and nothing is written.
    storage_options : dict, optional
        fsspec's options for a URL, used for every access.
    **options
        ``engine`` and ``compression`` (``"zlib"``) for netCDF, ``compression``
        (``"zstd"``, ``"gzip"``, ``"blosc"``) for zarr, ``compression_level``, and
        ``checksum=False`` to write data without checksums (see the format docs).

    Raises
    ------
    TypeError
        ``data`` is not a mapping of str keys, or (mode ``"json"``, or
        ``pickle=False``) a value would need pickling; the message names its key path.
    FileNotFoundError
        The folder of ``path`` does not exist.
    """
    address = address_of(path, storage_options)
    location = address.location
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
    if address.remote and (spec is None or spec.stage is None):
        raise ValueError(f"mode {mode!r} writes local files, not {location} (use mode='zarr')")
    if read_only_object(path):
        raise PermissionError(f"{location} is a read-only store object")
    if not address.remote:
        files.require_folder(location)
    lock = locks.acquire(address) if spec is None or spec.locking else None
    try:
        if spec is None:
            with files.beside(location) as temp:
                documents.dump(data, temp, mode, CODECS)
        elif address.remote:
            assert spec.stage is not None
            with spec.stage(address) as staged:
                write_tree(data, staged, spec, options, pickle=pickle)
        else:
            with files.beside(location) as temp:
                write_tree(data, temp, spec, options, pickle=pickle)
    finally:
        if lock is not None:
            lock.release()


def write_tree(
    data: Mapping[str, Any],
    location: str | Address,
    spec: BackendSpec,
    options: dict[str, Any],
    *,
    pickle: bool = True,
) -> None:
    """Write ``data`` as a new store at ``location`` (no atomic replacement here, and no
    lock: the caller holds the lock of the store it replaces); what had to be pickled
    is reported once, when everything is written."""
    session = open_session(
        location, "w", backend=spec.name, pickle=pickle, locking=False, **options
    )
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


def detect(location: str | Address) -> str:
    """The save mode of an existing file or store, judged from its contents."""
    address = location if isinstance(location, Address) else Address(location)
    location = address.location
    if address.remote:
        spec = registry.infer(address)
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
    storage_options: StorageOptions = None,
) -> dict[str, Any]:
    """Read a whole file written by :func:`save` (or any store) back as a dict.

    Parameters
    ----------
    path : str, os.PathLike or zarr store
        The file or store (a URL, a zarr store object).
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
    storage_options : dict, optional
        fsspec's options for a URL.

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
    address = address_of(path, storage_options)
    location = address.location
    trust = trust_names(trust)
    modes = save_modes()
    if mode is not None and mode not in modes:
        raise ValueError(f"mode must be one of {modes} or None, not {mode!r}")
    chosen = mode or detect(address)
    spec = registry.for_save_mode(chosen)
    if spec is None:
        if address.remote:
            raise ValueError(f"mode {chosen!r} reads local files, not {location}")
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
        address,
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
