"""The table of every supported type x mode, computed by running the codecs.

``python -m xstore.tools.typetable`` prints it as Markdown; the README embeds it and a
test checks that the two agree, so the table cannot drift from the code.

native
    stored as plain variables/groups that other readers understand as they are
tagged
    stored with an ``_xs_type``/``_xs_dtype`` note (raw form visible to other readers)
pickled
    cloudpickle bytes; reading needs ``allow_pickle=True``
refused
    ``TypeError`` naming the key path
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import enum
import pathlib
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xstore.codecs import jsontag
from xstore.faces.store import CODECS
from xstore.model import DTYPE, TYPE, Node, Tree


@dataclasses.dataclass
class ExampleDataclass:
    x: float


class ExampleStorable:
    def _store(self, group: Any) -> None:
        group["x"] = 1.0

    @classmethod
    def _restore(cls, group: Any, version: Any) -> ExampleStorable:
        return cls()


class ExampleState:
    def __getstate__(self) -> dict[str, Any]:
        return {"x": 1}

    def __setstate__(self, state: dict[str, Any]) -> None:
        pass


class ExampleObject:
    pass


class ExampleEnum(enum.Enum):
    A = 1


EXAMPLES: list[tuple[str, Any]] = [
    ("None", None),
    ("bool", True),
    ("int (64-bit range)", 1),
    ("int (beyond 64 bits)", 2**70),
    ("float (incl. nan, inf)", 1.5),
    ("complex", 1 + 2j),
    ("str", "text"),
    ("str with NUL", "a\x00b"),
    ("bytes", b"\x00\x01"),
    ("list of one scalar type", [1, 2]),
    ("list (mixed)", [1, "a", None]),
    ("tuple", (1, 2)),
    ("set", {1, 2}),
    ("frozenset", frozenset({"a"})),
    ("dict (str keys)", {"a": 1}),
    ("dict (other keys)", {1: "a"}),
    ("collections.OrderedDict (str keys)", collections.OrderedDict(a=1)),
    ("datetime.datetime (naive, fixed offset, zoneinfo)", datetime.datetime(2020, 1, 1)),
    ("datetime.date", datetime.date(2020, 1, 1)),
    ("datetime.time", datetime.time(12, 30)),
    ("datetime.timedelta", datetime.timedelta(seconds=1)),
    ("pathlib paths", pathlib.PurePosixPath("/a/b")),
    ("enum.Enum member", ExampleEnum.A),
    ("numpy scalar", np.float32(1.5)),
    ("ndarray bool", np.array([True, False])),
    ("ndarray int/uint", np.arange(3, dtype=np.uint16)),
    ("ndarray float32/64", np.arange(3.0)),
    ("ndarray float16", np.arange(3, dtype=np.float16)),
    ("ndarray complex", np.array([1j])),
    ("ndarray str (U)", np.array(["a", "bc"])),
    ("ndarray StringDType", np.array(["a", "bc"], dtype=np.dtypes.StringDType())),
    ("ndarray bytes (S)", np.array([b"a"])),
    ("ndarray datetime64", np.array(["2020-01-01"], dtype="M8[s]")),
    ("ndarray timedelta64", np.array([1], dtype="m8[s]")),
    ("ndarray 0-d", np.array(1.0)),
    ("ndarray of objects", np.array([1, "a"], dtype=object)),
    ("numpy masked array", np.ma.MaskedArray([1.0, 2.0], mask=[False, True])),
    ("xarray.DataArray", xr.DataArray(np.arange(2.0), dims="x", name="v")),
    ("xarray.Dataset", xr.Dataset({"v": ("x", np.arange(2.0))})),
    ("xarray.DataTree", xr.DataTree(xr.Dataset({"v": ("x", np.arange(2.0))}))),
    ("pandas.DataFrame", pd.DataFrame({"a": [1.0, 2.0]})),
    ("pandas.Series", pd.Series([1.0, 2.0], name="a")),
    ("pandas.Index", pd.Index([1, 2])),
    ("Storable (_store/_restore)", ExampleStorable()),
    ("dataclass", ExampleDataclass(1.0)),
    ("object with __setstate__", ExampleState()),
    ("function, lambda", lambda x: x),
    ("other objects", ExampleObject()),
]


_STORED_AS = {
    "b": "native (CF: int8 + `dtype`)",
    "M": "native (CF `units`)",
    "m": "native (CF `units`)",
    "c": "tagged: float pairs",
    "f": "tagged: float32",
    "U": "tagged: strings",
    "T": "tagged: strings",
    "S": "tagged: uint8",
}


def _tree_kind(node: Node) -> str:
    tag = node.attrs.get(TYPE)
    if tag == "pickle":
        return "pickled"
    if tag == "getstate":
        return "group; reading needs allow_pickle"
    if tag is not None:
        return f"tagged `{tag}`"
    if DTYPE in node.attrs:
        return _STORED_AS[str(node.attrs[DTYPE]).lstrip("<>|=")[0]]
    return "native (group)" if isinstance(node, Tree) else "native"


def classify(value: Any, mode: str) -> str:
    """How ``value`` is stored in ``mode`` ("hdf5" covers netcdf and zarr too)."""
    if mode == "cloudpickle":
        return "pickled"
    if mode == "json":
        try:
            out = jsontag.to_json(value, CODECS.encoder(pickle_ok=False))
        except TypeError:
            return "refused"
        if isinstance(out, dict) and jsontag.TAG in out:
            return f"tagged `{out[jsontag.TAG]}`"
        return "native"
    return _tree_kind(CODECS.encoder().encode(value))


def markdown() -> str:
    rows = ["| type | hdf5 / netcdf / zarr | json | cloudpickle |", "| --- | --- | --- | --- |"]
    for label, value in EXAMPLES:
        cells = [classify(value, mode) for mode in ("hdf5", "json", "cloudpickle")]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown())
