"""Naming classes in a file and importing them back safely.

Restoring an object means importing its class, and importing runs module code.  So a
class is imported only if its module is already imported, or is named in the
``trust`` of ``load``/``open`` (a package trusts its submodules), or ``allow_pickle``
is on; otherwise the value is refused (``PickleNotAllowedError`` names the module) and
nothing at all is imported, not even a parent package.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Iterable
from typing import Any

STORABLE = "storable"
DATACLASS = "dataclass"
ANY = "any"


def class_spec(cls: type) -> str | None:
    """``"module:qualname"`` for a class that can be found again by name, else None."""
    module, qualname = cls.__module__, cls.__qualname__
    if "<locals>" in qualname or (
        module == "__main__" and not hasattr(sys.modules[module], "__file__")
    ):
        return None
    return f"{module}:{qualname}"


def is_storable(cls: type) -> bool:
    return callable(getattr(cls, "_store", None)) and callable(getattr(cls, "_restore", None))


def _kind_ok(cls: Any, kind: str) -> bool:
    if not isinstance(cls, type):
        return False
    if kind == STORABLE:
        return is_storable(cls)
    if kind == DATACLASS:
        return dataclasses.is_dataclass(cls)
    return True


class RestoreRefused(Exception):
    """Restoring the class needs consent; ``module`` names the untrusted module it
    would have imported (empty when the class is imported but of the wrong kind)."""

    def __init__(self, spec: str, module: str) -> None:
        super().__init__(spec)
        self.module = module


def _is_module_name(name: object) -> bool:
    return isinstance(name, str) and all(part.isidentifier() for part in name.split("."))


def trust_names(trust: str | Iterable[str]) -> tuple[str, ...]:
    """The module names of a ``trust=`` argument (one name or several), validated."""
    names = (trust,) if isinstance(trust, str) else tuple(trust)
    for name in names:
        if not _is_module_name(name):
            raise ValueError(f"trust= takes module or package names, not {name!r}")
    return names


def trusted(module: str, trust: Iterable[str]) -> bool:
    """``module`` is named in ``trust``, or is a submodule of a package named there."""
    return any(module == name or module.startswith(name + ".") for name in trust)


def import_class(spec: str, kind: str, *, allow_any: bool, trust: Iterable[str] = ()) -> type:
    """The class named by ``spec``, imported only if it may be restored as ``kind``.

    Raises :class:`RestoreRefused` (having imported nothing) unless the module is
    imported already, trusted, or ``allow_any``; ``ImportError`` if the class cannot
    be found.
    """
    module, _, qualname = spec.partition(":")
    if not qualname or not _is_module_name(module):
        raise ImportError(f"malformed class name {spec!r}")
    if module not in sys.modules and not allow_any and not trusted(module, trust):
        raise RestoreRefused(spec, module)
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ImportError(f"cannot import class {spec}: {exc}") from exc
    if not isinstance(obj, type):
        raise ImportError(f"{spec} is not a class")
    if not allow_any and not _kind_ok(obj, kind):
        raise RestoreRefused(spec, "")  # imported, but not a class this kind may restore
    return obj


def object_version(obj: object) -> Any:
    """The version the Storable protocol records: ``obj.__version__``, else the package's."""
    version = getattr(obj, "__version__", None)
    return version if version is not None else class_version(type(obj))


def class_version(cls: type) -> Any:
    """The version of a class now: its ``__version__``, else its top-level package's."""
    version = getattr(cls, "__version__", None)
    if version is not None:
        return version
    top = cls.__module__.partition(".")[0]
    return getattr(sys.modules.get(top), "__version__", None)
