"""Image validation at the edge: is it an image, is it whole, is it of sane size.

Decoding is done at reduced size (JPEG draft mode) so checking a 1080p upload costs a
fraction of a full decode; a truncated file still fails because the whole stream is read.

The size bound is the configured ``pixel_limit``, applied to the header before anything
is decoded. Pillow's own process-wide guard (``Image.MAX_IMAGE_PIXELS``) is left as it is:
the emulator may run inside a user's test process (interception, the pytest plugin), whose
own image code keeps its protection.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image

from .media import CONTENT_TYPES

#: DRF ImageField's text, what a Django service answers for a file that is not an image
INVALID_IMAGE = (
    "Upload a valid image. The file you uploaded was either not an image or a corrupted image."
)
EMPTY_FILE = "The submitted file is empty."


class InvalidImage(ValueError):
    """The bytes are not a usable image; ``str(exc)`` is the client-facing message."""


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def open_image(content: bytes) -> Image.Image:
    """``Image.open`` without its process-wide size check: the caller applies its own bound
    to ``image.size`` (header only; nothing is decoded yet)."""
    stream = io.BytesIO(content)
    prefix = content[:16]
    Image.preinit()
    for loader in (None, Image.init):
        if loader is not None:
            loader()
        for name in Image.ID:
            factory, accept = Image.OPEN[name]
            try:
                accepted = accept is None or accept(prefix)
                if accepted and not isinstance(accepted, str):  # a str: a warning, not a match
                    stream.seek(0)
                    return factory(stream, None)
            except (SyntaxError, IndexError, TypeError, struct.error):
                continue  # not this format: try the next, as Image.open does
    raise InvalidImage(INVALID_IMAGE)


def inspect_image(content: bytes, pixel_limit: int, decode: bool = True) -> ImageInfo:
    """Check the header (format, size, pixel limit); with ``decode``, the whole stream too.

    Callers that decode the image anyway (to analyse it) pass ``decode=False`` and treat a
    failure of their own decode as :data:`INVALID_IMAGE`: one decode per upload, not two.
    """
    if not content:
        raise InvalidImage(EMPTY_FILE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = open_image(content)
            width, height = image.size
            if width <= 0 or height <= 0:
                raise InvalidImage(INVALID_IMAGE)
            if width * height > pixel_limit:
                raise InvalidImage(
                    f"Image too large: {width}x{height} pixels exceeds the limit of "
                    f"{pixel_limit} pixels."
                )
            content_type = CONTENT_TYPES.get(image.format or "")
            if content_type is None:
                raise InvalidImage(INVALID_IMAGE)
            if not decode:
                return ImageInfo(content_type, width, height)
            if image.format == "JPEG":
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            image.load()
    except InvalidImage:
        raise
    except Exception:  # Pillow raises many kinds for bad input; all mean "not an image"
        raise InvalidImage(INVALID_IMAGE) from None
    return ImageInfo(content_type, width, height)
