"""The built-in codec of ``openmm.unit.Quantity`` and the registry's lazily registered
codecs (SPEC §5): nothing imports openmm until a Quantity is seen or read."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import Case

import xstore
from xstore.codecs import objects, openmm_units
from xstore.codecs.context import Codecs
from xstore.codecs.defaults import REGISTRY
from xstore.codecs.registry import Registry
from xstore.faces.store import CODECS

ROOT = Path(__file__).resolve().parent.parent
SPEC = "openmm.unit.quantity:Quantity"


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env_path = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
    )


def test_importing_xstore_does_not_import_openmm(tmp_path: Path) -> None:
    result = run_python(
        """
        import sys
        import numpy as np
        import xstore
        assert "openmm" not in sys.modules
        for name in ("v.nc", "v.zarr", "v.json"):
            xstore.save({"a": 1, "b": np.arange(3), "c": {"d": [1.5, "x"]}}, name)
            assert xstore.load(name)["c"] == {"d": [1.5, "x"]}
        with xstore.StorageInterface(xstore.NetCDFIODriver("si.nc")) as si:
            si.t.append({"x": 1, "y": None})
            si.s.append(2.0)
            assert si.t.read() == [{"x": 1, "y": None}]
        assert "openmm" not in sys.modules, sorted(m for m in sys.modules if "openmm" in m)
        print("clean")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"


