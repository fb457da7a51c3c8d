"""Whole-document modes of ``save``/``load``: tagged JSON and cloudpickle."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, BinaryIO

import cloudpickle

from xstore.codecs import jsontag
from xstore.codecs.base import DecodeContext, EncodeContext
from xstore.store import scratch_group


def _pretty(obj: Any, indent: str = "") -> str:
    """JSON with one key per line, but lists of plain values (array data) on one line."""
    inner = indent + "  "
    if isinstance(obj, dict) and obj:
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_pretty(v, inner)}"
            for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(obj, list) and any(isinstance(x, dict | list) and x for x in obj):
        return "[\n" + ",\n".join(inner + _pretty(x, inner) for x in obj) + "\n" + indent + "]"
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def dump_json(data: Mapping[str, Any], handle: BinaryIO) -> None:
    ctx = EncodeContext("data", pickle_ok=False, scratch_group=scratch_group)
    document = jsontag.to_json(dict(data), ctx)
    handle.write(_pretty(document).encode("utf-8") + b"\n")


def load_json(handle: BinaryIO, *, allow_pickle: bool, location: str) -> Any:
    from xstore.store import group_over

    ctx = DecodeContext("data", allow_pickle=allow_pickle, location=location, group_over=group_over)
    value = jsontag.from_json(json.loads(handle.read().decode("utf-8")), ctx)
    ctx.raise_if_refused()
    return value


def dump_pickle(data: Mapping[str, Any], handle: BinaryIO) -> None:
    cloudpickle.dump(data, handle)


def load_pickle(handle: BinaryIO) -> Any:
    return cloudpickle.load(handle)
