"""Scoring on natural photographs (scikit-image's, degraded by fixtures/generate.py)."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from fixtures.generate import generate
from mockserver.visionalert import scoring

from .va_support import advance, blurred_photo, camera, jpeg_bytes, photo, seed, upload

SOURCES = ("coffee", "motorcycle_left", "camera")


@pytest.fixture(scope="session")
def labelled(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("va-fixtures"))
    cases = generate(directory, 1280, SOURCES)
    analyses = {}
    for case in cases:
        with open(os.path.join(directory, case.file), "rb") as handle:
            analyses[case.file] = scoring.analyse(handle.read())
    return cases, analyses


def _flagged(case, analyses) -> list[str]:
    scores = dict(analyses[case.file].scores)
    if case.file != case.reference:
        scores.update(
            scoring.compare(analyses[case.file].signature, analyses[case.reference].signature)
        )
    return [name for name in scoring.ANOMALY_TYPES if scores.get(name, 0.0) > 0.5]


def test_every_labelled_case_flags_exactly_its_own_anomaly(labelled):
    cases, analyses = labelled
    wrong = []
    for case in cases:
        expected = [] if case.label == "normal" else [case.label]
        flagged = _flagged(case, analyses)
        if flagged != expected:
            wrong.append((case.file, case.label, case.strength, flagged))
    normal_flagged = [w for w in wrong if w[1] == "normal"]
    assert normal_flagged == []
    assert len(wrong) <= 0.05 * len(cases), wrong


def test_scores_are_in_range_and_deterministic(labelled):
    cases, analyses = labelled
    for case in cases[:6]:
        for value in analyses[case.file].scores.values():
            assert 0.0 <= value <= 1.0
    content = photo()
    assert scoring.analyse(content) == scoring.analyse(content)


def test_decoded_at_reduced_size():
    big = Image.open(io.BytesIO(photo())).resize((1920, 1080))
    gray, width, height = scoring.decode_gray(jpeg_bytes(big))
    assert (width, height) == (1920, 1080)
    assert gray.shape == (180, scoring.ANALYSIS_WIDTH)


def test_other_aspect_ratio_is_a_position_change():
    reference = scoring.analyse(photo())
    square = scoring.analyse(jpeg_bytes(Image.open(io.BytesIO(photo())).resize((480, 480))))
    assert scoring.compare(square.signature, reference.signature)["Position change"] == 1.0


def test_blurred_upload_is_an_anomaly_through_http(client):
    (lic,) = seed(client)
    upload(client, "C1")
    advance(client, 905)
    upload(client, "C1", blurred_photo())
    advance(client, 5)
    latest = camera(client, lic, "C1")["logs"][0]
    assert latest["status"] == "anomaly"
    assert list(latest["anomalies"]) == ["Blur"]
    assert latest["scores"]["Position change"] < 0.5
