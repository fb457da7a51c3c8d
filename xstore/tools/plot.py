"""``xstore plot``: a picture of a series or a 1-D/2-D array (matplotlib, the ``plot``
extra)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from xstore.faces.arrays import LazyArray
from xstore.faces.store import Group, Store
from xstore.names import decode_name, is_internal
from xstore.tools.cat import select, split_key

INSTALL_HINT = 'xstore plot needs matplotlib: pip install "xstore[plot]"'


def _figure() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return Figure(figsize=(8, 4.5), layout="constrained")


def _values(store: Store, text: str) -> np.ndarray:
    """The numbers to draw (an array is read only once it is known to be drawable)."""
    value = select(store, text)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        raise TypeError(f"{text!r} is a table of records: plot one column, e.g. '{text}/NAME'")
    shape = value.shape if isinstance(value, LazyArray) else np.shape(value)
    if isinstance(value, dict | Group):
        kind = "group" if isinstance(value, Group) else "dict"
        raise TypeError(f"{text!r} is a {kind}: plot one of its entries, '{text}/NAME'")
    if not shape:
        raise TypeError(f"{text!r} holds a single {type(value).__name__}: nothing to plot")
    if len(shape) not in (1, 2):
        raise ValueError(
            f"{text!r} is {len(shape)}-d (shape {shape}): plot a 1-D or 2-D part of it, "
            f"e.g. '{text}[0]' or '{text}[:, 0, 0]'"
        )
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # a decoded object that is not an array
        raise TypeError(f"{text!r} holds a {type(value).__name__}, not numbers") from exc
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int8)
    if arr.dtype.kind not in "iufMm":
        raise TypeError(f"{text!r} holds {arr.dtype} values, not numbers: nothing to plot")
    return arr


def _axis_label(store: Store, key: str) -> str:
    """``name [units]`` from the value's metadata."""
    units = store.attrs_of(key).get("units")
    name = key.rsplit("/", 1)[-1]
    return f"{name} [{units}]" if isinstance(units, str) and units else name


def _index_label(store: Store, key: str, text: str) -> str:
    """The x label of a value drawn over its index: a series' record dimension."""
    layout = store.session.layout
    found = layout.resolve((), key)
    if text != key or found.entry is None or found.entry.is_group:
        return "index"
    info = layout.info(found.node)
    if info.unlimited and not is_internal(info.dims[0]):
        return f"record ({decode_name(info.dims[0])})"
    return "record" if info.unlimited else "index"


def plot(store: Store, text: str, output: str | None = None, x: str | None = None) -> str:
    """Draw ``text`` (``'KEY'`` or ``'KEY[index]'``) into a PNG file; the file's name.

    A 1-D value is a line over its index (or over the series ``x``), a 2-D value an
    image with a colour bar.  ``output`` defaults to the key's last name + ``.png``.
    """
    key, _ = split_key(store, text)
    values = _values(store, text)
    figure = _figure()
    axes = figure.subplots()
    label = _axis_label(store, key)
    if values.ndim == 1:
        if x is not None:
            xs = _values(store, x)
            if xs.shape != values.shape:
                raise ValueError(f"--x {x!r} has shape {xs.shape}, {text!r} has {values.shape}")
            axes.set_xlabel(_axis_label(store, split_key(store, x)[0]))
        else:
            xs = np.arange(len(values))
            axes.set_xlabel(_index_label(store, key, text))
        axes.plot(xs, values, linewidth=0.8)
        axes.set_ylabel(label)
    else:
        image = axes.imshow(values, aspect="auto", interpolation="nearest", origin="lower")
        figure.colorbar(image, ax=axes, label=label)
        axes.set_xlabel("axis 1")
        axes.set_ylabel("axis 0")
    axes.set_title(f"{text}  ({os.path.basename(store.location.rstrip('/'))})")
    out = output or f"{key.rsplit('/', 1)[-1]}.png"
    figure.savefig(out, dpi=120)
    return out
