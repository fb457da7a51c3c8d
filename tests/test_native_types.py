"""Types stored natively, without pickle (SPEC §9): dates and times, paths, Enum
members, OrderedDict, StringDType and masked arrays, pandas objects; what has no
exact form falls back to pickle with a warning, or a TypeError with pickle=False."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import pathlib
import sys
import textwrap
import zoneinfo
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import Case, backend_of

import xstore


class Color(enum.Enum):
    RED = 1
    GREEN = "g"


class Perm(enum.IntFlag):
    R = 4
    W = 2


NATIVE: dict[str, Any] = {
    "datetime": dt.datetime(2020, 1, 2, 3, 4, 5, 678901),
    "datetime fold": dt.datetime(2020, 1, 2, fold=1),
    "datetime utc": dt.datetime(2020, 1, 2, 12, tzinfo=dt.UTC),
    "datetime offset": dt.datetime(2020, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=-5), "EST")),
    "datetime zone": dt.datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=zoneinfo.ZoneInfo("UTC")),
    "date": dt.date(1, 1, 1),
    "time": dt.time(12, 30, 1, 5),
    "time utc": dt.time(1, tzinfo=dt.UTC),
    "timedelta": dt.timedelta(days=-3, microseconds=7),
    "path": pathlib.Path("/tmp/with space/x.nc"),
    "pure windows path": pathlib.PureWindowsPath(r"C:\data\run 1"),
    "enum": Color.GREEN,
    "int flag": Perm.R,
    "ordered dict": collections.OrderedDict([("b", 1), ("a", [1, "x"])]),
    "string dtype": np.array([["a", ""], ["ü", "long text"]], dtype=np.dtypes.StringDType()),
    "masked": np.ma.MaskedArray([1.0, 2.0, 3.0], mask=[False, True, False], fill_value=-1.0),
    "masked nomask": np.ma.MaskedArray(np.arange(4, dtype=np.int16), hard_mask=True),
    "dataframe": pd.DataFrame(
        {
            "a": [1.5, 2.5],
            "s": ["x", "y"],
            "o": np.array(["p", "q"], dtype=object),
            "t": pd.to_datetime(["2020-01-01", "2020-01-02"]),
            "b": [True, False],
        },
        index=pd.Index([10, 20], name="k"),
    ),
    "dataframe range index": pd.DataFrame({"x": [1, 2, 3]}),
    "series": pd.Series([1.0, 2.0], index=["p", "q"], name="energy"),
    "series unnamed": pd.Series(np.arange(3, dtype=np.int8)),
    "datetime index": pd.date_range("2020-01-01", periods=3, freq="D", name="when"),
    "range index": pd.RangeIndex(2, 10, 2, name="r"),
    "index": pd.Index(["a", "b"]),
}


def same(expected: Any, actual: Any) -> bool:
    """Identical type and value, by each type's strictest comparison."""
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(expected, actual, check_exact=True, check_freq=True)
        return expected.attrs == actual.attrs
    if isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(expected, actual, check_exact=True, check_freq=True)
        return True
    if isinstance(expected, pd.Index):
        pd.testing.assert_index_equal(expected, actual, exact=True, check_exact=True)
        return getattr(expected, "freq", None) == getattr(actual, "freq", None)
    if isinstance(expected, np.ma.MaskedArray):
        return (
            expected.dtype == actual.dtype
            and np.array_equal(expected.data, actual.data)
            and np.array_equal(np.ma.getmaskarray(expected), np.ma.getmaskarray(actual))
            and (np.ma.getmask(expected) is np.ma.nomask) == (np.ma.getmask(actual) is np.ma.nomask)
            and expected.fill_value == actual.fill_value
            and expected.hardmask == actual.hardmask
        )
    if isinstance(expected, np.ndarray):
        return expected.dtype == actual.dtype and np.array_equal(expected, actual)
    if isinstance(expected, collections.OrderedDict):
        return list(expected.items()) == list(actual.items())
    return bool(expected == actual) and repr(expected) == repr(actual)


@pytest.mark.parametrize("name", list(NATIVE))
def test_native_values_round_trip_without_pickle(codec_case: Case, name: str) -> None:
    value = NATIVE[name]
    back = codec_case.round_trip(value)  # the suite turns a PickleFallbackWarning into an error
    assert same(value, back)


