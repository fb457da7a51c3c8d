"""An S3-compatible server on loopback for the object-store tests and benchmarks.

:class:`S3Server` runs moto's S3 application in a thread on ``127.0.0.1`` (never a
real cloud), behind a small WSGI layer that counts requests by method and can add a
fixed latency to each (what a distant object store costs).  :func:`dead_endpoint_env`
is the environment the tests run in: the default endpoint is a dead loopback port and
the credentials are fake, so anything that ignores the options it is given fails
fast instead of leaving the machine.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: the environment default every object-store test runs under (nothing listens on port 9)
DEAD_ENDPOINT = "http://127.0.0.1:9"
FAKE_KEY = "xstore-test"


def dead_endpoint_env() -> dict[str, str]:
    """Environment variables that point every AWS client at nothing, with fake keys
    (and no shared config or credential files read)."""
    return {
        "AWS_ENDPOINT_URL": DEAD_ENDPOINT,
        "AWS_ENDPOINT_URL_S3": DEAD_ENDPOINT,
        "AWS_ACCESS_KEY_ID": FAKE_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",  # fail at once, not after retries
    }


class _Counting:
    """WSGI middleware: counts requests (by method) and sleeps ``latency`` before each."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.latency = 0.0
        self.counts: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[str, str]] = []  # (method, path) of every request
        self.lock = threading.Lock()
        #: called with (method, path) before each request: True serves it, False
        #: answers 503 without acting on it
        self.hook: Callable[[str, str], bool] | None = None
        #: called with (method, path) after each request was acted on, before the answer
        self.served: Callable[[str, str], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method, path = environ.get("REQUEST_METHOD", "?"), environ.get("PATH_INFO", "")
        with self.lock:
            self.counts[method] += 1
            self.log.append((method, path))
        if self.latency:
            time.sleep(self.latency)
        hook, served = self.hook, self.served
        if hook is not None and not hook(method, path):
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        answer = self.app(environ, start_response)
        if served is not None:
            served(method, path)
        return answer


class S3Server:
    """moto's S3 on ``127.0.0.1`` (a free port), with request counts and latency."""

    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

        self._app = _Counting(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.port = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.running = True

    @property
    def latency(self) -> float:
        return self._app.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._app.latency = seconds

    def watch(
        self,
        hook: Callable[[str, str], bool] | None,
        served: Callable[[str, str], None] | None = None,
    ) -> None:
        """Call ``hook`` before and ``served`` after each request (see :class:`_Counting`);
        None for both stops watching."""
        self._app.hook, self._app.served = hook, served

    def requests(self) -> collections.Counter[str]:
        """Requests served so far, by HTTP method (a copy)."""
        with self._app.lock:
            return collections.Counter(self._app.counts)

    def log(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request served so far (a copy)."""
        with self._app.lock:
            return list(self._app.log)

    def storage_options(self, **extra: Any) -> dict[str, Any]:
        """fsspec/s3fs options that reach this server (and only it)."""
        return {
            "endpoint_url": self.endpoint,
            "key": FAKE_KEY,
            "secret": FAKE_KEY,
            "client_kwargs": {"region_name": "us-east-1"},
            **extra,
        }

    def bucket(self) -> str:
        """A new, empty bucket; returns its ``s3://`` URL."""
        import boto3

        name = f"xstore-{uuid.uuid4().hex[:12]}"
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=FAKE_KEY,
            aws_secret_access_key=FAKE_KEY,
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=name)
        return f"s3://{name}"

    def stop(self) -> None:
        """Stop serving: from now on every request fails to connect."""
        if self.running:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self.running = False


@dataclass
class S3:
    """A store URL in a fresh bucket, and the options that reach the server."""

    server: S3Server
    url: str
    options: dict[str, Any]

    def fs(self) -> Any:
        import s3fs

        fs = s3fs.S3FileSystem(**self.options)
        fs.invalidate_cache()
        return fs

    def bucket_keys(self) -> list[str]:
        """Every key of the store's bucket (store, lease, leftovers)."""
        bucket = self.url[len("s3://") :].split("/")[0]
        return sorted(self.fs().find(bucket))


def s3_store(server: S3Server, **extra: Any) -> S3:
    """A store URL in a new bucket of ``server``, with ``extra`` storage options."""
    return S3(server, server.bucket() + "/run.zarr", server.storage_options(**extra))


def race_for_lease(address: Any, lease_seconds: float, racers: int = 6) -> tuple[list, list]:
    """``racers`` threads take the lease of ``address`` at once: the leases won and the
    ``StoreLockedError`` raised for those that lost."""
    import xstore
    from xstore.backends.lease import Lease

    won: list[Lease] = []
    lost: list[Exception] = []

    def take() -> None:
        try:
            won.append(Lease(address, lease_seconds=lease_seconds))
        except xstore.StoreLockedError as exc:
            lost.append(exc)

    threads = [threading.Thread(target=take) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won, lost
