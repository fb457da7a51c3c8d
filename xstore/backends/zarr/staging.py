"""Writable zip stores, staged in a directory.

Zip files cannot overwrite or delete members, and zarr rewrites ``zarr.json`` files
often.  So a zip opened for writing is staged in a hidden temporary directory next
to it (extracted first when it exists); each flush writes a complete new zip beside
the target and renames it over the target.  Every flush therefore rewrites the whole
zip: zips suit archives, use a directory for long appends.  A killed writer leaves
the last flushed zip intact (and the staging directory behind).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import ZipStore

from xstore.backends.files import temp_name
from xstore.backends.zarr.localfiles import DirectLocalStore
from xstore.errors import StoreError


async def copy_store(source: Store, target: Store) -> None:
    """Copy every key of ``source`` into ``target`` (temporary ``.partial`` files skipped)."""
    prototype = default_buffer_prototype()
    async for key in source.list():
        if key.endswith(".partial"):  # a temporary file of an interrupted write
            continue
        value = await source.get(key, prototype=prototype)
        if value is not None:
            await target.set(key, value)


#: only Windows reads ``c:/x`` as a drive path; elsewhere it is a folder ``c:`` (a key
#: like ``"0:"`` of a zarr zip written by xstore makes such members)
_WINDOWS = os.name == "nt"


def unsafe_member(name: str) -> bool:
    """A zip member name that would land outside a folder it is extracted into: an
    absolute or drive path, a ``..`` component, a backslash or an empty component."""
    parts = name.split("/")
    return (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\0" in name
        or (_WINDOWS and len(name) > 1 and name[1] == ":")  # a drive, where there are drives
        or any(part in ("", ".", "..") for part in parts[:-1])
        or parts[-1] in (".", "..")
    )


def check_members(path: str) -> None:
    """``StoreError`` unless every member of the zip at ``path`` names a path inside it."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = [name for name in archive.namelist() if unsafe_member(name)]
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise StoreError(f"cannot open {path} as a zarr zip file: {exc}") from exc
    if bad:
        shown = ", ".join(repr(name) for name in bad[:5])
        raise StoreError(
            f"{path} names files outside itself ({shown}): refusing to open a crafted zip"
        )


def open_zip_reader(path: str) -> Store:
    """A zip store read in place, its member names checked first (``StoreError`` if
    it is not a readable zip or names a path outside itself)."""
    check_members(path)
    try:
        return sync(ZipStore.open(path, mode="r", read_only=True))
    except Exception as exc:
        raise StoreError(f"cannot open {path} as a zarr zip file: {exc}") from exc


class ZipStaging:
    """The staging directory of one zip opened for writing."""

    def __init__(self, zip_path: str, *, extract: bool) -> None:
        folder, name = os.path.split(os.path.abspath(zip_path))
        self.zip_path = zip_path
        self.folder: str | None = tempfile.mkdtemp(prefix=f".{name}.xstore-", dir=folder)
        self.store: Store = DirectLocalStore(self.folder)
        if extract:
            try:
                source = open_zip_reader(zip_path)
                try:
                    sync(copy_store(source, self.store))
                finally:
                    source.close()
            except BaseException:
                self.discard()
                raise

    def write_zip(self) -> None:
        """Replace the zip with the staged contents (a complete new zip, renamed over)."""
        temp = temp_name(self.zip_path, "zip")
        try:
            target = ZipStore(temp, mode="w")
            try:
                sync(copy_store(self.store, target))
            finally:
                target.close()
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temp, self.zip_path)
        finally:
            if os.path.exists(temp):
                os.remove(temp)

    def discard(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
