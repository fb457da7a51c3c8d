"""``xstore convert``: copy any store or saved file to any backend or mode."""

from __future__ import annotations

import os
import sys
from typing import Any

from xstore.backends import files, registry
from xstore.core.layout import Core
from xstore.faces import api, documents
from xstore.names import Path

_SUFFIX_MODES = {".json": documents.JSON, ".pkl": documents.PICKLE, ".pickle": documents.PICKLE}


def target_mode(target: str, mode: str | None) -> str:
    """The ``save`` mode to write ``target`` in: ``mode``, else judged from the suffix."""
    if mode is not None:
        return mode
    suffix = os.path.splitext(target.rstrip("/"))[1].lower()
    if suffix in _SUFFIX_MODES:
        return _SUFFIX_MODES[suffix]
    return registry.infer(target).save_modes[0]


class _Progress:
    """A one-line progress bar on stderr for copies of more than a few megabytes."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done = max(total, 1), 0
        self.enabled = enabled and total > 8 * 2**20 and sys.stderr.isatty()

    def advance(self, nbytes: int) -> None:
        self.done += nbytes
        if self.enabled:
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(30 * share)
            sys.stderr.write(f"\r[{bar:<30}] {share:6.1%} of {self.total / 2**20:.1f} MiB")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _size(core: Core, group: Path) -> int:
    total = 0
    for entry in core.index(group).values():
        path = (*group, entry.stored)
        if entry.is_group:
            total += _size(core, path)
        else:
            info = core.info(path)
            count = 1
            for n in info.shape:
                count *= n
            total += count * (info.dtype.itemsize or 8)
    return total


def _copy(source: Core, group: Path, target: Core, into: Path, progress: _Progress) -> None:
    target.set_attrs(into, source.copyable_attrs(group))
    for name, entry in source.index(group).items():
        path = (*group, entry.stored)
        if entry.plain_group:
            created = target.create_group(into, name)
            _copy(source, path, target, (*into, created.stored), progress)
            continue
        node = source.read_node(path, entry.is_group)
        target.write_node(into, name, node)
        progress.advance(_size(source, path) if entry.is_group else node.data.nbytes)  # type: ignore[union-attr]


def convert(
    source: str,
    target: str,
    *,
    mode: str | None = None,
    allow_pickle: bool = False,
    progress: bool = True,
    **options: Any,
) -> None:
    """Copy ``source`` to ``target`` (written atomically where the target is a file).

    Store-to-store copies move stored values as they are, pickles included, without
    decoding them; copies to ``json``/``cloudpickle`` decode and need ``allow_pickle``
    for pickled values.  The copy is also how an HDF5 file gets compacted.
    """
    out_mode = target_mode(target, mode)
    in_mode = api.detect(source)
    out_spec, in_spec = registry.for_save_mode(out_mode), registry.for_save_mode(in_mode)
    if out_spec is None or in_spec is None:
        data = api.load(source, in_mode, allow_pickle=allow_pickle)
        api.save(data, target, mode=out_mode, **options)
        return
    src = api.open_session(source, "r", backend=in_spec.name, allow_pickle=allow_pickle)
    try:
        bar = _Progress(_size(src.layout, ()), progress)

        def write(location: str) -> None:
            dst = api.open_session(location, "w", backend=out_spec.name, **options)
            try:
                _copy(src.layout, (), dst.layout, (), bar)
            finally:
                dst.close()

        if files.is_url(target):
            write(target)
        else:
            with files.beside(target) as temp:
                write(temp)
        bar.finish()
    finally:
        src.close()
