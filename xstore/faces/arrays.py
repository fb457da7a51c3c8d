"""Lazy arrays: part of a stored array, read on demand (``Group.array(key)[...]``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xstore.core.partial import StoredArray
from xstore.core.session import Session
from xstore.model import SEQ, Shaped, Var
from xstore.names import Path


class LazyArray(Shaped):
    """A stored array (or series) that reads only the part you index.

    Returned by :meth:`xstore.Group.array`.  Indexing with integers, slices and
    ``...`` (numpy's basic indexing) reads just that part from the store, records
    still buffered in this process included, and decodes it as ``store[key]``
    would; ``np.asarray(lazy)`` reads everything.  The store must stay open.

    Attributes
    ----------
    dtype : numpy.dtype
        The dtype of the values read (for an encoded type, the decoded one).

    Examples
    --------
    >>> positions = store.array("traj/positions")   # doctest: +SKIP
    >>> positions.shape                             # doctest: +SKIP
    (100000, 500, 3)
    >>> last = positions[-1]                        # reads one frame # doctest: +SKIP
    """

    def __init__(self, session: Session, node: Path, label: str) -> None:
        self._session = session
        self._label = label
        self._stored = StoredArray(session.layout, node)
        self._attrs = {k: v for k, v in session.layout.attrs(node).items() if k != SEQ}
        stored_shape = self._stored.shape
        probe = self._stored[...] if not stored_shape else self._stored[:0]
        sample = self._decode(probe)
        if not (hasattr(sample, "shape") and hasattr(sample, "dtype")):
            raise TypeError(
                f"{label} holds a {type(sample).__name__}, not an array; read it whole with {label}"
            )
        #: axes the stored form has beyond the value's (complex pairs, bytes)
        self._extra = len(stored_shape) - len(sample.shape)
        self.dtype: np.dtype = np.dtype(sample.dtype)

    def _decode(self, data: np.ndarray) -> Any:
        return self._session.decode(Var(data, self._attrs), self._label)

    @property
    def shape(self) -> tuple[int, ...]:
        """The current shape (records still buffered in this process included)."""
        stored = self._stored.shape
        return stored[: len(stored) - self._extra]

    def __getitem__(self, index: Any) -> Any:
        with self._session.mutex:  # threads sharing the store take turns
            return self._read(index)

    def _read(self, index: Any) -> Any:
        self._session.require_open()
        items = index if isinstance(index, tuple) else (index,)
        if Ellipsis not in items:  # the stored form's extra axes stay whole
            items = (*items, Ellipsis)
        elif self._extra:
            items = (*items, *(slice(None),) * self._extra)
        if len([i for i in items if i is not Ellipsis]) > self.ndim:
            raise IndexError(f"too many indices for a {self.ndim}-d array")
        return self._decode(self._stored[items])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = np.asarray(self[...])
        return whole if dtype is None else whole.astype(dtype)

    def __repr__(self) -> str:
        return f"<xstore.LazyArray {self._label} shape={self.shape} dtype={self.dtype}>"
