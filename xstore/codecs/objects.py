"""Objects: the Storable protocol, dataclasses, ``__getstate__`` objects, cloudpickle.

Order of the fallbacks: Storable, dataclass, lists/tuples of objects
(handled by the container codecs), objects whose class defines ``__setstate__``,
cloudpickle.  Restoring a Storable or dataclass imports its class only when that is
safe (:mod:`xstore.codecs.classes`); ``__setstate__`` objects and pickles run
arbitrary code and are refused without ``allow_pickle``.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import numpy as np

from xstore.codecs import jsontag
from xstore.codecs.classes import (
    ANY,
    DATACLASS,
    STORABLE,
    RestoreRefused,
    class_spec,
    class_version,
    import_class,
    is_storable,
    object_version,
)
from xstore.codecs.context import Codec, DecodeContext, EncodeContext
from xstore.model import CLASS, INFO, PICKLE, TYPE, VERSION, Node, Tree, Var

PICKLE_INLINE_LIMIT = 64 * 1024  # pickles up to this size live in an attribute


def _import(node: Node, kind: str, ctx: DecodeContext) -> type | RestoreRefused:
    """The stored class, or the refusal (nothing imported) when it may not be restored."""
    try:
        return import_class(
            str(node.attrs[CLASS]), kind, allow_any=ctx.allow_pickle, trust=ctx.trust
        )
    except RestoreRefused as refused:
        return refused


# -- Storable ----------------------------------------------------------------------------


def storable_spec(value: Any) -> str | None:
    cls = type(value)
    return class_spec(cls) if is_storable(cls) and not isinstance(value, type) else None


def _version_attr(value: Any, ctx: EncodeContext) -> dict[str, Any]:
    version = object_version(value)
    if version is None:
        return {}
    try:
        return {VERSION: jsontag.dumps(version, ctx.strict())}
    except TypeError:
        return {}  # a version JSON cannot hold is not recorded (nothing to compare)


def _check_version(node: Node, cls: type, ctx: DecodeContext) -> Any:
    """The version stored with an object of ``cls`` (checked against the class's by the
    version policy of ``ctx``)."""
    stored = jsontag.loads(str(node.attrs[VERSION]), ctx) if VERSION in node.attrs else None
    ctx.check_version(str(node.attrs[CLASS]), stored, class_version(cls))
    return stored


def _storable_tree(value: Any, ctx: EncodeContext) -> Tree | None:
    spec = storable_spec(value)
    if spec is None:
        return None
    group, tree_of = ctx.scratch_group()
    value._store(group)
    tree = tree_of()
    tree.attrs.update({TYPE: "storable", CLASS: spec, **_version_attr(value, ctx)})
    return tree


def _restore_storable(node: Node, ctx: DecodeContext) -> Any:
    cls = _import(node, STORABLE, ctx)
    if isinstance(cls, RestoreRefused):
        return ctx.refuse(cls.module)
    version = _check_version(node, cls, ctx)
    assert isinstance(node, Tree)
    return cls._restore(ctx.group_over(node), version)  # type: ignore[attr-defined]


STORABLE_CODEC = Codec("storable", _storable_tree, _restore_storable)


def _storable_to_json(value: Any, ctx: EncodeContext) -> dict[str, Any]:
    tree = _storable_tree(value, ctx)
    assert tree is not None
    return {"group": jsontag.node_to_json(tree, ctx)}


def _storable_from_json(obj: dict[str, Any], ctx: DecodeContext) -> Any:
    return _restore_storable(jsontag.node_from_json(obj["group"], ctx), ctx)


STORABLE_JSON = jsontag.Extension(
    "storable", lambda v: storable_spec(v) is not None, _storable_to_json, _storable_from_json
)


# -- dataclasses ----------------------------------------------------------------------------


def _is_dataclass_instance(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def restore_dataclass(cls: type, values: dict[str, Any]) -> Any:
    """A dataclass instance with the stored field values, without calling ``__init__``."""
    obj: Any = object.__new__(cls) if cls.__new__ is object.__new__ else cls.__new__(cls)  # type: ignore[call-overload]
    for field in dataclasses.fields(cls):
        if field.name in values:
            value = values[field.name]
        elif field.default is not dataclasses.MISSING:
            value = field.default
        elif field.default_factory is not dataclasses.MISSING:
            value = field.default_factory()
        else:
            continue
        object.__setattr__(obj, field.name, value)
    return obj


def _encode_dataclass(value: Any, ctx: EncodeContext) -> Node | None:
    spec = class_spec(type(value))
    if spec is None:
        return None
    children = {
        f.name: ctx.encode_at(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)
    }
    return Tree({TYPE: "dataclass", CLASS: spec, **_version_attr(value, ctx)}, children)


def _decode_dataclass(node: Node, ctx: DecodeContext) -> Any:
    cls = _import(node, DATACLASS, ctx)
    if isinstance(cls, RestoreRefused):
        return ctx.refuse(cls.module)
    _check_version(node, cls, ctx)
    assert isinstance(node, Tree)
    return restore_dataclass(cls, {k: ctx.decode_at(k, v) for k, v in node.children.items()})


DATACLASS_CODEC = Codec("dataclass", _encode_dataclass, _decode_dataclass)


def _dataclass_to_json(value: Any, ctx: EncodeContext) -> dict[str, Any]:
    spec = class_spec(type(value))
    if spec is None:
        raise ctx.type_error(value, "a dataclass defined in a function cannot be restored")
    fields = {
        f.name: jsontag.to_json_at(ctx, f.name, getattr(value, f.name))
        for f in dataclasses.fields(value)
    }
    version = _version_attr(value, ctx)
    return {"class": spec, "fields": fields, **({"version": version[VERSION]} if version else {})}


def _dataclass_from_json(obj: dict[str, Any], ctx: DecodeContext) -> Any:
    try:
        cls = import_class(obj["class"], DATACLASS, allow_any=ctx.allow_pickle, trust=ctx.trust)
    except RestoreRefused as refused:
        return ctx.refuse(refused.module)
    stored = jsontag.loads(obj["version"], ctx) if "version" in obj else None
    ctx.check_version(obj["class"], stored, class_version(cls))
    return restore_dataclass(
        cls, {k: jsontag.from_json_at(ctx, k, v) for k, v in obj["fields"].items()}
    )


DATACLASS_JSON = jsontag.Extension(
    "dataclass", _is_dataclass_instance, _dataclass_to_json, _dataclass_from_json
)


# -- objects with __setstate__ -------------------------------------------------------------


def uses_getstate(value: Any) -> bool:
    """True for instances whose class defines ``__setstate__`` and pickles by default rules."""
    cls = type(value)
    return (
        getattr(cls, "__setstate__", None) is not None
        and cls.__reduce_ex__ is object.__reduce_ex__
        and cls.__reduce__ is object.__reduce__
        and not hasattr(cls, "__getnewargs_ex__")
        and not hasattr(cls, "__getnewargs__")
        and class_spec(cls) is not None
    )


def _encode_getstate(value: Any, ctx: EncodeContext) -> Node | None:
    state = value.__getstate__()
    attrs = {TYPE: "getstate", CLASS: class_spec(type(value))}
    if type(state) is dict and all(type(k) is str for k in state):
        return Tree({**attrs, INFO: "dict"}, {k: ctx.encode_at(k, v) for k, v in state.items()})
    return Tree({**attrs, INFO: "value"}, {"state": ctx.encode_at("state", state)})


def _decode_getstate(node: Node, ctx: DecodeContext) -> Any:
    if not ctx.allow_pickle:
        return ctx.refuse()
    assert isinstance(node, Tree)
    cls = _import(node, ANY, ctx)
    assert not isinstance(cls, RestoreRefused)  # allow_pickle is set, so nothing is refused
    values = {k: ctx.decode_at(k, v) for k, v in node.children.items()}
    state = values if node.attrs.get(INFO) == "dict" else values["state"]
    obj: Any = cls.__new__(cls)  # type: ignore[call-overload]
    obj.__setstate__(state)
    return obj


GETSTATE_CODEC = Codec("getstate", _encode_getstate, _decode_getstate)


# -- cloudpickle ------------------------------------------------------------------------------


def _encode_pickle(value: Any, ctx: EncodeContext) -> Node:
    blob = ctx.pickle(value)
    if len(blob) <= PICKLE_INLINE_LIMIT:
        text = base64.b64encode(blob).decode("ascii")
        return Var(np.array(0, dtype=np.int8), {TYPE: "pickle", PICKLE: text})
    return Var(np.frombuffer(blob, dtype=np.uint8).copy(), {TYPE: "pickle"})


def _decode_pickle(node: Node, ctx: DecodeContext) -> Any:
    assert isinstance(node, Var)
    if PICKLE in node.attrs:
        blob = base64.b64decode(str(node.attrs[PICKLE]))
    else:
        blob = np.asarray(node.data).astype(np.uint8).tobytes()
    return ctx.unpickle(blob)


PICKLE_CODEC = Codec("pickle", _encode_pickle, _decode_pickle)
