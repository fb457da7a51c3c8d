"""Writers to SIGKILL and the checks of what they leave (used by tests/test_crash.py and
tests/stress/run_crashes.py).

``python crashkit.py store PATH LOG ENGINE SEED`` sets, replaces and deletes static
values (arrays, nested dicts, strings) and appends to series, flushing now and then.
Before every change it appends a line to LOG (``set KEY VERSION``, ``del KEY``,
``append N``); after every completed flush it appends ``flushed``.  Every value is a
function of its key and version, so a checker can tell an old value from a newer
complete one, and both from garbage.

``python crashkit.py save PATH LOG MODE SEED`` saves two documents in turn over the same
path (``save VERSION`` before each, ``saved VERSION`` after).
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KEYS = [f"k{i}" for i in range(6)]


def value_of(key: str, version: int) -> Any:
    """The value ``key`` holds at ``version`` (several kinds, sizes up to ~1 MB, and
    dicts of hundreds of small arrays)."""
    rng = random.Random(f"{key}:{version}")
    kind = version % 5
    if kind == 4:  # many small arrays: written in bulk (netCDF) or as one batch (zarr)
        return {f"p{i}": np.full(3, float(version + i)) for i in range(300)}
    if kind == 0:
        return np.full(rng.choice([1, 7, 1000, 130_000]), float(version))
    if kind == 1:
        return {
            "a": version,
            "b": np.arange(rng.randint(0, 50), dtype=np.int32) + version,
            "c": {"d": f"v{version}", "e": [version, "x", None]},
            "f": float(version),
        }
    if kind == 2:
        return f"text {version} " * rng.randint(1, 200)
    return np.full((rng.randint(1, 30), 3), version, dtype=np.float32)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


class _Log:
    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def __call__(self, line: str) -> None:
        os.write(self._fd, (line + "\n").encode())  # survives a SIGKILL (page cache)


def write_store(
    path: str, log_path: str, engine: str, seed: int, stop: int = 0, flushes_per: float = 0.3
) -> None:
    """Change the store at random until killed (or, with ``stop``, until that many
    flushes, then close cleanly); after each change it flushes with the chance
    ``flushes_per``."""
    import xstore

    rng = random.Random(seed)
    flushes = 0
    log = _Log(log_path)
    options = {} if engine == "-" else {"engine": engine}
    version = 0
    log("open")
    with xstore.open(path, "a", flush_interval=None, buffer_records=64, **options) as store:
        log("opened")
        n = store_len(store)
        while True:
            version += 1
            key = rng.choice(KEYS)
            action = rng.random()
            if action < 0.1 and key in store:
                log(f"del {key}")
                del store[key]
            elif action < 0.2 and key in store and isinstance(store[key], dict):
                log(f"set {key}/f {version}")  # one entry of a stored dict, by path
                store[f"{key}/f"] = float(version)
            else:
                log(f"set {key} {version}")
                store[key] = value_of(key, version)
            for _ in range(rng.randint(1, 20)):
                log("append")
                store.append("series/x", float(n), record_dim="frame")
                store.append("series/y", np.full(4, n, dtype=np.int16), record_dim="frame")
                n += 1
            if rng.random() < flushes_per:
                log("flush")
                store.flush()
                log("flushed")
                flushes += 1
                if flushes == stop:
                    break
    log("flushed")  # closed cleanly: close flushed everything
    log("closed")


def store_len(store: Any) -> int:
    return len(store["series/x"]) if "series" in store and "x" in store["series"] else 0


def write_saves(path: str, log_path: str, mode: str, seed: int) -> None:
    import xstore

    log = _Log(log_path)
    version = seed * 1000
    while True:
        version += 1
        log(f"save {version}")
        xstore.save(document(version), path, mode=mode)
        log(f"saved {version}")


def document(version: int) -> dict[str, Any]:
    return {"version": version, "data": {k: value_of(k, version) for k in KEYS[:3]}}


# -- checking ---------------------------------------------------------------------------------


@dataclass
class Expected:
    """What a store may hold after its writer was killed, from the writer's log."""

    flushed_values: dict[str, Any] = field(default_factory=dict)  # key -> value (absent: no key)
    newer: dict[str, list[Any]] = field(default_factory=dict)  # complete values written later
    flushed_records: int = 0
    appended: int = 0
    ever_flushed: bool = False
    in_flush: bool = False  # killed inside a flush (or inside the close's flush)
    in_write: bool = False  # killed inside a set, delete or append (or a flush)


_ABSENT = object()


