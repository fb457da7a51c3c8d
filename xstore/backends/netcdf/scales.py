"""Many small netCDF variables written at once with h5py, their dimensions attached in bulk.

netCDF-C (and h5py's ``dims.attach_scale``, under h5netcdf) attaches a variable to a
dimension with ``H5DSattach_scale``, which reads the dimension's whole
``REFERENCE_LIST``, appends one entry and writes it back: saving ``n`` arrays that
share one ``dim_<length>`` (SPEC section 1) costs O(n^2).  :func:`write_variables`
creates the variables' HDF5 datasets itself and writes each dimension scale's
``REFERENCE_LIST`` once and each variable's ``DIMENSION_LIST`` once.

The layout is the one netCDF-C 4.10 writes for a contiguous fixed-size variable
(compare ``h5dump -A -p`` of a file it wrote), so netCDF-C, h5netcdf and xarray read it
as their own:

- the dataset is contiguous, with no fill written (``H5D_FILL_TIME_NEVER``) and its
  attributes' creation order tracked and indexed (netCDF-C lists them in that order);
- ``DIMENSION_LIST``: one element per axis, each a variable-length sequence of one
  object reference to the dimension's scale dataset (HDF5 Dimension Scales spec);
- ``_Netcdf4Coordinates``: ``int32`` array of the netCDF dimension ids of its axes,
  which are the ``_Netcdf4Dimid`` attributes of the scales (omitted if a scale has none;
  netCDF-C then matches dimensions through ``DIMENSION_LIST``);
- each scale's ``REFERENCE_LIST``: compound ``{dataset: object reference, dimension:
  uint32}``, one entry per attached (variable, axis) — entries already there are kept
  and the new ones appended.  (``uint32`` is what HDF5's own ``H5DSattach_scale``
  writes for ``dimension``, in files by netCDF-C and by h5py alike.)
- attributes: numbers as 1-element (or 1-D) arrays and ASCII text as a fixed-length
  NUL-terminated string, like netCDF4-python's ``setncattr``; :func:`bulk_attr` says
  which values qualify (others go through the engine).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from xstore.backends.slabs import is_big
from xstore.names import Path

NETCDF_KINDS = frozenset(["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8"])
_REF_LIST = np.dtype([("dataset", h5py.ref_dtype), ("dimension", "<u4")])
_DIM_LIST = h5py.vlen_dtype(h5py.ref_dtype)


@dataclass(slots=True)
class NewVariable:
    """A variable to create: its path, data, dimension names (local scales) and attributes."""

    node: Path
    data: np.ndarray
    dims: tuple[str, ...]
    attrs: dict[str, Any]


def bulk_dtype(dtype: np.dtype) -> bool:
    """True for the netCDF numeric types :func:`write_variables` writes."""
    return f"{dtype.kind}{dtype.itemsize}" in NETCDF_KINDS


def bulk_variable(data: np.ndarray, dtype: np.dtype, plain: bool, attrs: Mapping[str, Any]) -> bool:
    """True for a small variable :func:`write_variables` writes: ``plain`` (contiguous,
    unfiltered, no fill value), a netCDF numeric type, no empty axis, plain attributes."""
    return (
        plain
        and bulk_dtype(dtype)
        and 0 not in data.shape
        and not is_big(data)
        and all(bulk_attr(value) for value in attrs.values())
    )


def bulk_attr(value: Any) -> bool:
    """True if ``value`` is an attribute :func:`write_variables` writes as netCDF-C would."""
    if isinstance(value, str):
        return value.isascii() and value != ""
    if isinstance(value, (np.generic, np.ndarray)):
        return np.ndim(value) <= 1 and np.size(value) > 0 and bulk_dtype(np.asarray(value).dtype)
    return False


class _Writer:
    """Low-level h5py calls with the HDF5 types, dataspaces and property lists made once
    (high-level h5py spends most of a small dataset's time building them)."""

    def __init__(self) -> None:
        self._types: dict[Any, Any] = {}
        self._spaces: dict[tuple[int, ...], Any] = {}
        self._dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        self._dcpl.set_attr_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
        self._dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)

    def _space(self, shape: tuple[int, ...]) -> Any:
        space = self._spaces.get(shape)
        if space is None:
            space = h5py.h5s.create_simple(shape) if shape else h5py.h5s.create(h5py.h5s.SCALAR)
            self._spaces[shape] = space
        return space

    def _type(self, dtype: np.dtype) -> Any:
        kind = self._types.get(dtype)
        if kind is None:
            kind = self._types[dtype] = h5py.h5t.py_create(dtype, logical=True)
        return kind

    def attr(self, obj: Any, name: str, value: Any) -> None:
        """Write one attribute on the low-level object ``obj``."""
        if isinstance(value, str):
            array = np.array(value.encode("ascii"), dtype=f"S{len(value) + 1}")
            kind = self._types.get(("text", len(value)))
            if kind is None:
                kind = h5py.h5t.C_S1.copy()
                kind.set_size(len(value) + 1)
                kind.set_strpad(h5py.h5t.STR_NULLTERM)
                self._types[("text", len(value))] = kind
        else:
            array = np.atleast_1d(np.asarray(value))
            array = array.astype(array.dtype.newbyteorder("="), copy=False)
            kind = self._type(array.dtype)
        attr = h5py.h5a.create(obj, name.encode(), kind, self._space(array.shape))
        attr.write(array, mtype=kind)

    def dataset(self, group: Any, name: str, data: np.ndarray) -> Any:
        """A contiguous dataset holding ``data`` in the low-level group ``group``."""
        data = np.asarray(data, dtype=data.dtype.newbyteorder("="), order="C")  # 0-d stays 0-d
        kind = self._type(data.dtype)
        dsid = h5py.h5d.create(group, name.encode(), kind, self._space(data.shape), dcpl=self._dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data, mtype=kind)
        return dsid

    def dimension_list(self, dsid: Any, value: np.ndarray) -> None:
        """Write a ``DIMENSION_LIST`` (see :func:`_dimension_list`) on ``dsid``."""
        kind = self._type(_DIM_LIST)
        memory = self._types.get("memory")  # vlen data is written from its in-memory type
        if memory is None:
            memory = self._types["memory"] = h5py.h5t.py_create(_DIM_LIST)
        attr = h5py.h5a.create(dsid, b"DIMENSION_LIST", kind, self._space(value.shape))
        attr.write(value, mtype=memory)