def test_a_stored_quantity_is_read_without_registering_anything(tmp_path: Path) -> None:
    unit = pytest.importorskip("openmm.unit", reason="openmm (the test extra) is not installed")
    xstore.save({"T": 300 * unit.kelvin}, tmp_path / "q.nc")
    result = run_python(
        """
        import sys
        import xstore
        value = xstore.load("q.nc")["T"]      # the stored class name brings openmm in
        assert "openmm" in sys.modules
        import openmm.unit as unit
        assert value == 300 * unit.kelvin, value
        print("read")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "read"
    result = run_python(  # openmm missing in the reader: a TypeError that says why
        """
        import sys
        sys.modules["openmm"] = None  # as if openmm were not installed
        import xstore
        try:
            xstore.load("q.nc")
        except TypeError as exc:
            print(exc)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert SPEC in result.stdout and "built-in codec" in result.stdout
    assert "ImportError" in result.stdout or "ModuleNotFoundError" in result.stdout


# -- the codec ------------------------------------------------------------------------------------


@pytest.fixture
def unit():  # type: ignore[no-untyped-def]
    return pytest.importorskip("openmm.unit", reason="openmm (the test extra) is not installed")


def dims(u) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    return sorted((dim.name, float(power)) for dim, power in u.iter_base_dimensions())


def test_every_unit_of_openmm_round_trips_by_name(unit) -> None:  # type: ignore[no-untyped-def]
    encode, decode = openmm_units.codec()
    units = [v for v in vars(unit).values() if isinstance(v, unit.Unit)]
    units += [
        unit.kilojoule / unit.mole / unit.nanometer**2,
        unit.kilocalorie_per_mole / unit.angstrom**2,
        unit.nanometer**3 * unit.atmosphere,
        unit.elementary_charge * unit.nanometer,
        (unit.kilojoule / unit.mole) ** 0.5,
        unit.picosecond**-1,
        unit.dalton * unit.nanometer**2 / unit.picosecond**2,
    ]
    refused = []
    for u in units:
        try:
            values, attrs = encode(2.5 * u)
        except TypeError:
            refused.append(u)
            continue
        back = decode(values, attrs)
        # openmm's == compares names only: compare the dimensions too
        assert back.unit == u and dims(back.unit) == dims(u), attrs
        assert back.value_in_unit(u) == pytest.approx(2.5)
    assert refused == [unit.pound_mass] * 2  # named "pound", like pound-force


def test_unit_names_are_parsed_never_evaluated(unit) -> None:  # type: ignore[no-untyped-def]
    _, decode = openmm_units.codec()
    for bad in ["__import__('os').system('true')", "nanometer.conversion_factor_to", "", "*"]:
        with pytest.raises(ValueError):
            decode(np.array(1.0), {"unit": bad})
    assert decode(np.array(1.0), {"unit": "kilojoule/(nanometer**2*mole)"}).unit == (
        unit.kilojoule / unit.nanometer**2 / unit.mole
    )


def test_units_without_a_readable_name_are_refused(case: Case, unit) -> None:  # type: ignore[no-untyped-def]
    odd = unit.Unit({unit.BaseUnit(unit.length_dimension, "smoot_xs", "sm"): 1.0})
    with case.open(case.path(), "w") as store, pytest.raises(TypeError, match="smoot_xs"):
        store["x"] = 3.0 * odd
    assert "x" not in store


def test_quantities_in_every_face(case: Case, unit) -> None:  # type: ignore[no-untyped-def]
    path = case.path()
    values = {
        "T": 300 * unit.kelvin,
        "f32": np.float32(1.5) * unit.bar,
        "box": np.eye(3) * 4.0 * unit.nanometer,
        "listed": [1, 2, 3] * unit.kilojoule_per_mole,
        "thermo": {"T": 310.0 * unit.kelvin, "k": 2.0 * unit.kilojoule_per_mole / unit.angstrom},
    }
    case.save(values, path)
    loaded = xstore.load(path)
    for key in ("T", "f32", "box", "listed"):
        assert loaded[key].unit == values[key].unit
        assert np.all(loaded[key] == values[key])
    assert type(loaded["T"].value_in_unit(unit.kelvin)) is int
    assert isinstance(loaded["f32"].value_in_unit(unit.bar), np.float32)
    assert loaded["listed"].unit == unit.kilojoule_per_mole
    assert loaded["listed"].value_in_unit(unit.kilojoule_per_mole).tolist() == [1, 2, 3]
    assert loaded["thermo"] == values["thermo"]
    with case.interface(path) as si:
        for step in range(3):
            si.traj.energy.append(-1.0 * step * unit.kilojoule_per_mole)
            si.traj.state.append({"T": 300.0 * unit.kelvin, "step": step})
        with pytest.raises(ValueError, match="attributes"):
            si.traj.energy.append(1.0 * unit.kilocalorie_per_mole)  # another unit
        si.traj.energy.write(5.0 * unit.kilojoule_per_mole, at_index=1)
        energy = si.traj.energy.read()
        assert isinstance(energy, unit.Quantity) and energy.unit == unit.kilojoule_per_mole
        assert energy.value_in_unit(unit.kilojoule_per_mole).tolist() == [-0.0, 5.0, -2.0]
        assert [r["T"] for r in si.traj.state.read()] == [300.0 * unit.kelvin] * 3
    for engine in case.readers:  # plain readers: numbers and a unit attribute
        energy = case.open_plain(path, engine)["traj"]["energy"]
        assert energy.attrs["unit"] == "kilojoule/mole"
        assert energy.values.tolist() == [-0.0, 5.0, -2.0]


def test_a_codec_of_the_users_replaces_the_built_in_one(tmp_path: Path, unit) -> None:  # type: ignore[no-untyped-def]
    xstore.register_codec(
        unit.Quantity,
        lambda q: (np.asarray(q._value), {"mine": str(q.unit)}),
        lambda values, attrs: ("mine", attrs["mine"]),
    )
    try:
        xstore.save({"T": 3 * unit.kelvin}, tmp_path / "mine.nc")
        assert xstore.load(tmp_path / "mine.nc")["T"] == ("mine", "kelvin")
    finally:
        xstore.codecs.defaults.unregister_codec(unit.Quantity)
    REGISTRY.register_lazy(openmm_units.MODULE, openmm_units.QUALNAME, openmm_units.codec)
    xstore.save({"T": 3 * unit.kelvin}, tmp_path / "built_in.nc")  # the built-in again
    assert xstore.load(tmp_path / "built_in.nc")["T"] == 3 * unit.kelvin


# -- lazily registered codecs ---------------------------------------------------------------------


def test_lazily_registered_codecs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lazy_units_mod.py").write_text(
        "class Meters:\n"
        "    def __init__(self, v):\n"
        "        self.v = v\n"
        "class Sub(Meters):\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def factory():  # type: ignore[no-untyped-def]
        made.append("made")
        import lazy_units_mod

        return (
            lambda m: (np.asarray(m.v), {"u": "m"}),
            lambda values, attrs: lazy_units_mod.Meters(values.tolist()),
        )

    registry = Registry(exact={}, fallbacks=[], pickle=objects.PICKLE_CODEC)
    registry.register_lazy("lazy_units_mod", "Meters", factory)
    registry.register_lazy("missing_pkg_xs", "Thing", factory)
    assert sorted(registry.lazy_specs()) == ["lazy_units_mod:Meters", "missing_pkg_xs:Thing"]
    assert registry.user_codec_for(1.0) is None and made == []  # other classes: nothing made
    assert "lazy_units_mod" not in sys.modules
    codec = registry.user_codec("lazy_units_mod:Meters")  # a stored value names the class
    assert codec is not None and made == ["made"] and "lazy_units_mod" in sys.modules
    import lazy_units_mod

    assert registry.user_codec_for(lazy_units_mod.Sub(2)) is codec  # subclasses too
    assert made == ["made"]  # made once
    assert registry.user_codec("missing_pkg_xs:Thing") is None
    assert "ModuleNotFoundError" in (registry.unavailable("missing_pkg_xs:Thing") or "")
    codecs = Codecs(registry, CODECS.scratch_group, CODECS.group_over)
    node = codecs.encoder("v").encode(lazy_units_mod.Meters(5))
    assert codecs.decoder("v").decode(node).v == 5


def test_encoding_a_value_activates_its_lazy_codec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "class Kelvin:\n    def __init__(self, v):\n        self.v = v\n"
    (tmp_path / "lazy_units_mod2.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    import lazy_units_mod2

    registry = Registry(exact={}, fallbacks=[], pickle=objects.PICKLE_CODEC)
    registry.register_lazy(
        "lazy_units_mod2",
        "Kelvin",
        lambda: (lambda k: (np.asarray(k.v), {}), lambda a, attrs: lazy_units_mod2.Kelvin(a)),
    )
    codecs = Codecs(registry, CODECS.scratch_group, CODECS.group_over)
    node = codecs.encoder("v").encode(lazy_units_mod2.Kelvin(3.0))
    assert node.attrs["_xs_type"] == "codec" and registry.lazy_specs() == []
