"""Naming classes in a file and importing them back safely.

Restoring an object means importing its class.  Importing runs module code, so
without ``allow_pickle`` a class is imported only if it is already imported, or
if its module's source shows that it implements the Storable protocol or is a
dataclass (checked statically, before anything is executed).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import sys
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


def _static_check(module: str, qualname: str, kind: str) -> bool:
    """Whether the module source defines ``qualname`` as a Storable or dataclass."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return False
    try:
        with open(spec.origin, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    body: list[ast.stmt] = tree.body
    node: ast.ClassDef | None = None
    for part in qualname.split("."):
        node = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == part), None)
        if node is None:
            return False
        body = node.body
    assert node is not None
    if kind == STORABLE:
        names = {n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        return {"_store", "_restore"} <= names
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "dataclass":
            return True
    return False


class RestoreRefused(Exception):
    """Restoring the class would need ``allow_pickle``."""


def import_class(spec: str, kind: str, *, allow_any: bool) -> type:
    """The class named by ``spec``, imported only if it may be restored as ``kind``.

    Raises :class:`RestoreRefused` if restoring needs ``allow_pickle`` (``allow_any``)
    and ``ImportError`` if the class cannot be found.
    """
    module, _, qualname = spec.partition(":")
    if not module or not qualname:
        raise ImportError(f"malformed class name {spec!r}")
    if module not in sys.modules and not allow_any and not _static_check(module, qualname, kind):
        raise RestoreRefused(spec)
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ImportError(f"cannot import class {spec}: {exc}") from exc
    if not isinstance(obj, type):
        raise ImportError(f"{spec} is not a class")
    if not allow_any and not _kind_ok(obj, kind):
        raise RestoreRefused(spec)
    return obj


def object_version(obj: object) -> Any:
    """The version the Storable protocol records: ``obj.__version__``, else the package's."""
    version = getattr(obj, "__version__", None)
    if version is not None:
        return version
    top = type(obj).__module__.partition(".")[0]
    return getattr(sys.modules.get(top), "__version__", None)
