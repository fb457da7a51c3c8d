"""Whole-document modes of ``save``/``load``: tagged JSON and cloudpickle.

These are not stores (nothing is opened, appended or read in part): a document is
written in one go and read in one go.
"""

from __future__ import annotations

import builtins
import errno
import json
import os
from collections.abc import Mapping
from typing import Any

import cloudpickle

from xstore.codecs import jsontag
from xstore.codecs.context import Codecs
from xstore.errors import PickleNotAllowedError, StoreError

JSON, PICKLE = "json", "cloudpickle"
MODES = (JSON, PICKLE)


def sniff(path: str) -> str | None:
    """The document mode of an existing file, judged from its first bytes."""
    try:
        with builtins.open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None
    if head.startswith(b"\x80"):
        return PICKLE
    if head.lstrip()[:1] in (b"{", b"["):
        return JSON
    return None


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


def dump(data: Mapping[str, Any], path: str, mode: str, codecs: Codecs) -> None:
    """Write ``data`` as a document of ``mode`` to ``path``."""
    with builtins.open(path, "wb") as handle:
        if mode == JSON:
            document = jsontag.to_json(dict(data), codecs.encoder("data", pickle_ok=False))
            handle.write(_pretty(document).encode("utf-8") + b"\n")
        else:
            cloudpickle.dump(data, handle)


def load(
    path: str,
    mode: str,
    codecs: Codecs,
    *,
    allow_pickle: bool,
    consent: bool,
    version_policy: str = "warn",
) -> Any:
    """The value of the document at ``path``.  Unpickling a whole ``cloudpickle``
    document needs ``allow_pickle`` or ``consent`` (the mode was asked for by name)."""
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "no such file", path)
    with builtins.open(path, "rb") as handle:
        if mode == JSON:
            ctx = codecs.decoder(
                "data", allow_pickle=allow_pickle, location=path, version_policy=version_policy
            )
            value = jsontag.from_json(json.loads(handle.read().decode("utf-8")), ctx)
            ctx.finish()
            return value
        if not (allow_pickle or consent):
            raise PickleNotAllowedError(["data"], path)
        try:
            return cloudpickle.load(handle)
        except Exception as exc:
            raise StoreError(f"cannot unpickle {path}: {exc}") from exc
