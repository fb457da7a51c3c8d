"""The pickle gate (SPEC §2, §3): nothing that can run code on load runs without
``allow_pickle=True`` — neither a pickle nor the import of an arbitrary module."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
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


def _module(path: Path, body: str, marker: Path) -> None:
    """Write a module whose import touches ``marker`` (proof that its code ran)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = f"from pathlib import Path\nPath({str(marker)!r}).touch()\n" + textwrap.dedent(body)
    path.write_text(source)


GOOD_STORABLE = """
    class Good:
        def __init__(self, v):
            self.v = v
        def _store(self, group):
            group["v"] = self.v
        @classmethod
        def _restore(cls, group, version):
            return cls(group["v"])
"""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """A fresh package ``xs_pkg_N`` on sys.path with a Storable in ``xs_pkg_N.sub``;
    importing the package or the submodule touches a marker file each."""
    name = f"xs_pkg_{abs(hash(request.node.nodeid)) % 10**8}"
    root = tmp_path / "modules"
    markers = {"package": tmp_path / "package_ran", "sub": tmp_path / "sub_ran"}
    _module(root / name / "__init__.py", "", markers["package"])
    _module(root / name / "sub.py", GOOD_STORABLE, markers["sub"])
    monkeypatch.syspath_prepend(str(root))
    yield name, markers
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def _forget(name: str, markers: dict[str, Path]) -> None:
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]
    for marker in markers.values():
        marker.unlink(missing_ok=True)


def _nothing_ran(name: str, markers: dict[str, Path]) -> bool:
    return not any(m.exists() for m in markers.values()) and not any(
        m == name or m.startswith(name + ".") for m in sys.modules
    )


def test_untrusted_classes_import_nothing_not_even_their_package(
    case: Case, package: tuple[str, dict[str, Path]]
) -> None:
    name, markers = package
    path = case.path()
    good = importlib.import_module(f"{name}.sub")
    with case.open(path, "w") as store:
        store["obj"] = good.Good(5)
        store["plain"] = 1
    _forget(name, markers)
    with pytest.raises(xstore.PickleNotAllowedError) as info:
        xstore.load(path)
    assert _nothing_ran(name, markers)
    message = str(info.value)
    assert f"{name}.sub" in message and "data['obj']" in message and "trust=" in message
    assert info.value.modules == [f"{name}.sub"]
    with case.open(path, "r") as store:
        assert store["plain"] == 1
        with pytest.raises(xstore.PickleNotAllowedError, match="obj"):
            store["obj"]
    assert _nothing_ran(name, markers)


def _stored_good(case: Case, name: str, markers: dict[str, Path]) -> str:
    """A store holding ``{name}.sub.Good(5)`` under "obj", written with the module
    imported, which is then forgotten again (as in a fresh interpreter)."""
    path = case.path()
    with case.open(path, "w") as store:
        store["obj"] = importlib.import_module(f"{name}.sub").Good(5)
    _forget(name, markers)
    return path


@pytest.mark.parametrize("trust", ["pkg", "pkg.sub", ["other", "pkg.sub"]])
def test_trusted_modules_are_imported_and_restore(
    case: Case, package: tuple[str, dict[str, Path]], trust: str | list[str]
) -> None:
    name, markers = package
    path = _stored_good(case, name, markers)
    named = [t.replace("pkg", name) for t in ([trust] if isinstance(trust, str) else trust)]
    assert xstore.load(path, trust=named)["obj"].v == 5
    assert markers["sub"].exists()
    _forget(name, markers)
    with case.open(path, "r", trust=named) as store:
        assert store["obj"].v == 5


def test_trusting_a_sibling_does_not_trust_the_module(
    case: Case, package: tuple[str, dict[str, Path]]
) -> None:
    name, markers = package
    path = _stored_good(case, name, markers)
    for wrong in (f"{name}.su", f"{name}.sub.deeper", f"{name}x", "other"):
        with pytest.raises(xstore.PickleNotAllowedError):
            xstore.load(path, trust=[wrong])
        assert _nothing_ran(name, markers)


