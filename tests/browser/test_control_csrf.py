"""A page on another origin (a second 127.0.0.1 port) tries to drive the control plane
through the visitor's browser: a ``text/plain`` fetch that parses as JSON, and a plain
HTML form post. Both reach the emulator (a browser sends them without asking) and both
must change nothing."""

from __future__ import annotations

import pytest
import requests
from werkzeug.wrappers import Request, Response

from .conftest import ThreadedServer

ATTACKER = """<!doctype html><meta charset="utf-8"><title>elsewhere</title>
<script>
async function moveClock(api) {
  try {
    await fetch(api + "/_mock/clock", {method: "POST", mode: "no-cors",
      headers: {"Content-Type": "text/plain"}, body: JSON.stringify({advance: 60})});
    return "sent";
  } catch (error) { return String(error); }
}
function resetWorld(api) {
  return new Promise(resolve => {
    const frame = document.createElement("iframe");
    frame.name = "sink";
    frame.onload = () => resolve("sent");
    document.body.appendChild(frame);
    const form = document.createElement("form");
    form.method = "POST";
    form.target = "sink";
    form.action = api + "/_mock/reset?seed=none";
    document.body.appendChild(form);
    form.submit();
  });
}
</script><p>an unrelated site</p>"""


@pytest.fixture(scope="module")
def other_origin():
    @Request.application
    def site(request: Request) -> Response:
        return Response(ATTACKER, mimetype="text/html")

    server = ThreadedServer(site)
    yield server.url
    server.close()


def test_a_foreign_page_cannot_move_the_clock_or_reset(page, emulator_server, other_origin):
    api = emulator_server.url
    control = emulator_server.control
    control.reset()
    control.set_clock("2026-04-10T14:30:00Z")
    assert other_origin.rsplit(":", 1)[1] != api.rsplit(":", 1)[1]
    page.goto(other_origin + "/")

    assert page.evaluate("([api]) => moveClock(api)", [api]) == "sent"
    assert page.evaluate("([api]) => resetWorld(api)", [api]) == "sent"

    assert control.clock() == {"now": "2026-04-10T14:30:00Z", "frozen": True}
    demo = api + "/v1/vision-alert/licenses/"
    reply = requests.get(demo, headers={"Authorization": "Token demo-token"}, timeout=10)
    assert reply.status_code == 200 and reply.json(), "the demo world was reset"
