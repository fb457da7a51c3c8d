"""Whole-document modes of ``save``/``load``: tagged JSON and cloudpickle."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, BinaryIO

import cloudpickle

from xstore.codecs import jsontag
from xstore.codecs.base import DecodeContext, EncodeContext
from xstore.store import scratch_group


def dump_json(data: Mapping[str, Any], handle: BinaryIO) -> None:
    ctx = EncodeContext("data", pickle_ok=False, scratch_group=scratch_group)
    document = jsontag.to_json(dict(data), ctx)
    handle.write(
        json.dumps(document, ensure_ascii=False, allow_nan=False, indent=1).encode("utf-8")
    )
    handle.write(b"\n")


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
