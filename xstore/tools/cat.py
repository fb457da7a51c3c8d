"""What ``xstore cat`` prints: one value, or part of it (``'KEY[slice]'``), never more
than ``max_items`` items of it, and a summary (shape, dtype, min/mean/max) instead of
the elements of a big array."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from xstore.faces.arrays import LazyArray
from xstore.faces.store import Group, Store
from xstore.tools.tree import describe_group

#: numpy's print threshold: arrays with more elements are summarised
MAX_ITEMS = 1000
PREVIEW_ITEMS = 20  # elements of each row shown under the summary of a big array
WIDTH = 100
_STATS_BYTES = 16 * 2**20  # rows read at a time when summarising a big stored array
_INDEXED = re.compile(r"^(?P<key>.+?)\[(?P<index>[^\[\]]*)\]$")
_BASIC_ITEM = re.compile(r"^-?\d+$")


def parse_index(text: str) -> tuple[Any, ...]:
    """A numpy basic index from its text, e.g. ``"10:20, 0"`` or ``"..., -1"``."""
    items: list[Any] = []
    for part in (p.strip() for p in text.split(",")):
        if part in ("...", "…"):
            items.append(Ellipsis)
        elif ":" in part:
            bounds = [b.strip() for b in part.split(":")]
            if len(bounds) > 3 or not all(b == "" or _BASIC_ITEM.match(b) for b in bounds):
                raise ValueError(f"bad slice {part!r} in [{text}]: use start:stop:step")
            items.append(slice(*(int(b) if b else None for b in bounds)))
        elif _BASIC_ITEM.match(part):
            items.append(int(part))
        else:
            raise ValueError(
                f"bad index {part!r} in [{text}]: use integers, slices (a:b:c) and ..., "
                "e.g. 'traj/positions[0]' or 'x[10:20, 0]'"
            )
    return tuple(items)


def split_key(store: Group, text: str) -> tuple[str, tuple[Any, ...] | None]:
    """``(key, index)`` of ``'KEY[index]'``; a key stored with brackets in its name wins."""
    match = _INDEXED.match(text)
    if match is None or text in store:
        return text, None
    return match["key"], parse_index(match["index"])


def select(store: Store, text: str) -> Any:
    """The value (or part of it) that ``'KEY'`` or ``'KEY[index]'`` names; an array
    comes back as a :class:`~xstore.LazyArray` when nothing was indexed."""
    key, index = split_key(store, text)
    try:
        found = store.array(key)
    except TypeError:  # a group or a value that is not an array: read it whole
        found = store[key]
    if index is None:
        return found
    if isinstance(found, LazyArray):
        return found[index]
    if isinstance(found, Group):
        raise TypeError(f"{key!r} is a group; name one of its keys instead of indexing it")
    if isinstance(found, dict):
        raise TypeError(f"{key!r} is a dict; use '{key}/NAME' to read one entry")
    if not isinstance(found, list | tuple | str | bytes):
        raise TypeError(f"{key!r} holds a {type(found).__name__}, which cannot be indexed")
    if len(index) != 1 or index[0] is Ellipsis:
        raise IndexError(f"{key!r} holds a {type(found).__name__}: use one index or slice")
    return found[index[0]]


# -- printing ------------------------------------------------------------------------------


def _more(count: int, what: str) -> str:
    return f"… {count:,} more {what} (--max-items N shows more, 0 all)"


def _limit(max_items: int) -> int:
    """Items shown (``--max-items 0``: all)."""
    return max_items if max_items > 0 else sys.maxsize


def _summary(lazy: LazyArray) -> str:
    """Shape, dtype and min/mean/max of a stored array, read a slab of rows at a time."""
    head = f"{lazy.dtype} array of shape {lazy.shape}"
    if lazy.dtype.kind not in "biuf" or lazy.size == 0:
        return head
    row = max(1, lazy.size // max(lazy.shape[0], 1) * lazy.dtype.itemsize)
    step = max(1, _STATS_BYTES // row)
    low, high, total, count = math.inf, -math.inf, 0.0, 0
    for start in range(0, lazy.shape[0], step):
        part = np.asarray(lazy[start : start + step], dtype=np.float64)
        finite = part[np.isfinite(part)]
        if finite.size:
            low, high = min(low, finite.min()), max(high, finite.max())
            total += float(finite.sum())
            count += finite.size
    if not count:
        return f"{head}: no finite values"
    return f"{head}: min {low:.6g}, mean {total / count:.6g}, max {high:.6g}"


def _preview(part: Any) -> str:
    """A few lines of numpy's summarised repr."""
    with np.printoptions(threshold=PREVIEW_ITEMS, edgeitems=3, linewidth=WIDTH):
        return repr(np.asarray(part))


