"""Which backends exist and how a path selects one.

A backend is registered as a :class:`~xstore.backends.base.BackendSpec`; the specs
of xstore's own backends are registered at the end of this module, in one place.
Adding a backend is one module (the :class:`~xstore.backends.base.Backend` subclass
and its spec) plus one :func:`register` call.
"""

from __future__ import annotations

import os

from xstore.backends import memory, netcdf, zarr
from xstore.backends.address import Address
from xstore.backends.base import BackendSpec
from xstore.errors import StoreError

_SPECS: dict[str, BackendSpec] = {}


def register(spec: BackendSpec) -> None:
    """Make a backend available to ``xstore.open(..., backend=spec.name)``, path
    inference and format detection (a later registration of a name replaces it)."""
    _SPECS[spec.name] = spec


def get(name: str) -> BackendSpec:
    """The spec registered as ``name`` (``ValueError`` naming the choices if none)."""
    spec = _SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(_SPECS)}")
    return spec


def specs() -> list[BackendSpec]:
    return list(_SPECS.values())


def sniff(location: str) -> BackendSpec | None:
    """The backend whose format an existing local file or directory holds."""
    if not os.path.exists(location):
        return None
    return next((spec for spec in _SPECS.values() if spec.sniff(location)), None)


def infer(address: Address) -> BackendSpec:
    """The backend for a store address: by suffix, URL or store object, then contents."""
    location = address.location
    lowered = location.lower().rstrip("/")
    if address.store is None:
        for spec in _SPECS.values():
            if spec.suffixes and lowered.endswith(spec.suffixes):
                return spec
    if address.remote:
        for spec in _SPECS.values():
            if spec.urls:
                return spec
    found = sniff(location)
    if found is not None:
        return found
    if os.path.exists(location):
        raise StoreError(
            f"{location} is not a store xstore can open (netCDF/HDF5 or zarr); a document "
            "written with mode 'json' or 'cloudpickle' is read with xstore.load"
        )
    suffixes = ", ".join(s for spec in _SPECS.values() for s in spec.suffixes)
    names = " or ".join(repr(spec.name) for spec in _SPECS.values() if spec.suffixes)
    raise ValueError(
        f"cannot tell which backend to use for {location!r}: use a suffix "
        f"({suffixes}) or pass backend={names}"
    )


def chosen(backend: str | None, address: Address) -> BackendSpec:
    """The backend named ``backend``, or (None) the one :func:`infer` finds."""
    return get(backend) if backend is not None else infer(address)


def for_save_mode(mode: str) -> BackendSpec | None:
    """The backend that writes the ``xstore.save`` mode ``mode`` (None: a document mode)."""
    return next((spec for spec in _SPECS.values() if mode in spec.save_modes), None)


def save_modes() -> tuple[str, ...]:
    return tuple(mode for spec in _SPECS.values() for mode in spec.save_modes)


for _spec in (netcdf.SPEC, zarr.SPEC, memory.SPEC):
    register(_spec)
