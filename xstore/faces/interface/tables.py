"""Appended dicts: tables of records, as the attribute-access face makes them.

A table is a group tagged ``records`` (see :mod:`xstore.codecs.records`) holding one
series per key of the dicts, all along one record dimension: ``record_dim`` if the
first ``append`` names one, else ``record`` (or ``record_1``, ... when a key or a
dimension above has that name).  A ``None`` value is stored as a blank record
marked ``None`` (:mod:`xstore.codecs.nulls`), so it reads back as ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from xstore.codecs.records import table_node
from xstore.faces.interface.lookup import Found, names
from xstore.faces.store import Store
from xstore.names import split_key


def record_values(store: Store, path: str, key: str, record: dict[str, Any], found: Found) -> dict:
    """The record as ``{column key: value}``, checked against the table's keys."""
    columns = names(store, found) if found.kind == "table" else []
    if not record:
        raise ValueError(f"cannot store an empty dict as a record of {path}")
    for name in record:
        if not isinstance(name, str):
            raise TypeError(f"keys of records must be str, not {name!r} ({path})")
        if len(split_key(name)) != 1:
            raise ValueError(f"key {name!r} of a record of {path} contains '/'")
    if columns and set(record) != set(columns):
        raise ValueError(f"records of {path} have the keys {sorted(columns)}, not {sorted(record)}")
    return {f"{key}/{name}": value for name, value in record.items()}


def append_record(
    store: Store,
    path: str,
    parts: tuple[str, ...],
    record: dict[str, Any],
    found: Found,
    record_dim: str | None,
) -> None:
    """Append one dict to the table at ``parts`` (created by the first one), all or
    nothing: every value is checked before any is written."""
    key = "/".join(parts)
    values = record_values(store, path, key, record, found)
    layout = store.session.layout
    writer = store.session.series
    dim = record_dim
    if found.kind == "missing" and dim is None:
        # the columns of a new table share a new record dimension, named unlike its
        # keys and the dimensions above it (xarray aligns those)
        taken = set(record) | layout.dims_above(found.stored)
        dim = next(d for d in _dim_names() if d not in taken)
    for column, value in values.items():
        writer.check_append((), column, value, dim)
    made: tuple[tuple[str, ...], str] | None = None  # (group, name) to remove on failure
    try:
        if found.kind == "missing":  # a new table, in plain groups or a stored dict
            resolved = layout.resolve((), key)
            missing = parts[resolved.depth : -1]
            made = (resolved.parent, (*missing, parts[-1])[0])
            parent = layout.create_groups(resolved.parent, missing)
            layout.write_node(parent, parts[-1], table_node())
        for column, value in values.items():
            if value is None:
                writer.append_none((), column, dim)
            else:
                store.append(column, value, record_dim=dim)
    except BaseException:
        if made is not None and made[1] in layout.index(made[0]):
            layout.delete(*made)
        raise


def write_record(store: Store, path: str, key: str, record: Any, found: Found, index: int) -> None:
    """Overwrite record ``index`` of the table at ``key`` (all or nothing)."""
    if not isinstance(record, dict):
        raise TypeError(
            f"cannot write a record of {path}: its records are dicts, not {type(record).__name__}"
        )
    values = record_values(store, path, key, record, found)
    store.session.series.set_records((), index, values)


def _dim_names() -> Iterator[str]:
    yield "record"
    n = 1
    while True:
        yield f"record_{n}"
        n += 1
