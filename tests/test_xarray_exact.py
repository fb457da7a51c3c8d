"""xarray values come back identical (SPEC §9), tested on xarray's own test data: every
dataset builder of xarray's test suite that can be imported (``xarray.tests``), as
Dataset, DataArray and DataTree, on netCDF, zarr and JSON.  User attributes are
metadata: ``units``, ``scale_factor``, ``_FillValue``, ``missing_value``,
``_Unsigned`` never change the values, and a Dataset's ``.encoding`` is not applied."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import xarray as xr
from conftest import Case
from helpers import assert_identical

import xstore

Example = tuple[str, Callable[[], Any]]


def _builders() -> Iterator[Example]:
    """Every importable builder of xarray's tests, with the arguments xarray uses."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # xarray's test modules use marks of its own conftest
        import xarray.tests as xt
        import xarray.tests.conftest as xc
        import xarray.tests.test_backends as tb
        import xarray.tests.test_concat as tc
        import xarray.tests.test_dataset as td
        import xarray.tests.test_options as to
        import xarray.tests.test_range_index as tr

    yield "create_test_data", xt.create_test_data
    yield "create_test_data(add_attrs=False)", lambda: xt.create_test_data(add_attrs=False)
    yield (
        "create_test_data(extension arrays)",
        lambda: xt.create_test_data(use_extension_array=True),
    )
    for name in sorted(dir(tb)):  # the mask-and-scale family: one dtype argument each
        builder = getattr(tb, name)
        if (
            name.startswith("create_")
            and name.endswith("scaled_data")
            and list(inspect.signature(builder).parameters) == ["dtype"]
        ):
            for dtype in ("float32", "float64"):
                yield f"{name}({dtype})", lambda b=builder, d=dtype: b(np.dtype(d))
    yield "create_boolean_data", tb.create_boolean_data
    for i in range(3):
        yield f"create_append_test_data()[{i}]", lambda i=i: td.create_append_test_data(0)[i]
    for kind in "US":
        for i in range(2):
            yield (
                f"create_append_string_length_mismatch_test_data({kind})[{i}]",
                lambda k=kind, i=i: td.create_append_string_length_mismatch_test_data(k)[i],
            )
    yield "create_test_multiindex", td.create_test_multiindex
    for i in range(2):
        yield f"create_test_stacked_array()[{i}]", lambda i=i: td.create_test_stacked_array()[i]
    for variant in (1, 2, 3):
        yield f"_create_test_ds({variant})", lambda v=variant: xc._create_test_ds(v)
    for variant in (1, 2, "repeating_ints"):
        yield f"_create_test_da({variant})", lambda v=variant: xc._create_test_da(v)
    for day in (True, False):
        for i in range(2):
            yield (
                f"create_concat_datasets(include_day={day})[{i}]",
                lambda d=day, i=i: tc.create_concat_datasets(2, seed=0, include_day=d)[i],
            )
    for i in range(2):
        yield f"create_typed_datasets()[{i}]", lambda i=i: tc.create_typed_datasets(2, seed=0)[i]
    yield "create_test_dataset_attrs", to.create_test_dataset_attrs
    yield "create_test_dataarray_attrs", to.create_test_dataarray_attrs
    yield "create_dataset_arange", lambda: tr.create_dataset_arange(0.0, 10.0, 1.0)
    yield "create_test_datatree", lambda: xc.create_test_datatree.__wrapped__()()


_VARIANTS = {
    "create_test_data",
    "create_test_data(add_attrs=False)",
    "create_test_data(extension arrays)",
    "create_masked_and_scaled_data(float32)",
    "create_typed_datasets()[0]",
    "_create_test_ds(1)",
    "create_test_dataset_attrs",
}


def _examples() -> list[Example]:
    """Each builder's value, and its variants: a Dataset also as a DataTree (itself
    and a child) and its first data variable as a DataArray."""
    out: list[Example] = []
    for name, build in _builders():
        out.append((name, build))

        def first_var(b: Callable[[], Any] = build) -> Any:
            value = b()
            return value[next(iter(value.data_vars))] if value.data_vars else None

        def as_tree(b: Callable[[], Any] = build) -> Any:
            return xr.DataTree.from_dict({"/": b(), "child": b()})

        if name in _VARIANTS:
            out.append((f"{name} as DataArray", first_var))
            out.append((f"{name} as DataTree", as_tree))
    return out


EXAMPLES = _examples()
#: what has no exact encoding: it is pickled (and loading it needs allow_pickle)
PICKLED = {
    "create_test_data(extension arrays)",  # pandas categorical arrays
    "create_test_data(extension arrays) as DataTree",
    "create_test_multiindex",  # a MultiIndex
    "create_dataset_arange",  # xarray's RangeIndex: an index of its own kind
}


