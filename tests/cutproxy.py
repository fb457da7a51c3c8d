"""A TCP proxy on loopback that can lose the network on cue, for the object-store tests.

:class:`CutProxy` listens on ``127.0.0.1`` and forwards every connection to a port of
the same machine.  :meth:`CutProxy.cut` resets every open connection and from then
on resets each new one at once: to the client behind it the server is gone, as when
a laptop drops off the network.  :func:`cut_at_request` arms an :class:`S3Server` to
cut the proxy at its n-th request, before or after the server acts on it.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from s3server import S3Server

_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close sends a reset


def _reset(sock: socket.socket) -> None:
    """Drop ``sock`` with a reset (and wake a thread blocked reading it)."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class CutProxy:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:upstream`` until :meth:`cut`."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.is_cut = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if self.is_cut:
                    _reset(client)
                    continue
                server = socket.create_connection(("127.0.0.1", self.upstream))
                self._open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            for sock in (source, sink):
                if sock in self._open:
                    self._open.discard(sock)
                    _reset(sock)

    def cut(self) -> None:
        """Reset every connection; refuse the ones to come."""
        with self._lock:
            self.is_cut = True
            self._listener.close()  # new connections are refused
            for sock in self._open:
                _reset(sock)
            self._open.clear()

    def close(self) -> None:
        self.cut()
        self._listener.close()


@contextmanager
def cut_at_request(server: S3Server, proxy: CutProxy, n: int, *, acted: bool) -> Iterator[None]:
    """Cut ``proxy`` when ``server`` receives its ``n``-th request from now (1-based);
    ``acted``: the server carries that request out first (its answer is lost),
    else it never does.  Requests after the cut never arrive."""
    seen = 0

    def hook(method: str, path: str) -> bool:
        nonlocal seen
        seen += 1
        if seen == n and acted:
            return True  # cut once it is done
        if seen >= n:
            proxy.cut()
            return False
        return True

    def served(method: str, path: str) -> None:
        if seen == n and acted:
            proxy.cut()

    server.watch(hook, served)
    try:
        yield
    finally:
        server.watch(None)