def test_plain_xarray_sees_their_natural_form(case: Case) -> None:
    path = case.path()
    values = {k: NATIVE[k] for k in ("datetime", "timedelta", "dataframe", "path")}
    case.save({**values, "date": dt.date(2001, 2, 3)}, path)
    tree = case.open_plain(path)
    try:
        assert tree["datetime"].values == np.datetime64("2020-01-02T03:04:05.678901")
        assert tree["date"].values == np.datetime64("2001-02-03")
        assert tree["timedelta"].values == np.timedelta64(-3 * 86400 * 10**6 + 7, "us")
        frame = tree["dataframe"].to_dataset()
        assert set(frame.data_vars) == {"a", "s", "o", "t", "b"} and "k" in frame.coords
        assert frame["t"].dtype.kind == "M" and frame["b"].dtype == bool
        assert tree["path"].values.item() == "/tmp/with space/x.nc"
    finally:
        tree.close()


class Odd(dt.tzinfo):
    def utcoffset(self, when: Any) -> dt.timedelta:
        return dt.timedelta(hours=1)

    def dst(self, when: Any) -> dt.timedelta:
        return dt.timedelta(0)


WITHOUT_EXACT_FORM: dict[str, Any] = {
    "timedelta beyond int64 microseconds": dt.timedelta.max,
    "a time zone of another kind": dt.datetime(2020, 1, 1, tzinfo=Odd()),
    "a combination of flags": Perm.R | Perm.W,
    "categorical with an unused category": pd.DataFrame(
        {"c": pd.Categorical(["a"], categories=["a", "b"])}
    ),
    "multi-index series": pd.Series([1, 2], index=pd.MultiIndex.from_tuples([(1, 2), (3, 4)])),
    "non-str columns": pd.DataFrame({1: [1.0]}),
    "masked structured array": np.ma.MaskedArray(np.zeros(2, dtype=[("a", "f8")])),
}


@pytest.mark.parametrize("name", list(WITHOUT_EXACT_FORM))
def test_what_has_no_exact_form_is_pickled_with_a_warning(tmp_path: Path, name: str) -> None:
    value = WITHOUT_EXACT_FORM[name]
    path = tmp_path / "p.nc"
    with pytest.warns(xstore.PickleFallbackWarning, match=r"data\['v'\]"):
        xstore.save({"v": value}, path)
    back = xstore.load(path, allow_pickle=True)["v"]
    assert type(back) is type(value)
    with pytest.raises(TypeError, match=r"data\['v'\].*pickl"):
        xstore.save({"v": value}, tmp_path / "refused.nc", pickle=False)
    assert not (tmp_path / "refused.nc").exists()


