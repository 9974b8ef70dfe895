"""Anomaly scores from pixels: Blur, Obstruction, Glare and Position change, each in [0, 1].

The image is decoded at reduced size (JPEG draft mode: the decoder skips most of the DCT
work) and brought to ``ANALYSIS_WIDTH`` pixels wide, so every feature is measured relative
to the frame whatever the camera's resolution, and a 1080p frame costs less than one
full-size decode. ``analyse`` keeps a compact *signature* per image (a thumbnail and block
statistics); ``compare`` scores an image against its camera's reference from the two
signatures alone. The same bytes (and the same reference) always give the same scores.

* Blur: natural images have a ~1/f² spectrum, so the ratio of fine-scale to coarse-scale
  gradient energy is nearly content-independent and drops when the finest octave is
  lost. Against a reference the ratio is compared with the reference's, over the blocks
  that neither glare nor an obstruction changed; without one, an absolute bound applies.
* Obstruction: the largest connected region of blocks that are flat (no texture once the
  block's mean and slope are removed) and either were textured in the reference or
  changed their brightness. Without a reference a large featureless region (night sky, a
  blank wall) cannot be told from a cover, so only a nearly fully covered view scores high.
* Glare: the share of the frame covered by blobs of saturated, near-white pixels.
* Position change: phase correlation of edge maps against the reference (shift), with a
  small rotation search (angle); regions hidden by glare or an obstruction are masked.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

ANALYSIS_WIDTH = 320
SIGNATURE_WIDTH = 128
BLOCK = 8  # analysis pixels per block side
CONTENT_TYPES = ("Blur", "Obstruction", "Glare")
POSITION = "Position change"
ANOMALY_TYPES = (*CONTENT_TYPES, POSITION)

# Tuned on natural photographs (fixtures/evaluate.py prints the confusion matrix).
BLUR_ABSOLUTE_MID = 0.42  # fine/coarse energy ratio scoring 0.5 without a reference
BLUR_RELATIVE_MID = 0.78  # the same ratio relative to the reference's, scoring 0.5
FLAT_DETAIL = 2.2  # a block whose detail (std after removing mean and slope) is below: flat
TEXTURED_DETAIL = 4.0  # a reference block with at least this much detail had texture
CHANGED_MEAN = 25.0  # brightness change of a block that counts as "something else there"
DARK = 110.0  # without a reference, only flat blocks darker than this count as obstruction
UNREFERENCED_MID = 0.85  # without a reference: only a nearly fully covered view scores high
SATURATED = 245  # gray level from which a pixel counts as blown out
OBSTRUCTION_MID = 0.22  # obstructed share of the frame that scores 0.5
GLARE_MID = 0.12  # saturated-blob share of the frame that scores 0.5
SHIFT_FULL = 0.10  # shift (fraction of width) scoring 1.0; 0.05 scores 0.5
ROTATION_FULL = 6.0  # degrees scoring 1.0; 3 degrees score 0.5
UNTURNED_PEAK = 0.5  # a peak this strong without turning: no rotation search needed
WEAK_PEAK = 0.15  # a phase-correlation peak below this: no alignment found
HIDDEN_SHARE = 0.2  # covered share from which a lost alignment is blamed on the cover


@dataclass(frozen=True)
class Analysis:
    """Content scores of one image (as if it had no reference) and its signature."""

    width: int
    height: int
    scores: dict[str, float]
    signature: dict


# -- decoding and block statistics ---------------------------------------------------------


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

    def to_json(self) -> dict:
        pack = lambda a: base64.b64encode(a.astype(np.float16).tobytes()).decode("ascii")  # noqa: E731
        return {
            "rows": int(self.mean.shape[0]),
            "cols": int(self.mean.shape[1]),
            **{
                name: pack(getattr(self, name))
                for name in ("mean", "saturated", "detail", "fine", "coarse")
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> Blocks:
        shape = (data["rows"], data["cols"])

        def unpack(name: str) -> np.ndarray:
            raw = np.frombuffer(base64.b64decode(data[name]), dtype=np.float16)
            return raw.astype(np.float32).reshape(shape)

        return cls(*(unpack(n) for n in ("mean", "saturated", "detail", "fine", "coarse")))


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
    )


# -- the scores --------------------------------------------------------------------------


def analyse(content: bytes) -> Analysis:
    """Decode once at reduced size; content scores (no reference) and the signature."""
    gray, width, height = decode_gray(content)
    stats = block_stats(gray)
    scores = {
        "Blur": blur_score(stats),
        "Obstruction": obstruction_score(stats),
        "Glare": glare_score(stats),
    }
    signature = {"thumb": make_thumbnail(gray), "blocks": stats.to_json()}
    return Analysis(width, height, scores, signature)


def compare(signature: dict, reference: dict) -> dict[str, float]:
    """Scores that use the camera's reference: Blur, Obstruction and Position change."""
    current, ref = Blocks.from_json(signature["blocks"]), Blocks.from_json(reference["blocks"])
    if current.mean.shape != ref.mean.shape:  # another aspect ratio: not the same view
        return {POSITION: 1.0}
    return {
        "Blur": blur_score(current, ref),
        "Obstruction": obstruction_score(current, ref),
        POSITION: position_change(signature, reference, float(_covered(current, ref).mean())),
    }


