"""A corruption fuzz: damaged copies of realistic stores, each loaded in a child process.

    python tests/stress/run_damage.py --variants 100 [--modes hdf5 zarr zarr-zip json]

For each mode a realistic store is saved (nested dict, arrays, strings, a dataclass,
an xarray Dataset, an appended series), copied and damaged ``--variants`` times
(tests/damagekit.py) and loaded.  Prints a table in the issue's form: same as the
original / silently wrong / StoreError / other exception / hang / memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the tests' kits, the xstore of this checkout
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])

import damagekit  # noqa: E402

MODES = {"hdf5": ("hdf5", ".nc"), "zarr": ("zarr", ".zarr"), "zarr-zip": ("zarr", ".zip"),
         "json": ("json", ".json")}  # fmt: skip
COLUMNS = ["same", "different", "storeerror", "other", "hang", "memory", "crash",
           "check-missed", "check-raised"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--modes", nargs="+", default=list(MODES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table = []
    for name in args.modes:
        mode, suffix = MODES[name]
        folder = tempfile.mkdtemp(prefix="xstore-damage-")
        pristine = f"{folder}/pristine{suffix}"
        damagekit.write(pristine, mode)
        counts: Counter[str] = Counter()
        examples: dict[str, list[str]] = {}
        judge = damagekit.BatchJudge(mode)
        for i in range(args.variants):
            path, what = damagekit.copy_and_damage(folder, suffix, args.seed * 10**6 + i, pristine)
            verdict = judge.judge(path)
            damagekit.remove(path)
            kind = verdict.split()[0]
            counts[kind] += 1
            if kind not in ("same", "storeerror"):
                examples.setdefault(kind, []).append(f"{what}: {verdict}")
        judge.close()
        table.append((name, counts))
        print(name, dict(counts))
        for kind, lines in examples.items():
            for line in lines[:6]:
                print(f"   {kind}: {line[:220]}")
        sys.stdout.flush()
    print(
        "\n| backend | variants | same as original | silently wrong | StoreError "
        "| other exception | hang | MemoryError | crash | check said ok | check raised |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, c in table:
        total = sum(c.values())
        cells = " | ".join(str(c[k]) for k in COLUMNS)
        print(f"| {name} | {total} | {cells} |")


if __name__ == "__main__":
    main()
