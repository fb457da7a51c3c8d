"""pandas values through their xarray form: plain xarray sees the columns.

``DataFrame`` -> a Dataset group with one variable per column along the index,
which is the dimension coordinate (named like the index, else ``index``);
``Series`` -> the same with one variable; ``Index`` -> a Dataset of just that
coordinate.  What xarray cannot show (a RangeIndex's start/stop/step, the index's
and the columns' names, a frequency) is in ``_xs_info``.  Every value is converted
back while it is stored and compared with :mod:`pandas.testing`; one that would not
come back identical (extension dtypes such as categoricals or time-zone-aware
datetimes, a MultiIndex, non-str or repeated column names, ...) falls back to
cloudpickle.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xstore.codecs import jsontag
from xstore.codecs.context import Codec, DecodeContext, EncodeContext
from xstore.codecs.xarray_ import dataset_tree, decode_dataset
from xstore.model import INFO, Node, Tree

FRAME, SERIES, INDEX = "pandas.DataFrame", "pandas.Series", "pandas.Index"


def _json(value: Any, ctx: EncodeContext) -> Any:
    return jsontag.to_json(value, ctx.strict())


def _as(value: Any, dtype: str) -> Any:
    """``value`` (a pandas object) in the recorded dtype (pandas infers ``str`` for
    object arrays of strings, a column may have been ``object``)."""
    return value if str(value.dtype) == dtype else value.astype(dtype)


def _index_info(index: pd.Index, ctx: EncodeContext) -> dict[str, Any]:
    info: dict[str, Any] = {"name": _json(index.name, ctx), "dtype": str(index.dtype)}
    if type(index) is pd.RangeIndex:
        info["range"] = [index.start, index.stop, index.step]
    freq = getattr(index, "freqstr", None)
    if freq is not None:
        info["freq"] = freq
    return info


def _index_from(values: np.ndarray, info: dict[str, Any], ctx: DecodeContext) -> pd.Index:
    name = jsontag.from_json(info["name"], ctx)
    if "range" in info:
        return pd.RangeIndex(*info["range"], name=name)
    if "freq" in info and values.dtype.kind == "M":
        return pd.DatetimeIndex(values, name=name, freq=info["freq"])
    if "freq" in info and values.dtype.kind == "m":
        return pd.TimedeltaIndex(values, name=name, freq=info["freq"])
    return _as(pd.Index(values, name=name, dtype=values.dtype), info["dtype"])


def _dim(index: pd.Index, taken: list[Any]) -> str | None:
    """The dimension of the index: its name, else ``index`` (None: it would collide)."""
    dim = index.name if isinstance(index.name, str) else "index"
    return None if dim in taken else dim


def _plain_index(index: Any) -> bool:
    return isinstance(index, pd.Index) and not isinstance(index, pd.MultiIndex)


def _frame_dataset(df: pd.DataFrame, ctx: EncodeContext) -> tuple[xr.Dataset, dict[str, Any]]:
    columns = list(df.columns)
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise TypeError("column names must be distinct str")
    if not _plain_index(df.index) or not _plain_index(df.columns):
        raise TypeError("a MultiIndex has no xarray form here")
    dim = _dim(df.index, columns)
    if dim is None:
        raise TypeError("the index would be named like a column")
    variables = {c: (dim, df[c].to_numpy()) for c in columns}
    ds = xr.Dataset(variables, coords={dim: df.index.to_numpy()}, attrs=dict(df.attrs))
    info = {
        "index": _index_info(df.index, ctx),
        "columns": {"name": _json(df.columns.name, ctx), "dtype": str(df.columns.dtype)},
        "order": columns,
        "dtypes": [str(df[c].dtype) for c in columns],
        "dim": dim,
    }
    return ds, info


def _frame_from(ds: xr.Dataset, info: dict[str, Any], ctx: DecodeContext) -> pd.DataFrame:
    index = _index_from(ds[info["dim"]].values, info["index"], ctx)
    columns = info["order"]
    df = pd.DataFrame(
        {
            c: _as(pd.Series(ds[c].values, index=index), dtype)
            for c, dtype in zip(columns, info["dtypes"], strict=True)
        },
        index=index,
        columns=columns,
    )
    df.columns = _as(pd.Index(columns), info["columns"]["dtype"])
    df.columns.name = jsontag.from_json(info["columns"]["name"], ctx)
    df.attrs = dict(ds.attrs)
    return df


def _series_dataset(series: pd.Series, ctx: EncodeContext) -> tuple[xr.Dataset, dict[str, Any]]:
    if not _plain_index(series.index):
        raise TypeError("a MultiIndex has no xarray form here")
    var = series.name if isinstance(series.name, str) else "values"
    dim = _dim(series.index, [var])
    if dim is None:
        raise TypeError("the index would be named like the values")
    ds = xr.Dataset(
        {var: (dim, series.to_numpy())},
        coords={dim: series.index.to_numpy()},
        attrs=dict(series.attrs),
    )
    info = {
        "index": _index_info(series.index, ctx),
        "name": _json(series.name, ctx),
        "dtype": str(series.dtype),
        "var": var,
        "dim": dim,
    }
    return ds, info


def _series_from(ds: xr.Dataset, info: dict[str, Any], ctx: DecodeContext) -> pd.Series:
    index = _index_from(ds[info["dim"]].values, info["index"], ctx)
    name = jsontag.from_json(info["name"], ctx)
    series = _as(pd.Series(ds[info["var"]].values, index=index, name=name), info["dtype"])
    series.attrs = dict(ds.attrs)
    return series


def _index_dataset(index: pd.Index, ctx: EncodeContext) -> tuple[xr.Dataset, dict[str, Any]]:
    if not _plain_index(index):
        raise TypeError("a MultiIndex has no xarray form here")
    dim = index.name if isinstance(index.name, str) else "index"
    return xr.Dataset(coords={dim: index.to_numpy()}), {
        "index": _index_info(index, ctx),
        "dim": dim,
    }


def _index_from_ds(ds: xr.Dataset, info: dict[str, Any], ctx: DecodeContext) -> pd.Index:
    return _index_from(ds[info["dim"]].values, info["index"], ctx)


def _identical(value: Any, back: Any) -> bool:
    """pandas' strictest comparison, plus the ``attrs`` it does not compare."""
    try:
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(
                value, back, check_exact=True, check_freq=True, check_flags=True
            )
        elif isinstance(value, pd.Series):
            pd.testing.assert_series_equal(
                value, back, check_exact=True, check_freq=True, check_flags=True
            )
        else:
            pd.testing.assert_index_equal(value, back, exact=True, check_exact=True)
            if getattr(value, "freq", None) != getattr(back, "freq", None):
                return False
    except AssertionError:
        return False
    return getattr(value, "attrs", {}) == getattr(back, "attrs", {}) and type(value) is type(back)


