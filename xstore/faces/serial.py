"""Threads sharing one store take turns: every face method holds the store's mutex."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar


class HasMutex(Protocol):
    _mutex: threading.RLock


F = TypeVar("F", bound=Callable[..., Any])


def serialised(method: F) -> F:
    """Run ``method`` holding ``self._mutex`` (the session's; re-entrant)."""

    @functools.wraps(method)
    def run(self: HasMutex, *args: Any, **kwargs: Any) -> Any:
        with self._mutex:
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]