def _ratio(stats: Blocks, use: np.ndarray) -> float:
    coarse = float(stats.coarse[use].sum())
    return float(stats.fine[use].sum()) / coarse if coarse > 1e-3 else 1.0


def blur_score(stats: Blocks, reference: Blocks | None = None) -> float:
    usable = stats.saturated == 0
    if reference is None:
        if usable.sum() < 8:
            return 0.0
        ratio = max(_ratio(stats, usable), 1e-6)
        return _logistic((math.log(BLUR_ABSOLUTE_MID) - math.log(ratio)) * 10.0)
    same = (
        usable & (reference.saturated == 0) & (np.abs(stats.mean - reference.mean) < CHANGED_MEAN)
    )
    same &= reference.coarse > 10
    if same.sum() < 8:
        return 0.0  # too little of the reference's view left to judge sharpness
    relative = _ratio(stats, same) / max(_ratio(reference, same), 1e-6)
    return _logistic((BLUR_RELATIVE_MID - relative) * 15.0)


def obstruction_score(stats: Blocks, reference: Blocks | None = None) -> float:
    flat = (stats.detail < FLAT_DETAIL) & (stats.saturated == 0)
    if reference is None:
        # A night sky or a blank wall looks like a cover: only a nearly full one counts.
        covered = flat & (stats.mean < DARK)
        needed = int((UNREFERENCED_MID - 0.15) * covered.size)
        share = largest_component(covered, needed) / covered.size
        return _logistic((share - UNREFERENCED_MID) * 20.0)
    lost_texture = reference.detail >= TEXTURED_DETAIL
    changed = np.abs(stats.mean - reference.mean) >= CHANGED_MEAN
    covered = flat & (lost_texture | changed)  # the same rule as _covered, minus glare
    needed = int((OBSTRUCTION_MID - 0.12) * covered.size)
    share = largest_component(covered, needed) / covered.size
    return _logistic((share - OBSTRUCTION_MID) * 20.0)


def glare_share(stats: Blocks) -> float:
    blown = stats.saturated >= 0.5 * BLOCK * BLOCK
    # Specular highlights are not glare: only blobs of several blocks count.
    return sum(size for size in components(blown) if size >= 6) / blown.size


def glare_score(stats: Blocks) -> float:
    return _logistic((glare_share(stats) - GLARE_MID) * 30.0)


def components(mask: np.ndarray) -> list[int]:
    """Sizes (in cells) of the 4-connected regions of True cells (label propagation)."""
    if not mask.any():
        return []
    rows, cols = mask.shape
    big = rows * cols + 1
    labels = np.where(mask, np.arange(rows * cols).reshape(rows, cols), big)
    padded = np.full((rows + 2, cols + 2), big, dtype=labels.dtype)
    for _ in range(rows * cols):
        padded[1:-1, 1:-1] = labels
        updated = np.minimum(
            np.minimum(padded[:-2, 1:-1], padded[2:, 1:-1]),
            np.minimum(padded[1:-1, :-2], padded[1:-1, 2:]),
        )
        updated = np.where(mask, np.minimum(updated, labels), big)
        if np.array_equal(updated, labels):
            break
        labels = updated
    return np.unique(labels[mask], return_counts=True)[1].tolist()


