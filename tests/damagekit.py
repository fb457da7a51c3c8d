"""Damaged copies of realistic stores, and what loading them gives (used by
tests/test_damage.py and tests/stress/run_damage.py).

A *variant* is a seeded way of damaging a saved store: truncation, flipped bits,
zeroed blocks, broken JSON, a missing or wrong-sized chunk, a deleted file.  Each
variant is loaded in a child process (``python damagekit.py PATH MODE``) with a time
limit and a memory limit; the child prints one word: ``same`` (equal to the
original, types included), ``different``, ``storeerror`` or ``other <type>: <message>``.
"""

from __future__ import annotations

import dataclasses
import os
import random
import select
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

#: memory a loader may use beyond the original's size (MiB) before it counts as a blow-up
MEMORY_LIMIT_MB = 1500
TIME_LIMIT = 60


@dataclasses.dataclass
class Settings:
    """A dataclass in the store (restored by importing this module, which is imported)."""

    temperature: float
    labels: list[str]


def original() -> dict[str, Any]:
    """What every damaged store started as (the same each time)."""
    rng = np.random.default_rng(7)
    return {
        "params": {"T": 300.0, "steps": 1000, "name": "run 1", "flags": [True, False]},
        "positions": rng.random((200, 3)),
        "ints": np.arange(5000, dtype=np.int32),
        "labels": np.array(["alpha", "beta", "gamma"]),
        "text": "hello " * 50,
        "blob": bytes(range(256)) * 4,
        "settings": Settings(310.0, ["a", "b"]),
        "dataset": xr.Dataset(
            {"v": (("x", "y"), rng.random((20, 30)))}, coords={"x": np.arange(20)}
        ),
        "energy": rng.random(3000),
    }


def write(path: str, mode: str) -> None:
    """Save the original, plus an appended series for the store modes."""
    import xstore

    data = original()
    xstore.save(data, path, mode=mode)
    if mode in ("hdf5", "zarr"):
        with xstore.open(path, "a") as store:
            for i in range(500):
                store.append("traj/t", float(i), record_dim="frame")
                store.append("traj/x", np.full(3, i, dtype=np.float32), record_dim="frame")


def expected(mode: str) -> dict[str, Any]:
    data = original()
    if mode in ("hdf5", "zarr"):
        data["traj"] = {
            "t": np.arange(500.0),
            "x": np.repeat(np.arange(500, dtype=np.float32)[:, None], 3, axis=1),
        }
    return data


# -- damage ----------------------------------------------------------------------------------


def _files(path: str) -> list[str]:
    if os.path.isdir(path):
        return sorted(str(p) for p in Path(path).rglob("*") if p.is_file())
    return [path]


def damage(path: str, seed: int) -> str:
    """Damage the store at ``path`` in place; returns what was done."""
    rng = random.Random(seed)
    files = _files(path)
    target = rng.choice(files)
    size = os.path.getsize(target)
    kind = rng.choice(
        ["truncate", "flip", "flip", "zero", "zero2", "json", "delete", "grow"]
        if os.path.isdir(path)
        else ["truncate", "flip", "flip", "flip", "zero", "zero2"]
    )
    data = bytearray(Path(target).read_bytes())
    name = os.path.relpath(target, path) if os.path.isdir(path) else os.path.basename(path)
    if kind == "truncate":
        cut = rng.randrange(size) if size else 0
        del data[cut:]
        what = f"truncate {name} at {cut} of {size}"
    elif kind == "flip":
        spots = [rng.randrange(size) for _ in range(rng.randint(1, 8))] if size else []
        for spot in spots:
            data[spot] ^= 1 << rng.randrange(8)
        what = f"flip {len(spots)} bit(s) of {name}"
    elif kind in ("zero", "zero2"):
        for _ in range(1 if kind == "zero" else 2):
            if size:
                start = rng.randrange(0, max(1, size), 4096) if size > 4096 else 0
                data[start : start + 4096] = bytes(len(data[start : start + 4096]))
        what = f"zero {kind[-1] if kind == 'zero2' else 1} 4 KiB block(s) of {name}"
    elif kind == "json":
        zarr_json = [f for f in files if f.endswith("zarr.json")]
        target = rng.choice(zarr_json)
        data = bytearray(Path(target).read_bytes())
        spot = rng.randrange(len(data))
        data[spot : spot + 1] = rng.choice([b"", b"}", b'"', b"9" * 20, b"\xff"])
        what = f"break the JSON of {os.path.relpath(target, path)}"
    elif kind == "delete":
        os.remove(target)
        return f"delete {name}"
    else:  # grow: a wrong-sized chunk or metadata file
        data += bytes(rng.randint(1, 64))
        what = f"append bytes to {name}"
    Path(target).write_bytes(bytes(data))
    return what


