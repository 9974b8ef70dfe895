"""The dashboard in real headless Chromium: a seeded world, a camera with its snapshot
and reference, the explanation overlay, the clock button making a log appear, a 429
fault added from the form and the request it hits showing up red in the journal tail,
the docs page fitting the window. Screenshots of each page go to ``reports/ui/``."""

from __future__ import annotations

import re

import pytest
import requests

from .world import HOSTILE_SERIAL, TOKEN, World

WIDTH = 1400


@pytest.fixture(scope="module")
def world(emulator_server) -> World:
    return World(emulator_server).build()


@pytest.fixture
def watched(page):
    """The page, with every failed request and console error / alert dialog noted."""
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.problems = problems
    return page


def _fits(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the window"


def _images_loaded(locator) -> int:
    locator.page.wait_for_load_state("networkidle")
    return locator.evaluate_all("imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length")


def test_overview_and_camera_grid(watched, world, emulator_server, screenshot_dir):
    page = watched
    page.goto(emulator_server.url + "/_mock/ui")
    assert page.locator("h1").inner_text() == "The emulated world"
    page.get_by_role("link", name="LIC-DEMO-1").first.click()
    page.wait_for_load_state("load")
    cards = page.locator("article.card")
    assert cards.count() == 4  # the two seeded cameras and two new serials
    card = cards.filter(has=page.get_by_role("link", name="Q2GV-ABCD-1234", exact=True))
    assert card.locator(".badge").inner_text() == "anomaly"
    assert _images_loaded(card.locator("img")) == 2  # the snapshot beside the reference
    assert card.locator("tr.over th").inner_text() == "Obstruction"
    hostile = cards.filter(has_text=HOSTILE_SERIAL)
    assert hostile.locator(".serial").inner_text() == HOSTILE_SERIAL  # shown as text
    assert hostile.locator(".tag").inner_text() == "<i>night"
    _fits(page)
    page.screenshot(path=str(screenshot_dir / "cameras.png"), full_page=True)
    assert page.problems == []


def test_camera_page_explanation_overlay(watched, world, emulator_server, screenshot_dir):
    page = watched
    page.goto(f"{emulator_server.url}/_mock/ui/licenses/{world.license}")
    page.get_by_role("link", name="Q2GV-EFGH-5678", exact=True).click()
    page.wait_for_load_state("load")
    assert "Q2GV-EFGH-5678" in page.locator("h1").inner_text()
    overlay = page.locator("img.overlay")
    assert not overlay.is_visible()
    page.get_by_text("explanation overlay").click()
    assert overlay.is_visible()
    assert _images_loaded(page.locator(".viewer img")) == 3  # snapshot, overlay, reference
    glare_blocks = page.evaluate(
        """async () => {
            const svg = await (await fetch(document.querySelector('img.overlay').src)).text();
            return (svg.match(/<g class="glare"[^]*?<\\/g>/) || [''])[0].split('<rect').length - 1;
        }"""
    )
    assert glare_blocks > 5  # the blown-out disc is drawn where the analysis counted it
    assert page.locator("table.scores tr.over th").first.inner_text() == "Glare"
    assert page.locator(".strip li").count() == 4
    _fits(page)
    page.screenshot(path=str(screenshot_dir / "camera.png"), full_page=True)
    assert page.problems == []


def test_clock_button_makes_the_log_appear(watched, world, emulator_server):
    page = watched
    assert world.upload("NEW-CAM-9", _frame("coffee")).status_code == 200  # processed in 5 s
    page.goto(f"{emulator_server.url}/_mock/ui/licenses/{world.license}/cameras/NEW-CAM-9")
    assert page.locator(".strip li").count() == 0
    before = page.locator("[data-clock-now]").inner_text()
    page.get_by_role("button", name="+1 min").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/cameras/NEW-CAM-9")  # back on the same page
    assert page.locator(".strip li").count() == 1
    assert page.locator("[data-clock-now]").inner_text() != before
    assert page.problems == []


def test_fault_from_the_form_shows_red_in_the_journal(
    watched, world, emulator_server, screenshot_dir
):
    page = watched
    page.goto(emulator_server.url + "/_mock/ui/faults")
    page.get_by_label("path (glob)").fill("/v1/vision-alert/licenses")
    page.get_by_label("code").fill("429")
    page.get_by_label("times").fill("1")
    page.get_by_role("button", name="add fault").click()
    page.wait_for_load_state("load")
    row = page.locator("tbody tr").filter(has_text="/v1/vision-alert/licenses")
    assert "status 429" in row.inner_text() and "active" in row.inner_text()
    page.screenshot(path=str(screenshot_dir / "faults.png"), full_page=True)

    page.goto(emulator_server.url + "/_mock/ui/journal")
    page.wait_for_timeout(300)  # the tail is polling
    reply = requests.get(
        f"{emulator_server.url}/v1/vision-alert/licenses/",
        headers={"Authorization": f"Token {TOKEN}"},
        timeout=10,
    )
    assert reply.status_code == 429
    fresh = page.locator("table.journal tbody tr.s4").filter(has_text="/v1/vision-alert/licenses")
    fresh.first.wait_for(timeout=5000)  # appended by the live tail, no reload
    colour = fresh.first.locator("td.status").evaluate("td => getComputedStyle(td).color")
    red, green, blue = (int(v) for v in re.findall(r"\d+", colour)[:3])
    assert red > 150 and green < 80 and blue < 80, colour
    assert "fault #" in fresh.first.inner_text()
    page.screenshot(path=str(screenshot_dir / "journal.png"), full_page=False)
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="run the three checks").click()
    assert page.locator("text=retry_after_honoured").count() == 1
    assert page.problems == [f"429 {emulator_server.url}/v1/vision-alert/licenses/"] or (
        page.problems == []
    )


