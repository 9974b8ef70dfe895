"""A TCP relay between an emulator host and its database, degraded on the test's command.

Where the kernel has no ``netem`` queueing discipline, a link's latency, loss and cuts
are played by this relay as the application on either end would see them over TCP:

* ``delay``: each chunk waits that long before it is passed on (one way);
* ``loss``: that share of chunks waits a retransmission timeout more (TCP hides a lost
  segment as a late one);
* ``cut``: nothing passes, either way, and a new connection is accepted but never answered
  (a link dropping every packet); ``heal`` lets the held bytes through, as TCP's
  retransmissions would, for the connections whose ends are still open.
"""

from __future__ import annotations

import random
import socket
import threading
import time

RETRANSMIT = 0.2  # seconds a lost chunk comes late (Linux's smallest retransmission timeout)


class Relay:
    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.target = target
        self.delay = 0.0
        self.loss = 0.0
        self._open = threading.Event()
        self._open.set()
        self._closing = threading.Event()
        self._random = random.Random(7)
        self._server = socket.create_server(listen)
        self.address = self._server.getsockname()[:2]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="relay-accept", daemon=True).start()

    # -- the test's controls ------------------------------------------------------------

    def cut(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._closing.set()
        self._open.set()
        self._server.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    # -- the relay ----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._track(client)
        self._open.wait()  # a cut link: the connection is never answered
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            _close(client)
            return
        self._track(upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                self._open.wait()  # held while the link is cut
                late = self.delay + (RETRANSMIT if self._random.random() < self.loss else 0.0)
                if late:
                    time.sleep(late)
                self._open.wait()
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets = [s for s in self._sockets if s.fileno() != -1]
            self._sockets.append(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