def _array_lines(value: Any, max_items: int) -> Iterator[str]:
    """The whole array if it has at most ``max_items`` elements, else a summary (read
    a slab at a time from a stored array) and its first and last rows."""
    lazy = value if isinstance(value, LazyArray) else None
    size = lazy.size if lazy is not None else np.size(value)
    if size <= _limit(max_items):
        with np.printoptions(threshold=sys.maxsize, linewidth=WIDTH):
            yield from repr(np.asarray(value)).splitlines()
        return
    if lazy is not None:
        yield _summary(lazy)
    else:
        arr = np.asarray(value)
        head = f"{arr.dtype} array of shape {arr.shape}"
        finite = arr[np.isfinite(arr)] if arr.dtype.kind in "biuf" else arr[:0]
        if finite.size:
            head += f": min {finite.min():.6g}, mean {finite.mean():.6g}, max {finite.max():.6g}"
        yield head
    source: Any = lazy if lazy is not None else value
    if len(source.shape) == 1:
        parts = {"[:3]": source[:3], "[-3:]": source[-3:]}
    else:
        parts = {"[0]": source[0], "[-1]": source[-1]}
    for label, part in parts.items():
        yield from f"{label}: {_preview(part)}".splitlines()
    yield f"({size:,} elements: print a part with 'KEY[10:20]', or all with --max-items 0)"


def _inline(value: Any, max_items: int) -> str:
    """A one-line repr that shows at most ``max_items`` items of each container."""
    limit = _limit(max_items)
    if isinstance(value, dict | list | tuple | set | frozenset):
        items = list(value.items()) if isinstance(value, dict) else list(value)
        shown = [
            f"{item[0]!r}: {_inline(item[1], max_items)}"
            if isinstance(value, dict)
            else _inline(item, max_items)
            for item in items[:limit]
        ]
        if len(items) > limit:
            shown.append(f"… {len(items) - limit:,} more")
        open_, close = _BRACKETS.get(type(value), ("[", "]"))
        trailing = "," if open_ == "(" and len(items) == 1 else ""
        return open_ + ", ".join(shown) + trailing + close
    if isinstance(value, str | bytes) and len(value) > limit:
        return repr(value[:limit]) + f"… ({len(value) - limit:,} more)"
    if isinstance(value, np.ndarray):
        with np.printoptions(threshold=limit, edgeitems=3, linewidth=sys.maxsize):
            return " ".join(repr(value).split())
    return repr(value)


_BRACKETS: dict[type, tuple[str, str]] = {
    dict: ("{", "}"),
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}


def lines(value: Any, max_items: int = MAX_ITEMS) -> Iterator[str]:
    """The lines ``xstore cat`` prints for ``value`` (``max_items`` 0: everything)."""
    limit = _limit(max_items)
    if isinstance(value, Group):
        yield from describe_group(value.session, value.stored_path, value.path, max_items=max_items)
    elif isinstance(value, LazyArray | np.ndarray):
        yield from _array_lines(value, max_items)
    elif isinstance(value, str):  # as it is, like cat prints a file
        yield value[:limit]
        if len(value) > limit:
            yield _more(len(value) - limit, "characters")
    elif isinstance(value, dict | list | tuple | set | frozenset):
        yield from _container_lines(value, max_items)
    else:
        yield from _inline(value, max_items).splitlines()


def _container_lines(value: Any, max_items: int) -> Iterator[str]:
    """One line if it fits, else one line per item (a table: one record per line)."""
    one_line = _inline(value, max_items)
    if len(one_line) <= WIDTH:
        yield one_line
        return
    limit = _limit(max_items)
    items = list(value.items()) if isinstance(value, dict) else list(value)
    open_, close = _BRACKETS.get(type(value), ("[", "]"))
    yield open_
    for item in items[:limit]:
        if isinstance(value, dict):
            yield f"  {item[0]!r}: {_inline(item[1], max_items)},"
        else:
            yield f"  {_inline(item, max_items)},"
    if len(items) > limit:
        yield "  " + _more(len(items) - limit, "keys" if isinstance(value, dict) else "items")
    yield close
