"""The built-in codec of ``openmm.unit.Quantity`` (registered lazily, see
:mod:`xstore.codecs.defaults`): nothing here imports openmm until a codec is made.

A Quantity is stored as its value (a number or an array, through the array codec)
with one attribute, ``unit``: the unit's name as openmm prints it
(``"kilojoule/mole"``, ``"nanometer**2"``, ``"/picosecond"``,
``"elementary charge"``).  Reading parses that name back without ``eval``: a small
grammar (names, ``*``, ``/``, ``**`` with a number, parentheses, a leading ``/``)
over the units that ``openmm.unit`` defines.  A unit whose name does not parse back
to the same unit (one made by hand with a new name, or pound-mass, which openmm
names like pound-force) is refused when it is written, so nothing is stored that
cannot be read.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from xstore.codecs.context import Decoder, Encoder

MODULE = "openmm.unit.quantity"
QUALNAME = "Quantity"
UNIT_ATTR = "unit"

_TOKENS = re.compile(
    r"\s*(?:(?P<pow>\*\*)|(?P<op>[*/()])"
    r"|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*(?: +[A-Za-z_][A-Za-z_0-9]*)*))"
)
_DEFAULT_SCALARS = frozenset(np.dtype(t) for t in (bool, np.int64, np.float64, np.complex128))


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKENS.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read the unit {text!r} (at {text[position:]!r})")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


class _UnitParser:
    """``expr := ['/'] factor (('*' | '/') factor)*``, ``factor := atom ['**' number]``,
    ``atom := name | '(' expr ')'``; names are the units of ``openmm.unit``."""

    def __init__(self, text: str, names: dict[str, Any], one: Any) -> None:
        self._text = text
        self._tokens = _tokens(text)
        self._at = 0
        self._names = names
        self._one = one

    def parse(self) -> Any:
        if not self._tokens:
            raise ValueError("an empty unit name")
        unit = self._expr()
        if self._at != len(self._tokens):
            raise self._error()
        return unit

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise self._error()
        self._at += 1
        return token

    def _error(self) -> ValueError:
        return ValueError(f"cannot read the unit {self._text!r}")

    def _expr(self) -> Any:
        unit = self._one if self._peek() == ("op", "/") else self._factor()
        while self._peek() in (("op", "*"), ("op", "/")):
            _, op = self._take()
            other = self._factor()
            unit = unit * other if op == "*" else unit / other
        return unit

    def _factor(self) -> Any:
        unit = self._atom()
        if self._peek() == ("pow", "**"):
            self._take()
            kind, text = self._take()
            if kind != "num":
                raise self._error()
            power = float(text)
            unit = unit ** (int(power) if power.is_integer() else power)
        return unit

    def _atom(self) -> Any:
        kind, text = self._take()
        if (kind, text) == ("op", "("):
            unit = self._expr()
            if self._take() != ("op", ")"):
                raise self._error()
            return unit
        if kind != "name":
            raise self._error()
        unit = self._names.get(text)
        if unit is None:
            raise ValueError(f"{text!r} in the unit {self._text!r} is not a unit of openmm.unit")
        return unit


def _same(parsed: Any, unit: Any) -> bool:
    """``parsed`` is ``unit``: openmm's ``==`` compares names only (pound-mass ==
    pound-force) and its compatibility checks are cached by name, so compare the
    dimensions too, read from the units themselves."""

    def dims(u: Any) -> list[tuple[str, float]]:
        return sorted((dim.name, float(power)) for dim, power in u.iter_base_dimensions())

    return bool(parsed == unit) and dims(parsed) == dims(unit)


def codec() -> tuple[Encoder, Decoder]:
    """``(encode, decode)`` for ``openmm.unit.Quantity`` (imports openmm)."""
    import openmm.unit as u

    names: dict[str, Any] = {}
    for attribute in dir(u):
        value = getattr(u, attribute)
        if isinstance(value, u.Unit):
            names.setdefault(str(value), value)
            names.setdefault(attribute, value)
    parsed: dict[str, Any] = {}

    def parse_unit(text: str) -> Any:
        unit = parsed.get(text)
        if unit is None:
            unit = parsed[text] = _UnitParser(text, names, u.dimensionless).parse()
        return unit

    def encode(quantity: Any) -> tuple[np.ndarray, dict[str, Any]]:
        unit = quantity.unit
        text = str(unit)
        try:
            same = _same(parse_unit(text), unit)
        except ValueError:
            same = False
        if not same:
            raise TypeError(
                f"the unit {text!r} does not name one unit of openmm.unit (unknown, or "
                "ambiguous like pound), so it could not be read back by name; convert "
                "the quantity to another unit first"
            )
        return np.asarray(quantity.value_in_unit(unit)), {UNIT_ATTR: text}

    def decode(values: np.ndarray, attrs: dict[str, Any]) -> Any:
        if UNIT_ATTR not in attrs:
            raise ValueError(f"a stored openmm Quantity needs a {UNIT_ATTR!r} attribute")
        unit = parse_unit(str(attrs[UNIT_ATTR]))
        value: Any = values
        if values.ndim == 0:
            value = values.item() if values.dtype in _DEFAULT_SCALARS else values[()]
        return u.Quantity(value, unit)

    return encode, decode