def _build(make: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # xarray's builders warn about their own choices
        return make()


@pytest.mark.parametrize(("name", "make"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_xarray_test_data_round_trips_identically(codec_case: Case, name: str, make: Any) -> None:
    value = _build(make)
    pickled = name in PICKLED
    if pickled and codec_case.format.save_mode == "json":
        with pytest.raises(TypeError):
            codec_case.round_trip(value)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xstore.XstoreWarning)
        back = codec_case.round_trip(value, allow_pickle=pickled)
    assert_identical(value, back)


def test_every_builder_is_tried() -> None:
    """The examples cover every builder of the list above, and no fewer than xarray's
    suite offers today (the count in the report)."""
    assert len(list(_builders())) == 50
    assert len(EXAMPLES) == 64


# -- what the examples above check, spelled out ---------------------------------------------


def test_user_attributes_never_change_values(codec_case: Case) -> None:
    ds = xr.Dataset(
        {
            "dt": ("t", np.array([1.5, 2.5]), {"units": "seconds"}),
            "day": ("t", np.array([1, 2]), {"units": "days since 2000-01-01"}),
            "miss": ("t", np.array([-999.0, 1.0]), {"missing_value": -999.0}),
            "packed": ("t", np.array([10, 20], dtype=np.int16), {"scale_factor": 0.1}),
            "u": (
                "t",
                np.array([146, 255], dtype=np.uint8),
                {"_Unsigned": "false", "_FillValue": 255},
            ),
            "fill": ("t", np.array([1.0, np.nan]), {"_FillValue": np.float32(0.1)}),
            "text": ("t", np.array(["a", "b"]), {"_FillValue": "x", "calendar": "noleap"}),
        }
    )
    assert_identical(ds, codec_case.round_trip(ds))


def test_encoding_is_never_applied_to_values(codec_case: Case) -> None:
    ds = xr.Dataset({"x": ("t", np.array([10.123456, np.nan]))})
    ds["x"].encoding = {"dtype": "i2", "scale_factor": 0.1, "_FillValue": -1}
    back = codec_case.round_trip(ds)
    assert back["x"].values[0] == 10.123456
    assert_identical(ds, back)


def test_byte_order_and_unusual_coordinates_are_kept(codec_case: Case) -> None:
    ds = xr.Dataset(
        {
            "be": ("x", np.arange(3, dtype=">i2"), {"bounds": "x bnds", "grid_mapping": "crs"}),
            "strings": ("x", np.array(["a", "bc", ""], dtype=np.dtypes.StringDType())),
        },
        coords={
            "x bnds": (("x", "nv"), np.zeros((3, 2))),
            "crs": ((), 0),
            "with space": ("x", [1, 2, 3]),
            "x": [10, 20, 30],
        },
    )
    back = codec_case.round_trip(ds)
    assert_identical(ds, back)
    assert back["be"].dtype == np.dtype(">i2")
    assert back["strings"].dtype == np.dtypes.StringDType()


def test_plain_xarray_sees_the_same_dataset(case: Case) -> None:
    """Coordinates recorded the CF way, datetimes and bools decoded by xarray itself."""
    ds = xr.Dataset(
        {"v": (("time", "x"), np.zeros((2, 3)), {"units": "K"}), "ok": ("time", [True, False])},
        coords={
            "time": np.array(["2020-01-01", "2020-01-02"], dtype="M8[ns]"),
            "lat": ("x", [1.0, 2.0, 3.0]),
            "label": "run",
        },
        attrs={"title": "t"},
    )
    path = case.path()
    case.save({"ds": ds}, path)
    tree = case.open_plain(path)
    try:
        plain = tree["ds"].to_dataset()
        assert set(plain.coords) == {"time", "lat", "label"}
        assert plain["time"].dtype == np.dtype("M8[ns]") and plain["ok"].dtype == bool
        assert plain["v"].attrs["units"] == "K" and plain.attrs["title"] == "t"
    finally:
        tree.close()


def test_view_shows_user_attributes_undecoded(case: Case) -> None:
    """``to_dataset`` applies no CF decoding to what the user set."""
    path = case.path()
    with case.open(path, "w") as store:
        store["dt"] = np.array([1.5, 2.5])
        store.attrs_of("dt")["units"] = "seconds"
        store["ds"] = xr.Dataset({"m": ("t", np.array([-999.0, 1.0]), {"missing_value": -999.0})})
        view = store.to_dataset()
        assert view["dt"].dtype == np.float64 and view["dt"].attrs == {"units": "seconds"}
        tree = store.to_datatree()
        assert tree["ds"]["m"].values.tolist() == [-999.0, 1.0]
