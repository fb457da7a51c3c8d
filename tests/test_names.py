"""Keys to on-disk names and back (SPEC §1: any str key works)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xstore.names import (
    MAX_NAME_BYTES,
    decode_name,
    dimension_name,
    encode_name,
    is_internal,
    split_key,
)


def _valid_for_netcdf_c(name: str) -> bool:
    first = name[0]
    ok_first = (first.isascii() and (first.isalnum() or first == "_")) or first > "\x7f"
    ok_chars = all(" " <= c != "\x7f" for c in name) and "/" not in name
    ok_end = not (name[-1].isascii() and name[-1].isspace())
    nfc = unicodedata.normalize("NFC", name) == name
    return ok_first and ok_chars and ok_end and nfc and len(name.encode()) <= MAX_NAME_BYTES


@given(st.text(max_size=40))
def test_every_key_round_trips_to_a_valid_name(key: str) -> None:
    try:
        stored = encode_name(key)
    except ValueError as exc:  # escaping can make a long key too long for netCDF
        assert "too long" in str(exc) and len(key.encode("utf-8", "surrogatepass")) > 60
        return
    assert decode_name(stored) == key
    assert _valid_for_netcdf_c(stored)
    assert not stored.startswith("__") and not is_internal(stored)


@pytest.mark.parametrize(
    "plain", ["x", "x0", "energy", "Temperature K", "é", "a.b", "1st", "_private"]
)
def test_ordinary_names_are_stored_as_they_are(plain: str) -> None:
    assert encode_name(plain) == plain


def test_generated_dimension_names_are_internal_and_unique_per_depth() -> None:
    names = {dimension_name(d, v, a) for d in range(3) for v in ("x", "x_0", "y") for a in range(2)}
    assert len(names) == 18 and all(is_internal(n) for n in names)
    long = dimension_name(1, "v" * 250, 0)
    assert len(long.encode()) <= MAX_NAME_BYTES and is_internal(long)


def test_too_long_names_are_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        encode_name(" " * 100)


@pytest.mark.parametrize(
    "key", ["", "/", "a//b", "/a", "a/", ".", "..", "a/../b", "\u2025", "\uff0e"]
)
def test_split_key_rejects_escaping_paths(key: str) -> None:
    with pytest.raises(ValueError):
        split_key(key)


def test_split_key_splits_relative_paths() -> None:
    assert split_key("a/b c/d") == ("a", "b c", "d")
    with pytest.raises(TypeError):
        split_key(3)  # type: ignore[arg-type]
