"""Real images for multipart uploads: natural photographs, small, encoded once.

Uploads carry camera frames, not random bytes, so a server that decodes and analyses
them answers as it would in production. The frames come from the photographs that
scikit-image ships (no download); without it, a drawn street-like scene stands in.
"""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw, ImageFilter

SIZE = (640, 360)
PHOTOS = ("coffee", "astronaut", "chelsea", "rocket", "motorcycle_left")


def _photo(name: str) -> Image.Image | None:
    try:
        from skimage import data
    except ImportError:  # the harness also runs where scikit-image is not installed
        return None
    try:
        pixels = getattr(data, name)()
    except Exception:
        return None
    image = Image.fromarray(pixels).convert("RGB")
    width, height = image.size
    crop_height = min(height, width * SIZE[1] // SIZE[0])
    top = (height - crop_height) // 2
    return image.crop((0, top, width, top + crop_height)).resize(SIZE)


def _drawn(index: int) -> Image.Image:
    """A sky, a road, a few buildings and cars: textured enough to look like a camera frame."""
    image = Image.new("RGB", SIZE, (120 + 10 * index, 160, 210))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 220, 640, 360), fill=(70, 70, 75))
    for i in range(6):
        x = 20 + i * 105 + index * 7
        draw.rectangle((x, 90 + (i * 37) % 60, x + 80, 220), fill=(150 + i * 12, 120, 100 + i * 9))
        for row in range(4):
            draw.rectangle((x + 10, 110 + row * 25, x + 25, 122 + row * 25), fill=(240, 230, 150))
    for i in range(4):
        x = 40 + i * 150
        draw.rounded_rectangle((x, 260, x + 110, 310), radius=12, fill=(200, 30 + 50 * i, 40))
    return image.filter(ImageFilter.SMOOTH)


@cache
def frames(kind: str = "jpeg") -> tuple[bytes, ...]:
    """A handful of distinct camera frames, JPEG (default) or PNG bytes."""
    encoded = []
    for index, name in enumerate(PHOTOS):
        image = _photo(name) or _drawn(index)
        buffer = io.BytesIO()
        if kind == "png":
            image.save(buffer, "PNG", optimize=False)
        else:
            image.save(buffer, "JPEG", quality=85)
        encoded.append(buffer.getvalue())
    return tuple(encoded)


@cache
def obstructed_frame() -> bytes:
    """A frame with an opaque object over most of the view (an anomaly on any sane scorer)."""
    image = _photo(PHOTOS[0]) or _drawn(0)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, int(SIZE[0] * 0.8), SIZE[1]), fill=(8, 8, 8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@cache
def degraded(kind: str) -> bytes:
    """A frame and its documented degradations (PRODUCT.md §4.2), well past each bound:
    ``clean``, ``Blur`` (Gaussian radius 4 at 640 px: 8 px at 1280), ``Obstruction`` (an
    opaque object over 60 % of the frame), ``Glare`` (a blown-out area over 40 %) and
    ``Position change`` (the view shifted by 15 % of its width)."""
    image = _photo(PHOTOS[0]) or _drawn(0)
    width, height = SIZE
    if kind == "Blur":
        image = image.filter(ImageFilter.GaussianBlur(4))
    elif kind == "Obstruction":
        cover = Image.new("L", SIZE, 0)
        ImageDraw.Draw(cover).rectangle((0, 0, int(width * 0.6), height), fill=255)
        cover = cover.filter(ImageFilter.GaussianBlur(width / 150))
        image = Image.composite(Image.new("RGB", SIZE, (60, 45, 35)), image, cover)
    elif kind == "Glare":
        ImageDraw.Draw(image).ellipse(
            (width * 0.3, -height * 0.2, width * 1.1, height * 0.8), fill=(255, 255, 255)
        )
    elif kind == "Position change":
        shift = int(width * 0.15)
        moved = image.crop((shift, 0, width, height))
        image = Image.new("RGB", SIZE)
        image.paste(moved, (0, 0))
        image.paste(
            moved.crop((0, 0, shift, height)).transpose(Image.FLIP_LEFT_RIGHT), (width - shift, 0)
        )
    elif kind != "clean":
        raise ValueError(kind)
    return _jpeg(image)