def expected_from_log(log_path: str) -> Expected:
    state: dict[str, Any] = {}
    out = Expected()
    after: dict[str, list[Any]] = {}
    appended = 0
    for line in _log_lines(log_path):
        word, *rest = line.split()
        out.in_write = word in ("set", "del", "append", "flush", "open")
        if word == "set":
            key, version = rest[0], int(rest[1])
            top, _, entry = key.partition("/")
            if entry:
                new = dict(state[top])
                new[entry] = float(version)
                state[top] = new
                after.setdefault(top, []).append(new)
            else:
                state[key] = value_of(key, version)
                after.setdefault(key, []).append(state[key])
        elif word == "del":
            state.pop(rest[0], None)
            after.setdefault(rest[0], []).append(_ABSENT)
        elif word == "append":
            appended += 1
        elif word in ("flush", "open"):
            out.in_flush = True  # opening a store writes to it too
        elif word == "opened":
            out.in_flush = False
        elif word == "flushed":
            out.in_flush = False
            out.flushed_values = dict(state)
            out.flushed_records = appended
            out.ever_flushed = True
            after = {}
    out.newer = after
    out.appended = appended
    return out


def _log_lines(log_path: str) -> list[str]:
    try:
        with open(log_path) as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        return []  # killed before it wrote anything


def check_store(path: str, log_path: str, open_store: Callable[..., Any]) -> list[str]:
    """What is wrong with the store a killed writer left (empty: all is well)."""
    expected = expected_from_log(log_path)
    problems: list[str] = []
    if not os.path.exists(path):
        if expected.ever_flushed:
            problems.append("the store is gone although a flush had completed")
        return problems
    try:
        store = open_store(path, "r")
    except Exception as exc:
        return [f"cannot open: {type(exc).__name__}: {exc}"]
    with store:
        for key in KEYS:
            allowed = [expected.flushed_values.get(key, _ABSENT), *expected.newer.get(key, [])]
            try:
                got = store.get(key, _ABSENT)
            except Exception as exc:
                problems.append(f"{key}: {type(exc).__name__}: {exc}")
                continue
            if not any(same(a, got) if a is not _ABSENT else got is _ABSENT for a in allowed):
                shown = "absent" if got is _ABSENT else repr(got)[:80]
                problems.append(f"{key}: {shown} is neither the flushed value nor a newer one")
        try:
            n = store_len(store)
            x = store["series/x"] if n else np.zeros(0)
            y = store["series/y"] if n else np.zeros((0, 4))
        except Exception as exc:
            return [*problems, f"series: {type(exc).__name__}: {exc}"]
        if n < expected.flushed_records or n > expected.appended:
            problems.append(f"series holds {n} records; flushed {expected.flushed_records}")
        if len(y) != n or not np.array_equal(x, np.arange(n)) or not np.all(np.arange(n) == y.T):
            problems.append("series are not equal-length prefixes of what was appended")
    return problems


def check_saved(path: str, log_path: str, mode: str) -> list[str]:
    import xstore

    versions = []
    for line in _log_lines(log_path):
        word, version = line.split()
        versions.append((word, int(version)))
    done = [v for w, v in versions if w == "saved"]
    allowed = set(done[-1:]) | {v for w, v in versions[-1:] if w == "save"}
    if not os.path.exists(path):
        return ["nothing at the path"] if done else []
    try:
        loaded = xstore.load(path, mode=mode)
    except Exception as exc:
        return [f"cannot load: {type(exc).__name__}: {exc}"]
    if not any(same(document(v), loaded) for v in allowed):
        return [f"holds version {loaded.get('version')!r}, expected one of {sorted(allowed)}"]
    return []


# -- killing ----------------------------------------------------------------------------------

_CONTEXT: Any = None


def _context() -> Any:
    """A forkserver that imported xstore once: writers start in milliseconds."""
    global _CONTEXT
    if _CONTEXT is None:
        import multiprocessing

        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["xstore", "crashkit"])
    return _CONTEXT


def kill_during(target: Callable[..., None], args: tuple[Any, ...], delay: float) -> None:
    """Run ``target(*args)`` in a child process; once it has written a line to its log
    (``args[1]``), wait ``delay`` seconds and SIGKILL it."""
    log = args[1]
    start = os.path.getsize(log) if os.path.exists(log) else 0
    child = _context().Process(target=target, args=args, daemon=True)
    child.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.is_alive():
        if os.path.exists(log) and os.path.getsize(log) > start:
            break
        time.sleep(0.002)
    time.sleep(delay)
    child.kill()
    child.join()


if __name__ == "__main__":
    command, target, log_file, how, seed_text = sys.argv[1:6]
    if command == "store":
        write_store(target, log_file, how, int(seed_text), int(sys.argv[6]) if sys.argv[6:] else 0)
    else:
        write_saves(target, log_file, how, int(seed_text))