# -- loading (in a child process) -------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, xr.Dataset):
        return a.identical(b)
    if isinstance(a, Settings):
        return a == b
    return bool(a == b)


def load_and_judge(path: str, mode: str) -> str:
    """``same``/``different``/``storeerror``/``other ...``; for stores, ``xstore check``
    must also report the damage that made loading fail (else ``check-missed``) and
    must never raise itself (else ``check-raised``)."""
    import xstore

    try:
        loaded = xstore.load(path)
    except xstore.StoreError:
        verdict = "storeerror"
    except Exception as exc:
        return f"other {type(exc).__name__}: {str(exc)[:200]}"
    else:
        verdict = "same" if same(expected(mode), loaded) else "different"
    if mode in ("hdf5", "zarr"):
        from xstore.tools.check import check

        try:
            problems = check(path)
        except Exception as exc:
            return f"check-raised {type(exc).__name__}: {str(exc)[:200]}"
        if verdict == "storeerror" and not problems:
            return "check-missed"
    return verdict


def judge_in_child(path: str, mode: str, memory_mb: int = MEMORY_LIMIT_MB) -> str:
    """The verdict on loading ``path``, from a child process: also ``hang`` (over the
    time limit), ``memory`` (over the memory limit) or ``crash <signal>``."""
    code = (
        "import resource, sys; sys.path.insert(0, sys.argv[3]); "
        "limit = int(sys.argv[4]) * 2**20; "
        "resource.setrlimit(resource.RLIMIT_AS, (limit, limit)); "
        "import damagekit; "
        "v = damagekit.load_and_judge(sys.argv[1], sys.argv[2]); print(v)"
    )
    here = str(Path(__file__).resolve().parent)
    try:
        result = subprocess.run(
            [sys.executable, "-c", code, path, mode, here, str(memory_mb)],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
        )
    except subprocess.TimeoutExpired:
        return "hang"
    if result.returncode < 0:
        return f"crash {-result.returncode}"
    lines = result.stdout.strip().splitlines()
    if not lines:
        if "MemoryError" in result.stderr:
            return "memory"
        return f"other (no verdict): {result.stderr.strip()[-300:]}"
    verdict = lines[-1]
    return "memory" if verdict.startswith("other MemoryError") else verdict


def copy_and_damage(folder: str, suffix: str, seed: int, pristine: str) -> tuple[str, str]:
    """A copy of ``pristine`` damaged with ``seed``: (its path, what was done)."""
    path = os.path.join(folder, f"d{seed}{suffix}")
    if os.path.isdir(pristine):
        shutil.copytree(pristine, path)
    else:
        shutil.copy(pristine, path)
    return path, damage(path, seed)


def remove(path: str) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def variant(folder: str, mode: str, suffix: str, seed: int, pristine: str) -> tuple[str, str]:
    """Damage a copy of ``pristine`` with ``seed``: (what was done, verdict)."""
    path, what = copy_and_damage(folder, suffix, seed, pristine)
    verdict = judge_in_child(path, mode)
    remove(path)
    return what, verdict


class BatchJudge:
    """Judges many stores in one child process (imports paid once), each with its own
    time limit: a hang or a crash costs that store its verdict and the child a
    restart, never the other stores theirs."""

    def __init__(self, mode: str, memory_mb: int = MEMORY_LIMIT_MB, timeout: float = 30) -> None:
        self.mode, self.memory_mb, self.timeout = mode, memory_mb, timeout
        self.child: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        code = (
            "import resource, sys; sys.path.insert(0, sys.argv[2]); "
            "limit = int(sys.argv[3]) * 2**20; "
            "resource.setrlimit(resource.RLIMIT_AS, (limit, limit)); "
            "import damagekit; damagekit.serve(sys.argv[1])"
        )
        here = str(Path(__file__).resolve().parent)
        return subprocess.Popen(
            [sys.executable, "-c", code, self.mode, here, str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def judge(self, path: str) -> str:
        if self.child is None:
            self.child = self._start()
        child = self.child
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(path + "\n")
            child.stdin.flush()
        except BrokenPipeError:
            return self._lost("crash (child gone)")
        ready, _, _ = select.select([child.stdout], [], [], self.timeout)
        if not ready:
            return self._lost("hang")
        line = child.stdout.readline()
        if not line:
            child.wait()
            return self._lost(f"crash {-child.returncode if child.returncode else '?'}")
        verdict = line.strip()
        return "memory" if verdict.startswith("other MemoryError") else verdict

    def _lost(self, verdict: str) -> str:
        self.close()
        return verdict

    def close(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child.wait()
            self.child = None


def serve(mode: str) -> None:
    """The child of :class:`BatchJudge`: one path per line in, one verdict per line out."""
    for line in sys.stdin:
        print(load_and_judge(line.rstrip("\n"), mode), flush=True)


if __name__ == "__main__":
    print(load_and_judge(sys.argv[1], sys.argv[2]))
