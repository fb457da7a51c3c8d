"""The names of the StorageInterface API, and how a clash with a node name is explained.

The names of the API (:data:`RESERVED`) are never directories or variables: using
one as such raises an ``AttributeError`` that says so.  Methods are bound once per
node (:func:`api`), and both bound methods and the ``path``/``name``/``file_name``
strings explain themselves when used as if they were nodes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

#: Names of the API: never the names of directories or variables reached by attribute.
RESERVED = frozenset(
    {
        "add_metadata",
        "append",
        "close",
        "file_name",
        "metadata",
        "name",
        "path",
        "read",
        "storage_driver",
        "sync",
        "write",
    }
)


def clash(name: str, what: str) -> AttributeError:
    return AttributeError(
        f"{name!r} is {what} of the StorageInterface API, so it cannot be the name of a "
        f"directory or variable reached by attribute access; use node[{name!r}] instead"
    )


class ApiStr(str):
    """A ``path``/``name``/``file_name`` value: a str that explains a name clash."""

    _api_name: str

    def __new__(cls, value: str, api_name: str) -> ApiStr:
        self = super().__new__(cls, value)
        self._api_name = api_name
        return self

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        raise clash(self._api_name, "a property")


class _BoundApi(functools.partial):
    """An API method bound to its node, whose missing attributes explain a name clash
    (``si.read.append(x)`` says that ``read`` is a method, not a variable)."""

    __slots__ = ()

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        raise clash(self.func.__name__, "a method")


F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:

    def api(func: F) -> F:
        return func

else:

    class api:
        """Marks an API method (see :class:`_BoundApi`)."""

        def __init__(self, func: Callable[..., Any]) -> None:
            self.func = func
            functools.update_wrapper(self, func)

        def __get__(self, node: Any, owner: type | None = None) -> Any:
            if node is None:
                return self.func
            bound = _BoundApi(self.func, node)
            node.__dict__[self.func.__name__] = bound  # bound once per node (hot paths)
            return bound
