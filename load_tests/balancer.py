"""One address in front of several emulator hosts: a round-robin TCP balancer.

What nginx does in ``deploy/docker-compose.yml``, small enough to start from a benchmark on
a machine without nginx: each client connection goes to the next host in turn and stays
there (keep-alive requests follow their connection, as behind any L4 balancer).

    python -m load_tests.balancer --port 8000 http://127.0.0.1:8001 http://127.0.0.1:8002
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import threading
from urllib.parse import urlsplit


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # already closed by the other side
            pass


class Balancer:
    """Listens on ``127.0.0.1:port`` (0: any free port) in a background thread."""

    def __init__(self, backends: list[str], port: int = 0) -> None:
        self.backends = [
            (parts.hostname or "127.0.0.1", parts.port or 80) for parts in map(urlsplit, backends)
        ]
        self._next = itertools.cycle(self.backends)
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self.port = port
        self._thread = threading.Thread(target=self._run, name="balancer", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve_one(self, reader, writer) -> None:
        host, port = next(self._next)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve_one, "127.0.0.1", self.port, backlog=2048)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("backends", nargs="+")
    args = parser.parse_args()
    balancer = Balancer(args.backends, args.port)
    print(f"balancing {balancer.url} over {', '.join(args.backends)}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
