"""Stores on object storage (SPEC §10), against an S3-compatible server on loopback.

Every test here runs with the environment's default S3 endpoint set to a dead
loopback port and fake credentials (``s3server.dead_endpoint_env``): only what is
passed through ``storage_options`` (or a store object) reaches the test server, and
anything that ignores them fails at once instead of leaving the machine.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
import xarray as xr
import zarr
from conftest import require_module
from s3server import S3, S3Server, race_for_lease, s3_store

import xstore
from xstore.backends.address import Address
from xstore.backends.lease import LEASE_SUFFIX, _FileIO
from xstore.backends.zarr import replace
from xstore.backends.zarr.prefix import PrefixStore
from xstore.faces.api import write_tree
from xstore.tools.check import check

pytestmark = pytest.mark.usefixtures("dead_default_endpoint")


# -- storage_options everywhere ----------------------------------------------------------------


def test_storage_options_reach_every_access(s3: S3) -> None:
    data = {"params": {"T": 300.0}, "x": np.arange(5.0)}
    xstore.save(data, s3.url, mode="zarr", storage_options=s3.options)
    loaded = xstore.load(s3.url, storage_options=s3.options)
    assert loaded["params"] == {"T": 300.0} and loaded["x"].tolist() == list(range(5))
    with pytest.raises(FileExistsError):  # the existence check went to the server
        xstore.open(s3.url, "w-", storage_options=s3.options)
    with xstore.open(s3.url, "a", storage_options=s3.options) as store:
        store.append("energy", -1.5)
    driver = xstore.ZarrIODriver(s3.url, storage_options=s3.options)  # None: 'a' as it exists
    assert driver.access_mode == "a"
    xstore.StorageInterface(driver).energy.append(-1.6)
    driver.close()
    with xstore.open(s3.url, "r", storage_options=s3.options) as store:
        assert store["energy"].tolist() == [-1.5, -1.6]
    plain = xr.open_datatree(s3.url, engine="zarr", storage_options=s3.options)
    assert plain["energy"].values.tolist() == [-1.5, -1.6]


def test_without_its_options_a_url_fails_fast_with_a_store_error(s3: S3) -> None:
    xstore.save({"a": 1}, s3.url, mode="zarr", storage_options=s3.options)
    with pytest.raises(xstore.StoreError, match=s3.url):  # the dead default endpoint
        xstore.load(s3.url)


def test_storage_options_apply_to_urls_only(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="storage_options"):
        xstore.open(str(tmp_path / "a.zarr"), storage_options={"anon": True})
    with pytest.raises(ValueError, match="local files"):
        xstore.open("s3://bucket/run.nc", storage_options={"anon": True})


def test_mode_w_never_empties_a_prefix_that_is_no_store(s3: S3) -> None:
    notes = s3.url[len("s3://") :] + "/notes.txt"
    s3.fs().pipe_file(notes, b"mine")
    with pytest.raises(xstore.StoreError, match="refusing to overwrite"):
        xstore.open(s3.url, "w", storage_options=s3.options)
    assert s3.fs().cat_file(notes) == b"mine"


def test_zarr_store_objects_are_accepted_wherever_a_path_is(s3: S3, tmp_path: Any) -> None:
    from zarr.storage import FsspecStore, LocalStore, MemoryStore

    remote = FsspecStore.from_url(s3.url, storage_options=s3.options)
    local = LocalStore(str(tmp_path / "local.zarr"))
    memory = MemoryStore()
    for store in (remote, local, memory):
        xstore.save({"a": np.arange(3), "g": {"b": "x"}}, store, mode="zarr")
        assert xstore.load(store)["g"] == {"b": "x"}
        with xstore.open(store, "a") as opened:
            opened.append("e", 1.0, record_dim="frame")
            opened.append("f", 2.0, record_dim="frame")
            with pytest.raises(xstore.StoreLockedError):  # the lease: one writer
                xstore.open(store, "a")
        with xstore.StorageInterface(xstore.ZarrIODriver(store, "a")) as si:
            si.h.append(3.0)
        loaded = xstore.load(store)
        assert loaded["e"].tolist() == [1.0] and loaded["h"].tolist() == [3.0]
        assert list(zarr.open_group(store, mode="r").keys()) != []  # plain zarr reads it
    assert xstore.load(str(tmp_path / "local.zarr"))["a"].tolist() == [0, 1, 2]
    with pytest.raises(PermissionError, match="read-only"):
        xstore.open(local.with_read_only(True), "a")


# -- one writer per URL store: the lease -------------------------------------------------------


def test_a_url_store_has_one_writer(s3: S3) -> None:
    with xstore.open(s3.url, "w", storage_options=s3.options) as store:
        store["a"] = 1
        lease = s3.url[len("s3://") :] + LEASE_SUFFIX
        assert lease in s3.bucket_keys()
        with pytest.raises(xstore.StoreLockedError) as caught:
            xstore.open(s3.url, "a", storage_options=s3.options)
        message = str(caught.value)
        assert s3.url in message and "this process" in message
        assert "open_datatree" in message  # how parallel writers share a result
        with pytest.raises(xstore.StoreLockedError):
            xstore.save({"b": 2}, s3.url, mode="zarr", storage_options=s3.options)
    assert lease not in s3.bucket_keys()  # released
    assert xstore.load(s3.url, storage_options=s3.options) == {"a": 1}


def test_the_lease_is_created_exclusively_on_the_server(s3: S3) -> None:
    path = s3.url[len("s3://") :] + ".probe"
    io = _FileIO(s3.fs(), path)
    assert io.create(b"first") and not io.create(b"second")  # If-None-Match: *
    assert io.read() == b"first"
    won, lost = race_for_lease(Address(s3.url, s3.options), lease_seconds=30)
    assert len(won) == 1 and len(lost) == 5  # the server let exactly one create it
    won[0].release()


# -- network failures --------------------------------------------------------------------------


def test_a_network_failure_names_the_last_flush_and_close_releases(tmp_path: Any) -> None:
    require_module("s3fs", "test")
    server = S3Server()
    try:
        fail_fast = {"retries": {"max_attempts": 1}, "connect_timeout": 1}
        s3 = s3_store(server, config_kwargs=fail_fast)
        store = xstore.open(s3.url, "w", storage_options=s3.options, lease_seconds=1)
        store.extend("x", np.arange(3200.0))
        store.flush()
        server.stop()  # the connection is lost
        store.append("x", 1.0)
        with pytest.raises(xstore.StoreError) as caught:
            store.flush()
        message = str(caught.value)
        assert s3.url in message and "last completed flush was at" in message
        assert "3,200 records of 'x'" in message
        with pytest.raises(xstore.StoreError):  # close tries once more, raises once
            store.close()
        assert store.closed
        store.close()  # quiet
        with pytest.raises(xstore.StoreError, match=s3.url):  # no raw botocore error
            xstore.open(s3.url, "r", storage_options=s3.options)
    finally:
        server.stop()
    again = S3Server()  # moto keeps its buckets in this process: the same store
    try:
        options = {**s3.options, "endpoint_url": again.endpoint}
        time.sleep(1.2)  # the lease of the cut-off writer expires (it could not delete it)
        with xstore.open(s3.url, "a", storage_options=options) as store:
            assert len(store["x"]) == 3200  # what the last completed flush wrote
    finally:
        again.stop()


# -- save keeps the old store until the new one is complete -------------------------------------


class Explodes:
    def _store(self, group: Any) -> None:
        group["half"] = np.arange(10)
        raise RuntimeError("boom while encoding")

    @classmethod
    def _restore(cls, group: Any, version: Any) -> Explodes:
        return cls()


def test_a_failed_save_leaves_the_old_url_store(s3: S3) -> None:
    xstore.save({"old": np.arange(4)}, s3.url, mode="zarr", storage_options=s3.options)
    before = s3.bucket_keys()
    with pytest.raises(RuntimeError, match="boom"):
        xstore.save({"new": 1, "bad": Explodes()}, s3.url, mode="zarr", storage_options=s3.options)
    assert s3.bucket_keys() == before  # the old store exactly, nothing staged left
    assert xstore.load(s3.url, storage_options=s3.options)["old"].tolist() == [0, 1, 2, 3]


def test_saving_nested_groups_over_a_nested_url_store(s3: S3) -> None:
    """The switch copies keys at every depth (listings of a store made from a URL are
    relative to the bucket, not to the URL's "s3://" path)."""
    old = {"a": {"b": {"c": np.arange(3)}}, "gone": {"x": 1.5}}
    xstore.save(old, s3.url, mode="zarr", storage_options=s3.options)
    new = {"a": {"b": {"c": np.arange(5), "d": "text"}}}
    xstore.save(new, s3.url, mode="zarr", storage_options=s3.options)
    loaded = xstore.load(s3.url, storage_options=s3.options)
    assert list(loaded) == ["a"] and loaded["a"]["b"]["d"] == "text"
    assert loaded["a"]["b"]["c"].tolist() == [0, 1, 2, 3, 4]
    keys = [key.split("/", 1)[1] for key in s3.bucket_keys()]
    assert keys and all(
        key.startswith("run.zarr/a/") or key == "run.zarr/zarr.json" for key in keys
    )


def test_a_switch_cut_short_is_no_store_for_any_reader_until_the_next_writer(
    s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xstore reads what plain xarray reads: during a switch cut short, no store
    (xstore names the pending switch); check reports it; the next writer finishes it."""
    xstore.save({"old": np.arange(4), "gone": 1}, s3.url, mode="zarr", storage_options=s3.options)
    real = replace._copier
    copies = 0

    def failing(site: Any, staged: str) -> Any:
        copy = real(site, staged)

        async def copy_some(key: str) -> None:
            nonlocal copies
            copies += 1
            if copies > 2:
                raise ConnectionError("the network went away")
            await copy(key)

        return copy_some

    monkeypatch.setattr(replace, "_copier", failing)
    new = {"old": np.arange(8), "added": "yes"}
    with pytest.raises(xstore.StoreError, match="finishes the switch, or rolls it back"):
        xstore.save(new, s3.url, mode="zarr", storage_options=s3.options)
    monkeypatch.setattr(replace, "_copier", real)
    with pytest.raises(xstore.StoreError, match="started its switch") as caught:
        xstore.load(s3.url, storage_options=s3.options)
    assert s3.url in str(caught.value) and ".run.zarr.xstore-" in str(caught.value)
    with pytest.raises(FileNotFoundError):  # plain xarray finds no store either
        xr.open_datatree(s3.url, engine="zarr", storage_options=s3.options)
    problems = check(s3.url, storage_options=s3.options)
    assert any("switch is unfinished (started" in p for p in problems), problems
    with xstore.open(s3.url, "a", storage_options=s3.options) as store:  # finishes it
        assert list(store) == ["old", "added"]
    assert not any(".xstore-" in key for key in s3.bucket_keys())
    plain = xr.open_datatree(s3.url, engine="zarr", storage_options=s3.options)
    assert set(plain.data_vars) == {"old", "added"}
    assert check(s3.url, storage_options=s3.options) == []


def test_save_into_a_store_object_stages_inside_it() -> None:
    from zarr.storage import MemoryStore

    store = MemoryStore()
    xstore.save({"a": 1}, store, mode="zarr")
    address = Address("memory", store=store)
    with replace.stage(address) as staged:  # what save does, stopped before the switch
        write_tree({"b": 2}, staged, _zarr_spec(), {})
        assert xstore.load(store) == {"a": 1}  # the old store, the staged one hidden
    assert xstore.load(store) == {"b": 2}
    keys = zarr.core.sync.sync(_all_keys(store))
    assert not any(key.startswith(".xstore") for key in keys)


def test_a_copy_orphaned_inside_a_store_object_is_reported_and_deleted() -> None:
    """A save into a store object cut off while staging leaves its copy inside the
    store: readers never see it, check names it, the next writer deletes it."""
    from zarr.storage import MemoryStore

    store = MemoryStore()
    xstore.save({"a": 1}, store, mode="zarr")
    address = Address("memory", store=store)
    orphan = ".xstore-new-0123abcd"
    write_tree({"b": 2}, Address(f"memory/{orphan}", store=PrefixStore(store, orphan)),
               _zarr_spec(), {})  # fmt: skip
    assert xstore.load(store) == {"a": 1}
    (problem,) = check(store)
    assert "leftover of an interrupted save" in problem and orphan in problem
    with xstore.open(store, "a") as opened:
        assert list(opened) == ["a"]
    keys = zarr.core.sync.sync(_all_keys(store))
    assert not any(key.startswith(".xstore") for key in keys) and check(store) == []
    assert replace.leftovers(address) == []


def _zarr_spec() -> Any:
    from xstore.backends import registry

    return registry.get("zarr")


async def _all_keys(store: Any) -> list[str]:
    return [key async for key in store.list()]


# -- appends: requests per flush ----------------------------------------------------------------


def test_a_flush_writes_only_the_chunks_that_changed(s3: S3) -> None:
    frame = np.zeros((100, 3))
    store = xstore.open(s3.url, "w", storage_options=s3.options, flush_interval=None)
    rows = None
    per_flush = []
    for step in range(1, 2001):
        store.append("x", frame + step, record_dim="frame")
        store.append("e", float(step), record_dim="frame")
        if step % 100 == 0:
            before = len(s3.server.log())
            store.flush()
            per_flush.append(s3.server.log()[before:])
            rows = rows or store.session.layout.chunks(("x",))[0]
    store.close()
    assert rows is not None and store_chunks(s3, "e")[0] == rows  # one rows for the set
    # (the first flush also commits the new arrays; from then on, only appends)
    for step, requests in zip(range(200, 2001, 100), per_flush[1:], strict=True):
        methods = {method for method, _ in requests}
        assert methods == {"PUT"}, requests  # nothing read back, no existence checks
        first = (step - 100) // rows  # the chunk the last flush ended in
        for _, path in requests:
            if "/c/" in path:  # a chunk: the tail chunk and new ones only
                assert int(path.split("/c/")[1].split("/")[0]) >= first, path
        assert len(requests) <= 2 * 2 + 3  # two series, up to two chunks each, 3 metadata
    loaded = xstore.load(s3.url, storage_options=s3.options)
    assert loaded["e"].tolist() == [float(i) for i in range(1, 2001)]
    assert loaded["x"][1234, 5, 2] == 1235


def store_chunks(s3: S3, name: str) -> tuple[int, ...]:
    group = zarr.open_group(s3.url, mode="r", storage_options=s3.options)
    array = group[name]
    assert isinstance(array, zarr.Array)
    return tuple(array.chunks)


# -- the command line and the tools ------------------------------------------------------------


def test_check_tree_and_convert_take_storage_options(s3: S3, tmp_path: Any, capsys: Any) -> None:
    import json

    from xstore.tools.check import check
    from xstore.tools.cli import main

    local = str(tmp_path / "run.nc")
    xstore.save({"x": np.arange(6.0), "p": {"T": 300.0}}, local)
    options = json.dumps(s3.options)
    assert main(["convert", local, s3.url, "--quiet", "--storage-options", options]) == 0
    assert check(s3.url, storage_options=s3.options) == []
    assert main(["check", s3.url, "--storage-options", options]) == 0
    assert main(["tree", s3.url, "--storage-options", options]) == 0
    assert "x" in capsys.readouterr().out
    back = str(tmp_path / "back.zarr")
    assert main(["convert", s3.url, back, "--quiet", "--storage-options", options]) == 0
    assert xstore.load(back)["p"] == {"T": 300.0}
    assert main(["tree", s3.url]) != 0  # no options: the dead default endpoint
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and s3.url in err  # one line naming the store
