"""Local paths and URLs: telling them apart, and replacing a file or directory
atomically by writing beside it and renaming."""

from __future__ import annotations

import contextlib
import os
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


@contextlib.contextmanager
def beside(target: str) -> Iterator[str]:
    """A temporary path next to ``target`` that replaces it only if the block succeeds."""
    temp = temp_name(target)
    try:
        yield temp
        replace(temp, target)
    finally:
        remove(temp)


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
