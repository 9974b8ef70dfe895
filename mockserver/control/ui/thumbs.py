"""Thumbnails of stored images for the dashboard, made once per content and kept.

A grid of 48 cameras shows 96 images; sending each full frame would cost megabytes
per page. A thumbnail is made from the stored file (JPEG draft mode: a reduced decode)
the first time it is asked for and kept beside the media, named by content hash, so
every later page load (from any worker) reads a small file.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from collections.abc import Callable

from PIL import Image

WIDTH = 320  # pixels; shown at up to 160 CSS px, sharp on a 2x screen


def thumbnail_path(data_dir: str, source: Callable[[], bytes | None], sha256: str) -> str | None:
    """The thumbnail file of the image whose bytes ``source`` reads (made now if missing);
    None if the image is gone. Kept in this host's data directory: a cache of content,
    made again by any host that lacks it (the bytes may live in a shared database)."""
    folder = os.path.join(data_dir, "thumbnails")
    path = os.path.join(folder, f"{sha256}-{WIDTH}.jpg")
    if os.path.exists(path):
        return path
    content = source()
    if content is None:
        return None
    os.makedirs(folder, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(io.BytesIO(content)) as image:
            image.draft("RGB", (WIDTH, WIDTH))
            image = image.convert("RGB")
            image.thumbnail((WIDTH, WIDTH * 4), Image.Resampling.BILINEAR)
            handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                image.save(out, "JPEG", quality=82)
    os.replace(temporary, path)  # atomic: a concurrent reader sees all of it or nothing
    return path
