"""HDF5-level operations on netCDF-4 files, below what netCDF can do: deleting
variables and groups, and finding or cutting records a killed writer left behind."""

from __future__ import annotations

import fcntl
import json

import h5py

from xstore.names import Path

COMMIT = "_xs_commit"  # group attribute: JSON {variable: records committed by a flush}
_DIM_ONLY = b"This is a netCDF dimension but not a netCDF variable"


def delete_node(h5file: h5py.File, node: Path) -> None:
    """Remove a netCDF variable or group with h5py, keeping the file valid for netCDF-C."""
    parent = h5file["/" + "/".join(node[:-1])] if len(node) > 1 else h5file
    obj = parent[node[-1]]
    if isinstance(obj, h5py.Dataset):
        scales = [scale for dim in obj.dims for scale in dim.values()]
        for axis, dim in enumerate(obj.dims):
            for scale in list(dim.values()):
                if scale != obj:
                    obj.dims[axis].detach_scale(scale)
        del parent[node[-1]]
        for scale in scales:
            if scale == obj or scale.name is None:
                continue
            name = scale.attrs.get("NAME", b"")
            if isinstance(name, str):
                name = name.encode()
            unused = len(scale.attrs.get("REFERENCE_LIST", ())) == 0
            if unused and bytes(name).startswith(_DIM_ONLY):
                del h5file[scale.name]
    else:
        del parent[node[-1]]


def move_node(h5file: h5py.File, node: Path, name: str) -> None:
    """Rename a netCDF variable or group (an HDF5 link move keeps its dimensions)."""
    parent = h5file["/" + "/".join(node[:-1])] if len(node) > 1 else h5file
    parent.move(node[-1], name)


def _uncommitted(handle: h5py.File) -> list[tuple[h5py.Dataset, int]]:
    """Datasets longer than their group's commit record says (a torn flush)."""
    found: list[tuple[h5py.Dataset, int]] = []

    def visit(group: h5py.Group) -> None:
        text = group.attrs.get(COMMIT)
        if isinstance(text, bytes):
            text = text.decode()
        record = json.loads(text) if isinstance(text, str) else {}
        for name, committed in record.items():
            dset = group.get(name)
            if isinstance(dset, h5py.Dataset) and dset.shape and dset.shape[0] > committed:
                found.append((dset, committed))
        for child in group.values():
            if isinstance(child, h5py.Group):
                visit(child)

    visit(handle)
    return found


def uncommitted_records(location: str) -> list[str]:
    """Variables with records past their commit record (``xstore check``)."""
    try:
        with h5py.File(location, "r") as handle:
            return [
                f"{d.name}: {d.shape[0] - n} records past the commit record"
                for d, n in _uncommitted(handle)
            ]
    except OSError:
        return []  # unreadable files are reported by opening them


def truncate_uncommitted(location: str) -> None:
    """Cut variables back to their commit record (called before a writable reopen)."""
    try:
        with h5py.File(location, "r") as handle:
            if not _uncommitted(handle):
                return
        with h5py.File(location, "r+") as handle:
            for dset, committed in _uncommitted(handle):
                dset.resize(committed, axis=0)
                for scale in dset.dims[0].values():  # h5netcdf sizes dimensions by their scale
                    if scale.maxshape[0] is None and scale.shape[0] > committed:
                        users = [
                            d
                            for d in dset.parent.values()
                            if isinstance(d, h5py.Dataset)
                            and d.shape
                            and d != scale
                            and scale in d.dims[0].values()
                        ]
                        scale.resize(max([committed, *(d.shape[0] for d in users)]), axis=0)
    except OSError:
        return  # an unreadable file: opening it reports that


def short_series(location: str) -> list[str]:
    """Series holding fewer records than others along the same record dimension.

    netCDF readers pad such a variable with fill values up to the dimension's
    length, so only the HDF5 extents show the damage (``xstore check`` reports it).
    """
    found: list[str] = []

    def visit(name: str, obj: object) -> None:
        if not isinstance(obj, h5py.Group):
            return
        lengths: dict[tuple[str, ...], dict[str, int]] = {}
        for child, dset in obj.items():
            growable = isinstance(dset, h5py.Dataset) and dset.shape and dset.maxshape[0] is None
            if growable and dset.attrs.get("CLASS") != b"DIMENSION_SCALE":
                # by the scales' HDF5 paths: their labels are alike for every netCDF
                # dimension without a coordinate variable
                dim = tuple(scale.name for scale in dset.dims[0].values())
                lengths.setdefault(dim, {})[child] = dset.shape[0]
        for members in lengths.values():
            longest = max(members.values())
            for child, length in members.items():
                if length < longest:
                    where = f"/{name}/{child}" if name else f"/{child}"
                    found.append(
                        f"{where}: {length} records stored, its record dimension has {longest}"
                    )

    try:
        with h5py.File(location, "r") as handle:
            visit("", handle)
            handle.visititems(visit)
    except OSError:
        return []  # unreadable files are reported by opening them
    return found


def locked(path: str) -> bool:
    """True if an HDF5 writer holds ``path`` (HDF5 takes an exclusive ``flock``)."""
    try:
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False
