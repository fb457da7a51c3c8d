"""The registry xstore uses, built explicitly, and ``register_codec``.

Every codec and JSON extension xstore knows is listed here, in the order that
decides which one stores a value (see :mod:`xstore.codecs.registry`), and so are the
codecs registered lazily for classes of optional packages (``openmm.unit.Quantity``),
which import nothing until a value of the class is seen.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from xstore.codecs import (
    builtin,
    jsontag,
    masked,
    objects,
    openmm_units,
    pandas_,
    records,
    stdlib,
    xarray_,
)
from xstore.codecs.classes import class_spec
from xstore.codecs.context import Decoder, Encoder
from xstore.codecs.registry import Registry

REGISTRY = Registry(
    exact={
        type(None): builtin.NONE,
        bool: builtin.SCALAR,
        int: builtin.SCALAR,
        float: builtin.SCALAR,
        complex: builtin.SCALAR,
        str: builtin.SCALAR,
        bytes: builtin.BYTES,
        dict: builtin.DICT,
        list: builtin.LIST,
        tuple: builtin.TUPLE,
        set: builtin.SET,
        frozenset: builtin.FROZENSET,
        np.ndarray: builtin.NDARRAY,
        xr.Dataset: xarray_.DATASET_CODEC,
        xr.DataArray: xarray_.DATAARRAY_CODEC,
        xr.DataTree: xarray_.DATATREE_CODEC,
        np.ma.MaskedArray: masked.MASKED,
        **stdlib.EXACT,
        **pandas_.EXACT,
    },
    fallbacks=[
        (lambda v: isinstance(v, np.generic), builtin.NPSCALAR),
        (stdlib.is_enum_member, stdlib.ENUM),
        (lambda v: isinstance(v, pandas_.INDEX_TYPES), pandas_.INDEX_CODEC),
        (lambda v: objects.storable_spec(v) is not None, objects.STORABLE_CODEC),
        (
            lambda v: dataclasses.is_dataclass(v) and not isinstance(v, type),
            objects.DATACLASS_CODEC,
        ),
        (objects.uses_getstate, objects.GETSTATE_CODEC),
    ],
    pickle=objects.PICKLE_CODEC,
    decode_only=[builtin.STR_BYTES, records.RECORDS],
    json_extensions=[
        objects.STORABLE_JSON,
        objects.DATACLASS_JSON,
        *xarray_.JSON_EXTENSIONS,
        *(
            jsontag.node_extension(codec, lambda v, t=cls: type(v) is t)  # type: ignore[misc]
            for cls, codec in {
                **stdlib.EXACT,
                **pandas_.EXACT,
                np.ma.MaskedArray: masked.MASKED,
            }.items()
        ),
        jsontag.node_extension(stdlib.ENUM, stdlib.is_enum_member),
        jsontag.node_extension(pandas_.INDEX_CODEC, lambda v: isinstance(v, pandas_.INDEX_TYPES)),
    ],
)
REGISTRY.register_lazy(openmm_units.MODULE, openmm_units.QUALNAME, openmm_units.codec)


def register_codec(cls: type, encode: Encoder, decode: Decoder) -> None:
    """Teach every face to store instances of ``cls`` (and its subclasses) natively.

    The array is stored as a variable with the attributes; an appended series of
    such objects stores the attributes once and reads back as one decoded object
    over the stacked array.  Registering a class again replaces its codec.

    Parameters
    ----------
    cls : type
        The class, e.g. ``pint.UnitRegistry().Quantity``.
    encode : callable
        ``encode(obj) -> (array_like, attrs)``: the values and a dict of attributes
        (str, numbers) that describe them, e.g. ``{"units": "nm"}``.
    decode : callable
        ``decode(array, attrs) -> obj``: the inverse; the only code that runs when
        such a value is read.

    Raises
    ------
    TypeError
        ``cls`` is not a class, or ``encode``/``decode`` are not callable.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_codec needs a class, not {cls!r}")
    if not callable(encode) or not callable(decode):
        raise TypeError("register_codec needs callable encode and decode functions")
    spec = class_spec(cls) or f"{cls.__module__}:{cls.__qualname__}"
    REGISTRY.register_user(cls, spec, encode, decode)


def unregister_codec(cls: type) -> None:
    """Forget the codec registered for ``cls`` (mainly for tests)."""
    REGISTRY.unregister_user(cls)
