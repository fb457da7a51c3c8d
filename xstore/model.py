"""The in-memory form shared by codecs and backends.

A codec turns a Python value into a :class:`Var` (one array) or a :class:`Tree`
(attributes plus ordered children); the core writes those to a backend and reads
them back.  Nothing here knows about files or about Python types beyond numpy.

What a backend stores natively (:data:`STORABLE_DTYPES`, variable-length strings as
object arrays of ``str``) is the contract between the two layers: the codecs encode
everything else into these.  Attribute names in ``attrs`` are the names stored on
disk; values are "raw" attribute values every backend keeps: ``str``, numpy numeric
scalars and 1-D numeric arrays (see :mod:`xstore.codecs.attrs`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

# Attributes xstore writes for its own bookkeeping (all start with "_xs_").
TYPE = "_xs_type"  # python type of the value a node encodes (absent: the default)
DTYPE = "_xs_dtype"  # original numpy dtype when the stored dtype differs
CLASS = "_xs_class"  # "module:qualname" of an object's class
VERSION = "_xs_version"  # version recorded by the Storable protocol (JSON)
ATTR_TYPES = "_xs_attrs"  # JSON map attr name -> how to decode its raw value
PICKLE = "_xs_pickle"  # base64 cloudpickle of a small pickled value
SEQ = "_xs_seq"  # insertion position of a node among its siblings
FORMAT = "_xs_format"  # root only: the xstore format version
INFO = "_xs_info"  # codec-specific JSON (e.g. xarray names, variable order)
CF = "_xs_cf"  # JSON list of the CF attributes xstore added for plain readers (not the user's)

FORMAT_VERSION = "2"

#: dtypes every backend stores as they are (native byte order)
STORABLE_DTYPES = frozenset(
    np.dtype(t) for t in ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8")
)
#: how variable-length strings travel between codecs and backends
STRING = np.dtype(object)


def string_array(items: Sequence[str], shape: tuple[int, ...] | None = None) -> np.ndarray:
    """An object array of ``str`` (the form of variable-length strings), 0-d if
    ``shape`` is ``()``."""
    out = np.empty(len(items), dtype=object)
    out[:] = list(items)
    return out.reshape((len(items),) if shape is None else shape)


class ArraySource(Protocol):
    """An array read part by part (basic indexing), e.g. a variable of another store.

    A :class:`Var` may hold one instead of an ndarray; backends then write it slab by
    slab, so a value larger than memory is copied with a few slabs in memory.
    """

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype: ...

    def __getitem__(self, index: Any) -> Any: ...

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray: ...


@dataclass(slots=True)
class Var:
    """One array with attributes.

    ``data`` is an ndarray, or an :class:`ArraySource` read slab by slab when written.
    ``dims`` names each axis; ``None`` (for the whole tuple or one axis) asks the
    store to generate a name unique in the tree.
    """

    data: np.ndarray | ArraySource
    attrs: dict[str, Any] = field(default_factory=dict)
    dims: tuple[str | None, ...] | None = None
    growable: bool = False  # a series: the first axis can grow (netCDF UNLIMITED)


@dataclass(slots=True)
class Tree:
    """A group: attributes and ordered children keyed by user name."""

    attrs: dict[str, Any] = field(default_factory=dict)
    children: dict[str, Node] = field(default_factory=dict)


Node = Var | Tree


def tag_of(node: Node) -> str | None:
    """The type tag a node carries (None: an untagged array or group)."""
    tag = node.attrs.get(TYPE)
    return None if tag is None else str(tag)


class Shaped:
    """``ndim``, ``size`` and ``len()`` of an array-like from its ``shape``."""

    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """The number of elements."""
        return math.prod(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]
