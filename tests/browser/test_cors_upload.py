"""A browser uploader on another origin (a second 127.0.0.1 port) against create-log:
fetch + FormData + Authorization, as a kiosk page built from the vendor document would."""

from __future__ import annotations

import pytest
from werkzeug.wrappers import Request, Response

from ..visionalert.va_support import photo
from .conftest import ThreadedServer

UPLOADER = """<!doctype html><meta charset="utf-8"><title>uploader</title>
<script>
async function upload(api, token, serial) {
  const frame = await (await fetch("/frame.jpg")).blob();  // same origin as this page
  const form = new FormData();
  form.append("camera_id", serial);
  form.append("upload", frame, "frame.jpg");
  try {
    const reply = await fetch(api + "/v1/vision-alert/create-log/", {
      method: "POST", headers: {"Authorization": "Token " + token}, body: form});
    return {status: reply.status, retryAfter: reply.headers.get("Retry-After"),
            body: await reply.json()};
  } catch (error) { return {error: String(error)}; }
}
async function read(api, token, path) {
  try {
    const reply = await fetch(api + path, {headers: {"Authorization": "Token " + token}});
    return {status: reply.status};
  } catch (error) { return {error: String(error)}; }
}
</script><p>uploader page</p>"""


@pytest.fixture(scope="module")
def uploader_origin():
    frame = photo()

    @Request.application
    def site(request: Request) -> Response:
        if request.path == "/frame.jpg":
            return Response(frame, mimetype="image/jpeg")
        return Response(UPLOADER, mimetype="text/html")

    server = ThreadedServer(site)
    yield server.url
    server.close()


def test_page_on_another_origin_uploads_and_reads_retry_after(
    page, emulator_server, uploader_origin
):
    api = emulator_server.url
    control = emulator_server.control
    control.reset()
    control.set_rate_limit("demo-token", None)
    assert api.rsplit(":", 1)[1] != uploader_origin.rsplit(":", 1)[1]
    page.goto(uploader_origin + "/")

    ok = page.evaluate("([api]) => upload(api, 'demo-token', 'KIOSK-1')", [api])
    assert ok == {
        "status": 200,
        "retryAfter": None,
        "body": {"message": "Log created successfully."},
    }

    window = page.evaluate("([api]) => upload(api, 'demo-token', 'KIOSK-1')", [api])
    assert window["status"] == 429
    assert window["body"] == {"message": "Camera already uploaded a log recently."}
    assert 0 < int(window["retryAfter"]) <= 900

    fault = {
        "match": {"path": "/v1/vision-alert/create-log", "method": "POST"},
        "action": {"type": "status", "status": 429, "headers": {"Retry-After": "4"}},
        "times": 1,
    }
    control.add_fault_spec(fault)
    forced = page.evaluate("([api]) => upload(api, 'demo-token', 'KIOSK-2')", [api])
    assert forced == {
        "status": 429,
        "retryAfter": "4",
        "body": {"detail": "Request was throttled."},
    }

    denied = page.evaluate("([api]) => upload(api, 'no-such-token', 'KIOSK-3')", [api])
    assert denied["status"] == 401 and denied["body"] == {"detail": "Invalid token."}


def test_endpoints_outside_the_policy_are_blocked_by_the_browser(
    page, emulator_server, uploader_origin
):
    api = emulator_server.url
    page.goto(uploader_origin + "/")
    licenses = page.evaluate(
        "([api]) => read(api, 'demo-token', '/v1/vision-alert/licenses/')", [api]
    )
    assert "TypeError" in licenses.get("error", ""), licenses
    control = page.evaluate("([api]) => read(api, 'x', '/_mock/clock')", [api])
    assert "TypeError" in control.get("error", ""), control
