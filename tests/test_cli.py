"""The command line: tree, cat, plot, convert, check, demo; one-line errors, quiet pipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import require_module
from helpers import assert_identical

import xstore

ROOT = str(Path(__file__).resolve().parent.parent)
#: the subprocesses import the xstore under test, whatever is installed
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xstore", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env=ENV,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_demo_runs_a_simulation_and_shows_how_to_open_it(tmp_path: Path) -> None:
    result = run("demo", "--steps", "300", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "xr.open_datatree" in result.stdout and "positions" in result.stdout
    assert "series of 300 records" in result.stdout
    import xarray as xr

    with xr.open_datatree(tmp_path / "demo.nc") as tree:
        assert tree["trajectory"].sizes["frame"] == 300
        assert tree["trajectory"]["positions"].shape == (300, 100, 3)


def _sample(path: Path) -> dict:
    data = {"params": {"T": 300.0, "name": "run"}, "x": np.arange(5.0), "t": (1, "a")}
    xstore.save(data, path)
    with xstore.open(path, "a") as store:
        for i in range(7):
            store.append("traj/e", float(i), record_dim="frame")
            store.append("traj/p", np.full(3, i), record_dim="frame")
    return data


def test_tree_and_cat(tmp_path: Path) -> None:
    path = tmp_path / "s.nc"
    _sample(path)
    result = run("tree", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "params/  dict (2 keys)" in out and "float64  (5,)" in out
    assert "series of 7 records, record dim 'frame'" in out and "tuple" in out
    result = run("cat", str(path), "params/T")
    assert result.returncode == 0 and result.stdout.strip() == "300.0"
    assert_one_line_error(run("cat", str(path), "missing"))


def test_cat_reads_through_a_path_into_a_stored_list(tmp_path: Path) -> None:
    path = tmp_path / "l.zarr"
    xstore.save({"runs": [{"T": 300.0}, {"T": 310.0, "x": [1.0, 2.0, 3.0]}]}, path, mode="zarr")
    for key, shown in (
        ("runs/1/T", "310.0"),
        ("runs/-1/x/2", "3.0"),
        ("runs/1/x[1:]", "[2.0, 3.0]"),
    ):
        result = run("cat", str(path), key)
        assert result.returncode == 0 and result.stdout.strip() == shown, result.stderr
    result = run("cat", str(path), "runs/2/T")
    assert_one_line_error(result)
    assert "out of range for 'runs', a stored list of length 2" in result.stderr


@pytest.mark.parametrize(
    ("middle", "last"),
    [("b.zarr", "c.nc"), ("b.json", "c.zarr"), ("b.zip", "c.h5"), ("b.pkl", "c.nc")],
)
def test_convert_between_backends_and_modes(tmp_path: Path, middle: str, last: str) -> None:
    source = tmp_path / "a.nc"
    xstore.save({"x": np.arange(3), "d": {"k": [1, None]}, "z": 1j}, source)
    expected = xstore.load(source)
    for src, dst in ((source, tmp_path / middle), (tmp_path / middle, tmp_path / last)):
        result = run("convert", str(src), str(dst))
        assert result.returncode == 0, result.stderr
    assert_identical(expected, xstore.load(tmp_path / last, allow_pickle=True))


def test_convert_keeps_series_appendable_and_compacts(tmp_path: Path) -> None:
    path = tmp_path / "s.nc"
    _sample(path)
    with xstore.open(path, "a") as store:
        store["big"] = np.ones(2_000_000)
        store["after"] = np.ones(10)  # the freed space is not at the end of the file
    with xstore.open(path, "a") as store:
        del store["big"]
    before = path.stat().st_size  # HDF5 may keep the freed space...
    compact = tmp_path / "compact.nc"
    assert run("convert", str(path), str(compact)).returncode == 0
    assert compact.stat().st_size < min(8e6, before + 1)  # ...a copy does not
    with h5py.File(compact, "r") as copied:  # a lockstep set keeps one records-per-chunk
        assert copied["traj/e"].chunks[0] == copied["traj/p"].chunks[0]
    with xstore.open(compact, "a") as store:
        store.append("traj/e", 7.0, record_dim="frame")
        store.append("traj/p", np.full(3, 7), record_dim="frame")
        assert len(store["traj/e"]) == 8


def test_check_reports_health_and_damage(tmp_path: Path) -> None:
    path = tmp_path / "s.nc"
    _sample(path)
    result = run("check", str(path))
    assert result.returncode == 0 and "ok" in result.stdout, result.stdout + result.stderr
    with h5py.File(path, "r+") as handle:  # one series of a lockstep pair loses records
        handle["traj/p"].resize(5, axis=0)
    result = run("check", str(path))
    assert result.returncode == 3
    assert "/traj/p: 5 records stored, its record dimension has 7" in result.stdout
    (tmp_path / ".s.nc.xstore-1234abcd.tmp.nc").write_bytes(b"partial")
    assert "leftover" in run("check", str(path)).stdout


def test_check_finds_a_torn_zarr_commit(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    with xstore.open(path, "w") as store:
        for i in range(9):
            store.append("e", float(i), record_dim="frame")
            store.append("f", float(i), record_dim="frame")
    meta = path / "e" / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["shape"] = [4]
    meta.write_text(json.dumps(doc))
    result = run("check", str(path))
    assert result.returncode == 3 and "torn commit" in result.stdout, result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("nonsense",),
        ("tree",),
        ("tree", "/no/such/file.nc"),
        ("cat", "/no/such/file.nc", "x"),
        ("convert", "/no/such/file.nc", "out.nc"),
        ("demo", "/no/such/dir/demo.nc"),
        ("tree", "--bogus", "x.nc"),
    ],
)
def test_errors_are_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert_one_line_error(run(*args, cwd=tmp_path))


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.nc"
    path.write_bytes(b"not a store at all")
    assert_one_line_error(run("tree", str(path)))
    result = run("check", str(path))
    assert result.returncode == 3 and "cannot open" in result.stdout


def _big_sample(path: Path) -> None:
    with xstore.open(path, "w") as store:
        store["params"] = {f"k{i}": i for i in range(3000)}
        store["x"] = np.arange(20_000.0).reshape(5000, 4)
        store["text"] = "word " * 1000
        store["mixed"] = [1, "two", 3.0, None] * 500
        traj = store.create_group("traj")
        traj.attrs["units"] = "nm"
        for i in range(6):
            traj.append("positions", np.full((4, 3), float(i)), record_dim="frame")
        traj.attrs_of("positions")["units"] = "nm"
    with xstore.StorageInterface(xstore.NetCDFIODriver(str(path), "a")) as si:
        for i in range(20_000):
            si.table.append({"step": i, "energy": -1.5 * i})


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "big.nc"
    _big_sample(path)
    return path


def test_tree_depth_attrs_and_long_groups(big: Path) -> None:
    result = run("tree", str(big))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) < 80  # not 3,000 lines for a 3,000-key dict
    assert "params/  dict (3000 keys)" in result.stdout
    assert "… 2,975 more of 3,000 keys" in result.stdout
    assert "k0  int64  ()  = 0" in result.stdout
    shallow = run("tree", str(big), "--depth", "1").stdout
    assert "params/  dict (3000 keys)" in shallow and "k0" not in shallow
    assert "positions" not in shallow and "traj/  group (1 keys)" in shallow
    everything = run("tree", str(big), "--max-items", "0").stdout
    assert "k2999" in everything and len(everything.splitlines()) > 3000
    with_attrs = run("tree", str(big), "--attrs").stdout
    assert "@units = 'nm'" in with_attrs and "@units" not in result.stdout


def test_cat_limits_every_kind_of_value(big: Path) -> None:
    table = run("cat", str(big), "table", "--max-items", "3").stdout.splitlines()
    assert table[1] == "  {'step': 0, 'energy': -0.0},"
    assert "19,997 more items" in table[4] and len(table) == 6
    default = run("cat", str(big), "table").stdout
    assert len(default.splitlines()) == 1003 and max(map(len, default.splitlines())) < 200
    params = run("cat", str(big), "params", "--max-items", "2").stdout
    assert params.strip() == "{'k0': 0, 'k1': 1, … 2,998 more}"
    text = run("cat", str(big), "text", "--max-items", "10").stdout.splitlines()
    assert text == ["word word ", "… 4,990 more characters (--max-items N shows more, 0 all)"]
    mixed = run("cat", str(big), "mixed", "--max-items", "4").stdout
    assert mixed.strip() == "[1, 'two', 3.0, None, … 1,996 more]"
    summary = run("cat", str(big), "x").stdout.splitlines()
    assert summary[0] == "float64 array of shape (5000, 4): min 0, mean 9999.5, max 19999"
    assert len(summary) < 20
    whole = run("cat", str(big), "x", "--max-items", "0").stdout
    assert "1.9999e+04]])" in whole and len(whole.splitlines()) == 5000


def test_cat_slices_and_groups(big: Path) -> None:
    assert run("cat", str(big), "x[1]").stdout.strip() == "array([4., 5., 6., 7.])"
    assert run("cat", str(big), "x[10:12, 0]").stdout.strip() == "array([40., 44.])"
    assert run("cat", str(big), "x[-1, ...]").stdout.strip() == (
        "array([19996., 19997., 19998., 19999.])"
    )
    assert run("cat", str(big), "traj/positions[2, 0]").stdout.strip() == "array([2., 2., 2.])"
    assert run("cat", str(big), "table[1]").stdout.strip() == "{'step': 1, 'energy': -1.5}"
    assert run("cat", str(big), "mixed[1:3]").stdout.strip() == "['two', 3.0]"
    group = run("cat", str(big), "traj")
    assert "<xstore" not in group.stdout and "positions  float64  (6, 4, 3)" in group.stdout
    for bad in ("x[1, 2, 3]", "x[a]", "x[9999]", "params[0]", "x[[0, 1]]"):
        assert_one_line_error(run("cat", str(big), bad))


def test_plot_draws_a_series_and_arrays(tmp_path: Path) -> None:
    require_module("matplotlib", "plot")
    import matplotlib.image

    path = tmp_path / "s.nc"
    _sample(path)
    with xstore.open(path, "a") as store:
        store["image"] = np.arange(12.0).reshape(3, 4)
        store["cube"] = np.zeros((2, 2, 2))
    result = run("plot", str(path), "traj/e", "-o", str(tmp_path / "e.png"))
    assert result.returncode == 0 and "e.png" in result.stdout, result.stderr
    assert matplotlib.image.imread(tmp_path / "e.png").shape[2] in (3, 4)
    result = run("plot", str(path), "image", cwd=tmp_path)  # default name: image.png
    assert result.returncode == 0 and (tmp_path / "image.png").stat().st_size > 1000
    result = run("plot", str(path), "traj/p[:, 0]", "--x", "traj/e", "-o", str(tmp_path / "p.png"))
    assert result.returncode == 0, result.stderr
    error = run("plot", str(path), "cube", cwd=tmp_path)
    assert_one_line_error(error)
    assert "3-d" in error.stderr and "'cube[0]'" in error.stderr
    assert_one_line_error(run("plot", str(path), "params", cwd=tmp_path))


def test_plot_without_matplotlib_names_the_extra(tmp_path: Path) -> None:
    path = tmp_path / "s.nc"
    _sample(path)
    blocked = "import sys; sys.modules['matplotlib'] = None; from xstore.tools.cli import main; "
    result = subprocess.run(
        [sys.executable, "-c", blocked + f"sys.exit(main(['plot', {str(path)!r}, 'traj/e']))"],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=tmp_path,
    )
    assert_one_line_error(result)
    assert 'pip install "xstore[plot]"' in result.stderr


def test_demo_energy_plot_from_the_readme(tmp_path: Path) -> None:
    require_module("matplotlib", "plot")
    assert run("demo", "--steps", "50", cwd=tmp_path).returncode == 0
    result = run("plot", "demo.nc", "trajectory/potential_energy", "-o", "energy.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "energy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_closed_pipe_ends_quietly(big: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "xstore", "tree", str(big), "--max-items", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # what `| head -1` does
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) != 0
    assert stderr == ""


def test_messages_name_flags_not_python_arguments(tmp_path: Path) -> None:
    path = tmp_path / "p.nc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pickle fallback may warn
        xstore.save({"f": lambda x: x}, path)
    result = run("cat", str(path), "f")
    assert_one_line_error(result)
    assert "--allow-pickle" in result.stderr and "allow_pickle" not in result.stderr
    assert "<function" in run("cat", str(path), "f", "--allow-pickle").stdout
    odd = tmp_path / "store.data"
    result = run("tree", str(odd))
    assert_one_line_error(result)
    assert "--backend netcdf or zarr" in result.stderr and "backend=" not in result.stderr


def test_damaged_stores_give_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.nc"
    _sample(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    for args in (("tree", str(path)), ("cat", str(path), "x"), ("plot", str(path), "x")):
        assert_one_line_error(run(*args, cwd=tmp_path))
    store = tmp_path / "s.zarr"
    xstore.save({"x": np.arange(3)}, store, mode="zarr")
    (store / "x" / "zarr.json").write_text("{not json")
    for args in (("tree", str(store)), ("cat", str(store), "x")):
        assert_one_line_error(run(*args, cwd=tmp_path))
    assert run("check", str(store)).returncode == 3


def test_an_unexpected_error_is_one_line_asking_for_a_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from xstore.tools import cli, tree

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something\nwent wrong")

    path = tmp_path / "s.nc"
    _sample(path)
    monkeypatch.setattr(tree, "describe", broken)
    assert cli.main(["tree", str(path)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "unexpected RuntimeError: something went wrong" in err and "report" in err
    monkeypatch.setenv("XSTORE_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["tree", str(path)])


def test_help_names_no_document_users_lack() -> None:
    for command in ("", "tree", "cat", "plot", "convert", "check", "demo"):
        result = run(*command.split(), "--help")
        assert result.returncode == 0 and "SPEC" not in result.stdout and "§" not in result.stdout
