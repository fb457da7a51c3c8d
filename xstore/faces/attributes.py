"""Attributes (metadata) of groups and stored values, with exact Python types."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any, Protocol

from xstore.codecs.arrays import cf_names
from xstore.codecs.attrs import decode_value, encode_value
from xstore.codecs.user import TAG as CODEC_TAG
from xstore.codecs.user import codec_attr_names
from xstore.core.session import Session
from xstore.faces.serial import serialised
from xstore.model import ATTR_TYPES, TYPE
from xstore.names import Path, decode_name, encode_attr_name, is_internal


class Owner(Protocol):
    """What attributes belong to: a node of an open store."""

    @property
    def path(self) -> str: ...

    @property
    def session(self) -> Session: ...

    @property
    def stored_path(self) -> Path: ...


class Attributes(MutableMapping[str, Any]):
    """The attributes of a group, with exact Python types (see :mod:`xstore.codecs.attrs`)."""

    def __init__(self, owner: Owner) -> None:
        self._owner = owner
        self._mutex = owner.session.mutex

    def _raw(self) -> dict[str, Any]:
        return self._owner.session.layout.attrs(self._owner.stored_path)

    @staticmethod
    def _notes(raw: dict[str, Any]) -> dict[str, str]:
        return json.loads(raw[ATTR_TYPES]) if ATTR_TYPES in raw else {}

    @serialised
    def __getitem__(self, key: str) -> Any:
        raw = self._raw()
        name = encode_attr_name(key)
        if name not in raw or is_internal(name):
            raise KeyError(key)
        ctx = self._owner.session.decoder(f"{self._owner.path}.attrs")
        with ctx.reading_stored(), ctx.at(key):
            value = decode_value(raw[name], self._notes(raw).get(name), ctx)
        ctx.finish()
        return value

    @serialised
    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"attribute names must be str, not {key!r}")
        session = self._owner.session
        session.layout.require_writable(f"set attribute {key!r}")
        name = encode_attr_name(key)
        ctx = session.encoder(f"{self._owner.path}.attrs")
        with ctx.at(key):
            raw_value, note = encode_value(value, ctx)
        session.report(ctx.pickled)
        notes = self._notes(self._raw())
        update: dict[str, Any] = {}
        if notes.get(name) != note:
            if note is None:
                notes.pop(name, None)
            else:
                notes[name] = note
            update[ATTR_TYPES] = json.dumps(notes)
        update[name] = raw_value
        session.layout.set_attrs(self._owner.stored_path, update)

    @serialised
    def __delitem__(self, key: str) -> None:
        layout = self._owner.session.layout
        layout.require_writable(f"delete attribute {key!r}")
        raw = self._raw()
        name = encode_attr_name(key)
        if name not in raw or is_internal(name):
            raise KeyError(key)
        notes = self._notes(raw)
        layout.delete_attrs(self._owner.stored_path, [name])
        if notes.pop(name, None) is not None:
            layout.set_attrs(self._owner.stored_path, {ATTR_TYPES: json.dumps(notes)})

    @serialised
    def __iter__(self) -> Iterator[str]:
        return iter([decode_name(n) for n in self._raw() if not is_internal(n)])

    @serialised
    def __len__(self) -> int:
        return sum(1 for n in self._raw() if not is_internal(n))

    def __repr__(self) -> str:
        return f"<xstore.Attributes of {self._owner.path!r}: {dict(self)!r}>"


def encoding_attrs(raw: dict[str, Any]) -> set[str]:
    """Stored names of the attributes that encode a value (not metadata): the CF
    attributes of an encoded dtype, the attributes of a registered codec."""
    hidden = cf_names(raw)
    if raw.get(TYPE) == CODEC_TAG:
        names = codec_attr_names(raw)
        if names is None:  # written before codecs listed their attributes: all are
            hidden.update(n for n in raw if not is_internal(n))
        else:
            hidden.update(encode_attr_name(n) for n in names)
    return hidden


class ValueAttributes(Attributes):
    """The attributes of a stored value (``Group.attrs_of``), without those that
    encode the value."""

    def _raw(self) -> dict[str, Any]:
        raw = super()._raw()
        encoding = encoding_attrs(raw)
        return {k: v for k, v in raw.items() if k not in encoding} if encoding else raw

    def _refuse(self, key: str) -> None:
        if encode_attr_name(key) in encoding_attrs(super()._raw()):
            raise ValueError(
                f"attribute {key!r} of {self._owner.path} encodes the stored value; "
                "it cannot be set or deleted as metadata"
            )

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(key, str):
            self._refuse(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._refuse(key)
        super().__delitem__(key)
