"""The forward proxy's own process, beside the WSGI server's.

The WSGI server forks its workers from the process that starts it, so the proxy (an event
loop in a thread) must not live there: it runs in a fresh interpreter, started before the
server, and ends with it (stopped by ``ProxyProcess.stop``, or on its own when the process
that started it is gone).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
from multiprocessing.connection import Connection

from .proxy import ForwardProxy, ProxySettings

START_TIMEOUT = 30.0


class ProxyProcess:
    """``start`` binds ``host:port`` in a child process and returns once it listens."""

    def __init__(self, settings: ProxySettings, host: str, port: int) -> None:
        self.settings = settings
        self.host = host
        self.port = port
        self._process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> ProxyProcess:
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_run,
            args=(self.settings, self.host, self.port, child_end, os.getpid()),
            name="mockserver-proxy",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        if not parent_end.poll(START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"the proxy did not start in {START_TIMEOUT:.0f} s")
        problem = parent_end.recv()
        parent_end.close()
        if problem:
            self.stop()
            raise OSError(f"proxy on {self.host}:{self.port}: {problem}")
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)


def _run(settings: ProxySettings, host: str, port: int, ready: Connection, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server; it stops us
    try:
        listener = socket.create_server((host, port), family=_family(host), backlog=1024)
    except OSError as error:
        ready.send(str(error))
        return
    ready.send("")
    ready.close()
    asyncio.run(_serve(settings, listener, parent))


async def _serve(settings: ProxySettings, listener: socket.socket, parent: int) -> None:
    server = await ForwardProxy(settings).serve(listener)
    async with server:
        while os.getppid() == parent:  # an orphan (the server was killed) ends itself
            await asyncio.sleep(1)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
