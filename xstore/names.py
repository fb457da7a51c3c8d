"""Keys, paths and the names stored on disk.

User keys may be any string; backends are stricter (netCDF-C rejects leading
punctuation, control characters and trailing spaces and normalises to NFC; zarr
reserves a leading ``__`` and turns ``\\`` into a path separator).  A key that is
valid everywhere is stored as it is; any other key is *escaped* into ``_x_``
followed by a percent-encoding of its UTF-8 bytes.  Names xstore itself generates
start with ``_xs_`` and can never be produced by a user key, so the two never collide.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

ESCAPE_PREFIX = "_x_"
INTERNAL_PREFIX = "_xs_"
MAX_NAME_BYTES = 255  # netCDF-C's NC_MAX_NAME is 256 including the terminator
_SAFE_ESCAPED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_RESERVED_STARTS = (ESCAPE_PREFIX, INTERNAL_PREFIX, "__")

Path = tuple[str, ...]


def _is_plain(name: str) -> bool:
    """True if ``name`` can be stored unchanged by every backend and engine."""
    if not name or name.startswith(_RESERVED_STARTS):
        return False
    first = name[0]
    if first < "\x80" and not (first.isascii() and (first.isalnum() or first == "_")):
        return False
    if any(ch < " " or ch in "\x7f/\\" for ch in name):  # zarr reads "\\" as a separator
        return False
    if name[-1] < "\x80" and name[-1].isspace():
        return False
    if unicodedata.normalize("NFC", name) != name:
        return False
    try:
        return len(name.encode("utf-8")) <= MAX_NAME_BYTES
    except UnicodeEncodeError:  # lone surrogates
        return False


def encode_name(name: str) -> str:
    """The on-disk name of a user key (identity for ordinary names)."""
    if _is_plain(name):
        return name
    return escape_name(name)


#: attribute names netCDF-C reserves (it refuses them, or a file with one becomes unreadable)
_RESERVED_ATTRS = frozenset(
    {
        "CLASS",
        "NAME",
        "DIMENSION_LIST",
        "REFERENCE_LIST",
        "_Codecs",
        "_Format",
        "_IsNetcdf4",
        "_NCProperties",
        "_Netcdf4Coordinates",
        "_Netcdf4Dimid",
        "_SuperblockVersion",
        "_nc3_strict",
        "_QuantizeBitGroomNumberOfSignificantDigits",
        "_QuantizeGranularBitRoundNumberOfSignificantDigits",
        "_QuantizeBitRoundNumberOfSignificantBits",
    }
)


def encode_attr_name(name: str) -> str:
    """The on-disk name of a user attribute: as :func:`encode_name`, and names a
    backend reserves for its own attributes (``CLASS``, ``_NCProperties``, ...) are
    escaped too."""
    return escape_name(name) if name in _RESERVED_ATTRS else encode_name(name)


def escape_name(name: str) -> str:
    """The escaped on-disk form of ``name`` (``_x_`` and percent-encoding), even for a
    name every backend could store as it is: :func:`decode_name` gives ``name`` back."""
    raw = name.encode("utf-8", "surrogatepass")
    out = ESCAPE_PREFIX + "".join(chr(b) if chr(b) in _SAFE_ESCAPED else f"%{b:02X}" for b in raw)
    if len(out) > MAX_NAME_BYTES:
        raise ValueError(f"name {name!r} is too long to store ({len(out)} bytes once escaped)")
    return out


def decode_name(stored: str) -> str:
    """The user key of an on-disk name (inverse of :func:`encode_name`).

    ``ValueError`` for an escaped name xstore would never write (a bad escape, or a
    spelling that is neither :func:`encode_name`'s nor :func:`escape_name`'s): such
    a name is damage or was crafted.  (Format 2 escapes a plain name where it would
    meet a generated dimension name or a reserved attribute, so both spellings are
    valid; the index refuses a group holding one key under both.)  (Entries of a
    stored dict may be any str, ``""`` and ``"a/b"`` included; :func:`check_key_name`
    says what a group's key may be.)
    """
    if not stored.startswith(ESCAPE_PREFIX):
        return stored
    body = stored[len(ESCAPE_PREFIX) :]
    raw = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "%":
            code = body[i + 1 : i + 3]
            if len(code) != 2 or any(c not in "0123456789ABCDEF" for c in code):
                raise ValueError(f"the stored name {stored!r} has a bad escape {body[i : i + 3]!r}")
            raw.append(int(code, 16))
            i += 3
        else:
            raw.extend(body[i].encode("utf-8"))
            i += 1
    try:
        name = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the stored name {stored!r} is not escaped UTF-8") from exc
    if encode_name(name) != stored and escape_name(name) != stored:
        raise ValueError(f"the stored name {stored!r} is not one xstore writes (crafted?)")
    return name


def check_key_name(name: str, stored: str) -> None:
    """``ValueError`` unless ``name`` (decoded from ``stored``) can be a key of a group:
    a stored name that decodes to ``""``, ``.``, ``..`` or a path would make one key
    lead to another node."""
    if not name or name in (".", "..") or "/" in name:
        raise ValueError(f"the stored name {stored!r} is not a key (crafted?)")


def is_internal(stored: str) -> bool:
    """True for names xstore generates (dimensions, bookkeeping)."""
    return stored.startswith(INTERNAL_PREFIX)


def check_component(name: str, key: str) -> None:
    """Reject a path component that is empty, ``.``/``..`` or escapes its parent."""
    if not name:
        raise ValueError(f"empty name in key {key!r}")
    folded = unicodedata.normalize("NFKC", name)
    if folded in (".", "..") or "/" in folded:
        raise ValueError(f"name {name!r} in key {key!r} is not allowed (it could escape its group)")


def split_key(key: object) -> Path:
    """Split a store key (a name or a ``/``-separated relative path) into user names."""
    if not isinstance(key, str):
        raise TypeError(f"keys must be str, not {type(key).__name__}: {key!r}")
    parts = tuple(key.split("/"))
    for part in parts:
        check_component(part, key)
    return parts


#: the dimension names format 2 gives axes nobody named: ``dim_<length>``, and
#: ``dim_<length>_<k>`` for the k-th repeat of that length within one variable
_GENERATED_DIM = re.compile(r"dim_(0|[1-9][0-9]*)(?:_([1-9][0-9]*))?")


def generated_dim(length: int, repeat: int = 0) -> str:
    """The name of every unnamed axis of ``length`` (format 2): ``dim_<length>``; a
    variable's further unnamed axes of the same length (``repeat`` > 0) get
    ``dim_<length>_<repeat>`` (xarray does not support a dimension twice in one
    variable)."""
    return f"dim_{length}" if not repeat else f"dim_{length}_{repeat}"


def fallback_dim(length: int, repeat: int = 0) -> str:
    """The name an unnamed axis gets where :func:`generated_dim` is taken (a variable of
    that name in its group, or a user's dimension of that name and another length on
    its root-to-leaf path); no user name can be stored as it."""
    return INTERNAL_PREFIX + generated_dim(length, repeat)


def generated_length(name: str) -> int | None:
    """The length ``name`` stands for if it has the form of :func:`generated_dim`."""
    match = _GENERATED_DIM.fullmatch(name)
    return None if match is None else int(match[1])


def dimension_name(depth: int, stored_var: str, axis: int) -> str:
    """A dimension name of its own for one axis, unique on every root-to-leaf path of
    the tree: how format 1 names every unnamed axis, and format 2 the record axis of a
    series without a ``record_dim`` (it grows, so no other variable may share it).

    Variables of one group have distinct names and groups on one root-to-leaf path
    have distinct depths, so ``(depth, variable, axis)`` never repeats along a path;
    xarray's DataTree alignment check therefore never sees one name with two sizes.
    """
    name = f"{INTERNAL_PREFIX}{depth}_{stored_var}_{axis}"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        digest = hashlib.sha1(stored_var.encode("utf-8")).hexdigest()[:16]
        name = f"{INTERNAL_PREFIX}{depth}_{digest}_{axis}"
    return name
