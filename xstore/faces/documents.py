"""Whole-document modes of ``save``/``load``: tagged JSON and cloudpickle.

These are not stores (nothing is opened, appended or read in part): a document is
written in one go and read in one go.
"""

from __future__ import annotations

import builtins
import errno
import json
import os
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import cloudpickle

from xstore.codecs import jsontag
from xstore.codecs.context import Codecs
from xstore.errors import PickleNotAllowedError, StoreError

JSON, PICKLE = "json", "cloudpickle"
CHECKSUM = "__xstore_crc32__"  # top-level key of a JSON document: the crc32 of its values
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


def _checksum(document: Any) -> str:
    """crc32 of a JSON document's values (however the file is laid out)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{zlib.crc32(canonical.encode('utf-8', 'surrogatepass')):08x}"


def dump(data: Mapping[str, Any], path: str, mode: str, codecs: Codecs) -> None:
    """Write ``data`` as a document of ``mode`` to ``path``.  A JSON document carries
    the checksum of its values under :data:`CHECKSUM` (so a flipped digit is caught)."""
    with builtins.open(path, "wb") as handle:
        if mode == JSON:
            document = jsontag.to_json(dict(data), codecs.encoder("data", pickle_ok=False))
            if CHECKSUM in document:  # a key of the user's own: tag the dict
                document = {jsontag.TAG: "dict", "items": document}
            document[CHECKSUM] = _checksum(document)
            handle.write(_pretty(document).encode("utf-8", jsontag.ESCAPE_SURROGATES) + b"\n")
        else:
            cloudpickle.dump(data, handle)


def _verified(document: Any, path: str) -> Any:
    """``document`` without its checksum, which must match (``StoreError`` if not)."""
    if not isinstance(document, dict) or CHECKSUM not in document:
        return document  # written before documents had checksums
    recorded = document.pop(CHECKSUM)
    if recorded != _checksum(document):
        raise StoreError(
            f"{path} is damaged: its values no longer match their checksum (if you edited "
            f"the file by hand, delete its {CHECKSUM!r} entry)"
        )
    return document


def load(
    path: str,
    mode: str,
    codecs: Codecs,
    *,
    allow_pickle: bool,
    consent: bool,
    trust: str | Iterable[str] = (),
    version_policy: str = "warn",
) -> Any:
    """The value of the document at ``path``.  Unpickling a whole ``cloudpickle``
    document needs ``allow_pickle`` or ``consent`` (the mode was asked for by name);
    ``trust`` names the modules whose dataclasses a JSON document may restore."""
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "no such file", path)
    with builtins.open(path, "rb") as handle:
        if mode == JSON:
            ctx = codecs.decoder(
                "data",
                allow_pickle=allow_pickle,
                location=path,
                trust=trust,
                version_policy=version_policy,
            )
            with ctx.reading_stored():
                document = json.loads(handle.read().decode("utf-8"))
                value = jsontag.from_json(_verified(document, path), ctx)
            ctx.finish()
            return value
        if not (allow_pickle or consent):
            raise PickleNotAllowedError(["data"], path)
        try:
            return cloudpickle.load(handle)
        except Exception as exc:
            raise StoreError(f"cannot unpickle {path}: {exc}") from exc