def test_forged_class_names_import_nothing(case: Case, tmp_path: Path, monkeypatch) -> None:
    """A node naming a module that is not a Storable's (or a dataclass source the old
    static check accepted) is refused before anything is imported."""
    marker = tmp_path / "imported"
    evil = f"xs_evil_{case.id.replace('-', '_')}"
    _module(
        tmp_path / f"{evil}.py",
        "import dataclasses\n@dataclasses.dataclass\nclass Thing:\n    a: int = 0\n",
        marker,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = case.path()
    with case.open(path, "w") as store:
        store["x"] = 1
        store["y"] = 2
    with case.open(path, "a") as store:  # forge nodes naming the evil module
        core = store.session.layout
        for key, kind in (("x", "storable"), ("y", "dataclass")):
            stored = core.index(())[key].stored
            core.set_attrs((stored,), {TYPE: kind, CLASS: f"{evil}:Thing"})
    with pytest.raises(xstore.PickleNotAllowedError, match=evil):
        xstore.load(path)
    assert not marker.exists() and evil not in sys.modules


def test_imported_classes_of_the_wrong_kind_are_refused(case: Case) -> None:
    """``json:JSONDecoder`` is imported already but is neither Storable nor dataclass."""
    path = case.path()
    with case.open(path, "w") as store:
        store["x"] = 1
    with case.open(path, "a") as store:
        core = store.session.layout
        stored = core.index(())["x"].stored
        core.set_attrs((stored,), {TYPE: "storable", CLASS: "json:JSONDecoder"})
    with pytest.raises(xstore.PickleNotAllowedError, match="data\\['x'\\]"):
        xstore.load(path)


def test_json_dataclasses_follow_the_trust_rule(tmp_path: Path, monkeypatch) -> None:
    marker = tmp_path / "imported"
    name = "xs_json_dc"
    _module(
        tmp_path / f"{name}.py",
        "import dataclasses\n@dataclasses.dataclass\nclass P:\n    a: int = 0\n",
        marker,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "doc.json"
    xstore.save({"p": importlib.import_module(name).P(3)}, path, mode="json")
    del sys.modules[name]
    marker.unlink()
    try:
        with pytest.raises(xstore.PickleNotAllowedError, match=name):
            xstore.load(path)
        assert not marker.exists() and name not in sys.modules
        assert xstore.load(path, trust=name)["p"].a == 3
        assert marker.exists()
    finally:
        sys.modules.pop(name, None)


def test_trust_takes_module_names() -> None:
    with pytest.raises(ValueError, match="trust="):
        xstore.load("nowhere.nc", trust=["not a module"])


def test_json_mode_refuses_what_needs_pickle(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    with pytest.raises(TypeError, match=r"data\['run'\]\['fn'\]"):
        xstore.save({"run": {"fn": lambda x: x}}, path, mode="json")
    assert not path.exists()
    xstore.save({"run": {"n": 1, "t": (1, 2)}}, path, mode="json")
    document = json.loads(path.read_text())
    assert document["run"]["n"] == 1 and document["run"]["t"]["__xstore__"] == "tuple"


# -- nothing is written outside the store -------------------------------------------------


def _crafted_zip(tmp_path: Path, member: str) -> Path:
    """A valid zarr zip with one more member whose name points outside it."""
    path = tmp_path / "box" / "store.zip"
    path.parent.mkdir()
    xstore.save({"x": np.arange(3)}, path, mode="zarr")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(member, b"owned")
    return path


@pytest.mark.parametrize("member", ["../../slipped", "x/../../../slipped", "ABS", "a\\..\\..\\s"])
@pytest.mark.parametrize("how", ["open-a", "open-r", "load", "convert"])
def test_zip_members_naming_paths_outside_are_refused(
    tmp_path: Path, member: str, how: str
) -> None:
    target = tmp_path / "slipped"
    if member == "ABS":
        member = str(tmp_path / "abs_slipped")
    path = _crafted_zip(tmp_path, member)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(xstore.StoreError, match="outside") as info:
        if how == "load":
            xstore.load(path)
        elif how == "convert":
            from xstore.tools.convert import convert

            convert(str(path), str(tmp_path / "copy.nc"), progress=False)
        else:
            with xstore.open(path, how[-1]) as store:
                store["y"] = 1
    assert str(path) in str(info.value)
    assert not target.exists() and not (tmp_path / "abs_slipped").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no staging left either


def test_redo_records_naming_other_places_are_damage(tmp_path: Path) -> None:
    """A commit record is replayed on open; one naming ``..`` is not followed."""
    path = tmp_path / "store.zarr"
    with xstore.open(path, "w") as store:
        store["x"] = 1
    with xstore.open(path, "a") as store:
        store.session.layout.set_attrs((), {"_xs_redo": '[[[], "..", "_xs_staged_1"]]'})
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(xstore.StoreError, match="redo"), xstore.open(path, "a") as store:
        store["y"] = 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
