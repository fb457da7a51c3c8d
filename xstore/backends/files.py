"""Local paths and URLs: telling them apart, and replacing a file or directory
atomically by writing beside it and renaming."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import os
import re
import shutil
import uuid
from collections.abc import Iterator


def is_url(location: str) -> bool:
    """True for fsspec URLs such as ``s3://`` or ``memory://`` (``file://`` is local)."""
    return "://" in location and not location.startswith("file://")


def local_path(location: str) -> str:
    """The file-system path of a local location (``file://`` stripped)."""
    return location[len("file://") :] if location.startswith("file://") else location


def temp_name(target: str, tag: str = "tmp") -> str:
    """A hidden path in ``target``'s folder, with its suffix kept (backends tell a zarr
    zip from a zarr directory by it)."""
    folder, name = os.path.split(os.path.abspath(target))
    suffix = os.path.splitext(name)[1]
    return os.path.join(folder, f".{name}.xstore-{uuid.uuid4().hex[:8]}.{tag}{suffix}")


def require_folder(location: str) -> None:
    """``FileNotFoundError`` unless the folder that holds (or would hold) a local
    store exists: a store is created in a folder, never together with it."""
    if is_url(location):
        return
    folder = os.path.dirname(os.path.abspath(local_path(location)))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"the folder {folder} does not exist", location)


def leftovers(target: str) -> list[str]:
    """What interrupted replacements of ``target`` (:func:`beside`) left behind: only
    names of xstore's own pattern for this target (``.NAME.xstore-XXXXXXXX.tmp...``)."""
    folder, name = os.path.split(os.path.abspath(target))
    # also the files a writer of such a temporary file staged beside it (one more dot)
    pattern = re.compile(rf"\.{{1,2}}{re.escape(name)}\.xstore-[0-9a-f]{{8}}\.tmp.*")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, n) for n in names if pattern.fullmatch(n))


@contextlib.contextmanager
def beside(target: str) -> Iterator[str]:
    """A temporary path next to ``target`` that replaces it only if the block succeeds.

    ``FileNotFoundError`` if ``target``'s folder does not exist.  Once the
    replacement is done, leftovers of earlier, interrupted replacements of
    ``target`` are removed.
    """
    require_folder(target)
    temp = temp_name(target)
    try:
        yield temp
        replace(temp, target)
    finally:
        remove(temp)
    for leftover in leftovers(target):
        remove(leftover)


def remove(path: str) -> None:
    """Remove a file or directory tree if it exists."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def replace(source: str, target: str) -> None:
    """Move ``source`` over ``target`` in one step: a file over a file (``rename``); a
    directory over anything, or a file over a directory (a zarr store saved as
    netCDF), by Linux ``renameat2(RENAME_EXCHANGE)``, which swaps the two, and the old
    one, now at ``source``, is removed.  Where the exchange is not available the old
    one is moved aside first, and a crash between the two renames leaves it at
    ``<source>.old``."""
    if not os.path.isdir(source) and not os.path.isdir(target):
        os.replace(source, target)
        return
    if not os.path.lexists(target):
        os.rename(source, target)
        return
    if _exchange(source, target):
        remove(source)
        return
    trash = f"{source}.old"
    os.replace(target, trash)
    os.replace(source, target)
    remove(trash)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: str, b: str) -> bool:
    """Swap two paths atomically (True), or False where the system cannot."""
    renameat2 = getattr(_libc(), "renameat2", None)
    if renameat2 is None:
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False  # not on this file system or kernel
    raise OSError(code, os.strerror(code), b)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None