def test_enum_class_is_imported_only_under_the_class_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Restoring an Enum member imports its class only if its module is imported
    already, trusted or allow_pickle is given: importing runs the module's code."""
    (tmp_path / "enum_module_xs.py").write_text(
        textwrap.dedent(
            """
            import enum
            class Mode(enum.Enum):
                FAST = "fast"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import enum_module_xs

    path = tmp_path / "e.nc"
    xstore.save({"mode": enum_module_xs.Mode.FAST}, path)
    assert xstore.load(path)["mode"] is enum_module_xs.Mode.FAST
    monkeypatch.delitem(sys.modules, "enum_module_xs")
    with pytest.raises(xstore.PickleNotAllowedError, match=r"data\['mode'\]") as info:
        xstore.load(path)
    assert "enum_module_xs" in str(info.value)  # the module it would have imported
    assert "enum_module_xs" not in sys.modules
    assert xstore.load(path, trust="enum_module_xs")["mode"].name == "FAST"
    monkeypatch.delitem(sys.modules, "enum_module_xs")
    assert xstore.load(path, allow_pickle=True)["mode"].name == "FAST"


# -- PickleFallbackWarning and pickle=False ----------------------------------------------


class Holder:
    """A Storable whose state holds a function."""

    def __init__(self) -> None:
        self.fn = len

    def _store(self, group: Any) -> None:
        group["fn"] = lambda x: x

    @classmethod
    def _restore(cls, group: Any, version: Any) -> Holder:
        return cls()


def test_pickle_fallback_warns_once_naming_every_key_path(tmp_path: Path) -> None:
    data = {"run": {"fn": lambda x: x, "ok": 1}, "obj": Holder(), "keys": {1: "a"}}
    with pytest.warns(xstore.PickleFallbackWarning) as warned:
        xstore.save(data, tmp_path / "a.nc")
    assert len(warned) == 1
    message = str(warned[0].message)
    for path in ("data['run']['fn']", "data['obj']['fn']", "data['keys']"):
        assert path in message
    assert warned[0].filename == __file__  # attributed to the caller's line


def test_pickle_false_refuses_on_save_and_in_a_store(case: Case) -> None:
    path = case.path()
    with pytest.raises(TypeError, match=r"data\['run'\]\['fn'\]"):
        case.save({"ok": 1, "run": {"fn": lambda x: x}}, path, pickle=False)
    with case.open(path, "w", pickle=False) as store:
        store["ok"] = 1
        with pytest.raises(TypeError, match=r"store\['g/fn'\]"):
            store["g/fn"] = lambda x: x
        with pytest.raises(TypeError, match=r"store\['obj'\]\['fn'\]"):
            store["obj"] = Holder()
        with pytest.raises(TypeError):
            store.attrs["payload"] = {1: "non-str key"}
        assert list(store) == ["ok"] and "payload" not in store.attrs
    with case.open(path, "a") as store, pytest.warns(xstore.PickleFallbackWarning, match="fn"):
        store["fn"] = lambda x: x
    with pytest.raises(ValueError, match="pickle=False"):
        xstore.save({"a": 1}, path + ".pkl", mode="cloudpickle", pickle=False)


# -- version policy -------------------------------------------------------------------------


@dataclasses.dataclass
class Versioned:
    x: float
    __version__ = "1.0"


class VersionedStorable:
    __version__ = 3

    def __init__(self, seen: Any = None) -> None:
        self.seen = seen

    def _store(self, group: Any) -> None:
        group["a"] = 1

    @classmethod
    def _restore(cls, group: Any, version: Any) -> VersionedStorable:
        return cls(seen=version)


def test_version_policy(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    path = case.path()
    case.save({"d": Versioned(1.5), "s": VersionedStorable()}, path)
    assert xstore.load(path)["d"] == Versioned(1.5)  # same versions: silent
    monkeypatch.setattr(Versioned, "__version__", "2.0")
    monkeypatch.setattr(VersionedStorable, "__version__", 4)
    with pytest.warns(xstore.VersionWarning, match=r"data\['d'\].*'1.0'.*'2.0'") as warned:
        loaded = xstore.load(path)
    assert len(warned) == 1 and "data['s']" in str(warned[0].message)
    assert loaded["d"] == Versioned(1.5) and loaded["s"].seen == 3
    with pytest.raises(xstore.VersionMismatchError, match=r"data\['(d|s)'\]"):
        xstore.load(path, version_policy="strict")
    assert isinstance(xstore.VersionMismatchError("x"), ValueError)
    assert xstore.load(path, version_policy="ignore")["s"].seen == 3
    with case.open(path, "r", version_policy="strict") as store:
        with pytest.raises(xstore.VersionMismatchError):
            store["d"]
        assert store["d/x"] == 1.5  # one field: nothing restored, nothing to compare
    with pytest.raises(ValueError, match="version_policy"):
        xstore.load(path, version_policy="loud")


# -- paths into stored objects ------------------------------------------------------------------


@dataclasses.dataclass
class Params:
    T: float
    inner: dict
    extra: Any = None


class State:
    def __init__(self) -> None:
        self.a = 1

    def __getstate__(self) -> dict:
        return {"a": self.a, "b": [1, 2]}

    def __setstate__(self, state: dict) -> None:
        self.a = state["a"]


def test_paths_read_one_field_of_a_stored_object(case: Case) -> None:
    path = case.path()
    with pytest.warns(xstore.PickleFallbackWarning):
        case.save(
            {
                "result": {"params": Params(300.0, {"x": np.arange(3)}, extra=lambda: 1)},
                "obj": VersionedStorable(),
                "state": State(),
            },
            path,
        )
    with case.open(path, "r") as store:
        assert store["result/params/T"] == 300.0
        assert store["result/params/inner/x"].tolist() == [0, 1, 2]
        assert "result/params/T" in store and "result/params/nope" not in store
        assert store["obj/a"] == 1 and store["state/b"] == [1, 2]
        with pytest.raises(xstore.PickleNotAllowedError):  # the whole object needs the lambda
            store["result/params"]
        with pytest.raises(KeyError):
            store["result/params/nope"]


def test_writing_through_a_path_into_an_object_is_a_type_error(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store["p"] = Params(1.0, {"x": 1})
        store["d"] = {"inner": {"x": 1}}
        for action in (
            lambda: store.__setitem__("p/T", 2.0),
            lambda: store.__setitem__("p/inner/x", 2),
            lambda: store.__delitem__("p/T"),
            lambda: store.create_group("p/g"),
            lambda: store.append("p/series", 1.0),
        ):
            with pytest.raises(TypeError, match="stored object"):
                action()
        store["d/inner/x"] = 2  # dicts can be changed by path
        assert store["d"] == {"inner": {"x": 2}}
        assert store["p"] == Params(1.0, {"x": 1})


def _lists(extra: Any = None) -> dict[str, Any]:
    return {
        "lst": [Params(1.0, {"x": 1}, extra=extra), Params(2.0, {"x": np.arange(3)})],
        "tup": (Params(1.0, {}), {"x": 3}, VersionedStorable(), [[4, 5], ["a", "b"]]),
        "nums": [1.5, 2.5, 3.5],
    }


def test_paths_lead_into_stored_lists_and_tuples(case: Case) -> None:
    path = case.path()
    with pytest.warns(xstore.PickleFallbackWarning):
        case.save(_lists(extra=lambda: 1), path)
    with case.open(path, "r") as store:
        assert store["lst/1/T"] == 2.0 and store["lst/1/inner/x"].tolist() == [0, 1, 2]
        assert store["lst/-1/T"] == 2.0 and store["lst/0/inner"] == {"x": 1}
        assert store["tup/1/x"] == 3 and store["tup/1"] == {"x": 3}
        assert store["tup/0"] == Params(1.0, {}) and store["tup/-4/T"] == 1.0
        assert store["tup/2/a"] == 1 and store["tup/2"].seen == 3  # a Storable
        assert store["tup/3/1/0"] == "a" and store["tup/3/-2"] == [4, 5]  # nested lists
        assert store["nums/1"] == 2.5 and store["nums/-1"] == 3.5  # a list stored as one array
        assert store.array("lst/1/inner/x")[1:].tolist() == [1, 2]
        assert "lst/1/T" in store and "nums/2" in store and "tup/3/1/-1" in store
        assert store.get("lst/1/T") == 2.0 and store.get("lst/2/T", "none") == "none"
        with pytest.raises(xstore.PickleNotAllowedError):  # item 0 needs the lambda
            store["lst"]


def test_a_path_into_a_list_reads_only_that_item(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = case.path()
    case.save({**_lists(), "lst": [np.zeros(1000), {"T": 2.0, "x": np.ones(3)}]}, path)
    with case.open(path, "r") as store:
        backend = backend_of(store)
        reads: list[tuple[Any, Any]] = []
        original = backend.read
        monkeypatch.setattr(
            backend,
            "read",
            lambda node, index=(): reads.append((node, index)) or original(node, index),
        )
        assert store["lst/1"]["x"].tolist() == [1.0, 1.0, 1.0]
        assert reads and all(node[:2] == ("lst", "1") for node, _ in reads)
        reads.clear()
        assert store["nums/-2"] == 2.5
        assert [index for _, index in reads] == [(slice(1, 2),)]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("lst/2/T", r"'lst/2/T': index 2 is out of range for 'lst', a stored list of length 2"),
        ("lst/-3", "index -3 is out of range for 'lst', a stored list of length 2"),
        ("tup/3/1/2", "index 2 is out of range for 'tup/3/1', a stored list of length 2"),
        ("nums/3", "index 3 is out of range for 'nums', a stored list of length 3"),
        ("lst/T", "'lst' is a stored list; 'T' is not an index"),
        ("tup/01", "'tup' is a stored tuple; '01' is not an index"),
        ("nums/x", "'nums' is a stored list; 'x' is not an index"),
    ],
)
def test_a_path_into_a_list_needs_an_index_in_range(case: Case, key: str, message: str) -> None:
    path = case.path()
    case.save(_lists(), path)
    with case.open(path, "r") as store:
        assert key not in store
        with pytest.raises(KeyError, match=message):
            store[key]


def test_writing_through_a_path_into_a_list_is_a_type_error(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store.update(_lists())
        for action in (
            lambda: store.__setitem__("lst/1/T", 3.0),
            lambda: store.__setitem__("lst/1", 3.0),
            lambda: store.__setitem__("lst/2", 3.0),
            lambda: store.__setitem__("nums/0", 3.0),
            lambda: store.__setitem__("tup/1/x", 4),  # a dict inside a tuple
            lambda: store.__delitem__("lst/1"),
            lambda: store.__delitem__("nums/1"),
            lambda: store.create_group("lst/0/g"),
            lambda: store.append("lst/1/series", 1.0),
        ):
            with pytest.raises(TypeError, match="stored object"):
                action()
        with pytest.raises(TypeError, match="item of a list stored as one array"):
            store.array("nums/1")
        first, second = store["lst"]
        assert first == Params(1.0, {"x": 1}) and second.T == 2.0
        assert store["nums"] == [1.5, 2.5, 3.5] and store["tup/1"] == {"x": 3}


def test_dataframe_inside_an_xarray_tree_of_values(tmp_path: Path) -> None:
    """Native types nest like any other value."""
    value = {"frames": [NATIVE["dataframe"], NATIVE["series"]], "ds": xr.Dataset({"v": ("x", [1])})}
    xstore.save(value, tmp_path / "n.nc")
    back = xstore.load(tmp_path / "n.nc")
    assert same(value["frames"][0], back["frames"][0]) and same(
        value["frames"][1], back["frames"][1]
    )
