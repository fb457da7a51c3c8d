"""netCDF4/HDF5 files, written through netCDF4-python or h5netcdf.

Both engines write the same netCDF-4 layout, so each reads and extends what the
other wrote (see :mod:`xstore.backends.netcdf.engines`). New variables are defined at
once but their data is written in one batch (at flush, close, before any read, or
past :data:`PENDING_LIMIT` bytes): netCDF-C walks the whole file's metadata each
time it leaves define mode, so writing each variable right after defining it makes a
long run of writes quadratic.

Growing variables get a commit record: :meth:`NetCDFBackend.flush` flushes HDF5
(data and extents), then writes each touched group's ``_xs_commit`` attribute (JSON:
variable -> committed records) and flushes again. A writer killed inside the first
of those flushes can leave extents covering records whose data never reached the
disk; xstore reads such a variable only up to its committed length, a writable
reopen truncates it there, and ``xstore check`` reports it. A variable that has a
zero-length axis without being a series (netCDF makes every zero-length dimension
unlimited) is marked ``_xs_static``.

netCDF cannot delete anything; :meth:`NetCDFBackend.delete` closes the engine,
removes the HDF5 objects with h5py (detaching dimension scales and dropping
dimensions nothing else uses) and reopens. HDF5 does not give the freed space back;
``xstore convert`` (or ``h5repack``) writes a compact copy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import h5py
import numpy as np

from xstore.backends import files
from xstore.backends.base import Backend, Index, VarInfo, reading
from xstore.backends.netcdf.checks import checksum_of, require_plausible
from xstore.backends.netcdf.engines import ENGINES, open_file
from xstore.backends.netcdf.hdf5 import (
    COMMIT,
    delete_node,
    move_node,
    truncate_uncommitted,
)
from xstore.backends.netcdf.scales import (
    NewVariable,
    bulk_attr,
    bulk_variable,
    replace_attrs,
    write_variables,
)
from xstore.backends.netcdf.staged import BULK_MIN, Staged
from xstore.backends.slabs import is_big, nbytes, write_slabs
from xstore.errors import StoreError
from xstore.model import STRING, ArraySource, string_array
from xstore.names import Path

STATIC = "_xs_static"  # 1 on a variable whose zero-length first axis is not a series
CRC = "_xs_crc"  # crc32 of a contiguous variable's data (chunked ones use fletcher32)
_PRIVATE = (COMMIT, STATIC, CRC)
PENDING_LIMIT = 64 * 2**20  # bytes of deferred variable data before it is written out
DEFAULT_ENGINE = "netcdf4"


class NetCDFBackend(Backend):
    """A netCDF-4 file through one of the two engines."""

    name = "netcdf"

    def __init__(
        self,
        path: str | os.PathLike[str],
        mode: str,
        engine: str | None = None,
        compression: str | None = None,
        compression_level: int = 4,
        checksum: bool = True,
    ) -> None:
        engine = engine or DEFAULT_ENGINE
        if engine not in ENGINES:
            raise ValueError(f"unknown netCDF engine {engine!r}; choose one of {sorted(ENGINES)}")
        if compression not in (None, "zlib", "gzip"):
            raise ValueError(f"netCDF files support compression='zlib' only, not {compression!r}")
        self.location = os.fspath(path)
        self.writable = mode != "r"
        self._engine = ENGINES[engine]
        self._compression = {"level": compression_level} if compression else {}
        self._checksum = checksum
        # a new file is made beside the target and renamed over it at the first flush:
        # a writer killed before that leaves the old file (or nothing), never half a file
        self._file = files.temp_name(self.location) if mode in ("w", "w-") else self.location
        if mode == "r+":
            truncate_uncommitted(self.location)
        self._live: Any | None = self._open("w" if mode == "w-" else mode)  # see _handle
        self.closed = False
        self._groups: dict[Path, Any] = {}
        self._pending: list[tuple[Any, Any, np.ndarray]] = []  # (group, var, data) to write
        self._pending_bytes = 0
        self._grown: dict[Path, int] = {}  # variables grown since the last commit
        self._tuned: dict[Path, Any] = {}  # the variable objects tuned for appends
        self._commits: dict[Path, dict[str, int]] = {}  # commit records, read once
        self._staged = Staged()  # small variables created together (_create_staged)

    def _open(self, mode: str) -> Any:
        return open_file(self._engine, self._file, self.location, mode)

    # -- lookups ---------------------------------------------------------------------
    @property
    def _handle(self) -> Any:
        """The engine's open file, reopened when first needed after h5py changed it."""
        if self._live is None:
            self._live = self._open("a")
        return self._live

    def _group(self, group: Path) -> Any:
        if not group:
            return self._handle
        handle = self._groups.get(group)
        if handle is None:
            handle = self._engine.groups(self._group(group[:-1]))[group[-1]]
            self._groups[group] = handle
        return handle

    def _var(self, node: Path) -> Any:
        return self._engine.variables(self._group(node[:-1]))[node[-1]]

    def _obj(self, node: Path) -> Any:
        if not node:
            return self._handle
        parent = self._group(node[:-1])
        variables = self._engine.variables(parent)
        if node[-1] in variables:
            return variables[node[-1]]
        return self._group(node)

    # -- structure -------------------------------------------------------------------
    @reading
    def children(self, group: Path) -> list[tuple[str, bool]]:
        if self._staged.in_group(group):
            self._create_staged()
        handle = self._group(group)
        out = [(name, False) for name in self._engine.variables(handle)]
        out.extend((name, True) for name in self._engine.groups(handle))
        return out

    def create_group(self, group: Path, attrs: Mapping[str, Any] | None = None) -> None:
        # (nothing reaches the file before HDF5 flushes: the group and its attributes
        # appear together)
        self._groups[group] = self._engine.create_group(self._group(group[:-1]), group[-1])
        if attrs:
            self.set_attrs(group, attrs)

    @reading
    def dims(self, group: Path) -> dict[str, int]:
        return {n: size for n, (size, _) in self._engine.dimensions(self._group(group)).items()}

    def delete(self, node: Path) -> None:
        self._create_staged()
        self._write_pending()
        record = self._commit_record(node[:-1])
        if node[-1] in record:
            del record[node[-1]]
            self._engine.set_attr(self._group(node[:-1]), COMMIT, json.dumps(record))
        self._grown = {n: length for n, length in self._grown.items() if n[: len(node)] != node}
        self._below_netcdf(lambda h5file: delete_node(h5file, node))

    def rename(self, node: Path, name: str) -> None:
        self._create_staged()
        self._write_pending()
        group = node[:-1]
        record = self._commit_record(group)
        if node[-1] in record:  # a series' commit record entry goes with it
            record[name] = record.pop(node[-1])
            self._engine.set_attr(self._group(group), COMMIT, json.dumps(record))
        new = (*group, name)
        self._grown = {
            (*new, *n[len(node) :]) if n[: len(node)] == node else n: length
            for n, length in self._grown.items()
        }
        self._commits = {p: r for p, r in self._commits.items() if p[: len(node)] != node}
        self._below_netcdf(lambda h5file: move_node(h5file, node, name))

    def _below_netcdf(self, change: Callable[[h5py.File], None]) -> None:
        """Close the engine and change the file with h5py (what netCDF cannot do, or
        does slowly); the engine reopens it when next needed (netCDF-C reads the
        metadata of every variable on opening)."""
        self._release()
        with h5py.File(self._file, "r+") as h5file:
            change(h5file)

    def _release(self) -> None:
        """Close the engine's file (after writing what it holds), if it is open."""
        live, self._live = self._live, None
        self._groups.clear()
        if live is not None:
            try:
                self._engine.flush(live)
            finally:
                live.close()

    # -- attributes ------------------------------------------------------------------
    @reading
    def attrs(self, node: Path) -> dict[str, Any]:
        self._create_staged(node)
        attrs = self._engine.get_attrs(self._obj(node))
        for private in _PRIVATE:  # the backend's own bookkeeping
            attrs.pop(private, None)
        return attrs

    def set_attrs(self, node: Path, attrs: Mapping[str, Any]) -> None:
        staged = self._staged.get(node)
        if staged is not None and all(bulk_attr(v) for v in attrs.values()):
            staged.attrs.update(attrs)
            return
        self._create_staged(node)
        if not node and self._live is None and all(bulk_attr(v) for v in attrs.values()):
            self._below_netcdf(lambda h5file: replace_attrs(h5file, attrs))  # no reopen
            return
        obj = self._obj(node)
        for name, value in attrs.items():
            self._engine.set_attr(obj, name, value)

    def delete_attrs(self, node: Path, names: Iterable[str]) -> None:
        self._create_staged(node)
        obj = self._obj(node)
        for name in names:
            self._engine.del_attr(obj, name)

    # -- variables -------------------------------------------------------------------
    def create_variable(
        self,
        node: Path,
        data: np.ndarray | ArraySource,
        dims: tuple[str, ...],
        attrs: Mapping[str, Any],
        *,
        unlimited: bool = False,
        chunks: tuple[int, ...] | None = None,
    ) -> None:
        group = self._group(node[:-1])
        existing = self._engine.dimensions(group)
        for axis, (dim, size) in enumerate(zip(dims, data.shape, strict=True)):
            grows = unlimited and axis == 0
            if dim in existing:
                have, is_unlimited = existing[dim]
                if not is_unlimited and have != size:
                    raise ValueError(f"dimension {dim!r} has size {have}, not {size}")
                continue
            if (*node[:-1], dim) in self._staged:  # the dimension of a staged variable's name
                self._create_staged()
                group = self._group(node[:-1])  # (h5py may have written them: a new handle)
            # netCDF has no fixed dimension of length 0: such a dimension is unlimited
            self._engine.create_dimension(group, dim, None if grows or size == 0 else size)
            existing[dim] = (size, grows or size == 0)
        attrs = dict(attrs)
        if not unlimited and data.shape and 0 in data.shape:
            attrs[STATIC] = np.int8(1)
        fill = attrs.pop("_FillValue", None)
        if fill is not None:
            fill = np.asarray(fill).astype(data.dtype)[()]
        if chunks is None and any(existing[d][1] for d in dims):
            chunks = tuple(
                max(1, min(s, 1024) if existing[d][1] else s)
                for d, s in zip(dims, data.shape, strict=True)
            )
        dtype = data.dtype.newbyteorder("=")  # '<f8' from zarr is native, but netCDF4 warns
        filters = dict(self._compression)
        if self._checksum and chunks is not None:
            # HDF5 checks every chunk it reads (not those of variable-length strings:
            # HDF5 filters only fixed-size types; a series of strings has no checksum)
            filters["fletcher32"] = dtype != STRING
        elif self._checksum and 0 not in data.shape:
            data = np.asarray(data)  # contiguous (small): its crc32 is an attribute
            attrs[CRC] = np.int64(checksum_of(data))
        plain = chunks is None and not filters and fill is None and node[-1] not in existing
        if isinstance(data, np.ndarray) and bulk_variable(data, dtype, plain, attrs):
            # created later with the others (a private copy: the caller may change it)
            self._staged.add(NewVariable(node, np.array(data, copy=True), dims, attrs))
            return
        if self._staged.in_group(node[:-1]):  # keep the group's order of variables
            self._create_staged()
            group = self._group(node[:-1])
        self._define(group, node, data, dtype, dims, fill, chunks, filters, attrs, unlimited)

    def _define(
        self,
        group: Any,
        node: Path,
        data: np.ndarray | ArraySource,
        dtype: np.dtype,
        dims: tuple[str, ...],
        fill: Any,
        chunks: tuple[int, ...] | None,
        filters: dict[str, Any],
        attrs: Mapping[str, Any],
        unlimited: bool,
    ) -> None:
        """Create a variable through the engine (its data written now or with the batch)."""
        var = self._engine.create_variable(group, node[-1], dtype, dims, fill, chunks, filters)
        for name, value in attrs.items():
            self._engine.set_attr(var, name, value)
        if 0 in data.shape:
            return
        if is_big(data):  # written now, slab by slab: no copy of a big value
            self._write_pending()
            if unlimited:
                self._engine.grow(group, var, data.shape[0])
            write_slabs(data, lambda part, index: self._assign(var, part, index), chunks)
            return
        # a private copy: the caller may change its array before the batch is written
        self._pending.append((group, var, np.array(data, copy=True)))
        self._pending_bytes += nbytes(data)
        if self._pending_bytes > PENDING_LIMIT:
            self._write_pending()

    def _create_staged(self, node: Path | None = None) -> None:
        """Create the staged variables (with ``node``: if it is one of them): small
        plain ones wait so that many are written at once with h5py, each dimension
        scale's references written once (:mod:`~.scales`), not one attach per variable
        (quadratic in netCDF-C and h5py).  Below :data:`BULK_MIN`: through the engine."""
        if not self._staged or (node is not None and node not in self._staged):
            return
        staged = self._staged.take()
        if len(staged) < BULK_MIN:
            for var in staged:
                group = self._group(var.node[:-1])
                dtype = var.data.dtype.newbyteorder("=")
                self._define(
                    group, var.node, var.data, dtype, var.dims, None, None, {}, var.attrs, False
                )
            return
        self._write_pending()
        self._below_netcdf(lambda h5file: write_variables(h5file, staged))

    def _write_pending(self) -> None:
        """Write the data of every variable defined since the last batch."""
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        for group, var, data in pending:
            if self._engine.first_dim_unlimited(group, var):
                self._engine.grow(group, var, data.shape[0])
            self._engine.write(var, data)

    @staticmethod
    def _assign(var: Any, data: np.ndarray, index: Index) -> None:
        if data.dtype == STRING and data.ndim == 0:
            var[...] = data.item()
        else:
            var[index if index else ...] = data

    @reading
    def info(self, node: Path) -> VarInfo:
        self._create_staged(node)
        var = self._var(node)
        dims = tuple(var.dimensions)
        unlimited = self._engine.first_dim_unlimited(self._group(node[:-1]), var)
        if unlimited and STATIC in self._engine.attr_names(var):
            unlimited = False
        dtype = (
            STRING if var.dtype is str or np.dtype(var.dtype).kind in "OSU" else np.dtype(var.dtype)
        )
        shape = tuple(var.shape)
        committed = self._committed_length(node) if unlimited else None
        if committed is not None and committed < shape[0]:
            shape = (committed, *shape[1:])
        return VarInfo(shape, dtype, dims, unlimited)

    @reading
    def chunks(self, node: Path) -> tuple[int, ...] | None:
        self._create_staged(node)
        return self._engine.chunks(self._var(node))

    def native(self, node: Path) -> Any:
        """The engine's own object (netCDF4 ``Dataset``/``Group``/``Variable``, or
        h5netcdf's), after writing the data of variables defined since the last batch.
        It is the handle xstore writes through, so it sees every later write; it is
        replaced when something is deleted (netCDF cannot delete in place)."""
        self._create_staged()
        self._write_pending()
        return self._obj(node)

    def _commit_record(self, group: Path) -> dict[str, int]:
        record = self._commits.get(group)
        if record is None:
            obj = self._group(group)
            text = (
                self._engine.get_attrs(obj).get(COMMIT)
                if COMMIT in self._engine.attr_names(obj)
                else None
            )
            record = json.loads(text) if isinstance(text, str) else {}
            self._commits[group] = record
        return record

    def _committed_length(self, node: Path) -> int | None:
        """Records committed by the last flush that grew ``node`` (None: not recorded,
        or grown in this session and not committed yet, when the extent is right)."""
        if node in self._grown:
            return None
        return self._commit_record(node[:-1]).get(node[-1])

    @reading
    def read(self, node: Path, index: Index = ()) -> np.ndarray:
        self._create_staged(node)
        self._write_pending()
        var = self._var(node)
        chunks = self._engine.chunks(var)
        require_plausible(self.location, self._file, node, var, index, chunks)
        crc = self._crc(var) if chunks is None else None  # chunked: HDF5's fletcher32
        if crc is not None:  # small and contiguous: read whole, check, then index
            whole = self._read(node, var, ())
            if checksum_of(whole) != crc:
                raise StoreError(
                    f"{'/'.join(node)} in {self.location} is damaged: its data no longer "
                    "match their checksum"
                )
            return whole[index] if index else whole
        return self._read(node, var, index)

    def _read(self, node: Path, var: Any, index: Index) -> np.ndarray:
        if not index:
            committed = self._committed_length(node)
            if committed is not None and var.shape and committed < var.shape[0]:
                index = (slice(0, committed),)
        try:
            value = self._engine.read(var, index)
        except (RuntimeError, OSError) as exc:  # HDF5: a chunk failed its fletcher32 check
            raise StoreError(f"cannot read {'/'.join(node)} in {self.location}: {exc}") from exc
        if var.dtype is str or np.dtype(var.dtype).kind == "O":
            if isinstance(value, str):
                return string_array([value], ())
            return np.asarray(value, dtype=object)
        return np.asarray(value)

    def _crc(self, var: Any) -> int | None:
        """The checksum attribute of a contiguous variable (None: it has none)."""
        try:
            return int(np.asarray(self._engine.get_attr(var, CRC)).reshape(-1)[0])
        except KeyError:
            return None

    def write(self, node: Path, data: np.ndarray, index: Index = ()) -> None:
        self._create_staged(node)
        self._write_pending()
        var = self._var(node)
        self._assign(var, data, index)
        if self._crc(var) is not None:  # keep the checksum of a contiguous variable true
            whole = data if not index else self._read(node, var, ())
            self._engine.set_attr(var, CRC, np.int64(checksum_of(np.asarray(whole))))

    def write_records(self, node: Path, start: int, block: np.ndarray) -> None:
        self._create_staged(node)
        self._write_pending()
        var = self._var(node)
        if self._tuned.get(node) is not var:  # once per variable object (reopens make new ones)
            self._engine.tune_for_appends(var)
            self._tuned[node] = var
        self._engine.grow(self._group(node[:-1]), var, start + len(block))
        self._engine.write(var, block, start)
        committed = self._commit_record(node[:-1]).get(node[-1], 0)
        self._grown[node] = max(start + len(block), self._grown.get(node, 0), committed)

    # -- lifetime --------------------------------------------------------------------
    def flush(self) -> None:
        """Data and extents first, then the commit record of every grown variable."""
        if not self.writable:
            return
        self._create_staged()
        self._write_pending()
        if self._live is not None:
            self._engine.flush(self._live)
        if self._grown:
            grown, self._grown = self._grown, {}
            for group in {node[:-1] for node in grown}:
                record = self._commit_record(group)
                record.update(
                    {node[-1]: length for node, length in grown.items() if node[:-1] == group}
                )
                self._engine.set_attr(self._group(group), COMMIT, json.dumps(record))
            self._engine.flush(self._handle)
        if self._file != self.location:  # a new file: now complete, it takes its place
            os.replace(self._file, self.location)
            self._file = self.location

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.writable:
                self.flush()
        finally:
            self._staged.take()
            self._tuned.clear()
            self._release()
