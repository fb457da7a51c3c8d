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

import dataclasses
from typing import Any

import numpy as np
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
    ("numpy scalar", np.float32(1.5)),
    ("ndarray bool", np.array([True, False])),
    ("ndarray int/uint", np.arange(3, dtype=np.uint16)),
    ("ndarray float32/64", np.arange(3.0)),
    ("ndarray float16", np.arange(3, dtype=np.float16)),
    ("ndarray complex", np.array([1j])),
    ("ndarray str (U)", np.array(["a", "bc"])),
    ("ndarray bytes (S)", np.array([b"a"])),
    ("ndarray datetime64", np.array(["2020-01-01"], dtype="M8[s]")),
    ("ndarray timedelta64", np.array([1], dtype="m8[s]")),
    ("ndarray 0-d", np.array(1.0)),
    ("ndarray of objects", np.array([1, "a"], dtype=object)),
    ("xarray.DataArray", xr.DataArray(np.arange(2.0), dims="x", name="v")),
    ("xarray.Dataset", xr.Dataset({"v": ("x", np.arange(2.0))})),
    ("xarray.DataTree", xr.DataTree(xr.Dataset({"v": ("x", np.arange(2.0))}))),
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
