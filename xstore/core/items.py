"""Items of stored lists and tuples by key: ``store["runs/1/T"]`` reads field ``T`` of
the second item of the stored list ``runs``.

A key component into a list or tuple is a decimal index, negative ones counting from
the end as in Python (``"-1"`` is the last item); its one spelling is that of
``str(int)``, so ``"01"`` or ``"+1"`` are no index.
"""

from __future__ import annotations

import re

#: type tags of the sequences whose items keys can lead to (sets have no order)
SEQUENCE_TAGS = frozenset({"list", "tuple"})

_INDEX = re.compile(r"0|-?[1-9][0-9]*")


def item_position(part: str, length: int) -> int | None:
    """The non-negative position that the key component ``part`` names in a sequence of
    ``length`` items, or None if it names none (not an index, or out of range)."""
    if not _INDEX.fullmatch(part):
        return None
    index = int(part)
    if not -length <= index < length:
        return None
    return index % length


def why_not(part: str, length: int, tag: str, where: str) -> str:
    """Why ``part`` names no item of the stored ``tag`` (list, tuple) at ``where``."""
    span = f"0 to {length - 1} or -{length} to -1" if length else "none: it is empty"
    if not _INDEX.fullmatch(part):
        return f"{where!r} is a stored {tag}; {part!r} is not an index (indices: {span})"
    return f"index {part} is out of range for {where!r}, a stored {tag} of length {length}"
