"""xstore: arrays, time series, parameters and objects in netCDF4/HDF5 and zarr stores
that plain xarray opens."""

from xstore.api import load, open, save
from xstore.codecs.user import register_codec
from xstore.errors import PickleNotAllowedError, StoreError
from xstore.interface import NetCDFIODriver, StorageInterface, ZarrIODriver
from xstore.store import Attributes, Group, Store

__version__ = "0.1.0"

__all__ = [
    "Attributes",
    "Group",
    "NetCDFIODriver",
    "PickleNotAllowedError",
    "StorageInterface",
    "Store",
    "StoreError",
    "ZarrIODriver",
    "__version__",
    "load",
    "open",
    "register_codec",
    "save",
]