_FORMS = {
    FRAME: (_frame_dataset, _frame_from),
    SERIES: (_series_dataset, _series_from),
    INDEX: (_index_dataset, _index_from_ds),
}


def _codec(tag: str) -> Codec:
    to_ds, from_ds = _FORMS[tag]

    def encode(value: Any, ctx: EncodeContext) -> Node | None:
        try:
            ds, info = to_ds(value, ctx)
            back = from_ds(ds, json.loads(json.dumps(info)), ctx.codecs.decoder())
        except (TypeError, ValueError):
            return None
        if not _identical(value, back):
            return None
        return dataset_tree(ds, tag, ctx, {"pandas": info})

    def decode(node: Node, ctx: DecodeContext) -> Any:
        assert isinstance(node, Tree)
        info = json.loads(str(node.attrs[INFO]))["pandas"]
        return from_ds(decode_dataset(node, ctx), info, ctx)

    return Codec(tag, encode, decode)


DATAFRAME_CODEC, SERIES_CODEC, INDEX_CODEC = (_codec(t) for t in (FRAME, SERIES, INDEX))
#: exact types and the codec that stores them (subclasses such as DatetimeIndex too)
EXACT = {pd.DataFrame: DATAFRAME_CODEC, pd.Series: SERIES_CODEC}
INDEX_TYPES = (pd.Index,)
