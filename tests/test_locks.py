"""One writer per store (two processes, one process, threads): the second writer gets
StoreLockedError naming the holder, and nothing at the path changes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator

import fsspec
import numpy as np
import pytest
from conftest import Case
from helpers import assert_identical

import xstore
from xstore.backends.locks import LEASE_SUFFIX, lock_path

HOLDER = textwrap.dedent(
    """
    import sys, xstore
    path, engine = sys.argv[1], sys.argv[2]
    options = {"engine": engine} if engine != "-" else {}
    with xstore.open(path, "a", **options) as store:
        store["who"] = "holder"
        for i in range(100):
            store.append("x", float(i))
        store.flush()
        print("ready", flush=True)
        sys.stdin.readline()  # hold the store until told to go on
        for i in range(100, 200):
            store.append("x", float(i))
    print("closed", flush=True)
    """
)


def _engine(case: Case) -> str:
    return str(case.options.get("engine", "-"))


@pytest.fixture
def held(case: Case) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A store held open for writing by another process (which flushed 100 records)."""
    path = case.path()
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, path, _engine(case)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    yield path, child
    if child.poll() is None:
        child.kill()
        child.wait()


def _release(child: subprocess.Popen[str]) -> None:
    out, _ = child.communicate("go\n", timeout=60)
    assert child.returncode == 0 and out.strip() == "closed"


def _snapshot(path: str) -> list[tuple[str, int, float]]:
    """Names, sizes and modification times of everything at the store's path."""
    if os.path.isdir(path):
        return sorted(
            (os.path.relpath(os.path.join(root, f), path), *_stat(os.path.join(root, f)))
            for root, _, names in os.walk(path)
            for f in names
        )
    return [(".", *_stat(path))]


def _stat(path: str) -> tuple[int, float]:
    info = os.stat(path)
    return info.st_size, info.st_mtime


def test_a_second_process_cannot_write_a_held_store(
    case: Case, held: tuple[str, subprocess.Popen[str]]
) -> None:
    path, child = held
    before = _snapshot(path)
    for mode in ("a", "r+", "w", "w-"):
        with pytest.raises(xstore.StoreLockedError) as caught:
            case.open(path, mode)
        message = str(caught.value)
        assert path in message and f"pid {child.pid}" in message and "since" in message
        assert isinstance(caught.value, xstore.StoreError)
    with pytest.raises(xstore.StoreLockedError):
        case.save({"other": 1}, path)
    assert _snapshot(path) == before  # "w" and save truncated nothing, changed nothing
    _release(child)
    with case.open(path, "r") as store:  # the holder's work is whole
        assert store["who"] == "holder"
        assert_identical(np.arange(200.0), store["x"])


