"""Local paths and URLs: telling them apart, and replacing a file or directory
atomically by writing beside it and renaming."""

from __future__ import annotations

import contextlib
import errno
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
    names of xstore's own pattern for this target (``.NAME.xstore-XXXXXXXX.tmp.SUFFIX``)."""
    folder, name = os.path.split(os.path.abspath(target))
    suffix = os.path.splitext(name)[1]
    pattern = re.compile(
        rf"\.{re.escape(name)}\.xstore-[0-9a-f]{{8}}\.tmp{re.escape(suffix)}(\.old)?"
    )
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
    """Move ``source`` over ``target`` (a file, or a directory over a directory)."""
    if os.path.isdir(source) and os.path.isdir(target):
        trash = f"{source}.old"
        os.replace(target, trash)
        os.replace(source, target)
        shutil.rmtree(trash)
    else:
        os.replace(source, target)
