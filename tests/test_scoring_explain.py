"""``scoring.explain``: the block masks the dashboard draws are the ones the scores count
— the obstruction and glare masks give back the scores exactly."""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFilter

from mockserver.visionalert import scoring

from .va_support import jpeg_bytes, photo


def spoilt(change: str) -> bytes:
    image = Image.open(io.BytesIO(photo(960))).convert("RGB")
    if change == "cover":
        ImageDraw.Draw(image).rectangle((0, 0, 520, image.height), fill=(36, 36, 40))
    elif change == "glare":
        ImageDraw.Draw(image).ellipse((420, 40, 900, 470), fill=(255, 255, 255))
    elif change == "blur":
        image = image.filter(ImageFilter.GaussianBlur(5))
    return jpeg_bytes(image)


def logistic(x: float) -> float:
    return round(1.0 / (1.0 + math.exp(-x)), 4)


def test_masks_have_the_block_grid_shape_and_a_clean_frame_marks_nothing():
    reference = scoring.analyse(photo(960)).signature
    masks = scoring.explain(reference, reference)
    rows, cols = scoring.Blocks.from_json(reference["blocks"]).mean.shape
    assert set(masks) == {"Obstruction", "Glare", "Blur"}
    for mask in masks.values():
        assert mask.shape == (rows, cols) and mask.dtype == bool
        assert not mask.any()


def test_the_obstruction_mask_is_what_the_score_measured():
    reference = scoring.analyse(photo(960)).signature
    current = scoring.analyse(spoilt("cover")).signature
    mask = scoring.explain(current, reference)["Obstruction"]
    share = mask.sum() / mask.size
    expected = logistic((share - scoring.OBSTRUCTION_MID) * 20.0)
    assert scoring.compare(current, reference)["Obstruction"] == expected > 0.9
    assert mask[:, : mask.shape[1] // 2].mean() > 0.8  # on the covered left half
    assert mask[:, -5:].sum() == 0


def test_the_glare_mask_is_what_the_score_measured():
    analysis = scoring.analyse(spoilt("glare"))
    mask = scoring.explain(analysis.signature, None)["Glare"]
    assert analysis.scores["Glare"] == logistic((mask.mean() - scoring.GLARE_MID) * 30.0) > 0.9
    rows, cols = mask.shape
    assert mask[rows // 4 : 3 * rows // 4, cols // 2 :].mean() > 0.5  # where the disc is


def test_blur_marks_most_of_a_blurred_frame_and_little_of_a_sharp_one():
    reference = scoring.analyse(photo(960)).signature
    blurred = scoring.analyse(spoilt("blur")).signature
    assert scoring.explain(blurred, reference)["Blur"].mean() > 0.4
    assert scoring.explain(reference, reference)["Blur"].mean() < 0.05
    assert scoring.explain(blurred, None)["Blur"].mean() > 0.4  # without a reference too
