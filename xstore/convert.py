"""``xstore convert``: copy any store or saved file to any backend or mode."""

from __future__ import annotations

import os
import sys
from typing import Any

from xstore import api, backends
from xstore.core import Core
from xstore.names import Path

_SUFFIX_MODES = {".json": "json", ".pkl": "cloudpickle", ".pickle": "cloudpickle"}


def target_mode(target: str, mode: str | None) -> str:
    if mode is not None:
        return mode
    suffix = os.path.splitext(target.rstrip("/"))[1].lower()
    if suffix in _SUFFIX_MODES:
        return _SUFFIX_MODES[suffix]
    return "zarr" if backends.infer_backend(target) == "zarr" else "hdf5"


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
            info = core.backend.info(path)
            count = 1
            for n in info.shape:
                count *= n
            total += count * (info.dtype.itemsize or 8)
    return total


def _copy(source: Core, group: Path, target: Core, into: Path, progress: _Progress) -> None:
    target.set_attrs(into, dict(source.attrs(group)))
    for name, entry in source.index(group).items():
        path = (*group, entry.stored)
        if entry.is_group and entry.tag is None:
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
    if out_mode in ("json", "cloudpickle") or in_mode in ("json", "cloudpickle"):
        data = api.load(source, in_mode, allow_pickle=allow_pickle)
        api.save(data, target, mode=out_mode, **options)
        return
    kind = "zarr" if out_mode == "zarr" else "netcdf"
    with api.open(source, "r", allow_pickle=allow_pickle) as src:
        core = src._live_core()
        bar = _Progress(_size(core, ()), progress)

        def write(location: str) -> None:
            with api.open(location, "w", backend=kind, **options) as dst:
                _copy(core, (), dst._live_core(), (), bar)

        if backends.is_remote(target):
            write(target)
        else:
            with api._beside(target) as temp:
                write(temp)
        bar.finish()