def largest_component(mask: np.ndarray, needed: int = 0) -> int:
    """Size of the largest region; when all True cells together are fewer than ``needed``
    their count is returned instead (an upper bound, exact where it matters)."""
    total = int(mask.sum())
    if total < needed:
        return total
    return max(components(mask), default=0)


# -- Position change ----------------------------------------------------------------------


def make_thumbnail(gray: np.ndarray) -> dict:
    height = max(1, round(gray.shape[0] * SIGNATURE_WIDTH / gray.shape[1]))
    thumb = Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8), "L").resize(
        (SIGNATURE_WIDTH, height), Image.Resampling.BOX
    )
    return {"w": SIGNATURE_WIDTH, "h": height, "pixels": base64.b64encode(thumb.tobytes()).decode()}


def _thumbnail(data: dict) -> Image.Image:
    return Image.frombytes("L", (data["w"], data["h"]), base64.b64decode(data["pixels"]))


def _covered(stats: Blocks, reference: Blocks) -> np.ndarray:
    """Blocks where glare or an obstruction hides what the reference showed."""
    flat = (stats.detail < FLAT_DETAIL) & (stats.saturated == 0)
    lost = (reference.detail >= TEXTURED_DETAIL) | (
        np.abs(stats.mean - reference.mean) >= CHANGED_MEAN
    )
    return (stats.saturated > 0) | (flat & lost)


def _edges(image: Image.Image) -> np.ndarray:
    """Edge strength (L1 gradient), mean removed, ready for correlation."""
    a = np.asarray(image, dtype=np.float32)
    edges = np.zeros_like(a)
    edges[:, 1:-1] += np.abs(a[:, 2:] - a[:, :-2])
    edges[1:-1, :] += np.abs(a[2:, :] - a[:-2, :])
    return edges - edges.mean()


def _phase_correlation(ref_fft: np.ndarray, moved: np.ndarray) -> tuple[float, int, int]:
    spectrum = ref_fft * np.conj(np.fft.rfft2(moved))
    spectrum /= np.abs(spectrum) + 1e-6
    surface = np.fft.irfft2(spectrum, s=moved.shape)
    index = int(np.argmax(surface))
    dy, dx = divmod(index, surface.shape[1])
    if dy > surface.shape[0] // 2:
        dy -= surface.shape[0]
    if dx > surface.shape[1] // 2:
        dx -= surface.shape[1]
    return float(surface.flat[index]), dx, dy


