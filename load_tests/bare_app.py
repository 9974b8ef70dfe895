"""The baseline of bench row 1: a bare Flask endpoint returning a fixed camera page.

The page is the emulator's own 50-camera reply (a JSON file given in
``BARE_PAGE_FILE``), parsed once and serialised on every request the way the emulator
serialises its replies. Served by granian exactly as ``mockserver serve`` serves the
emulator (WSGI, same worker count, same threads and backlog):

    BARE_PAGE_FILE=page.json python -m load_tests.bare_app --port 8100 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os

from flask import Flask, Response

app = Flask(__name__)
_page = None


def page() -> object:
    global _page
    if _page is None:
        with open(os.environ["BARE_PAGE_FILE"]) as handle:
            _page = json.load(handle)
    return _page


@app.get("/v1/vision-alert/<int:license_id>/cameras/")
def cameras(license_id: int) -> Response:
    payload = json.dumps(page(), separators=(", ", ": "), ensure_ascii=False)
    return Response(payload, status=200, mimetype="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from granian import Granian
    from granian.constants import Interfaces

    from mockserver.cli import DEFAULT_THREADS

    # the same options as mockserver.cli._run_server
    Granian(
        "load_tests.bare_app:app",
        address="127.0.0.1",
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=DEFAULT_THREADS,
        backlog=2048,
        log_access=False,
    ).serve()


if __name__ == "__main__":
    main()
