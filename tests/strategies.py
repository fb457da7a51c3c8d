"""Hypothesis strategies for nested structures of the native types (SPEC §2)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

INT64 = st.integers(-(2**63), 2**63 - 1)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
# what plain text strategies rarely produce: lone and split-pair surrogates, NUL,
# non-BMP characters, decomposed (non-NFC) accents
ODD_TEXT = st.lists(
    st.sampled_from(["\ud800", "\udfff", "\ud83d", "\ude00", "\x00", "\U0001f600", "e\u0301", "a"]),
    max_size=5,
).map("".join)
KEYS = st.one_of(st.text(max_size=10), ODD_TEXT)

DTYPES = [
    "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16",
    "U5", "S4", "M8[ns]", "M8[s]", "m8[ms]", ">f8", ">i2",
]  # fmt: skip

ARRAYS = st.sampled_from(DTYPES).flatmap(
    lambda dt: hnp.arrays(
        np.dtype(dt), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
    )
)
NUMPY_SCALARS = st.sampled_from(DTYPES).flatmap(lambda dt: hnp.from_dtype(np.dtype(dt)))

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    INT64,
    FLOATS,
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    ODD_TEXT,
    st.binary(max_size=12),
)
LEAVES = st.one_of(SCALARS, ARRAYS, NUMPY_SCALARS)

# set elements must compare equal after a round trip: no NaN
HASHABLE = st.one_of(
    st.none(),
    st.booleans(),
    INT64,
    st.floats(allow_nan=False),
    st.text(max_size=6),
    ODD_TEXT,
    st.binary(max_size=6),
)
HASHABLES = st.one_of(HASHABLE, st.tuples(HASHABLE, HASHABLE))


def _containers(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(KEYS, children, max_size=4),
        st.sets(HASHABLES, max_size=4),
        st.frozensets(HASHABLES, max_size=4),
    )


VALUES = st.recursive(LEAVES, _containers, max_leaves=10)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=5)