def test_a_request_s_details_show_headers_and_reply(
    watched, world, emulator_server, screenshot_dir
):
    page = watched
    reply = requests.get(
        f"{emulator_server.url}/v1/vision-alert/licenses/",
        headers={"Authorization": f"Token {TOKEN}", "X-Trace": "trace-77"},
        timeout=10,
    )
    assert reply.status_code == 200
    page.goto(emulator_server.url + "/_mock/ui/journal?path=/v1/vision-alert/licenses")
    page.locator("table.journal tbody tr td a").first.click()
    page.wait_for_load_state("load")
    sent = page.locator("table.headers").first.inner_text()
    assert "trace-77" in sent and f"Token {TOKEN[:4]}" in sent and TOKEN not in sent
    assert "application/json" in page.locator("table.headers.reply").inner_text()
    assert reply.text[:40] in page.locator("pre.body.reply").inner_text()
    page.screenshot(path=str(screenshot_dir / "request.png"), full_page=True)
    assert page.problems == []


def test_alerts_and_parkpow_pages(watched, world, emulator_server, screenshot_dir):
    page = watched
    page.goto(f"{emulator_server.url}/_mock/ui/licenses/{world.license}/alerts")
    alert = page.locator("article.alert").first
    assert "emitted" in alert.inner_text()
    assert _images_loaded(alert.locator("img")) >= 2
    assert "e-mail to ops@example.com" in alert.inner_text()
    _fits(page)
    page.screenshot(path=str(screenshot_dir / "alerts.png"), full_page=True)
    page.goto(emulator_server.url + "/_mock/ui/parkpow")
    assert page.locator("text=<IMG SRC=X ONERROR=ALERT(2)>").count() >= 1  # text, not an image
    assert "QWE1234" in page.locator("main").inner_text()
    _fits(page)
    page.screenshot(path=str(screenshot_dir / "parkpow.png"), full_page=True)
    assert page.problems == []


def test_overview_screenshot(watched, world, emulator_server, screenshot_dir):
    page = watched
    page.goto(emulator_server.url + "/_mock/ui")
    _fits(page)
    page.screenshot(path=str(screenshot_dir / "overview.png"), full_page=True)
    assert page.problems == []


def test_docs_page_fits_1400_and_loads_everything(watched, emulator_server, screenshot_dir):
    page = watched
    assert page.viewport_size["width"] == WIDTH
    page.goto(emulator_server.url + "/_mock/docs")
    page.wait_for_load_state("networkidle")
    _fits(page)
    main = page.locator("main").bounding_box()
    assert main["x"] + main["width"] <= WIDTH
    assert page.problems == []
    page.screenshot(path=str(screenshot_dir / "docs.png"))


def _frame(name: str) -> bytes:
    from .world import frame

    return frame(name)


def test_a_browser_sends_the_control_token_as_basic_credentials(browser):
    """With --control-token the browser is challenged (Basic), and once it has the token
    every page, image and live poll under /_mock/ works; without it, nothing does."""
    from mockserver.testkit.plugin import LiveServer

    with LiveServer(seed="demo", extra_args=["--control-token", "s3cret"]) as server:
        anonymous = browser.new_context()
        try:
            # (a headless browser cannot prompt: Chromium gives up on the challenge)
            with pytest.raises(Exception, match="ERR_INVALID_AUTH_CREDENTIALS"):
                anonymous.new_page().goto(server.url + "/_mock/ui")
            reply = anonymous.request.get(server.url + "/_mock/ui")
            assert reply.status == 401
            assert reply.headers["www-authenticate"].startswith("Basic realm=")
        finally:
            anonymous.close()
        context = browser.new_context(http_credentials={"username": "me", "password": "s3cret"})
        try:
            page = context.new_page()
            failed: list[str] = []
            page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
            with page.expect_response(lambda r: "/feed/requests?" in r.url) as polled:
                assert page.goto(server.url + "/_mock/ui/journal").status == 200
            assert polled.value.status == 200  # the live tail's own fetch is authorised
            assert failed == []
        finally:
            context.close()
