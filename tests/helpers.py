"""Strict comparison used by the round-trip tests: equal values *and* identical types."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr


def _same_float(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    if a.dtype.kind in "Mm":
        return bool(np.array_equal(a.view(np.int64), b.view(np.int64)))
    if a.dtype.kind == "V" or (a.dtype.itemsize > 8 and a.dtype.kind == "f"):
        return a.tobytes() == b.tobytes()
    return bool(np.array_equal(a, b))


def assert_identical(expected: Any, actual: Any, path: str = "data") -> None:
    """Fail with the key path of the first difference in value or type."""
    assert type(actual) is type(expected), f"{path}: {type(actual)} is not {type(expected)}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_identical(expected[key], actual[key], f"{path}[{key!r}]")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), f"{path}: length {len(actual)} != {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_identical(e, a, f"{path}[{i}]")
    elif isinstance(expected, set | frozenset):
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
    elif isinstance(expected, float):
        assert _same_float(expected, actual), f"{path}: {actual!r} != {expected!r}"
    elif isinstance(expected, complex):
        ok = _same_float(expected.real, actual.real) and _same_float(expected.imag, actual.imag)
        assert ok, f"{path}: {actual!r} != {expected!r}"
    elif isinstance(expected, np.ndarray | np.generic):
        a, e = np.asarray(actual), np.asarray(expected)
        assert _same_array(e, a), f"{path}: {actual!r} ({a.dtype}) != {expected!r} ({e.dtype})"
    elif isinstance(expected, xr.DataTree):
        assert expected.identical(actual), f"{path}: DataTrees differ:\n{actual}\n{expected}"
        for node_e, node_a in zip(expected.subtree, actual.subtree, strict=True):
            assert_identical(node_e.to_dataset(), node_a.to_dataset(), f"{path}{node_e.path}")
    elif isinstance(expected, xr.Dataset | xr.DataArray):
        assert expected.identical(actual), f"{path}: differ:\n{actual}\nexpected\n{expected}"
        e_vars = (
            expected.variables if isinstance(expected, xr.Dataset) else expected.coords.variables
        )
        a_vars = actual.variables if isinstance(actual, xr.Dataset) else actual.coords.variables
        for name in e_vars:
            assert a_vars[name].dtype == e_vars[name].dtype, f"{path}[{name!r}]: dtype"
        if isinstance(expected, xr.DataArray):
            assert actual.dtype == expected.dtype, (
                f"{path}: dtype {actual.dtype} != {expected.dtype}"
            )
            assert actual.name == expected.name, (
                f"{path}: name {actual.name!r} != {expected.name!r}"
            )
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
