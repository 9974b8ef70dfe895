"""Block statistics of an analysis image: what the anomaly rules in ``scoring`` read.

The image is decoded at reduced size (JPEG draft mode: the decoder skips most of the DCT
work) and brought to ``ANALYSIS_WIDTH`` pixels wide, so every feature is measured relative
to the frame whatever the camera's resolution. Per ``BLOCK``-pixel block the signature keeps
a few numbers (mean, saturated and near-white pixel counts, texture, gradient energy at two
scales): enough to score an image against its camera's reference without either image's
pixels. Also the grid helpers the rules share (connected regions, growing a mask, moving a
reference grid onto the current view).
"""

from __future__ import annotations

import base64
import functools
import io
import warnings
from dataclasses import dataclass, fields

import numpy as np
from PIL import Image

ANALYSIS_WIDTH = 320
BLOCK = 8  # analysis pixels per block side
SATURATED = 245  # gray level from which a pixel counts as blown out
NEAR_WHITE = 200  # gray level that an exposure up to +22 % can push to SATURATED


def decode_gray(content: bytes) -> tuple[np.ndarray, int, int]:
    """Grayscale float32 array ``ANALYSIS_WIDTH`` wide; also the original width, height."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = Image.open(io.BytesIO(content))
        width, height = image.size
        target = (ANALYSIS_WIDTH, max(1, round(height * ANALYSIS_WIDTH / width)))
        if image.format == "JPEG":
            image.draft("L", target)
        if image.mode in ("RGBA", "LA", "PA") or (
            image.mode == "P" and "transparency" in image.info
        ):
            image = image.convert("RGBA").convert("RGB")
        gray = image.convert("L")
        if gray.size != target:
            gray = gray.resize(target, Image.Resampling.BOX)
    return np.asarray(gray, dtype=np.float32), width, height


def _gradient_energy(gray: np.ndarray) -> np.ndarray:
    energy = np.zeros_like(gray)
    energy[:, :-1] += np.diff(gray, axis=1) ** 2
    energy[:-1, :] += np.diff(gray, axis=0) ** 2
    return energy


def _half(gray: np.ndarray) -> np.ndarray:
    h, w = (gray.shape[0] // 2) * 2, (gray.shape[1] // 2) * 2
    g = gray[:h, :w]
    return 0.25 * (g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2])


_OFFSETS = np.arange(BLOCK, dtype=np.float32) - (BLOCK - 1) / 2
_SPREAD = float((_OFFSETS**2).sum() * BLOCK)  # sum of squared offsets over one block


def _block_sum(a: np.ndarray, block: int) -> np.ndarray:
    """Per-block sums: whole rows added first (contiguous, fast), then runs within them."""
    h, w = a.shape
    rows = a.reshape(h // block, block, w).sum(axis=1)
    return rows.reshape(h // block, w // block, block).sum(axis=2)


def _detail(gray: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Per block: std of the residual after removing the block's mean and linear slope.

    Centred x and y offsets are orthogonal to each other and to the mean, so the fitted
    plane's share of the variance is a closed form from four block sums (Σv, Σv², Σxv,
    Σyv): no least-squares solve per block.
    """
    n = BLOCK * BLOCK
    h, w = gray.shape
    along_x = _block_sum(gray * np.tile(_OFFSETS, w // BLOCK)[None, :], BLOCK)
    along_y = _block_sum(gray * np.tile(_OFFSETS, h // BLOCK)[:, None], BLOCK)
    variance = _block_sum(gray * gray, BLOCK) / n - (total / n) ** 2
    explained = (along_x**2 + along_y**2) / (_SPREAD * n)
    return np.sqrt(np.maximum(variance - explained, 0.0))


@dataclass
class Blocks:
    """Per-block statistics on a ``BLOCK``-pixel grid of the analysis image."""

    mean: np.ndarray
    saturated: np.ndarray  # pixels at or above SATURATED
    detail: np.ndarray
    fine: np.ndarray  # gradient energy at analysis scale
    coarse: np.ndarray  # gradient energy at half scale (in its own pixels)
    near_white: np.ndarray  # pixels at or above NEAR_WHITE

    @property
    def shape(self) -> tuple[int, int]:
        return self.mean.shape

    def to_json(self) -> dict:
        pack = lambda a: base64.b64encode(a.astype(np.float16).tobytes()).decode("ascii")  # noqa: E731
        rows, cols = self.shape
        return {
            "rows": rows,
            "cols": cols,
            **{f.name: pack(getattr(self, f.name)) for f in _FIELDS},
        }

    @classmethod
    def from_json(cls, data: dict) -> Blocks:
        shape = (data["rows"], data["cols"])

        def unpack(name: str) -> np.ndarray:
            raw = np.frombuffer(base64.b64decode(data[name]), dtype=np.float16)
            return raw.astype(np.float32).reshape(shape)

        # A signature stored before near-white counts were kept: its saturated count is
        # the closest (smaller) stand-in.
        values = {f.name: unpack(f.name) for f in _FIELDS if f.name in data}
        values.setdefault("near_white", values["saturated"])
        return cls(**values)


_FIELDS = fields(Blocks)


def block_stats(gray: np.ndarray) -> Blocks:
    rows, cols = gray.shape[0] // BLOCK, gray.shape[1] // BLOCK
    gray = np.ascontiguousarray(gray[: rows * BLOCK, : cols * BLOCK])
    total = _block_sum(gray, BLOCK)
    half = BLOCK // 2
    return Blocks(
        mean=total / (BLOCK * BLOCK),
        saturated=_block_sum((gray >= SATURATED).astype(np.float32), BLOCK),
        detail=_detail(gray, total),
        fine=_block_sum(_gradient_energy(gray), BLOCK) / (BLOCK * BLOCK),
        coarse=_block_sum(_gradient_energy(_half(gray)), half) / (half * half),
        near_white=_block_sum((gray >= NEAR_WHITE).astype(np.float32), BLOCK),
    )


# -- grid helpers -------------------------------------------------------------------------


def components(mask: np.ndarray) -> list[int]:
    """Sizes (in cells) of the 4-connected regions of True cells (label propagation)."""
    return list(labelled_regions(mask)[1])


def labelled_regions(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label of every cell (the smallest index in its region; ``mask.size`` outside any),
    the region sizes and their labels.

    Each round takes the smallest label among a cell's 4 neighbours, then follows labels
    to the label's own label (pointer jumping), so a region of any shape settles in a few
    rounds of whole-array work.
    """
    n = mask.size
    flat = np.full(n + 1, n, dtype=np.int64)
    cells = np.flatnonzero(mask)
    if cells.size == 0:
        return flat[:n].reshape(mask.shape), np.zeros(0, np.int64), np.zeros(0, np.int64)
    flat[cells] = cells
    around = _neighbours(mask.shape)[:, cells]
    labels = cells
    while True:
        updated = flat[np.minimum(labels, flat[around].min(axis=0))]
        if np.array_equal(updated, labels):
            break
        flat[cells] = labels = updated
    names, sizes = np.unique(labels, return_counts=True)
    return flat[:n].reshape(mask.shape), sizes, names


@functools.lru_cache(maxsize=8)
def _neighbours(shape: tuple[int, int]) -> np.ndarray:
    """Flat index of each cell's 4 neighbours (``rows * cols`` past the edge)."""
    rows, cols = shape
    index = np.pad(np.arange(rows * cols).reshape(shape), 1, constant_values=rows * cols)
    sides = (index[:-2, 1:-1], index[2:, 1:-1], index[1:-1, :-2], index[1:-1, 2:])
    return np.stack(sides).reshape(4, -1)


def regions_at_least(mask: np.ndarray, size: int) -> np.ndarray:
    """The cells of ``mask`` in 4-connected regions of at least ``size`` cells."""
    if int(mask.sum()) < size:
        return np.zeros(mask.shape, dtype=bool)
    labels, sizes, names = labelled_regions(mask)
    return mask & np.isin(labels, names[sizes >= size])


def largest_region(mask: np.ndarray, needed: int = 0) -> np.ndarray:
    """The cells of the largest region (all of ``mask`` when it holds fewer than ``needed``
    cells: then the region cannot matter and labelling is skipped)."""
    if int(mask.sum()) < needed or not mask.any():
        return mask
    labels, sizes, names = labelled_regions(mask)
    return labels == names[int(np.argmax(sizes))]


def grow(mask: np.ndarray, steps: int = 1) -> np.ndarray:
    """``mask`` and its 8-connected neighbours, ``steps`` times (a 3x3 dilation, done as
    one pass down the columns and one along the rows)."""
    grown = mask
    for _ in range(steps):
        tall = grown.copy()
        tall[1:] |= grown[:-1]
        tall[:-1] |= grown[1:]
        grown = tall.copy()
        grown[:, 1:] |= tall[:, :-1]
        grown[:, :-1] |= tall[:, 1:]
    return grown


def moved(blocks: Blocks, dx: float, dy: float, angle: float) -> tuple[Blocks, np.ndarray]:
    """A reference grid as the moved view sees it: every statistic turned by ``angle``
    degrees (counter-clockwise, about the centre) and shifted by (``dx``, ``dy``) blocks,
    and the mask of blocks the reference saw at all (the rest came into view)."""
    if not (dx or dy or angle):
        return blocks, np.ones(blocks.shape, dtype=bool)

    def move(values: np.ndarray) -> np.ndarray:
        image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), "F")
        turned = image.rotate(angle, Image.Resampling.NEAREST, translate=(dx, dy))
        return np.asarray(turned, dtype=np.float32)

    seen = move(np.ones(blocks.shape, dtype=np.float32)) > 0.5
    return Blocks(**{f.name: move(getattr(blocks, f.name)) for f in _FIELDS}), seen
