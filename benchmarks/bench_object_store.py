"""Object storage and dask: appends to an S3-compatible server on loopback, requests per
flush, and a dask reduction over a ~1 GB series with xstore's chunks against "auto".

1. Appends: ``--frames`` frames of a (100, 3) float64 series and a scalar series sharing
   ``record_dim="frame"``, flushed every ``--flush-every`` frames, into a local zarr
   directory, into moto's S3 server on 127.0.0.1, and into the same server with
   ``--latency`` seconds added to every request (a WSGI layer in front of moto sleeps
   before each request: what a distant object store costs).  Reports records/s and the
   requests of one flush (by HTTP method), counted at the server.
2. Dask: a (N, 100, 3) float64 series of ``--gigabytes`` GB (and a scalar series on the
   same record dim) in a local zarr directory, reduced (mean, and a histogram of one
   coordinate) on a 2-worker ``LocalCluster``, with ``to_dataset(chunks={})`` (xstore's
   stored chunks) and ``chunks="auto"``; reports tasks and seconds.

Nothing leaves the machine: the default S3 endpoint is a dead loopback port.  The same
script runs against older xstore versions (without ``storage_options``, it reaches the
server through the environment instead).  Run: ``python benchmarks/bench_object_store.py``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from common import table
from s3server import S3Server, dead_endpoint_env

os.environ.update(dead_endpoint_env())

import xstore

FRAME = np.zeros((100, 3))
HAS_OPTIONS = "storage_options" in inspect.signature(xstore.open).parameters


def append_run(target: str, frames: int, every: int, server: S3Server | None) -> dict[str, Any]:
    """Records/s of the append loop, and the requests of a late flush."""
    options: dict[str, Any] = {}
    if server is not None:
        if HAS_OPTIONS:
            options["storage_options"] = server.storage_options()
        else:  # an xstore without storage_options: through the environment
            endpoint = {"AWS_ENDPOINT_URL": server.endpoint, "AWS_ENDPOINT_URL_S3": server.endpoint}
            os.environ.update({**endpoint, "AWS_MAX_ATTEMPTS": "3"})
    flush_requests: Counter[str] = Counter()
    start = time.perf_counter()
    store = xstore.open(target, "w", flush_interval=None, **options)
    x = FRAME.copy()
    for step in range(1, frames + 1):
        x[0, 0] = step
        store.append("positions", x, record_dim="frame")
        store.append("energy", float(step), record_dim="frame")
        if step % every == 0:
            before = server.requests() if server is not None else Counter()
            store.flush()
            if server is not None and step == frames - every:  # a flush in the steady state
                flush_requests = server.requests() - before
    store.close()
    seconds = time.perf_counter() - start
    if server is not None:
        os.environ.update(dead_endpoint_env())
    return {"rate": frames / seconds, "flush": flush_requests}


def appends(args: argparse.Namespace) -> None:
    folder = tempfile.mkdtemp()
    server = S3Server()
    rows = []
    try:
        cases: list[tuple[str, S3Server | None, float]] = [
            ("local zarr directory", None, 0.0),
            ("S3 on loopback", server, 0.0),
            (f"S3 on loopback, +{args.latency * 1000:.0f} ms/request", server, args.latency),
        ]
        base = None
        for label, srv, latency in cases:
            if srv is None:
                target = os.path.join(folder, "run.zarr")
            else:
                srv.latency = latency
                target = srv.bucket() + "/run.zarr"
            result = append_run(target, args.frames, args.flush_every, srv)
            base = base or result["rate"]
            flush = result["flush"]
            shown = ", ".join(f"{n} {m}" for m, n in sorted(flush.items())) if flush else "-"
            total = str(sum(flush.values())) if flush else "-"
            rows.append(
                [label, f"{result['rate']:,.0f}", f"{result['rate'] / base:.2f}", total, shown]
            )
    finally:
        server.latency = 0.0
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"appends: {args.frames:,} frames ((100, 3) float64 + a scalar, record_dim='frame'), "
        f"flush every {args.flush_every}"
    )
    print(
        table(
            ["target", "frames/s", "/ local", "requests per flush", "by method"],
            rows,
        )
    )


def dask_run(path: str, chunks: Any, plain: bool) -> tuple[int, float, float]:
    """Mean and histogram of the series through xstore's view (or plain xarray's)."""
    if plain:
        import xarray as xr

        with xr.open_zarr(path, group="traj", chunks=chunks) as ds:
            return _reduce(ds)
    with xstore.open(path, "r") as store:
        return _reduce(store["traj"].to_dataset(chunks=chunks))


def _reduce(ds: Any) -> tuple[int, float, float]:
    import dask
    import dask.array as da

    positions = ds["positions"]
    start = time.perf_counter()
    mean = positions.mean("frame")
    hist, _ = da.histogram(positions.data[:, :, 0], bins=50, range=(-5, 5))
    tasks = len(dict(mean.data.__dask_graph__())) + len(dict(hist.__dask_graph__()))
    dask.compute(mean.data, hist)
    seconds = time.perf_counter() - start
    return tasks, seconds, positions.chunks[0][0]


def reduction(args: argparse.Namespace) -> None:
    from dask.distributed import Client, LocalCluster

    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "big.zarr")
    frame_bytes = FRAME.nbytes
    frames = int(args.gigabytes * 1e9 // frame_bytes)
    block = 2000
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    with xstore.open(path, "w") as store:
        traj = store.create_group("traj")
        for first in range(0, frames, block):
            n = min(block, frames - first)
            traj.extend("positions", rng.normal(size=(n, 100, 3)), record_dim="frame")
            traj.extend("energy", rng.normal(size=n), record_dim="frame")
    written = time.perf_counter() - start
    gigabytes = frames * frame_bytes / 1e9
    print(
        f"\ndask: a {frames:,}-frame (N, 100, 3) float64 series ({gigabytes:.2f} GB, "
        f"written in {written:.1f} s), mean over frames + a 50-bin histogram, "
        f"LocalCluster of {args.workers} workers"
    )
    rows = []
    try:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None)
        with Client(cluster):
            results = {}
            for plain in (False, True):
                for chunks in ({}, "auto"):
                    label = ("plain xarray " if plain else "xstore ") + repr(chunks)
                    runs = [dask_run(path, chunks, plain) for _ in range(args.repeat)]
                    tasks, _, rows_per_chunk = runs[0]
                    best = min(seconds for _, seconds, _ in runs)
                    results[label] = best
                    rows.append([label, f"{rows_per_chunk:,}", f"{tasks:,}", f"{best:.2f}"])
            cluster.close()
        for row in rows:
            same = row[0].replace("xstore", "plain xarray")
            row.append(f"{results[row[0]] / results['xstore ' + repr('auto')]:.2f}")
            row.append(f"{results[row[0]] / results[same]:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    header = ["view, chunks", "frames per dask chunk", "tasks", "seconds", "/ xstore 'auto'"]
    print(table([*header, "/ plain xarray"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--flush-every", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.020)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    appends(args)
    if not args.skip_dask:
        reduction(args)


if __name__ == "__main__":
    main()
