"""The engines below the netCDF backend: what differs between netCDF4-python (the
default) and h5netcdf, which write the same netCDF-4 layout.

(A read-only path straight through h5py was measured and dropped: netCDF-C opens a
file in 1.3 ms against h5py's 0.3 ms, but h5py reads each attribute in about 50 us of
Python where netCDF-C reads them all in C, so loading the benchmark dict took 0.6 s
instead of 0.12 s.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import h5py
import numpy as np

from xstore.backends.base import Index
from xstore.backends.netcdf.hdf5 import locked
from xstore.errors import StoreError
from xstore.model import STRING


def _fits(attr: Any, value: Any) -> bool:
    """True if ``value`` can be written into the existing HDF5 attribute unchanged."""
    if isinstance(value, str):  # only a variable-length string takes any new text
        info = h5py.check_string_dtype(attr.dtype)
        return info is not None and info.length is None and attr.shape in ((), (1,))
    new = np.asarray(value)
    return new.dtype == attr.dtype and (
        new.shape == attr.shape or (new.ndim == 0 and attr.shape == (1,))
    )


def _attr_value(value: Any) -> Any:
    """Attribute values as the codecs expect them (str, numpy scalars, 1-D arrays)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, list):
        return np.asarray(value)
    return value


class _Engine:
    """What differs between netCDF4-python and h5netcdf."""

    name: ClassVar[str]

    def open(self, path: str, mode: str) -> Any:
        raise NotImplementedError

    def groups(self, group: Any) -> Mapping[str, Any]:
        return group.groups

    def variables(self, group: Any) -> Mapping[str, Any]:
        return group.variables

    def dimensions(self, group: Any) -> dict[str, tuple[int, bool]]:
        raise NotImplementedError

    def create_group(self, parent: Any, name: str) -> Any:
        raise NotImplementedError

    def create_dimension(self, group: Any, name: str, size: int | None) -> None:
        raise NotImplementedError

    def create_variable(
        self,
        group: Any,
        name: str,
        dtype: np.dtype,
        dims: tuple[str, ...],
        fill: Any,
        chunks: tuple[int, ...] | None,
        filters: dict[str, Any],
    ) -> Any:
        """A new variable; ``filters``: ``level`` (zlib compression), ``fletcher32``."""
        raise NotImplementedError

    def get_attrs(self, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    def get_attr(self, obj: Any, name: str) -> Any:
        """One attribute (``KeyError`` if it is absent)."""
        raise NotImplementedError

    def attr_names(self, obj: Any) -> list[str]:
        raise NotImplementedError

    def set_attr(self, obj: Any, name: str, value: Any) -> None:
        raise NotImplementedError

    def del_attr(self, obj: Any, name: str) -> None:
        raise NotImplementedError

    def grow(self, group: Any, var: Any, size: int) -> None:
        """Make the unlimited first dimension of ``var`` at least ``size`` long."""

    def tune_for_appends(self, var: Any) -> None:
        """Prepare a chunked variable for records written at its end (default: nothing)."""

    def first_dim_unlimited(self, group: Any, var: Any) -> bool:
        raise NotImplementedError

    def chunks(self, var: Any) -> tuple[int, ...] | None:
        """The chunk shape of a variable (None: contiguous)."""
        raise NotImplementedError

    def read(self, var: Any, index: Index) -> Any:
        return var[index if index else ...]

    def write(self, var: Any, data: np.ndarray, start: int = 0) -> None:
        """Write ``data`` from record ``start`` on (the whole variable if 0 and as long)."""
        if data.dtype == STRING and data.ndim == 0:
            var[...] = data.item()
        elif start or data.shape != var.shape:
            var[start : start + len(data)] = data
        else:
            var[...] = data

    def flush(self, handle: Any) -> None:
        raise NotImplementedError


class _NetCDF4(_Engine):
    name = "netcdf4"

    def open(self, path: str, mode: str) -> Any:
        import netCDF4

        nc_mode = {"r": "r", "r+": "a", "a": "a", "w": "w", "w-": "x"}[mode]
        handle = netCDF4.Dataset(path, nc_mode, format="NETCDF4")  # type: ignore[arg-type]
        handle.set_auto_maskandscale(False)
        handle.set_always_mask(False)
        return handle

    def dimensions(self, group: Any) -> dict[str, tuple[int, bool]]:
        return {n: (len(d), d.isunlimited()) for n, d in group.dimensions.items()}

    def create_group(self, parent: Any, name: str) -> Any:
        return parent.createGroup(name)

    def create_dimension(self, group: Any, name: str, size: int | None) -> None:
        group.createDimension(name, size)

    def create_variable(self, group, name, dtype, dims, fill, chunks, filters):
        kind = str if dtype == STRING else dtype
        kwargs: dict[str, Any] = {"fill_value": False if fill is None else fill}
        if chunks is not None:
            kwargs["chunksizes"] = chunks
        if "level" in filters:
            kwargs.update(compression="zlib", complevel=filters["level"])
        if filters.get("fletcher32"):
            kwargs["fletcher32"] = True
        var = group.createVariable(name, kind, dims, **kwargs)
        var.set_auto_maskandscale(False)
        var.set_always_mask(False)
        return var

    def tune_for_appends(self, var: Any) -> None:
        """A chunk cache of two chunks for this variable instead of netCDF-C's 64 MiB
        shared default: appended chunks are written once and never read again, and a
        large cache only adds a copy of every chunk on its way to disk (with it, large
        frames went at 0.89x of raw h5py doing the same fletcher32 work; with two
        chunks, at 1.07x).  Two, so that the tail chunk a flush left half full stays
        cached for the records that complete it."""
        chunking = var.chunking()
        if chunking == "contiguous" or not isinstance(var.dtype, np.dtype):  # str: vlen
            return
        chunk_bytes = var.dtype.itemsize * int(np.prod(chunking, dtype=np.int64))
        var.set_var_chunk_cache(size=max(2**20, 2 * chunk_bytes), nelems=1009, preemption=0.75)

    def first_dim_unlimited(self, group: Any, var: Any) -> bool:
        dims = var.get_dims()
        return bool(dims) and dims[0].isunlimited()

    def chunks(self, var: Any) -> tuple[int, ...] | None:
        chunking = var.chunking()
        return None if chunking == "contiguous" else tuple(chunking)

    def read(self, var: Any, index: Index) -> Any:
        shape = var.shape
        fast = getattr(var, "_get", None)
        if index or var.dtype is str or fast is None:
            return var[index if index else ...]
        # the whole array without netCDF4-python's index parsing (most of a small read);
        # a scalar is read as a one-element hyperslab
        if not shape:
            return np.asarray(fast([0], [1], [1])).reshape(())
        return fast([0] * len(shape), list(shape), [1] * len(shape))

    def write(self, var: Any, data: np.ndarray, start: int = 0) -> None:
        put = getattr(var, "_put", None)
        if data.dtype == STRING or put is None:  # pragma: no branch - strings: the public way
            super().write(var, data, start)
            return
        # without netCDF4-python's index parsing: 44 instead of 140 us for 5000 doubles
        put(data, [start] + [0] * (data.ndim - 1), list(data.shape), [1] * data.ndim)

    def get_attrs(self, obj: Any) -> dict[str, Any]:
        return {k: _attr_value(obj.getncattr(k)) for k in obj.ncattrs()}

    def get_attr(self, obj: Any, name: str) -> Any:
        try:
            return _attr_value(obj.getncattr(name))
        except AttributeError:
            raise KeyError(name) from None

    def attr_names(self, obj: Any) -> list[str]:
        return list(obj.ncattrs())

    def set_attr(self, obj: Any, name: str, value: Any) -> None:
        obj.setncattr(name, value)

    def del_attr(self, obj: Any, name: str) -> None:
        obj.delncattr(name)

    def flush(self, handle: Any) -> None:
        handle.sync()


class _H5NetCDF(_Engine):
    name = "h5netcdf"

    def open(self, path: str, mode: str) -> Any:
        import h5netcdf

        return h5netcdf.File(path, mode, decode_vlen_strings=True)

    def dimensions(self, group: Any) -> dict[str, tuple[int, bool]]:
        return {n: (d.size, d.isunlimited()) for n, d in group.dimensions.items()}

    def create_group(self, parent: Any, name: str) -> Any:
        return parent.create_group(name)

    def create_dimension(self, group: Any, name: str, size: int | None) -> None:
        group.dimensions[name] = size

    def create_variable(self, group, name, dtype, dims, fill, chunks, filters):
        kind = h5py.string_dtype() if dtype == STRING else dtype
        kwargs: dict[str, Any] = {}
        if fill is not None:
            kwargs["fillvalue"] = fill
        if chunks is not None:
            kwargs["chunks"] = chunks
        if "level" in filters:
            kwargs.update(compression="gzip", compression_opts=filters["level"])
        if filters.get("fletcher32"):
            kwargs["fletcher32"] = True
        return group.create_variable(name, dims, kind, **kwargs)

    def get_attrs(self, obj: Any) -> dict[str, Any]:
        return {k: _attr_value(v) for k, v in obj.attrs.items()}

    def get_attr(self, obj: Any, name: str) -> Any:
        return _attr_value(obj.attrs[name])

    def attr_names(self, obj: Any) -> list[str]:
        return list(obj.attrs)

    def set_attr(self, obj: Any, name: str, value: Any) -> None:
        """Set an attribute keeping its position: h5py deletes and re-creates an
        attribute it overwrites, which moves it last (netCDF-C keeps it in place)."""
        h5attrs = obj.attrs._h5attrs  # h5py's attribute manager below h5netcdf's
        if name not in h5attrs:
            obj.attrs[name] = value
            return
        if _fits(h5attrs.get_id(name), value):
            scalar = np.ndim(value) == 0 and not isinstance(value, str)
            h5attrs.modify(name, np.atleast_1d(value) if scalar else value)
            return
        names = list(h5attrs)
        later = [(n, h5attrs[n], h5attrs.get_id(n).dtype) for n in names[names.index(name) + 1 :]]
        for other, _, _ in later:
            del h5attrs[other]
        del h5attrs[name]
        obj.attrs[name] = value
        for other, data, dtype in later:
            h5attrs.create(other, data, dtype=dtype)

    def del_attr(self, obj: Any, name: str) -> None:
        del obj.attrs[name]

    def first_dim_unlimited(self, group: Any, var: Any) -> bool:
        if not var.dimensions:
            return False
        owner = group
        while var.dimensions[0] not in owner.dimensions:  # pragma: no cover - dims are local
            owner = owner.parent
        return bool(owner.dimensions[var.dimensions[0]].isunlimited())

    def chunks(self, var: Any) -> tuple[int, ...] | None:
        return None if var.chunks is None else tuple(var.chunks)

    def grow(self, group: Any, var: Any, size: int) -> None:
        dim = var.dimensions[0]
        owner = group
        while dim not in owner.dimensions:  # pragma: no cover - we define dims locally
            owner = owner.parent
        if owner.dimensions[dim].size < size:
            owner.resize_dimension(dim, size)

    def flush(self, handle: Any) -> None:
        handle.flush()
        handle._h5file.flush()  # h5netcdf's own flush does not flush HDF5


ENGINES: dict[str, _Engine] = {"netcdf4": _NetCDF4(), "h5netcdf": _H5NetCDF()}


def open_file(engine: Any, file: str, location: str, mode: str) -> Any:
    """``file`` (the one at ``location``, or its new copy) opened by ``engine``; HDF5's
    refusals become a :class:`StoreError` saying why."""
    try:
        return engine.open(file, mode)
    except (FileNotFoundError, PermissionError):
        raise
    except OSError as exc:
        if locked(file):
            raise StoreError(
                f"cannot open {location}: another process (or another open store) is "
                "writing it, and HDF5 locks files while they are written, so that no reader "
                "sees a half-written state; open it once the writer has closed it, or use a "
                "zarr store, whose readers see the writer's last flush"
            ) from exc
        raise StoreError(f"cannot open {location} as a netCDF-4 file: {exc}") from exc
