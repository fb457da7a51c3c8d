"""``xstore convert``: copy any store or saved file to any backend or mode."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

from xstore.backends import files, locks, registry, slabs
from xstore.backends.address import Address, address_of
from xstore.core.layout import Core
from xstore.core.partial import StoredArray
from xstore.faces import api, documents
from xstore.model import Var
from xstore.names import Path

BAR_MIN_BYTES = 8 * 2**20  # smaller copies take no time worth showing
_SUFFIX_MODES = {".json": documents.JSON, ".pkl": documents.PICKLE, ".pickle": documents.PICKLE}


def target_mode(target: str | Address, mode: str | None) -> str:
    """The ``save`` mode to write ``target`` in: ``mode``, else judged from the suffix."""
    if mode is not None:
        return mode
    address = target if isinstance(target, Address) else Address(target)
    suffix = os.path.splitext(address.location.rstrip("/"))[1].lower()
    if suffix in _SUFFIX_MODES and address.store is None:
        return _SUFFIX_MODES[suffix]
    return registry.infer(address).save_modes[0]


def _progress_bar(total: int, progress: bool | TextIO) -> Any:
    """A tqdm bar by bytes (rate, time left) on stderr when it is a terminal, or on
    the stream ``progress`` names; disabled for copies of a few megabytes."""
    from tqdm import tqdm

    stream = progress if not isinstance(progress, bool) else sys.stderr
    if progress is False or total < BAR_MIN_BYTES:
        disable: bool | None = True
    else:
        disable = None if progress is True else False  # None: only on a terminal
    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc="copying",
        file=stream,
        disable=disable,
        dynamic_ncols=True,
    )


def _size(core: Core, group: Path) -> int:
    total = 0
    for entry in core.index(group).values():
        path = (*group, entry.stored)
        if entry.is_group:
            total += _size(core, path)
        else:
            info = core.info(path)
            total += math.prod(info.shape) * (info.dtype.itemsize or 8)
    return total


def _copy(
    source: Core, group: Path, target: Core, into: Path, parts: Callable[[Path], Any]
) -> None:
    target.set_attrs(into, source.copyable_attrs(group))
    for name, entry in source.index(group).items():
        path = (*group, entry.stored)
        if entry.plain_group:
            created = target.create_group(into, name)
            _copy(source, path, target, (*into, created.stored), parts)
            continue
        node = source.read_node(path, entry.is_group, parts=parts)
        # a series keeps its records per chunk (those of its lockstep set, see chunks.py)
        chunks = source.chunks(path) if isinstance(node, Var) and node.growable else None
        target.write_node(into, name, node, chunks=chunks)


def convert(
    source: str,
    target: str,
    *,
    mode: str | None = None,
    allow_pickle: bool = False,
    trust: str | Iterable[str] = (),
    progress: bool | TextIO = True,
    storage_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> None:
    """Copy ``source`` to ``target``, replacing what was there atomically (as
    :func:`xstore.save` does; ``storage_options``: fsspec's, for whichever is a URL).

    Store-to-store copies move stored values as they are, pickles included, without
    decoding them, and stream big arrays slab by slab (memory bounded by a few
    chunks); copies to ``json``/``cloudpickle`` decode and need ``allow_pickle`` for
    pickled values (``trust`` for objects whose module is not imported).  The copy
    is also how an HDF5 file gets compacted.

    ``progress``: a progress bar by bytes on stderr when it is a terminal (True), none
    (False), or on the given stream.
    """
    src_at, dst_at = _address(source, storage_options), _address(target, storage_options)
    out_mode = target_mode(dst_at, mode)
    in_mode = api.detect(src_at)
    out_spec, in_spec = registry.for_save_mode(out_mode), registry.for_save_mode(in_mode)
    if out_spec is None or in_spec is None:
        data = api.load(
            source,
            in_mode,
            allow_pickle=allow_pickle,
            trust=trust,
            storage_options=src_at.storage_options,
        )
        api.save(data, target, mode=out_mode, storage_options=dst_at.storage_options, **options)
        return
    src = api.open_session(src_at, "r", backend=in_spec.name, allow_pickle=allow_pickle)
    try:
        with _progress_bar(_size(src.layout, ()), progress) as bar:

            def part(path: Path) -> Any:
                """Big variables are read slab by slab as they are written; small ones
                whole (a backend writes those in batches)."""
                stored = StoredArray(src.layout, path, on_read=bar.update)
                return stored if slabs.nbytes(stored) > slabs.SLAB_BYTES else stored[...]

            def write(location: str | Address) -> None:
                dst = api.open_session(location, "w", backend=out_spec.name, **options)
                try:
                    _copy(src.layout, (), dst.layout, (), part)
                finally:
                    dst.close()

            lock = locks.acquire(dst_at) if out_spec.locking else None
            try:
                if dst_at.remote and out_spec.stage is not None:
                    with out_spec.stage(dst_at) as staged:
                        write(staged)
                else:
                    with files.beside(dst_at.location) as temp:
                        write(temp)
            finally:
                if lock is not None:
                    lock.release()
    finally:
        src.close()


def _address(location: Any, storage_options: Mapping[str, Any] | None) -> Address:
    """The address of a source or target: the storage options go to URLs only."""
    if isinstance(location, str) and not files.is_url(location):
        return address_of(location)
    return address_of(location, storage_options)
