"""numpy masked arrays: a group of the data (every element, masked ones included),
the mask and the fill value (if one was set), so plain readers see them and xstore
restores the masked array exactly (``nomask`` and a hard mask included)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from xstore.codecs.arrays import is_encodable
from xstore.codecs.builtin import array_var, var_array
from xstore.codecs.context import Codec, DecodeContext, EncodeContext
from xstore.model import INFO, TYPE, Node, Tree

TAG = "numpy.ma.MaskedArray"


def _encode(value: np.ma.MaskedArray, ctx: EncodeContext) -> Node | None:
    data = np.ma.getdata(value)
    mask = np.ma.getmask(value)
    if data.dtype.names is not None or not is_encodable(data):
        return None  # structured masks, object data: no exact form here
    info = {"nomask": mask is np.ma.nomask, "hard": bool(value.hardmask)}
    children: dict[str, Node] = {
        "data": array_var(data),
        "mask": array_var(np.ma.getmaskarray(value)),
    }
    # read without the property, which would set numpy's default on the user's array
    fill = getattr(value, "_fill_value", None)
    if fill is not None and not np.array_equal(fill, np.ma.default_fill_value(data)):
        fill = np.asarray(fill)
        if not is_encodable(fill):
            return None
        children["fill_value"] = array_var(fill, "numpy.ndarray")
    return Tree({TYPE: TAG, INFO: json.dumps(info)}, children)


def _decode(node: Node, ctx: DecodeContext) -> np.ma.MaskedArray:
    assert isinstance(node, Tree)
    info: dict[str, Any] = json.loads(str(node.attrs[INFO]))
    data = var_array(node.children["data"])
    mask: Any = np.ma.nomask if info["nomask"] else var_array(node.children["mask"])
    out: np.ma.MaskedArray = np.ma.MaskedArray(data, mask=mask, hard_mask=info["hard"])
    if "fill_value" in node.children:
        out.fill_value = var_array(node.children["fill_value"])[()]  # type: ignore[assignment]
    return out


MASKED = Codec(TAG, _encode, _decode)
