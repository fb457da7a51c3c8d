"""xarray objects: a Dataset is a group whose variables are its variables, exactly.

``Dataset`` -> a group with one variable per Dataset variable: the values as they are
(types netCDF lacks get the exact encoding of :mod:`xstore.codecs.arrays`, whose CF
attributes let plain xarray decode datetimes, timedeltas and bools itself), the user's
attributes verbatim (``units``, ``scale_factor``, ``_FillValue``, ... are metadata
here: they never change the values xstore gives back), and the names of the
coordinates in ``_xs_info`` (plus CF ``coordinates`` attributes, where the names allow,
for plain readers).  A Dataset's ``.encoding`` is not applied: it could only lose
precision.  ``DataArray`` -> the Dataset of ``DataArray.to_dataset``; its name is in
``_xs_info``.  ``DataTree`` -> one such group per node.  What has no exact encoding (a
MultiIndex, objects other than str, pandas extension arrays, non-str names) falls back
to cloudpickle.

Groups written by format 1 (``_xs_info`` without ``"layout"``) went through xarray's
CF encoder and are read back through its decoder, as they were written.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from xstore.codecs import jsontag
from xstore.codecs.arrays import (
    decode_array,
    dtype_from_str,
    encode_array,
    is_encodable,
    with_encoding,
)
from xstore.codecs.attrs import decode_attrs, encode_attrs, variable_attrs
from xstore.codecs.context import Codec, DecodeContext, EncodeContext
from xstore.model import CF, INFO, TYPE, Node, Tree, Var

DATASET, DATAARRAY, DATATREE = "xarray.Dataset", "xarray.DataArray", "xarray.DataTree"
UNNAMED = "__xarray_dataarray_variable__"
LAYOUT = 2  # ``_xs_info["layout"]`` of groups holding a Dataset exactly


def storable_dataset(ds: xr.Dataset) -> bool:
    """True if every name is a str, every variable holds a numpy array (not a pandas
    extension array) and the indexes are those a Dataset made of the same variables
    would get: a plain pandas index on each dimension coordinate (no MultiIndex, no
    index of another kind)."""
    names = [*ds.variables, *ds.dims]
    if not all(isinstance(n, str) for n in names):
        return False
    if any(not isinstance(v.dtype, np.dtype) for v in ds.variables.values()):
        return False
    indexed = {name for name, index in ds.xindexes.items() if type(index) is xr.indexes.PandasIndex}
    dim_coords = {name for name in ds.coords if ds.variables[name].dims == (name,)}
    return indexed == dim_coords == set(ds.xindexes)


def _cf_coordinates(ds: xr.Dataset) -> tuple[dict[str, str], str]:
    """CF ``coordinates`` attributes (as xarray writes them) that make plain readers
    see the same coordinates: per data variable, and the rest for the group."""
    extra = [
        name
        for name in ds.coords
        if str(name) not in ds.dims and " " not in str(name)  # CF separates names by spaces
    ]
    per_var: dict[str, str] = {}
    used: set[str] = set()
    for name, var in ds.data_vars.items():
        fits = [c for c in extra if set(ds.variables[c].dims) <= set(var.dims)]
        if fits and " " not in str(name):
            per_var[str(name)] = " ".join(map(str, fits))
            used.update(map(str, fits))
    rest = [str(c) for c in extra if c not in used]
    return per_var, " ".join(rest)


def _with_cf(raw: dict[str, Any], encoding: dict[str, Any], coordinates: str) -> dict[str, Any]:
    if coordinates:
        cf = json.loads(str(encoding.get(CF, "[]")))
        encoding = {**encoding, "coordinates": coordinates, CF: json.dumps([*cf, "coordinates"])}
    return with_encoding(raw, encoding)


def dataset_tree(ds: xr.Dataset, tag: str, ctx: EncodeContext, info: dict[str, Any]) -> Tree | None:
    """The group for one Dataset (None if it has no exact encoding)."""
    if not storable_dataset(ds):
        return None
    per_var, rest = _cf_coordinates(ds)
    children: dict[str, Node] = {}
    for name, var in ds.variables.items():
        data = np.asarray(var.values)
        if not is_encodable(data):
            return None
        storage, encoding = encode_array(data)
        with ctx.at(name):
            raw = variable_attrs(var.attrs, storage.dtype, ctx)
        dims = tuple(map(str, var.dims)) + (None,) * (storage.ndim - data.ndim)
        children[str(name)] = Var(
            storage, _with_cf(raw, encoding, per_var.get(str(name), "")), dims
        )
    tree_attrs = _with_cf(encode_attrs(ds.attrs, ctx), {}, rest)
    tree_attrs[TYPE] = tag
    tree_attrs[INFO] = json.dumps({**info, "layout": LAYOUT, "coords": list(map(str, ds.coords))})
    return Tree(tree_attrs, children)


def _info(node: Node) -> dict[str, Any]:
    return json.loads(node.attrs[INFO]) if INFO in node.attrs else {}


def group_layout(attrs: dict[str, Any]) -> tuple[list[str], bool]:
    """For a group's raw attributes: the names of the coordinates of the xarray value
    it holds (empty for other groups), and whether it was written by format 1 (its
    variables CF-encoded by xarray, to be decoded by xarray)."""
    if str(attrs.get(TYPE)) not in _CODECS:
        return [], False
    info = json.loads(str(attrs[INFO])) if INFO in attrs else {}
    return list(info.get("coords", [])), "layout" not in info


def decode_dataset(tree: Tree, ctx: DecodeContext) -> xr.Dataset:
    info = _info(tree)
    if "layout" not in info:
        return _decode_format1(tree, ctx)
    variables: dict[str, xr.Variable] = {}
    for name, child in tree.children.items():
        if not isinstance(child, Var):
            continue
        data = decode_array(np.asarray(child.data), child.attrs)
        dims = tuple(child.dims or ())[: data.ndim]
        with ctx.at(name):
            variables[name] = xr.Variable(dims, data, decode_attrs(child.attrs, ctx))
    coords = set(info["coords"])
    return xr.Dataset(
        {n: v for n, v in variables.items() if n not in coords},
        coords={n: v for n, v in variables.items() if n in coords},
        attrs=decode_attrs(tree.attrs, ctx),
    )


def _decode_format1(tree: Tree, ctx: DecodeContext) -> xr.Dataset:
    """A Dataset written by format 1, through xarray's CF encoder: decoded by xarray."""
    variables: dict[str, xr.Variable] = {}
    for name, child in tree.children.items():
        if not isinstance(child, Var):
            continue
        data = decode_array(np.asarray(child.data), child.attrs)
        dims = tuple(d for d in (child.dims or ()) if d is not None)[: data.ndim]
        with ctx.at(name):
            variables[name] = xr.Variable(dims, data, decode_attrs(child.attrs, ctx))
    ds = xr.Dataset(variables, attrs=decode_attrs(tree.attrs, ctx))
    ds = xr.decode_cf(ds, decode_timedelta=True)
    for name, text in _info(tree).get("times", {}).items():
        dtype = dtype_from_str(text)
        if ds.variables[name].dtype != dtype:
            encoding = ds.variables[name].encoding
            ds[name] = ds[name].astype(dtype)
            ds[name].encoding = encoding
    return ds


