"""The exception classes users catch."""

from __future__ import annotations

from collections.abc import Iterable


class StoreError(OSError):
    """A store that cannot be read or is corrupt; the message names the path."""


class PickleNotAllowedError(ValueError):
    """A value needs unpickling (or importing arbitrary code) and ``allow_pickle`` is off."""

    def __init__(self, paths: Iterable[str], location: str = "") -> None:
        self.paths = sorted(set(paths))
        where = f" in {location}" if location else ""
        shown = ", ".join(self.paths[:10]) + (" ..." if len(self.paths) > 10 else "")
        super().__init__(
            f"refusing to unpickle {len(self.paths)} value(s){where}: {shown}. "
            "Unpickling can run arbitrary code; pass allow_pickle=True only for files you trust."
        )
