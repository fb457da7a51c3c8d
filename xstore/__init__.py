"""xstore: arrays, time series, parameters and objects in netCDF4/HDF5 and zarr stores
that plain xarray opens."""

from xstore.codecs.defaults import register_codec
from xstore.errors import (
    IncompleteFrameWarning,
    PickleFallbackWarning,
    PickleNotAllowedError,
    StoreError,
    StoreLockedError,
    VersionMismatchError,
    VersionWarning,
    XstoreWarning,
)
from xstore.faces.api import load, open, save
from xstore.faces.arrays import LazyArray
from xstore.faces.attributes import Attributes
from xstore.faces.interface.drivers import NetCDFIODriver, ZarrIODriver
from xstore.faces.interface.nodes import StorageInterface
from xstore.faces.store import Group, Store
from xstore.faces.together import open_datatree

__version__ = "0.1.0"

__all__ = [
    "Attributes",
    "Group",
    "IncompleteFrameWarning",
    "LazyArray",
    "NetCDFIODriver",
    "PickleFallbackWarning",
    "PickleNotAllowedError",
    "StorageInterface",
    "Store",
    "StoreError",
    "StoreLockedError",
    "VersionMismatchError",
    "VersionWarning",
    "XstoreWarning",
    "ZarrIODriver",
    "__version__",
    "load",
    "open",
    "open_datatree",
    "register_codec",
    "save",
]