def _name_info(name: Any, ctx: EncodeContext) -> dict[str, Any] | None:
    try:
        return {"name": jsontag.to_json(name, ctx.strict())}
    except TypeError:
        return None


def _encode_dataset(value: xr.Dataset, ctx: EncodeContext) -> Node | None:
    return dataset_tree(value, DATASET, ctx, {})


def _encode_dataarray(value: xr.DataArray, ctx: EncodeContext) -> Node | None:
    info = _name_info(value.name, ctx)
    if info is None:
        return None
    var = value.name if isinstance(value.name, str) and value.name not in value.coords else UNNAMED
    info["var"] = var
    return dataset_tree(value.to_dataset(name=var), DATAARRAY, ctx, info)


def _decode_dataarray(node: Node, ctx: DecodeContext) -> xr.DataArray:
    assert isinstance(node, Tree)
    info = _info(node)
    da = decode_dataset(node, ctx)[info["var"]]
    da.name = jsontag.from_json(info["name"], ctx)
    return da


def _encode_datatree(value: xr.DataTree, ctx: EncodeContext, root: bool = True) -> Node | None:
    info = _name_info(value.name, ctx) if root else {}
    if info is None:
        return None
    tree = dataset_tree(value.to_dataset(inherit=False), DATATREE, ctx, info)
    if tree is None:
        return None
    for name, child in value.children.items():
        with ctx.at(name):
            sub = _encode_datatree(child, ctx, root=False)
        if sub is None:
            return None
        tree.children[name] = sub
    return tree


def _decode_datatree(node: Node, ctx: DecodeContext) -> xr.DataTree:
    assert isinstance(node, Tree)
    children = {
        name: _decode_datatree(child, ctx)
        for name, child in node.children.items()
        if isinstance(child, Tree)
    }
    info = _info(node)
    name = jsontag.from_json(info["name"], ctx) if "name" in info else None
    return xr.DataTree(dataset=decode_dataset(node, ctx), children=children, name=name)


DATASET_CODEC = Codec(DATASET, _encode_dataset, lambda node, ctx: decode_dataset(node, ctx))  # type: ignore[arg-type]
DATAARRAY_CODEC = Codec(DATAARRAY, _encode_dataarray, _decode_dataarray)
DATATREE_CODEC = Codec(DATATREE, _encode_datatree, _decode_datatree)


# -- JSON mode: the same CF-encoded group, written as JSON -----------------------------------

_CODECS = {DATASET: DATASET_CODEC, DATAARRAY: DATAARRAY_CODEC, DATATREE: DATATREE_CODEC}


def _to_json(value: Any, ctx: EncodeContext) -> dict[str, Any]:
    tag = {xr.Dataset: DATASET, xr.DataArray: DATAARRAY, xr.DataTree: DATATREE}[type(value)]
    node = _CODECS[tag].encode(value, ctx)
    if node is None:
        raise ctx.type_error(value, "xarray cannot encode it, and this mode does not allow pickle")
    return {"group": jsontag.node_to_json(node, ctx)}


def _from_json(obj: dict[str, Any], ctx: DecodeContext) -> Any:
    node = jsontag.node_from_json(obj["group"], ctx)
    return _CODECS[obj[jsontag.TAG]].decode(node, ctx)


JSON_EXTENSIONS = tuple(
    jsontag.Extension(tag, lambda v, c=cls: type(v) is c, _to_json, _from_json)  # type: ignore[misc]
    for tag, cls in ((DATASET, xr.Dataset), (DATAARRAY, xr.DataArray), (DATATREE, xr.DataTree))
)
