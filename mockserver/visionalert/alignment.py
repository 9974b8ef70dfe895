"""Position change: where the current view lies on its camera's reference.

Phase correlation of edge maps between the two signature thumbnails gives the shift; a
small rotation search (coarse to fine) gives the angle. The result also moves the
reference's block grid onto the current view, so the content rules in ``scoring`` compare
the same part of the scene.
"""

from __future__ import annotations

import base64
import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .blocks import Blocks, moved

SIGNATURE_WIDTH = 128
SHIFT_FULL = 0.10  # shift (fraction of width) scoring 1.0; 0.05 scores 0.5
ROTATION_FULL = 6.0  # degrees scoring 1.0; 3 degrees score 0.5
UNTURNED_PEAK = 0.5  # a peak this strong without turning: no rotation search needed
WEAK_PEAK = 0.2  # a phase-correlation peak below this: no alignment found
HIDDEN_SHARE = 0.2  # covered share from which a lost alignment is blamed on the cover


def make_thumbnail(gray: np.ndarray) -> dict:
    height = max(1, round(gray.shape[0] * SIGNATURE_WIDTH / gray.shape[1]))
    thumb = Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8), "L").resize(
        (SIGNATURE_WIDTH, height), Image.Resampling.BOX
    )
    return {"w": SIGNATURE_WIDTH, "h": height, "pixels": base64.b64encode(thumb.tobytes()).decode()}


def _thumbnail(data: dict) -> Image.Image:
    return Image.frombytes("L", (data["w"], data["h"]), base64.b64decode(data["pixels"]))


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


@dataclass(frozen=True)
class Alignment:
    """How the current view lies on the reference: correlation peak, shift (thumbnail
    pixels) and angle (degrees) that bring the current thumbnail onto the reference."""

    peak: float
    dx: int
    dy: int
    angle: float
    width: int  # thumbnail width

    def reference_grid(self, reference: Blocks) -> tuple[Blocks, np.ndarray]:
        """The reference's block grid moved onto the current view, and the blocks it saw."""
        scale = reference.shape[1] / self.width  # blocks per thumbnail pixel
        dx, dy = -self.dx * scale, -self.dy * scale
        if self.peak < WEAK_PEAK or (abs(dx) < 0.5 and abs(dy) < 0.5 and not self.angle):
            return reference, np.ones(reference.shape, dtype=bool)
        return moved(reference, dx, dy, -self.angle)

    def score(self, hidden: float) -> float:
        """``hidden`` is the share of the frame glare or a cover hides: when no alignment
        stands out (a weak peak) the view either changed entirely (1.0) or is too hidden to
        tell (0.0: Glare or Obstruction reports it)."""
        if self.peak < WEAK_PEAK:
            return 0.0 if hidden >= HIDDEN_SHARE else 1.0
        shift = math.hypot(self.dx, self.dy) / self.width
        turn = abs(self.angle) / ROTATION_FULL
        return round(max(min(shift / SHIFT_FULL, 1.0), min(turn, 1.0)), 4)


def align(signature: dict, reference: dict) -> Alignment:
    """Phase correlation of edge maps. A strong peak without turning the image settles it
    (the common case, one correlation); otherwise the angle is searched coarse-to-fine
    (5°, 2.5°, 1.25° steps)."""
    current, ref = _thumbnail(signature["thumb"]), reference["thumb"]
    if current.size != (ref["w"], ref["h"]):
        current = current.resize((ref["w"], ref["h"]), Image.Resampling.BILINEAR)
    window, reference_fft = _reference_spectrum(ref["pixels"], ref["w"], ref["h"])

    def at(angle: float) -> tuple[float, int, int]:
        turned = current.rotate(angle, Image.Resampling.BILINEAR) if angle else current
        return _phase_correlation(reference_fft, _edges(turned) * window)

    tried = {0.0: at(0.0)}
    if tried[0.0][0] < UNTURNED_PEAK:
        for angle in (-10.0, -5.0, 5.0, 10.0):
            tried[angle] = at(angle)
        for step in (2.5, 1.25):
            best = max(tried, key=lambda a: tried[a][0])
            for angle in (best - step, best + step):
                if angle not in tried:
                    tried[angle] = at(angle)
    angle = max(tried, key=lambda a: tried[a][0])
    peak, dx, dy = tried[angle]
    return Alignment(peak, dx, dy, angle, ref["w"])


def position_change(signature: dict, reference: dict, covered: float = 0.0) -> float:
    """How far the view moved from the reference (shift and rotation), in [0, 1]."""
    return align(signature, reference).score(covered)
