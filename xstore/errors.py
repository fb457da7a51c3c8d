"""The exception and warning classes users catch."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable


class StoreError(OSError):
    """A store that cannot be read or is corrupt; the message names the path."""


class StoreLockedError(StoreError):
    """Another writer (another process, or another open store of this one) holds the
    store; the message names the store and the holder."""


class PickleNotAllowedError(ValueError):
    """A value needs unpickling (or importing arbitrary code) and ``allow_pickle`` is off."""

    def __init__(
        self, paths: Iterable[str], location: str = "", modules: Iterable[str] = ()
    ) -> None:
        self.paths = sorted(set(paths))
        self.modules = sorted(set(modules))  # modules a stored class would have imported
        where = f" in {location}" if location else ""
        shown = ", ".join(self.paths[:10]) + (" ..." if len(self.paths) > 10 else "")
        if self.modules:
            names = ", ".join(self.modules)
            message = (
                f"refusing to restore {len(self.paths)} value(s){where}: {shown}: that would "
                f"import {names}, which runs its code; pass trust=[{self.modules[0]!r}] (a "
                "package trusts its submodules) or allow_pickle=True only for files you trust"
            )
        else:
            message = (
                f"refusing to unpickle {len(self.paths)} value(s){where}: {shown}. Unpickling "
                "can run arbitrary code; pass allow_pickle=True only for files you trust."
            )
        super().__init__(message)


class VersionMismatchError(ValueError):
    """A restored object's stored version differs from its class's current version
    (``version_policy="strict"``)."""


class MissingCodecError(TypeError):
    """A stored value needs a codec that is not registered in this process (not
    damage: registering the codec makes the value readable)."""


class XstoreWarning(UserWarning):
    """The base class of xstore's warnings."""


class IncompleteFrameWarning(XstoreWarning):
    """Records of series sharing a record dimension beyond their last complete frame
    were dropped when the store was closed."""


class PickleFallbackWarning(XstoreWarning):
    """A value had no native encoding and was stored with cloudpickle."""


class VersionWarning(XstoreWarning):
    """A restored object's stored version differs from its class's current version."""


def warn(warning: XstoreWarning) -> None:
    """Issue ``warning`` attributed to the first caller outside xstore (the user's line)."""
    frame = sys._getframe(1)
    level = 2  # 1 would name this function, 2 its caller
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("xstore"):
        frame = frame.f_back
        level += 1
    warnings.warn(warning, stacklevel=level)