@dataclass(slots=True)
class _Axes:
    """What every variable of one group with the same dimensions gets: its
    ``DIMENSION_LIST`` value, ``_Netcdf4Coordinates`` (None: a scale has no id) and
    the scales its axes attach to."""

    dimension_list: np.ndarray
    coordinates: np.ndarray | None
    scales: tuple[tuple[Path, str], ...]


def write_variables(h5file: h5py.File, variables: Sequence[NewVariable]) -> None:
    """Create ``variables`` (in order) and attach each axis to its group's scale of
    that dimension name, writing every ``REFERENCE_LIST`` once."""
    writer = _Writer()
    groups: dict[Path, Any] = {}
    scales: dict[tuple[Path, str], tuple[h5py.Dataset, int | None]] = {}
    axes: dict[tuple[Path, tuple[str, ...]], _Axes] = {}
    users: dict[tuple[Path, str], list[tuple[h5py.Reference, int]]] = {}
    for var in variables:
        where = var.node[:-1]
        group = groups.get(where)
        if group is None:
            group = groups[where] = (h5file["/" + "/".join(where)] if where else h5file).id
        dsid = writer.dataset(group, var.node[-1], var.data)
        for name, value in var.attrs.items():
            writer.attr(dsid, name, value)
        if not var.dims:
            continue
        found = axes.get((where, var.dims))
        if found is None:
            found = axes[(where, var.dims)] = _axes(h5file, scales, where, var)
        writer.dimension_list(dsid, found.dimension_list)
        if found.coordinates is not None:
            writer.attr(dsid, "_Netcdf4Coordinates", found.coordinates)
        ref = h5py.h5r.create(dsid, b".", h5py.h5r.OBJECT)
        for axis, key in enumerate(found.scales):
            users.setdefault(key, []).append((ref, axis))
    for key, entries in users.items():
        append_references(scales[key][0], entries)


def _axes(
    h5file: h5py.File,
    scales: dict[tuple[Path, str], tuple[h5py.Dataset, int | None]],
    where: Path,
    var: NewVariable,
) -> _Axes:
    keys = tuple((where, dim) for dim in var.dims)
    for key in keys:
        if key not in scales:
            scales[key] = _scale(h5file, where, key[1], var.node)
    value = np.empty(len(keys), dtype=_DIM_LIST)
    for axis, key in enumerate(keys):
        value[axis] = np.array([scales[key][0].ref], dtype=h5py.ref_dtype)
    dimids = [scales[key][1] for key in keys]
    coordinates = None if None in dimids else np.array(dimids, dtype="<i4")
    return _Axes(value, coordinates, keys)


def _scale(h5file: h5py.File, where: Path, dim: str, node: Path) -> tuple[h5py.Dataset, int | None]:
    """The dimension scale ``dim`` of group ``where`` and its netCDF dimension id."""
    scale = h5file.get("/" + "/".join((*where, dim)))
    if not isinstance(scale, h5py.Dataset) or scale.attrs.get("CLASS") != b"DIMENSION_SCALE":
        raise ValueError(
            f"/{'/'.join(node)}: dimension {dim!r} has no HDF5 dimension scale in its group"
        )
    dimid = scale.attrs.get("_Netcdf4Dimid")
    return scale, None if dimid is None else int(np.asarray(dimid).reshape(-1)[0])


def append_references(scale: h5py.Dataset, entries: Iterable[tuple[h5py.Reference, int]]) -> None:
    """Add (dataset, axis) entries to ``scale``'s ``REFERENCE_LIST``, rewritten once."""
    old: Mapping[str, Any] | np.ndarray = np.empty(0, dtype=_REF_LIST)
    if "REFERENCE_LIST" in scale.attrs:
        old = scale.attrs["REFERENCE_LIST"]
    new = list(entries)
    table = np.empty(len(old) + len(new), dtype=_REF_LIST)
    if len(old):
        table["dataset"][: len(old)] = old["dataset"]
        table["dimension"][: len(old)] = old["dimension"]
    table["dataset"][len(old) :] = [ref for ref, _ in new]
    table["dimension"][len(old) :] = [axis for _, axis in new]
    if "REFERENCE_LIST" in scale.attrs:
        del scale.attrs["REFERENCE_LIST"]
    scale.attrs.create("REFERENCE_LIST", table, dtype=_REF_LIST)


def replace_attrs(h5file: h5py.File, attrs: Mapping[str, Any]) -> None:
    """Set the root group's attributes (each :func:`bulk_attr`) as netCDF-C would."""
    writer = _Writer()
    root = h5file.id
    for name, value in attrs.items():
        if name in h5file.attrs:
            del h5file.attrs[name]
        writer.attr(root, name, value)
