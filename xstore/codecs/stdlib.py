"""Values of Python's standard library, stored natively: dates and times, paths,
enum members, ordered dicts.

=======================  ==============================================================
``datetime.datetime``    a 0-d int64 of microseconds since 1970 with CF ``units`` (plain
                         xarray sees a datetime64); an aware one is stored in UTC,
                         its time zone (a fixed offset or a ``zoneinfo`` key) in
                         ``_xs_info``
``datetime.date``        a 0-d int64 of days since 1970 with CF ``units``
``datetime.timedelta``   a 0-d int64 of microseconds with CF ``units``
``datetime.time``        its ISO text (``"12:30:00.000001+01:00"``)
``pathlib`` paths        the path as text, the class in ``_xs_info``
``enum.Enum`` members    the member's name as text, the class in ``_xs_class``
``OrderedDict``          a group, like a dict
=======================  ==============================================================

Every codec here checks that what it wrote reads back identical (same type, value,
time zone, fold); a value that would not -- a time zone of another kind, a
timedelta beyond int64 microseconds, an Enum member without a name of its own --
is declined and falls back to cloudpickle.  An Enum's class is imported back under
the rules of :mod:`xstore.codecs.classes` (already imported, trusted, or
``allow_pickle``).
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
import json
import pathlib
import zoneinfo
from collections.abc import Callable
from typing import Any

import numpy as np

from xstore.codecs.arrays import decode_array, encode_array, is_vlen_safe
from xstore.codecs.builtin import decode_mapping
from xstore.codecs.classes import ANY, RestoreRefused, class_spec, import_class
from xstore.codecs.context import Codec, DecodeContext, EncodeContext
from xstore.model import CLASS, INFO, TYPE, Node, Tree, Var, string_array

UTC = dt.UTC


def _verified(codec: Callable[[Any, EncodeContext], Node | None]) -> Any:
    """``codec`` made to decline (return None) a value it cannot store exactly."""

    def encode(value: Any, ctx: EncodeContext) -> Node | None:
        try:
            node = codec(value, ctx)
        except (OverflowError, ValueError, TypeError):
            return None
        if node is None:
            return None
        back = DECODERS[str(node.attrs[TYPE])](node, None)
        same = type(back) is type(value) and back == value and repr(back) == repr(value)
        return node if same else None

    return encode


def _info(node: Node) -> dict[str, Any]:
    return json.loads(str(node.attrs[INFO])) if INFO in node.attrs else {}


def _scalar(node: Node) -> Any:
    assert isinstance(node, Var)
    return decode_array(np.asarray(node.data), node.attrs)[()]


# -- dates and times -----------------------------------------------------------------------


def _time_var(value: Any, unit: str, tag: str, info: dict[str, Any] | None = None) -> Var:
    kind = "m8" if isinstance(value, dt.timedelta) else "M8"
    data, attrs = encode_array(np.array(value, dtype=f"{kind}[{unit}]"))
    attrs[TYPE] = tag
    if info:
        attrs[INFO] = json.dumps(info)
    return Var(data, attrs)


def _zone(tz: dt.tzinfo) -> dict[str, Any] | None:
    if isinstance(tz, zoneinfo.ZoneInfo):
        return {"zone": tz.key}
    if isinstance(tz, dt.timezone):
        offset = tz.utcoffset(None)
        name = tz.tzname(None)
        default = dt.timezone(offset).tzname(None)
        return {"offset": offset.total_seconds(), **({"name": name} if name != default else {})}
    return None


def _tz_from(info: dict[str, Any]) -> dt.tzinfo:
    if "zone" in info:
        return zoneinfo.ZoneInfo(info["zone"])
    offset = dt.timedelta(seconds=info["offset"])
    return dt.timezone(offset, info["name"]) if "name" in info else dt.timezone(offset)


def _encode_datetime(value: dt.datetime, ctx: EncodeContext) -> Node | None:
    info: dict[str, Any] = {"fold": 1} if value.fold else {}
    if value.tzinfo is not None:
        zone = _zone(value.tzinfo)
        if zone is None:
            return None
        info.update(zone)
        value = value.astimezone(UTC).replace(tzinfo=None)
    return _time_var(value, "us", "datetime.datetime", info)


def _decode_datetime(node: Node, ctx: DecodeContext | None) -> dt.datetime:
    value = _scalar(node).item()
    info = _info(node)
    if "zone" in info or "offset" in info:
        value = value.replace(tzinfo=UTC).astimezone(_tz_from(info))
    return value.replace(fold=info.get("fold", 0))


def _encode_time(value: dt.time, ctx: EncodeContext) -> Node | None:
    if value.tzinfo is not None and not isinstance(value.tzinfo, dt.timezone):
        return None  # a time of day has no date to resolve a zone's offset with
    attrs: dict[str, Any] = {TYPE: "datetime.time"}
    if value.fold:
        attrs[INFO] = json.dumps({"fold": 1})
    return Var(string_array([value.isoformat(timespec="microseconds")], ()), attrs)


def _decode_time(node: Node, ctx: DecodeContext | None) -> dt.time:
    assert isinstance(node, Var)
    value = dt.time.fromisoformat(str(np.asarray(node.data)[()]))
    return value.replace(fold=_info(node).get("fold", 0))


def _decode_date(node: Node, ctx: DecodeContext | None) -> dt.date:
    value = _scalar(node).item()
    assert isinstance(value, dt.date)
    return value


def _decode_timedelta(node: Node, ctx: DecodeContext | None) -> dt.timedelta:
    value = _scalar(node).item()
    assert isinstance(value, dt.timedelta)
    return value


# -- paths, enums, ordered dicts -----------------------------------------------------------

_PATHS: dict[str, type[pathlib.PurePath]] = {
    cls.__name__: cls
    for cls in (
        pathlib.PurePosixPath,
        pathlib.PureWindowsPath,
        pathlib.PosixPath,
        pathlib.WindowsPath,
    )
}


def _encode_path(value: pathlib.PurePath, ctx: EncodeContext) -> Node | None:
    text = str(value)
    if not is_vlen_safe(text):
        return None
    return Var(string_array([text], ()), {TYPE: "pathlib", INFO: json.dumps(type(value).__name__)})


def _decode_path(node: Node, ctx: DecodeContext | None) -> pathlib.PurePath:
    assert isinstance(node, Var)
    text = str(np.asarray(node.data)[()])
    cls = _PATHS[json.loads(str(node.attrs[INFO]))]
    try:
        return cls(text)
    except NotImplementedError:  # a WindowsPath read on Linux, a PosixPath on Windows
        return pathlib.Path(text)


def is_enum_member(value: Any) -> bool:
    return isinstance(value, enum.Enum)


def _encode_enum(value: enum.Enum, ctx: EncodeContext) -> Node | None:
    cls = type(value)
    spec = class_spec(cls)
    name = value.name
    if spec is None or not isinstance(name, str) or cls.__members__.get(name) is not value:
        return None  # a member without a name of its own (a combination of flags)
    return Var(string_array([name], ()), {TYPE: "enum", CLASS: spec})


def _decode_enum(node: Node, ctx: DecodeContext | None) -> Any:
    assert isinstance(node, Var) and ctx is not None
    spec = str(node.attrs[CLASS])
    try:
        cls = import_class(spec, ANY, allow_any=ctx.allow_pickle, trust=ctx.trust)
    except RestoreRefused as refused:
        return ctx.refuse(refused.module)
    if not issubclass(cls, enum.Enum):
        raise TypeError(f"{ctx.path}: {spec} is not an Enum")
    return cls[str(np.asarray(node.data)[()])]


def _encode_ordered(value: collections.OrderedDict[Any, Any], ctx: EncodeContext) -> Node | None:
    if not all(type(key) is str for key in value):
        return None
    children = {key: ctx.encode_at(key, item) for key, item in value.items()}
    return Tree({TYPE: "collections.OrderedDict"}, children)


def _decode_ordered(node: Node, ctx: DecodeContext) -> collections.OrderedDict[str, Any]:
    return collections.OrderedDict(decode_mapping(node, ctx))


DECODERS: dict[str, Callable[[Node, Any], Any]] = {
    "datetime.datetime": _decode_datetime,
    "datetime.date": _decode_date,
    "datetime.time": _decode_time,
    "datetime.timedelta": _decode_timedelta,
    "pathlib": _decode_path,
}

DATETIME = Codec("datetime.datetime", _verified(_encode_datetime), _decode_datetime)
DATE = Codec(
    "datetime.date",
    _verified(lambda value, ctx: _time_var(value, "D", "datetime.date")),
    _decode_date,
)
TIME = Codec("datetime.time", _verified(_encode_time), _decode_time)
TIMEDELTA = Codec(
    "datetime.timedelta",
    _verified(lambda value, ctx: _time_var(value, "us", "datetime.timedelta")),
    _decode_timedelta,
)
PATH = Codec("pathlib", _verified(_encode_path), _decode_path)
ENUM = Codec("enum", _encode_enum, _decode_enum)
ORDERED_DICT = Codec("collections.OrderedDict", _encode_ordered, _decode_ordered)

#: exact types and the codec that stores them
EXACT: dict[type, Codec] = {
    dt.datetime: DATETIME,
    dt.date: DATE,
    dt.time: TIME,
    dt.timedelta: TIMEDELTA,
    **dict.fromkeys(_PATHS.values(), PATH),
    collections.OrderedDict: ORDERED_DICT,
}