def test_a_second_open_in_the_same_process_is_refused(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        store["a"] = 1
        store.flush()
        for mode in ("a", "r+", "w", "w-"):
            with pytest.raises(xstore.StoreLockedError, match="this process"):
                case.open(path, mode)
        with pytest.raises(xstore.StoreLockedError):
            case.save({"b": 2}, path)
        with pytest.raises(xstore.StoreLockedError):
            case.interface(path, "w")
        store["c"] = 3
    with case.open(path, "r") as store:
        assert dict(store) == {"a": 1, "c": 3}
    with case.open(path, "a") as store:  # released at close
        store["d"] = 4


def test_a_killed_writer_does_not_block_the_next(
    case: Case, held: tuple[str, subprocess.Popen[str]]
) -> None:
    path, child = held
    child.send_signal(signal.SIGKILL)
    child.wait()
    with case.open(path, "a") as store:
        assert_identical(np.arange(100.0), store["x"])
        store.append("x", 100.0)


def test_readers_take_no_lock(zarr_case: Case) -> None:
    path = zarr_case.path()
    with zarr_case.open(path, "w") as writer:
        writer["a"] = 1
        writer.flush()
        with zarr_case.open(path, "r") as reader:  # while the writer holds the store
            assert reader["a"] == 1
        writer["b"] = 2


def test_the_lock_file_is_beside_the_store_and_gone_after_close(case: Case) -> None:
    path = case.path()
    with case.open(path, "w"):
        assert os.path.exists(lock_path(path))
    assert not os.path.exists(lock_path(path))


# -- URL stores: a lease ------------------------------------------------------------------


@pytest.fixture
def memory_url() -> Iterator[str]:
    url = f"memory://xstore-lock-{uuid.uuid4().hex}/run.zarr"
    yield url
    fs = fsspec.filesystem("memory")
    root = url[len("memory://") :].split("/")[0]
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_url_stores_take_a_lease(memory_url: str) -> None:
    with xstore.open(memory_url, "w") as store:
        store["a"] = 1
        with pytest.raises(xstore.StoreLockedError, match="this process"):
            xstore.open(memory_url, "a")
        with pytest.raises(xstore.StoreLockedError):
            xstore.save({"b": 2}, memory_url, mode="zarr")
    assert xstore.load(memory_url) == {"a": 1}
    fs = fsspec.filesystem("memory")
    assert not fs.exists(memory_url[len("memory://") :] + LEASE_SUFFIX)  # released


def test_an_expired_lease_is_taken_over(memory_url: str) -> None:
    fs = fsspec.filesystem("memory")
    lease = memory_url[len("memory://") :] + LEASE_SUFFIX
    dead = '{"pid": 1, "host": "elsewhere", "since": "then", "token": "x", "expires": 0}'
    fs.pipe_file(lease, dead.encode())
    with xstore.open(memory_url, "w") as store:  # the holder died long ago
        store["a"] = 1
    fresh = dead.replace('"expires": 0', f'"expires": {time.time() + 600}')
    fs.pipe_file(lease, fresh.encode())
    with pytest.raises(xstore.StoreLockedError, match="elsewhere"):
        xstore.open(memory_url, "a")


def test_a_lease_is_renewed_while_the_store_is_open(memory_url: str) -> None:
    fs = fsspec.filesystem("memory")
    lease = memory_url[len("memory://") :] + LEASE_SUFFIX
    with xstore.open(memory_url, "w", lease_seconds=0.3) as store:
        first = fs.cat_file(lease)
        time.sleep(0.5)  # longer than the lease: renewal kept it alive
        assert fs.cat_file(lease) != first
        with pytest.raises(xstore.StoreLockedError):
            xstore.open(memory_url, "a")
        store["a"] = 1


# -- threads sharing one store ------------------------------------------------------------

THREADS = textwrap.dedent(
    """
    import sys, threading, numpy as np, xstore
    path, engine = sys.argv[1], sys.argv[2]
    options = {"engine": engine} if engine != "-" else {}
    n_threads, n = 8, 300
    errors = []
    with xstore.open(path, "w", buffer_records=64, **options) as store:
        def work(k):
            try:
                group = store.create_group(f"t{k}")
                for i in range(n):
                    group.append("x", float(i))
                    store.append("shared", float(k * n + i))
                    group.attrs["last"] = i
                    if i % 100 == 0:
                        group[f"v{i}"] = np.full(3, i)
                        store.flush()
                        assert len(store[f"t{k}/x"]) == i + 1
                        store.to_dataset()
            except Exception as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
        for t in threads: t.start()
        for t in threads: t.join()
    assert not errors, errors
    with xstore.open(path, "r") as store:
        for k in range(n_threads):
            assert store[f"t{k}/x"].tolist() == [float(i) for i in range(n)]
            assert store[f"t{k}"].attrs["last"] == n - 1
            assert len([key for key in store[f"t{k}"] if key.startswith("v")]) == n // 100
        shared = sorted(store["shared"].tolist())
        assert shared == [float(i) for i in range(n_threads * n)], "records lost"
    print("ok")
    """
)


def test_threads_sharing_one_store_take_turns(case: Case) -> None:
    """Run in a subprocess: an interpreter crash must fail the test, not end the suite."""
    result = subprocess.run(
        [sys.executable, "-c", THREADS, case.path(), _engine(case)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.strip() == "ok"


def test_threads_with_their_own_stores(netcdf_case: Case) -> None:
    """netCDF-C is not thread-safe even across files: stores of one process take turns."""
    paths = [netcdf_case.path() for _ in range(4)]
    errors: list[BaseException] = []

    def work(path: str) -> None:
        try:
            with netcdf_case.open(path, "w", buffer_records=16) as store:
                for i in range(400):
                    store.append("x", float(i))
                    if i % 100 == 0:
                        store[f"v{i}"] = np.arange(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for path in paths:
        assert xstore.load(path)["x"].tolist() == [float(i) for i in range(400)]
