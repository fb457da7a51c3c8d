"""xarray objects: a Dataset is a group, through xarray's own CF encoders.

``Dataset`` -> a group whose variables are the CF-encoded variables (coordinates
recorded the CF way), so plain xarray opens the group as the same Dataset.
``DataArray`` -> the Dataset of ``DataArray.to_dataset``; its name is in ``_xs_info``.
``DataTree`` -> one such group per node.  Data types netCDF lacks get the array
encoding of :mod:`xstore.codecs.arrays`.  Datasets xarray cannot encode (a
MultiIndex, objects other than str, non-str names) fall back to cloudpickle.
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
    dtype_to_str,
    encode_array,
    is_encodable,
)
from xstore.codecs.attrs import decode_attrs, encode_attrs
from xstore.codecs.context import Codec, DecodeContext, EncodeContext
from xstore.model import INFO, TYPE, Node, Tree, Var

DATASET, DATAARRAY, DATATREE = "xarray.Dataset", "xarray.DataArray", "xarray.DataTree"
UNNAMED = "__xarray_dataarray_variable__"


def _storable_dataset(ds: xr.Dataset) -> bool:
    names = [*ds.variables, *ds.dims]
    if not all(isinstance(n, str) for n in names):
        return False
    return not any(isinstance(i, xr.indexes.PandasMultiIndex) for i in ds.xindexes.values())


def _dataset_tree(
    ds: xr.Dataset, tag: str, ctx: EncodeContext, info: dict[str, Any]
) -> Tree | None:
    """The group for one Dataset (None if xarray cannot encode it exactly)."""
    if not _storable_dataset(ds):
        return None
    try:
        variables, attrs = xr.conventions.encode_dataset_coordinates(ds)
        variables, attrs = xr.conventions.cf_encoder(variables, attrs)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise ctx.type_error(ds, f"xarray cannot encode it: {exc}") from exc
    times: dict[str, str] = {}
    children: dict[str, Node] = {}
    for name, var in variables.items():
        data = np.asarray(var.values)
        if not is_encodable(data):
            return None
        original = ds.variables[name].dtype if name in ds.variables else None
        if original is not None and original.kind in "Mm":
            times[name] = dtype_to_str(original)
        storage, extra = encode_array(data)
        with ctx.at(name):
            var_attrs = encode_attrs(_fit_fill_values(var.attrs, data, storage), ctx)
        var_attrs.update(extra)
        dims = tuple(var.dims) + (None,) * (storage.ndim - data.ndim)
        children[name] = Var(storage, var_attrs, dims)
    if times:
        info = {**info, "times": times}
    tree_attrs = encode_attrs(attrs, ctx)
    tree_attrs[TYPE] = tag
    if info:
        tree_attrs[INFO] = json.dumps(info)
    return Tree(tree_attrs, children)


_FILL_ATTRS = ("_FillValue", "missing_value")


def _fit_fill_values(
    attrs: dict[str, Any], data: np.ndarray, storage: np.ndarray
) -> dict[str, Any]:
    """Fill values in the stored dtype (netCDF requires it); dropped where the stored
    form has no such value (complex pairs, raw bytes), which our encodings never need."""
    if storage.dtype == data.dtype or not any(k in attrs for k in _FILL_ATTRS):
        return attrs
    out = dict(attrs)
    for key in _FILL_ATTRS:
        if key not in out:
            continue
        value = np.asarray(out[key])
        if storage.dtype.kind in "iuf" and value.dtype.kind in "biuf":
            out[key] = value.astype(storage.dtype)[()]
        else:
            del out[key]
    return out


def _info(node: Node) -> dict[str, Any]:
    return json.loads(node.attrs[INFO]) if INFO in node.attrs else {}


def _decode_dataset(tree: Tree, ctx: DecodeContext) -> xr.Dataset:
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
    return _dataset_tree(value, DATASET, ctx, {})


def _encode_dataarray(value: xr.DataArray, ctx: EncodeContext) -> Node | None:
    info = _name_info(value.name, ctx)
    if info is None:
        return None
    var = value.name if isinstance(value.name, str) and value.name not in value.coords else UNNAMED
    info["var"] = var
    return _dataset_tree(value.to_dataset(name=var), DATAARRAY, ctx, info)


def _decode_dataarray(node: Node, ctx: DecodeContext) -> xr.DataArray:
    assert isinstance(node, Tree)
    info = _info(node)
    da = _decode_dataset(node, ctx)[info["var"]]
    da.name = jsontag.from_json(info["name"], ctx)
    return da


def _encode_datatree(value: xr.DataTree, ctx: EncodeContext, root: bool = True) -> Node | None:
    info = _name_info(value.name, ctx) if root else {}
    if info is None:
        return None
    tree = _dataset_tree(value.to_dataset(inherit=False), DATATREE, ctx, info)
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
    return xr.DataTree(dataset=_decode_dataset(node, ctx), children=children, name=name)


DATASET_CODEC = Codec(DATASET, _encode_dataset, lambda node, ctx: _decode_dataset(node, ctx))  # type: ignore[arg-type]
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
