"""Reading part of a big value: ``Group.array(key)`` reads only what is indexed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import Case, backend_of

import xstore

BASIC_INDEXES: list[Any] = [
    (),
    0,
    -1,
    slice(2, 5),
    slice(None, None, -2),
    (Ellipsis, 1),
    (slice(4, 0, -1), 1, slice(None)),
    (1, 2, 3),
    (slice(9, 2),),
    (0, Ellipsis, slice(1, None, 2)),
]


def count_reads(store: xstore.Store, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record the index of every read the backend serves."""
    backend = backend_of(store)
    reads: list[Any] = []
    original = backend.read
    monkeypatch.setattr(
        backend, "read", lambda node, index=(): reads.append(index) or original(node, index)
    )
    return reads


def test_indexing_matches_numpy_and_reads_only_that_part(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = np.arange(6 * 4 * 5, dtype=np.float64).reshape(6, 4, 5)
    path = case.path()
    with case.open(path, "w") as store:
        store["x"] = values
    with case.open(path, "r") as store:
        reads = count_reads(store, monkeypatch)
        lazy = store.array("x")
        assert (lazy.shape, lazy.dtype, lazy.ndim, len(lazy)) == ((6, 4, 5), values.dtype, 3, 6)
        for index in BASIC_INDEXES:
            reads.clear()
            np.testing.assert_array_equal(lazy[index], values[index])
            # one read, of that part only (an index per axis), never the whole array
            assert len(reads) == 1 and reads[0] != () and len(reads[0]) == 3, index
        np.testing.assert_array_equal(np.asarray(lazy), values)


def test_encoded_dtypes_decode_per_part(case: Case) -> None:
    values = {
        "complex": np.arange(12).reshape(3, 4) * (1 + 2j),
        "bool": np.arange(12).reshape(3, 4) % 3 == 0,
        "when": np.datetime64("2020-01-01", "s") + np.arange(12).reshape(3, 4),
        "text": np.array([["a", "bb", "ccc", "d"]] * 3),
        "half": np.arange(12, dtype=np.float16).reshape(3, 4),
    }
    path = case.path()
    with case.open(path, "w") as store:
        store.update(values)
    with case.open(path, "r") as store:
        for key, value in values.items():
            lazy = store.array(key)
            assert lazy.shape == value.shape and lazy.dtype == value.dtype, key
            for index in [(1,), (slice(None), 2), (Ellipsis, slice(1, 3)), (2, 3)]:
                np.testing.assert_array_equal(lazy[index], value[index])


def test_a_series_with_buffered_records(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    path = case.path()
    with case.open(path, "w", buffer_records=100_000) as store:
        store.extend("e", np.arange(5000.0))
        store.flush()
        for i in range(5000, 5010):  # still buffered
            store.append("e", float(i))
        reads = count_reads(store, monkeypatch)
        lazy = store.array("e")
        assert lazy.shape == (5010,)
        np.testing.assert_array_equal(lazy[4998:5003], np.arange(4998.0, 5003.0))
        np.testing.assert_array_equal(lazy[-2:], [5008.0, 5009.0])
        assert lazy[5005] == 5005.0
        assert reads and all(index != () for index in reads)
        store.append("e", 5010.0)
        assert lazy.shape == (5011,) and lazy[-1] == 5010.0  # a series keeps growing


def test_errors(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store["x"] = np.zeros((3, 2))
        store["params"] = {"T": 1.0}
        store["scalar"] = 2.5
        store.create_group("g")
        lazy = store.array("x")
        with pytest.raises(KeyError, match="did you mean 'x'"):
            store.array("xx")
        for key in ("params", "scalar", "g"):
            with pytest.raises(TypeError, match="not an array"):
                store.array(key)
        for index in ([0, 1], np.array([0]), None, (0, 0, 0), 3, -4, 1.5):
            with pytest.raises(IndexError):
                lazy[index]
    with pytest.raises(ValueError, match="closed"):
        lazy[0]


def test_misspelled_keys_suggest_close_matches(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store["params"] = {"temperature": 300.0}
        store["traj/positions"] = np.zeros(3)
    with case.open(path, "r") as store:
        with pytest.raises(KeyError, match="did you mean 'params'") as info:
            store["parmas"]
        assert info.value.args[0] == "parmas"  # the key, as for any KeyError
        with pytest.raises(KeyError, match="did you mean 'traj/positions'"):
            store["traj/postions"]
        with pytest.raises(KeyError, match="did you mean 'params/temperature'"):
            store["params/temprature"]
        with pytest.raises(KeyError) as info:
            store["zzzzzz"]
        assert str(info.value) == "'zzzzzz'"
        assert "parmas" not in store
