"""The rules the contract suite holds a server to, as data, and what exercised each.

Each rule is a sentence of a vendor document (``seeds/004…`` VisionAlert, ``seeds/000…``
ParkPow), of the live ParkPow tools (``PARKPOW_LIVE_API.md``) or of ``PRODUCT.md``, with
where it stands. Checks and scenarios say which rule they exercise (``LEDGER.exercise``);
the fidelity report lists every rule with its checks and counts, and a rule nothing
exercised is printed as such, with the reason where the run knew it
(``LEDGER.cannot``: e.g. a boundary that needs the clock control against a server
without one).

``emulator_defined`` rules are decisions of this project where the documents are silent:
they are held only against a server with the emulator's control plane.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

VA = "VisionAlert seed"
PP = "ParkPow seed"
LIVE = "PARKPOW_LIVE_API.md"
PRODUCT = "PRODUCT.md"


@dataclass(frozen=True)
class Rule:
    id: str
    source: str  # document, section and line
    text: str
    emulator_defined: bool = False
    unexercised: str = ""  # why the suite does not exercise it (shown while nothing does)


RULES: tuple[Rule, ...] = (
    # -- VisionAlert ---------------------------------------------------------------------
    Rule("auth.token", f"{VA} Authentication l.6; {PRODUCT} §3 l.50",
         "401 without a token or with an unknown one, DRF's texts, WWW-Authenticate: Token"),
    Rule("tenancy.license", f"{VA} l.66; {PRODUCT} §3 l.58",
         "a license of another account is 403, an unknown license 404"),
    Rule("camera.unknown_404", f"{VA} Delete Camera l.338, Reference Errors l.395",
         "a serial not under the license is 404"),
    Rule("camera.delete", f"{VA} Delete Camera l.317",
         "delete answers 204 and removes the camera's logs and reference"),
    Rule("upload.accepted", f"{VA} create-log Response l.47",
         "an accepted upload answers {\"message\": \"Log created successfully.\"}"),
    Rule("upload.camera_window", f"{VA} Rate Limits l.58; {PRODUCT} §4.1 l.86",
         "one accepted upload per camera every 15 minutes: refused before 900 s, accepted "
         "at exactly 900 s"),
    Rule("upload.window_retry_after", f"{PRODUCT} §4.1 l.87, §3 l.67",
         "a refused upload's Retry-After is the whole seconds left of the window, rounded up"),
    Rule("upload.account_throttle", f"{VA} Rate Limits l.57; {PRODUCT} §4.1 l.83",
         "1 create-log per second per account: refused within the second, accepted at 1 s; "
         "DRF's text and Retry-After say the wait, rounded up"),
    Rule("upload.tag", f"{VA} create-log POST Parameters l.22",
         "tag: created if missing, added to the camera, existing tags kept"),
    Rule("upload.license_size", f"{VA} List Licenses l.132; {PRODUCT} §4.1 l.75",
         "a license holds at most `size` cameras; a new camera with no license room is 403",
         emulator_defined=True),
    Rule("processing.visible", f"{VA} l.46; {PRODUCT} §4.2 l.93",
         "an accepted upload's log appears processing_delay after the upload, with "
         "created = the upload's time", emulator_defined=True),
    Rule("processing.offline", f"{PRODUCT} §4.2 l.119",
         "a camera silent for offline_after gets one offline log at the instant it crossed "
         "the limit (snapshot null, anomalies {}); not one second earlier",
         emulator_defined=True),
    Rule("reference.set", f"{VA} Set Camera Reference Image l.364, l.387",
         "POST reference answers 201 {\"message\": \"Reference image updated.\"}; GET then "
         "shows the new image"),
    Rule("paths.trailing_slash", f"{PRODUCT} §3 l.43",
         "every path answers with and without its trailing slash, alike, without a redirect"),
    Rule("scoring.anomalies", f"{PRODUCT} §4.2 l.100",
         "scores from the image content: degraded photographs score above threshold on "
         "their anomaly (a clean one is normal); anomalies list only scores above the "
         "camera's threshold, status anomaly beyond the review band",
         emulator_defined=True),
    Rule("alerts.window", f"{PRODUCT} §4.3 l.126",
         "cameras of one license turning before opened + alert_window share one alert, "
         "emitted then; a camera turning exactly at that instant opens the next",
         emulator_defined=True),
    Rule("upload.body_limit", f"{PRODUCT} §4.1 l.81",
         "a body of exactly the upload limit is accepted, one byte over is 413",
         emulator_defined=True),
    Rule("page.envelope", f"{VA} Pagination l.69",
         "camera, log and alert lists are the next/previous/results envelope"),
    Rule("page.size", f"{VA} Pagination l.84; {PRODUCT} §4.4 l.143",
         "page_size default 50, max 200: 199 gives 199, 200 gives 200, 201 gives 200"),
    Rule("page.order", f"{VA} Pagination l.80; {PRODUCT} §4.4 l.142",
         "newest first by created; ties on created by id, newest first"),
    Rule("page.walk", f"{VA} Pagination l.80",
         "following next/previous visits every row once, in order"),
    Rule("filter.complete", f"{VA} List License Logs l.264; {PRODUCT} §4.4 l.139",
         "a filtered list holds every row that matches (status, serial, tag, dates), "
         "not only rows that match"),
    Rule("filter.status", f"{VA} List Cameras l.148, l.192",
         "status filters cameras by latest_status; no_data is latest_status null"),
    Rule("filter.tag", f"{VA} List License Logs l.271",
         "tag filters logs by any tag the camera holds"),
    Rule("dates.start_date", f"{VA} Date Filtering l.94",
         "start=YYYY-MM-DD: created >= 00:00 of that day (server timezone)"),
    Rule("dates.end_date", f"{VA} Date Filtering l.95",
         "end=YYYY-MM-DD: created <= 23:59:59 of that day (server timezone)"),
    Rule("dates.start_timestamp", f"{VA} Date Filtering l.94",
         "start=timestamp: created >= timestamp"),
    Rule("dates.end_timestamp", f"{VA} Date Filtering l.95",
         "end=timestamp: created <= timestamp (exact)"),
    Rule("dates.naive", f"{VA} Date Filtering l.91; {PRODUCT} §4.4 l.151",
         "naive timestamps are read in the server timezone"),
    Rule("dates.invalid", f"{VA} Date Filtering l.98",
         "an invalid start/end is 400 naming the field"),
    # -- ParkPow -------------------------------------------------------------------------
    Rule("pp.log_vehicle", f"{PP} Integration l.269",
         "log-vehicle answers the string OK"),
    Rule("pp.camera_listed", f"{PP} Cameras l.64; {PRODUCT} §5 l.160",
         "a created camera is in parking-list with its type's label"),
    Rule("pp.visit_pairing", f"{PRODUCT} §5 l.177",
         "an entrance opens a visit, an exit closes it: start/end camera and date, duration "
         "in minutes", emulator_defined=True),
    Rule("pp.absent_timer", f"{PRODUCT} §5 l.179",
         "a visit not sighted for absent_timer minutes closes at its last sighting; not one "
         "second earlier", emulator_defined=True),
    Rule("pp.default_period", f"{PP} Export Vehicle Visits l.230; {PRODUCT} §5 l.170",
         "visit-list without a period: the visits started in the last 24 hours"),
    Rule("pp.period", f"{PRODUCT} §5 l.172",
         "a visit belongs to a period when its start_date lies in it"),
    Rule("pp.live_count", f"{LIVE} §2.1 l.199",
         "the live visit-list's estimated_count counts every visit the filter matches, "
         "across pages", emulator_defined=True),
    Rule("pp.live_paging", f"{LIVE} §2.1 l.203",
         "the live visit-list pages by number: next carries page=N+1 and the filters"),
)  # fmt: skip

BY_ID = {rule.id: rule for rule in RULES}


class Ledger:
    """Which check exercised which rule, how often; and why a rule could not be."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = {rule.id: Counter() for rule in RULES}
        self.reasons: dict[str, str] = {}

    def exercise(self, rule_id: str, check: str, times: int = 1) -> None:
        if rule_id not in BY_ID:
            raise KeyError(f"unknown rule {rule_id!r}")
        self.counts[rule_id][check] += times

    def cannot(self, rule_ids, reason: str) -> None:
        """These rules could not be exercised in this run, and why."""
        for rule_id in [rule_ids] if isinstance(rule_ids, str) else rule_ids:
            if rule_id not in BY_ID:
                raise KeyError(f"unknown rule {rule_id!r}")
            self.reasons.setdefault(rule_id, reason)

    def not_exercised(self) -> list[str]:
        return [rule.id for rule in RULES if not self.counts[rule.id]]

    def markdown(self) -> list[str]:
        lines = [
            "## Rules",
            "",
            "Every rule the suite holds a server to, where it is written, and the checks that "
            "exercised it (× times). *Emulator-defined*: the project's decision where the "
            "documents are silent (held only where the emulator's control plane answers).",
            "",
            "| rule | source | rule | exercised by |",
            "| --- | --- | --- | --- |",
        ]
        for rule in RULES:
            counts = self.counts[rule.id]
            shown = ", ".join(f"`{check}`×{n}" for check, n in sorted(counts.items()))
            if not shown:
                reason = self.reasons.get(rule.id) or rule.unexercised
                shown = "**not exercised**" + (f": {reason}" if reason else "")
            text = rule.text + (" (*emulator-defined*)" if rule.emulator_defined else "")
            lines.append(f"| `{rule.id}` | {rule.source} | {text} | {shown} |")
        idle = self.not_exercised()
        lines += ["", f"Rules exercised: **{len(RULES) - len(idle)} / {len(RULES)}**."]
        return lines


LEDGER = Ledger()