@functools.lru_cache(maxsize=256)
def _reference_spectrum(pixels: str, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Window and edge spectrum of a reference thumbnail (a camera's reference is reused
    for every upload until it changes, so it is transformed once per process)."""
    window = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    reference = _thumbnail({"w": w, "h": h, "pixels": pixels})
    return window, np.fft.rfft2(_edges(reference) * window)


class _Aligner:
    """Phase correlation of edge maps against one reference thumbnail."""

    def __init__(self, reference: dict, current: Image.Image) -> None:
        self.window, self.reference_fft = _reference_spectrum(
            reference["pixels"], reference["w"], reference["h"]
        )
        self.current = current

    def at(self, angle: float) -> tuple[float, int, int]:
        turned = self.current.rotate(angle, Image.Resampling.BILINEAR) if angle else self.current
        return _phase_correlation(self.reference_fft, _edges(turned) * self.window)


def position_change(signature: dict, reference: dict, covered: float = 0.0) -> float:
    """How far the view moved from the reference (shift and rotation), in [0, 1].

    A strong peak without turning the image settles it (the common case, one
    correlation); otherwise the angle is searched coarse-to-fine (5°, 2.5°, 1.25° steps).
    ``covered`` is the share of the frame hidden by glare or an obstruction: when no
    alignment stands out (a weak peak) the view either changed entirely (1.0) or is too
    hidden to tell (0.0: Glare or Obstruction reports it).
    """
    current, ref = _thumbnail(signature["thumb"]), reference["thumb"]
    if current.size != (ref["w"], ref["h"]):
        current = current.resize((ref["w"], ref["h"]), Image.Resampling.BILINEAR)
    aligner = _Aligner(ref, current)
    tried = {0.0: aligner.at(0.0)}
    if tried[0.0][0] < UNTURNED_PEAK:
        for angle in (-10.0, -5.0, 5.0, 10.0):
            tried[angle] = aligner.at(angle)
        for step in (2.5, 1.25):
            best = max(tried, key=lambda a: tried[a][0])
            for angle in (best - step, best + step):
                if angle not in tried:
                    tried[angle] = aligner.at(angle)
    angle = max(tried, key=lambda a: tried[a][0])
    peak, dx, dy = tried[angle]
    if peak < WEAK_PEAK:
        return 0.0 if covered >= HIDDEN_SHARE else 1.0
    shift = math.hypot(dx, dy) / ref["w"]
    return round(max(min(shift / SHIFT_FULL, 1.0), min(abs(angle) / ROTATION_FULL, 1.0)), 4)


def _logistic(x: float) -> float:
    return round(1.0 / (1.0 + math.exp(-x)), 4)


# -- explanation masks (dashboard) --


def _region_labels(mask: np.ndarray) -> np.ndarray:
    """Label of each True cell's 4-connected region (the same propagation as
    ``components``); -1 outside the mask."""
    rows, cols = mask.shape
    big = rows * cols + 1
    labels = np.where(mask, np.arange(rows * cols).reshape(rows, cols), big)
    padded = np.full((rows + 2, cols + 2), big, dtype=labels.dtype)
    for _ in range(rows * cols):
        padded[1:-1, 1:-1] = labels
        updated = np.minimum(
            np.minimum(padded[:-2, 1:-1], padded[2:, 1:-1]),
            np.minimum(padded[1:-1, :-2], padded[1:-1, 2:]),
        )
        updated = np.where(mask, np.minimum(updated, labels), big)
        if np.array_equal(updated, labels):
            break
        labels = updated
    return np.where(mask, labels, -1)


def _largest_region(mask: np.ndarray) -> np.ndarray:
    """The cells of the largest region: what the obstruction score measures."""
    if not mask.any():
        return mask
    labels = _region_labels(mask)
    values, counts = np.unique(labels[mask], return_counts=True)
    return labels == values[int(np.argmax(counts))]


def _blurred_blocks(stats: Blocks, reference: Blocks | None) -> np.ndarray:
    """Blocks among those the blur score reads whose own fine/coarse ratio is on the blurred
    side of the score's midpoint (absolute, or relative to the reference's block)."""
    coarse = np.maximum(stats.coarse, 1e-3)
    ratio = stats.fine / coarse
    usable = stats.saturated == 0
    if reference is None:
        return usable & (stats.coarse > 10) & (ratio < BLUR_ABSOLUTE_MID)
    same = (
        usable & (reference.saturated == 0) & (np.abs(stats.mean - reference.mean) < CHANGED_MEAN)
    )
    same &= reference.coarse > 10
    reference_ratio = reference.fine / np.maximum(reference.coarse, 1e-3)
    return same & (ratio / np.maximum(reference_ratio, 1e-6) < BLUR_RELATIVE_MID)


def explain(signature: dict, reference: dict | None) -> dict[str, np.ndarray]:
    """Boolean block masks (rows x cols of the ``BLOCK`` grid) of what each content score
    counted: "Obstruction" (the largest covered region), "Glare" (the blown-out blobs of
    six blocks or more) and "Blur" (the blocks read as soft). Built from the signature's
    own block statistics by the rules above, so an overlay shows what made the number."""
    stats = Blocks.from_json(signature["blocks"])
    ref = Blocks.from_json(reference["blocks"]) if reference is not None else None
    if ref is not None and ref.mean.shape != stats.mean.shape:
        ref = None  # another aspect ratio: the content scores are the reference-free ones
    flat = (stats.detail < FLAT_DETAIL) & (stats.saturated == 0)
    if ref is None:
        covered = flat & (stats.mean < DARK)
    else:
        lost_texture = ref.detail >= TEXTURED_DETAIL
        changed = np.abs(stats.mean - ref.mean) >= CHANGED_MEAN
        covered = flat & (lost_texture | changed)
    blown = stats.saturated >= 0.5 * BLOCK * BLOCK
    glare = np.zeros_like(blown)
    if blown.any():
        labels = _region_labels(blown)
        values, counts = np.unique(labels[blown], return_counts=True)
        glare = np.isin(labels, values[counts >= 6])
    return {
        "Obstruction": _largest_region(covered),
        "Glare": glare,
        "Blur": _blurred_blocks(stats, ref),
    }
