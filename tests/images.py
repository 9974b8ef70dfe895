"""Test images, encoded in memory: the one place the tests make image bytes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode(image: Image.Image, fmt: str = "JPEG", quality: int | None = None) -> bytes:
    """``image`` as a file's bytes (JPEG by default)."""
    buffer = io.BytesIO()
    options = {} if quality is None else {"quality": quality}
    image.convert("RGB").save(buffer, fmt, **options)
    return buffer.getvalue()


def solid(
    size: tuple[int, int] = (400, 300),
    color: tuple[int, int, int] = (120, 90, 60),
    fmt: str = "JPEG",
    quality: int | None = None,
) -> bytes:
    """One colour all over: the cheapest valid image of a given size and format."""
    return encode(Image.new("RGB", size, color), fmt, quality)


def noise(width: int, height: int, seed: int = 0, quality: int = 90) -> bytes:
    """Random pixels (reproducible per ``seed``): content no scorer mistakes for blank."""
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), quality=quality)
