"""The backend protocol, checked on every registered backend.

Every backend in :mod:`xstore.backends.registry` runs this suite, with each of its
engines and each of its path suffixes: a new backend gets it for free by being
registered.  It talks to backends directly, the way the core does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xstore.backends import registry
from xstore.backends.address import Address
from xstore.backends.base import Backend, BackendSpec
from xstore.core.chunks import record_chunks
from xstore.model import STORABLE_DTYPES, string_array


def _variants() -> list[Any]:
    """(spec, engine, suffix): every suffix with the default engine, every engine once."""
    out = []
    for spec in registry.specs():
        suffixes = spec.suffixes or ("",)
        for suffix in suffixes:
            out.append(pytest.param((spec, None, suffix), id=f"{spec.name}{suffix}"))
        for engine in spec.engines[1:]:
            out.append(pytest.param((spec, engine, suffixes[0]), id=f"{spec.name}-{engine}"))
    return out


Opener = Callable[[str], Backend]


@pytest.fixture(params=_variants())
def open_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """``open_backend(mode)`` opens the same location each time (closing what it opened)."""
    spec, engine, suffix = request.param
    assert isinstance(spec, BackendSpec)
    location = str(tmp_path / f"store{suffix}") if suffix else ""
    options = {"engine": engine} if engine else {}
    opened: list[Backend] = []

    def make(mode: str) -> Backend:
        backend = spec.open(Address(location), mode, **options)
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()


def _reopened(open_backend: Opener, backend: Backend) -> Backend:
    """The same store after flush, close and a read-only reopen (in-memory: itself)."""
    backend.flush()
    if backend.in_memory:
        return backend
    backend.close()
    return open_backend("r")


def test_a_new_store_is_empty(open_backend: Opener) -> None:
    backend = open_backend("w")
    assert backend.children(()) == []
    assert backend.dims(()) == {}
    assert backend.writable


def test_groups_nest(open_backend: Opener) -> None:
    backend = open_backend("w")
    backend.create_group(("g",))
    backend.create_group(("g", "h"))
    backend.create_variable(("g", "v"), np.arange(3), ("n",), {})
    backend = _reopened(open_backend, backend)
    assert sorted(backend.children(())) == [("g", True)]
    assert sorted(backend.children(("g",))) == [("h", True), ("v", False)]
    assert backend.children(("g", "h")) == []


def test_a_group_is_created_with_its_attributes(open_backend: Opener) -> None:
    backend = open_backend("w")
    backend.create_group(("g",), {"_xs_seq": np.array([0, 1]), "units": "nm"})
    backend.create_group(("e",))
    assert backend.attrs(("g",))["units"] == "nm"
    backend = _reopened(open_backend, backend)
    assert backend.attrs(("g",))["units"] == "nm"
    assert list(backend.attrs(("g",))["_xs_seq"]) == [0, 1]
    assert backend.attrs(("e",)) == {}


@pytest.mark.parametrize("dtype", sorted(STORABLE_DTYPES, key=str), ids=str)
def test_every_storable_dtype_reads_back_exactly(open_backend: Opener, dtype: np.dtype) -> None:
    backend = open_backend("w")
    data = np.arange(12).reshape(3, 4).astype(dtype)
    backend.create_variable(("v",), data, ("a", "b"), {})
    backend.create_variable(("s",), np.asarray(data[0, 1]), (), {})
    backend = _reopened(open_backend, backend)
    info = backend.info(("v",))
    assert (info.shape, info.dtype, info.dims, info.unlimited) == ((3, 4), dtype, ("a", "b"), False)
    out = backend.read(("v",))
    assert out.dtype == dtype and out.tolist() == data.tolist()
    assert backend.read(("s",)).shape == () and backend.read(("s",)).tolist() == data[0, 1]


def test_strings_are_object_arrays_of_str(open_backend: Opener) -> None:
    backend = open_backend("w")
    words = string_array(["a", "ünï", "", "long " * 20], (2, 2))
    backend.create_variable(("w",), words, ("x", "y"), {})
    backend.create_variable(("one",), string_array(["solo"], ()), (), {})
    backend = _reopened(open_backend, backend)
    assert backend.info(("w",)).dtype == np.dtype(object)
    out = backend.read(("w",))
    assert out.dtype == object and out.tolist() == words.tolist()
    one = backend.read(("one",))
    assert one.dtype == object and one.shape == () and one[()] == "solo"


def test_attributes_of_every_node(open_backend: Opener) -> None:
    backend = open_backend("w")
    backend.create_group(("g",))
    backend.create_variable(("g", "v"), np.zeros(2), ("n",), {"units": "nm"})
    values = {
        "text": "hello ∂",
        "int": np.int64(-7),
        "small": np.int8(3),
        "float": np.float64(2.5),
        "nan": np.float64(math.nan),
        "inf": np.float64(-math.inf),
        "vector": np.array([1.0, math.inf, 3.0]),
        "ints": np.array([1, 2, 3], dtype=np.int32),
    }
    for node in [(), ("g",), ("g", "v")]:
        backend.set_attrs(node, values)
    backend.set_attrs(("g",), {"text": "changed"})
    backend.delete_attrs(("g", "v"), ["int"])
    backend = _reopened(open_backend, backend)
    for node in [(), ("g",), ("g", "v")]:
        attrs = backend.attrs(node)
        expected = dict(values)
        if node == ("g",):
            expected["text"] = "changed"
        if node == ("g", "v"):
            del expected["int"]
            expected["units"] = "nm"
        assert set(attrs) == set(expected), node
        for name, value in expected.items():
            got = attrs[name]
            if isinstance(value, str):
                assert type(got) is str and got == value, (node, name)
            else:
                assert np.array_equal(np.asarray(got), value, equal_nan=True), (node, name, got)


def test_partial_reads_and_writes(open_backend: Opener) -> None:
    backend = open_backend("w")
    backend.create_variable(("v",), np.zeros((4, 3)), ("a", "b"), {})
    backend.write(("v",), np.ones(3), (2,))
    backend.write(("v",), np.full((2, 2), 5.0), (slice(0, 2), slice(1, 3)))
    expected = np.zeros((4, 3))
    expected[2] = 1.0
    expected[0:2, 1:3] = 5.0
    backend = _reopened(open_backend, backend)
    assert backend.read(("v",)).tolist() == expected.tolist()
    assert backend.read(("v",), (slice(1, 3),)).tolist() == expected[1:3].tolist()
    assert backend.read(("v",), (3, slice(None))).tolist() == expected[3].tolist()
    assert backend.read(("v",), (slice(0, 0),)).shape == (0, 3)


def test_growable_variables_grow_by_records(open_backend: Opener) -> None:
    backend = open_backend("w")
    chunks = record_chunks((3,), 8)
    backend.create_variable(
        ("e",), np.zeros((0, 3)), ("rec", "x"), {}, unlimited=True, chunks=chunks
    )
    for start in range(0, 10, 4):
        block = np.arange(start, min(start + 4, 10), dtype=float)[:, None] * np.ones(3)
        backend.write_records(("e",), start, block)
    backend.write_records(("e",), 2, np.full((1, 3), -1.0))  # inside: overwrites
    assert backend.info(("e",)).shape == (10, 3)
    assert backend.dims(())["rec"] == 10
    backend = _reopened(open_backend, backend)
    info = backend.info(("e",))
    assert info.unlimited and info.shape == (10, 3) and info.dims == ("rec", "x")
    expected = np.arange(10.0)[:, None] * np.ones(3)
    expected[2] = -1.0
    assert backend.read(("e",)).tolist() == expected.tolist()
    assert backend.chunks(("e",)) in (None, chunks)


def test_an_empty_static_array_is_not_a_series(open_backend: Opener) -> None:
    backend = open_backend("w")
    backend.create_variable(("empty",), np.zeros((0, 2)), ("z", "two"), {}, chunks=(1, 2))
    backend = _reopened(open_backend, backend)
    info = backend.info(("empty",))
    assert info.shape == (0, 2) and not info.unlimited


def test_shared_dimensions_must_agree(open_backend: Opener) -> None:
    backend = open_backend("w")
    backend.create_variable(("a",), np.zeros(3), ("n",), {})
    backend.create_variable(("b",), np.ones(3), ("n",), {})
    with pytest.raises(ValueError):
        backend.create_variable(("c",), np.zeros(4), ("n",), {})
    assert backend.dims(()) == {"n": 3}


def test_delete_removes_nodes_and_dimensions_only_they_used(open_backend: Opener) -> None:
    backend = open_backend("w")
    backend.create_variable(("keep",), np.zeros(2), ("k",), {})
    backend.create_variable(("gone",), np.zeros(5), ("only",), {})
    backend.create_group(("g",))
    backend.create_variable(("g", "v"), np.zeros(1), ("i",), {})
    backend.delete(("gone",))
    backend.delete(("g",))
    assert backend.children(()) == [("keep", False)]
    assert "only" not in backend.dims(())
    backend.create_variable(("gone",), np.zeros(7), ("only",), {})  # the name is free again
    backend = _reopened(open_backend, backend)
    assert sorted(backend.children(())) == [("gone", False), ("keep", False)]
    assert backend.read(("gone",)).shape == (7,)


def test_an_existing_store_reopens_for_writing(open_backend: Opener) -> None:
    backend = open_backend("w")
    backend.create_variable(("v",), np.arange(3.0), ("n",), {"a": "1"})
    backend.flush()
    if backend.in_memory:
        pytest.skip("an in-memory store cannot be reopened (it ends with its process)")
    backend.close()
    backend = open_backend("r+")
    backend.write(("v",), np.full(3, 9.0))
    backend.set_attrs(("v",), {"b": "2"})
    backend = _reopened(open_backend, backend)
    assert backend.read(("v",)).tolist() == [9.0, 9.0, 9.0]
    assert {k: backend.attrs(("v",))[k] for k in ("a", "b")} == {"a": "1", "b": "2"}


def test_a_healthy_store_has_no_problems(open_backend: Opener) -> None:
    backend = open_backend("w")
    backend.create_variable(("e",), np.zeros((0,)), ("rec",), {}, unlimited=True, chunks=(16,))
    backend.write_records(("e",), 0, np.arange(5.0))
    backend = _reopened(open_backend, backend)
    assert backend.problems() == []


def test_rename_moves_a_node_with_everything_in_it(open_backend: Opener) -> None:
    backend = open_backend("w")
    backend.create_variable(("v",), np.arange(4.0), ("n",), {"units": "nm"})
    backend.create_group(("g",))
    backend.create_variable(("g", "w"), np.arange(3), ("m",), {})
    backend.set_attrs(("g",), {"note": "kept"})
    backend.create_variable(("e",), np.zeros((0,)), ("rec",), {}, unlimited=True, chunks=(8,))
    backend.write_records(("e",), 0, np.arange(5.0))
    backend.flush()
    backend.rename(("v",), "v2")
    backend.rename(("g",), "h")
    backend.rename(("e",), "e2")
    backend.write_records(("e2",), 5, np.arange(5.0, 7.0))
    backend = _reopened(open_backend, backend)
    assert sorted(backend.children(())) == [("e2", False), ("h", True), ("v2", False)]
    assert backend.read(("v2",)).tolist() == [0.0, 1.0, 2.0, 3.0]
    assert backend.attrs(("v2",))["units"] == "nm"
    assert backend.attrs(("h",))["note"] == "kept"
    assert backend.read(("h", "w")).tolist() == [0, 1, 2]
    assert backend.info(("e2",)).unlimited
    assert backend.read(("e2",)).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
