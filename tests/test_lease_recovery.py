"""The writer lease of a URL store after its writer died or lost the network (SPEC §8, §10).

A lease held by a live writer is refused with a message saying when it expires; a
lease whose holder is known to be dead is taken over at once: one of this process
whose store was closed (or whose renewer failed), one of this host whose pid no
longer runs.  The risky parts (a writer killed with SIGKILL) run in a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pytest
from conftest import require_module
from s3server import S3, S3Server, race_for_lease, s3_store

import xstore
from xstore.backends.address import Address
from xstore.backends.lease import LEASE_SUFFIX, Lease, _FileIO

pytestmark = pytest.mark.usefixtures("dead_default_endpoint")

FAIL_FAST = {"retries": {"max_attempts": 1}, "connect_timeout": 1, "read_timeout": 5}

HOLDER = """
import sys, json, time, xstore
url, options = sys.argv[1], json.loads(sys.argv[2])
store = xstore.open(url, "w", storage_options=options)
store["a"] = 1
store.flush()
print("held", flush=True)
time.sleep(600)
"""


def _lease_io(s3: S3) -> _FileIO:
    return _FileIO(s3.fs(), s3.url[len("s3://") :] + LEASE_SUFFIX)


def _plant(s3: S3, **holder: Any) -> None:
    """A lease object at the store, as a writer described by ``holder`` left it."""
    content = {"since": "2026-01-01T00:00:00Z", "token": "t" * 32, **holder}
    content.setdefault("expires", time.time() + 600)
    assert _lease_io(s3).create(json.dumps(content).encode())


def _gone_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# -- what the next writer is told --------------------------------------------------------------


def test_a_held_lease_says_when_it_expires(s3: S3) -> None:
    with xstore.open(s3.url, "w", storage_options=s3.options) as store:
        store["a"] = 1
        with pytest.raises(xstore.StoreLockedError) as caught:
            xstore.open(s3.url, "a", storage_options=s3.options)
    message = str(caught.value)
    assert "another open store of this process" in message  # it was open: true
    assert "expires at 20" in message and " UTC (in " in message and " s)" in message
    assert "releases it at once" not in message  # only of local OS locks


def test_a_local_lock_still_says_a_killed_writer_releases_it(tmp_path: Any) -> None:
    path = str(tmp_path / "run.zarr")
    with xstore.open(path, "w"), pytest.raises(xstore.StoreLockedError) as caught:
        xstore.open(path, "a")
    assert "a writer that was killed releases it at once" in str(caught.value)
    assert "expires" not in str(caught.value)


# -- this process: a store that lost the network -------------------------------------------------


def test_this_process_reopens_at_once_after_a_network_failure() -> None:
    require_module("s3fs", "test")
    server = S3Server()
    try:
        s3 = s3_store(server, config_kwargs=FAIL_FAST)
        store = xstore.open(s3.url, "w", storage_options=s3.options)  # a 60 s lease
        store.extend("x", np.arange(10.0))
        store.flush()
        server.stop()
        store.append("x", 1.0)
        with pytest.raises(xstore.StoreError):
            store.flush()
        with pytest.raises(xstore.StoreError):
            store.close()  # could not delete its lease: it stays on the server
    finally:
        server.stop()
    again = S3Server()  # moto keeps its buckets in this process: the same store
    try:
        options = {**s3.options, "endpoint_url": again.endpoint}
        assert _lease_io(S3(again, s3.url, options)).read() is not None  # left behind
        with xstore.open(s3.url, "a", storage_options=options) as reopened:  # not 60 s later
            assert reopened["x"].tolist() == list(range(10))
    finally:
        again.stop()


def test_a_lease_whose_renewal_failed_is_taken_over_in_this_process(s3: S3) -> None:
    address = Address(s3.url, s3.options)
    first = Lease(address, lease_seconds=600)
    with pytest.raises(xstore.StoreLockedError):
        Lease(address, lease_seconds=600)  # renewed: live
    first.failing = True  # what its renewer records when the network fails
    second = Lease(address, lease_seconds=600)
    assert json.loads(_lease_io(s3).read() or b"")["token"] == second._token
    first.release()  # not its lease any more: left alone
    assert json.loads(_lease_io(s3).read() or b"")["token"] == second._token
    second.release()
    assert _lease_io(s3).read() is None


# -- this host: a writer whose process is gone -----------------------------------------------


def test_a_killed_writer_of_this_host_is_taken_over_at_once(s3: S3) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, s3.url, json.dumps(s3.options)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        with pytest.raises(xstore.StoreLockedError) as caught:  # it runs: refused
            xstore.open(s3.url, "a", storage_options=s3.options)
        assert f"pid {child.pid} on host {socket.gethostname()}" in str(caught.value)
        assert "expires at" in str(caught.value)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    with xstore.open(s3.url, "a", storage_options=s3.options) as store:  # not 60 s later
        assert store["a"] == 1
    assert not [key for key in s3.bucket_keys() if "claim" in key]  # no claim left


def test_a_lease_of_another_host_is_refused_until_it_expires(s3: S3) -> None:
    _plant(s3, pid=_gone_pid(), host="elsewhere.example")  # its pid means nothing here
    with pytest.raises(xstore.StoreLockedError, match=r"on host elsewhere\.example"):
        xstore.open(s3.url, "a", storage_options=s3.options)


def test_two_reclaimers_of_a_dead_lease_one_wins(s3: S3) -> None:
    _plant(s3, pid=_gone_pid(), host=socket.gethostname())
    won, lost = race_for_lease(Address(s3.url, s3.options), lease_seconds=600)
    assert len(won) == 1 and len(lost) == 5
    assert json.loads(_lease_io(s3).read() or b"")["token"] == won[0]._token
    won[0].release()
