"""Kill writers at random moments, hundreds of times, and count what they leave.

    python tests/stress/run_crashes.py --kills 100 [--backends netcdf4 h5netcdf zarr zarr-zip]

Three scenarios per backend: ``store`` (a writer that sets, replaces and deletes static
values and appends series in an existing store, killed at a random moment, then
reopened and killed again), ``new`` (a writer killed before or during its first
flush of a new store), ``save`` (``xstore.save`` replacing a file or directory, killed
at random).  Every kill is checked against the writer's log (tests/crashkit.py) and
with plain xarray.  Prints a table of counts and the first problems of each kind.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the tests' kits, the xstore of this checkout
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])

import crashkit  # noqa: E402

import xstore  # noqa: E402
from xstore.tools.check import check  # noqa: E402

FORMATS = {
    "netcdf4": (".nc", {"engine": "netcdf4"}, "hdf5"),
    "h5netcdf": (".nc", {"engine": "h5netcdf"}, "hdf5"),
    "zarr": (".zarr", {}, "zarr"),
    "zarr-zip": (".zip", {}, "zarr"),
}


def plain_problems(path: str, suffix: str) -> list[str]:
    """What plain xarray says about the store (empty: it opens)."""
    import warnings

    import xarray as xr

    warnings.simplefilter("ignore")  # zarr's and xarray's notes on what they read
    if not os.path.exists(path):
        return []
    try:
        if suffix == ".zip":
            import zarr

            tree = xr.open_datatree(zarr.storage.ZipStore(path, mode="r"), engine="zarr")
        elif suffix == ".zarr":
            tree = xr.open_datatree(path, engine="zarr")
        else:
            tree = xr.open_datatree(path, engine="netcdf4")
        tree.load()
        tree.close()
    except Exception as exc:
        return [f"plain xarray: {type(exc).__name__}: {str(exc)[:120]}"]
    return []


def run(
    fmt: str, scenario: str, seed: int, folder: str, max_delay: float
) -> tuple[list[str], bool, bool]:
    """Problems found, whether the writer was killed inside a flush, and whether
    ``xstore check`` reports damage."""
    suffix, options, mode = FORMATS[fmt]
    rng = random.Random(seed)
    path = os.path.join(folder, f"s{seed}{suffix}")
    log = os.path.join(folder, f"s{seed}.log")
    engine = str(options.get("engine", "-"))

    def opener(p: str, m: str) -> xstore.Store:
        return xstore.open(p, m, **options)

    kill = crashkit.kill_during
    if scenario == "save":
        kill(crashkit.write_saves, (path, log, mode, seed), rng.random() * max_delay)
        problems = crashkit.check_saved(path, log, mode)
    elif scenario == "new":  # killed before or around its first flush
        kill(crashkit.write_store, (path, log, engine, seed), rng.random() * 0.15)
        problems = crashkit.check_store(path, log, opener)
    else:  # an existing store: a clean first session, then a writer killed at random
        crashkit.write_store(path, log, engine, seed, stop=3)
        kill(crashkit.write_store, (path, log, engine, seed + 1), rng.random() * max_delay)
        problems = crashkit.check_store(path, log, opener)
    problems += plain_problems(path, suffix)
    expected = crashkit.expected_from_log(log)
    # HDF5 flushes in xstore's flushes, and with netcdf4 whenever netCDF-C leaves define mode
    flushing = expected.in_flush or (engine == "netcdf4" and expected.in_write)
    in_flush = scenario != "save" and flushing
    reported = bool(problems) and bool(check(path)) if os.path.exists(path) else False
    return problems, in_flush, reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100, help="kills per backend and scenario")
    parser.add_argument("--backends", nargs="+", default=list(FORMATS))
    parser.add_argument("--scenarios", nargs="+", default=["store", "new", "save"])
    parser.add_argument("--max-delay", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for fmt in args.backends:
        for scenario in args.scenarios:
            folder = tempfile.mkdtemp(prefix="xstore-crash-")
            kinds: Counter[str] = Counter()
            examples: dict[str, str] = {}
            counts = Counter()
            for i in range(args.kills):
                problems, in_flush, reported = run(
                    fmt, scenario, args.seed * 100_000 + i, folder, args.max_delay
                )
                if not problems:
                    counts["ok"] += 1
                    continue
                counts["in flush" if in_flush else "outside"] += 1
                counts["reported"] += reported
                for problem in problems:
                    kind = ("[in flush] " if in_flush else "") + problem.split(":")[0]
                    kinds[kind] += 1
                    examples.setdefault(kind, problem)
            shutil.rmtree(folder, ignore_errors=True)
            rows.append((fmt, scenario, args.kills, counts))
            print(f"{fmt:9} {scenario:6} kills {args.kills:4}  {dict(counts)}")
            for kind, example in examples.items():
                print(f"    {kinds[kind]:4} x {example[:160]}")
            sys.stdout.flush()
    print(
        "\n| backend | scenario | kills | intact | damaged, killed inside a flush "
        "| damaged, killed elsewhere | damage reported by `xstore check` |"
    )
    print("|---|---|---|---|---|---|---|")
    for fmt, scenario, kills, c in rows:
        print(
            f"| {fmt} | {scenario} | {kills} | {c['ok']} | {c['in flush']} | {c['outside']} "
            f"| {c['reported']} of {c['in flush'] + c['outside']} |"
        )


if __name__ == "__main__":
    main()
