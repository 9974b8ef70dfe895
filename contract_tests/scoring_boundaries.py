"""The scoring's rules through the API's replies (PRODUCT.md §4.2): a clean photograph is
``normal`` with no anomaly; each documented degradation of it (blur, an opaque object, a
blown-out area, a shifted view against the camera's reference) is ``anomaly`` naming its
own type; and a camera's threshold at the score itself, one step under it and one
``review_band`` under it gives ``under_review`` without the anomaly, ``under_review`` with
it, and ``anomaly``.

The frames are made here (Pillow), never judged by the emulator's own code; every upload
happens at an instant the suite sets, so the same world gives the same requests and
verdicts. Thresholds are set through the control plane before the upload is judged.
"""

from __future__ import annotations

from datetime import timedelta

from . import images
from . import target as target_module
from .model import expect
from .rules import LEDGER
from .server_clock import Clock, CouldNotProceed, control, settings, stamp, unthrottled
from .suite import send

VA = "visionalert"
CHECK = "scoring_through_api"
RULES = ("scoring.anomalies",)
DEGRADED = ("Blur", "Obstruction", "Glare", "Position change")


def anomalies_scored(target) -> None:
    clock = control(target, RULES)
    try:
        with unthrottled(target):
            _anomalies_scored(target, clock)
    finally:
        clock.release()


def _upload(target, serial: str, frame: bytes) -> None:
    body = {"camera_id": serial, "upload": frame}
    reply = send(target, VA, "createLog", body=body, media_type="multipart/form-data")
    expect("scoring.anomalies", f"create-log {serial}", 200, reply.status_code)
    target_module.CREATED.add(serial)


def _latest(target, license_id: int, serial: str) -> dict:
    reply = send(target, VA, "listCameraLogs",
                 path_parameters={"license_id": license_id, "serial": serial})  # fmt: skip
    assert reply.status_code == 200, reply.text[:300]
    return reply.json()["results"][0]


def _anomalies_scored(target, clock: Clock) -> None:
    license_id = target.facts.license_id
    if license_id is None:
        LEDGER.cannot(RULES, "the token sees no VisionAlert license")
        raise CouldNotProceed("the token sees no VisionAlert license")
    rules_now = settings(target)
    delay = float(rules_now.get("processing_delay", 5))
    window = float(rules_now.get("camera_window", 900))
    band = float(rules_now.get("review_band", 0.05))
    start = clock.now.replace(microsecond=0) + timedelta(seconds=1)
    clock.set(start)
    suffix = stamp(start)
    serial = {kind: f"score-{suffix}-{kind.split()[0].lower()}" for kind in ("clean", *DEGRADED)}
    # a shifted view, and a cover, are judged against the camera's reference: their
    # cameras adopt a first (clean) upload, the degraded frame comes a window later
    for kind in ("clean", *DEGRADED):
        frame = images.degraded("clean" if kind in ("Position change", "Obstruction") else kind)
        _upload(target, serial[kind], frame)
    clock.to(start + timedelta(seconds=window))
    _upload(target, serial["Position change"], images.degraded("Position change"))
    _upload(target, serial["Obstruction"], images.degraded("Obstruction"))
    clock.to(clock.now + timedelta(seconds=delay))
    for kind in serial:
        got = _latest(target, license_id, serial[kind])
        asked = f"the log of {serial[kind]} ({kind})"
        if kind == "clean":
            expect("scoring.anomalies", asked, ("normal", {}), (got["status"], got["anomalies"]))
        else:  # its own type named (the others as far as the physics allows: not judged)
            named = sorted(got["anomalies"])
            expect("scoring.anomalies", asked, ("anomaly", True), (got["status"], kind in named))
        LEDGER.exercise("scoring.anomalies", CHECK)
    score = _latest(target, license_id, serial["Blur"])["anomalies"]["Blur"]
    _threshold_boundary(target, clock, license_id, suffix, score, band, delay)


def _threshold_boundary(target, clock, license_id, suffix, score, band, delay) -> None:
    """The blurred frame again (same bytes, same score) on cameras whose Blur threshold is
    the score itself (not above it: no anomaly, within the band), one step under it (above:
    named, still within the band) and one band and a step under it (``anomaly``)."""
    cases = (
        (round(score, 2), ("under_review", {})),
        (round(score - 0.01, 2), ("under_review", {"Blur": score})),
        (round(score - band - 0.01, 2), ("anomaly", {"Blur": score})),
    )
    serials = []
    for index, (threshold, _) in enumerate(cases):
        serial = f"score-{suffix}-edge{index}"
        _upload(target, serial, images.degraded("Blur"))
        path = f"/_mock/visionalert/licenses/{license_id}/cameras/{serial}/thresholds"
        reply = target.http("POST", path, token=False, json={"Blur": threshold})
        if reply.status_code != 200:
            reason = f"needs per-camera thresholds ({path}: {reply.status_code})"
            LEDGER.cannot(RULES, reason)
            raise CouldNotProceed(reason)
        serials.append(serial)
    clock.to(clock.now + timedelta(seconds=delay))
    for serial, (threshold, predicted) in zip(serials, cases, strict=True):
        got = _latest(target, license_id, serial)
        asked = f"Blur {score} against a threshold of {threshold} (review band {band})"
        expect("scoring.anomalies", asked, predicted, (got["status"], got["anomalies"]))
        LEDGER.exercise("scoring.anomalies", CHECK)
