"""What the core's index knows about a child, where a key leads, and what the core
asks of the series writer."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from xstore.names import Path

#: group tags a key path can lead through (None: a plain group): containers (lists
#: and tuples by index), tables of records, and stored objects (one field of which can
#: be read on its own)
TRAVERSABLE = frozenset(
    {None, "dict", "collections.OrderedDict", "records", "list", "tuple"}
    | {"dataclass", "storable", "getstate"}
)
#: group tags a key path may lead through to write or delete something (what may be
#: written inside a table of records is decided by its face)
WRITABLE_THROUGH = frozenset({None, "dict", "collections.OrderedDict", "records"})
TABLE_TAG = "records"


class Kind(enum.Enum):
    """What a child of a group is."""

    GROUP = "group"  # a plain group
    MAPPING = "mapping"  # a stored dict: a value that keys can also lead into
    TABLE = "table"  # a table of records: a group of series along one record dimension
    SERIES = "series"  # a growable variable
    VALUE = "value"  # any other stored value (an array or a tagged group)


@dataclass(slots=True)
class Entry:
    """One child of a group, as the index knows it."""

    stored: str
    is_group: bool
    seq: int
    tag: str | None

    @property
    def plain_group(self) -> bool:
        """A group made by ``create_group`` (or implied by a path), not a stored value."""
        return self.is_group and self.tag is None


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where a key leads.  ``parent`` is the deepest group reached by walking the key,
    ``depth`` the number of the key's names walked to get there and ``entry`` the
    entry of the next name in ``parent`` (None: nothing is stored under it)."""

    parts: tuple[str, ...]
    parent: Path
    depth: int
    entry: Entry | None
    parent_tag: str | None = None  # the type tag of ``parent`` (None: a plain group)
    #: every group walked through is a plain group or a dict: the key may be written
    writable: bool = True
    #: the key ends at this item of ``entry``, a list stored as one array
    item: int | None = None
    #: why the key leads nowhere, where a name says it (e.g. a list index out of range)
    problem: str | None = None

    @property
    def complete(self) -> bool:
        """The walk reached the group that holds (or would hold) the key."""
        return self.depth == len(self.parts) - 1

    @property
    def found(self) -> bool:
        return self.complete and self.entry is not None

    @property
    def exists(self) -> bool:
        """Something is stored under the key: a node, or an item of a stored array."""
        return self.found or self.item is not None

    @property
    def blocked(self) -> bool:
        """A stored value (not a group) stands where the key needs a group."""
        return not self.complete and self.entry is not None

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def node(self) -> Path:
        """Stored path of the node the walk stopped at (requires ``entry``)."""
        assert self.entry is not None
        return (*self.parent, self.entry.stored)


class PendingRecords(Protocol):
    """What the core asks of the series writer: records appended but not written."""

    def pending(self, node: Path) -> int: ...

    def buffered(self, node: Path) -> np.ndarray: ...

    def forget(self, prefix: Path) -> None: ...

    def moved(self, old: Path, new: Path) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
