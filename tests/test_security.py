"""The pickle gate (SPEC §2, §3): nothing that can run code on load runs without
``allow_pickle=True`` — neither a pickle nor the import of an arbitrary module."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import Case

import xstore
from xstore.model import CLASS, TYPE


class Payload:
    """Unpickling this touches a marker file: a stand-in for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


class WithState:
    def __init__(self, value: int) -> None:
        self.value = value

    def __getstate__(self) -> dict:
        return {"value": self.value}

    def __setstate__(self, state: dict) -> None:
        self.value = state["value"]


def test_pickled_values_are_refused_without_consent(case: Case, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = case.path()
    with pytest.warns(xstore.PickleFallbackWarning, match=r"data\['run'\]\['fn'\]"):
        case.save({"safe": 1, "run": {"fn": Payload(marker), "ok": 2}, "obj": WithState(3)}, path)
    assert not marker.exists()
    with pytest.raises(xstore.PickleNotAllowedError) as info:
        xstore.load(path)
    assert not marker.exists()
    message = str(info.value)
    assert "data['run']['fn']" in message and "data['obj']" in message
    assert "allow_pickle=True" in message and path in message
    assert isinstance(info.value, ValueError)
    with case.open(path, "r") as store:
        assert store["safe"] == 1
        with pytest.raises(xstore.PickleNotAllowedError, match="run/fn"):
            store["run/fn"]
        assert store["run/ok"] == 2
    assert not marker.exists()
    loaded = xstore.load(path, allow_pickle=True)
    assert marker.exists()
    assert loaded["obj"].value == 3


def test_pickled_attributes_are_gated(case: Case, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = case.path()
    with case.open(path, "w") as store, pytest.warns(xstore.PickleFallbackWarning):
        store.attrs["payload"] = Payload(marker)
        store.attrs["plain"] = "ok"
    with case.open(path, "r") as store:
        assert store.attrs["plain"] == "ok"
        with pytest.raises(xstore.PickleNotAllowedError):
            store.attrs["payload"]
    assert not marker.exists()


def test_whole_pickle_files_need_consent(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "doc.pkl"
    xstore.save({"p": Payload(marker)}, path, mode="cloudpickle")
    with pytest.raises(xstore.PickleNotAllowedError):
        xstore.load(path)  # detected, not asked for
    assert not marker.exists()
    xstore.load(path, mode="cloudpickle")  # naming the mode is consent
    assert marker.exists()


def _module(folder: Path, name: str, body: str, marker: Path) -> None:
    source = f"from pathlib import Path\nPath({str(marker)!r}).touch()\n" + textwrap.dedent(body)
    (folder / f"{name}.py").write_text(source)


def test_classes_are_imported_only_when_they_are_storables(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file naming a module whose class is not a Storable must not import it."""
    marker = tmp_path / "imported"
    evil, good = f"xs_evil_{case.id}", f"xs_good_{case.id}"
    _module(tmp_path, evil, "class Thing:\n    pass\n", marker)
    _module(
        tmp_path,
        good,
        """
        class Good:
            def __init__(self, v):
                self.v = v
            def _store(self, group):
                group["v"] = self.v
            @classmethod
            def _restore(cls, group, version):
                return cls(group["v"])
        """,
        tmp_path / "good_imported",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = case.path()
    with case.open(path, "w") as store:
        store["x"] = 1
    with case.open(path, "a") as store:  # forge a node naming the evil module
        core = store.session.layout
        stored = core.index(())["x"].stored
        core.set_attrs((stored,), {TYPE: "storable", CLASS: f"{evil}:Thing"})
    with pytest.raises(xstore.PickleNotAllowedError):
        xstore.load(path)
    assert not marker.exists() and evil not in sys.modules
    good_module = importlib.import_module(good)
    with case.open(path, "w") as store:
        store["good"] = good_module.Good(5)
    del sys.modules[good]
    (tmp_path / "good_imported").unlink()
    loaded = xstore.load(path)  # not imported yet, but its source shows a Storable
    assert loaded["good"].v == 5
    assert (tmp_path / "good_imported").exists()


def test_json_mode_refuses_what_needs_pickle(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    with pytest.raises(TypeError, match=r"data\['run'\]\['fn'\]"):
        xstore.save({"run": {"fn": lambda x: x}}, path, mode="json")
    assert not path.exists()
    xstore.save({"run": {"n": 1, "t": (1, 2)}}, path, mode="json")
    document = json.loads(path.read_text())
    assert document["run"]["n"] == 1 and document["run"]["t"]["__xstore__"] == "tuple"
