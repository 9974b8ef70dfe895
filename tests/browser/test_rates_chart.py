"""The overview's rates over time in real headless Chromium: drawn by the server as SVG
(no script involved), fitting the window, the uploads' outcomes and latency visible.
Its screenshot goes to ``reports/ui/rates.png``."""

from __future__ import annotations

import requests

from ..visionalert.va_support import CREATE_LOG, TOKEN, photo, seed_body

WIDTH = 1400


def test_the_overview_shows_the_rates_chart_without_javascript(
    browser, emulator_server, screenshot_dir
):
    emulator_server.control.reset(seed="none")
    emulator_server.control.seed(seed_body())  # no throttle: only the camera's window refuses
    statuses = []
    for index in range(6):  # distinct cameras, one of them twice: an upload refused
        serial = f"RATE-{min(index, 4)}"
        reply = requests.post(
            emulator_server.url + CREATE_LOG,
            data={"camera_id": serial},
            files={"upload": ("frame.jpg", photo())},
            headers={"Authorization": f"Token {TOKEN}"},
            timeout=10,
        )
        statuses.append(reply.status_code)
    assert statuses[:5] == [200] * 5 and statuses[5] == 429, statuses
    context = browser.new_context(
        viewport={"width": WIDTH, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        page.goto(emulator_server.url + "/_mock/ui/")
        chart = page.locator("svg.rates")
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] >= 600 and box["x"] + box["width"] <= WIDTH
        assert chart.locator('polyline[data-series="accepted"]').count() >= 1
        assert chart.locator('polyline[data-series="window"]').count() >= 1
        assert chart.locator('polyline[data-series="p99"]').count() >= 1
        assert chart.locator('[data-legend="accepted"]').text_content().startswith("accepted ")
        chart.scroll_into_view_if_needed()
        page.locator("section.load").screenshot(path=str(screenshot_dir / "rates.png"))
    finally:
        context.close()
