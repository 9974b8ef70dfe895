"""Anomaly scores from pixels: Blur, Obstruction, Glare and Position change, each in [0, 1].

``analyse`` decodes an image once at reduced size (``blocks``) and keeps a compact
*signature* (a thumbnail and block statistics); ``compare`` scores it against its camera's
reference from the two signatures alone; ``explain`` returns the blocks each rule counted.
The same bytes (and the same reference) always give the same scores.

Against a reference every rule is *relative*: the reference grid is first moved onto the
current view when the camera moved, and its block means are mapped through the exposure
change (a power law fitted on the blocks textured in both), so auto-exposure, gamma, white
balance, noise and compression raise no anomaly. Each block is claimed by one cause: blown
out (Glare) before covered (Obstruction) before judged for sharpness (Blur).

* Glare: the share of the frame in blobs of blocks blown out now that could not be in the
  reference (neither saturated nor near-white there, nor bright enough to be pushed to
  saturation by the exposure change): a scene that is bright in its reference is no glare.
* Obstruction: the largest connected region of blocks that are flat (no texture once the
  block's mean and slope are removed) and either were textured in the reference or
  changed their brightness beyond the exposure change, with the flat blocks mostly
  surrounded by them (a cover is one solid object); the bright halo around a glare is
  not a cover.
* Blur: per block, fine- over coarse-scale gradient energy (natural images have a ~1/f²
  spectrum, so it is nearly content-independent and drops when the finest octave is lost)
  relative to the reference's; the median over the blocks no other cause touched (nor
  their neighbours) is the frame's sharpness.
* Position change (``alignment``): phase correlation of edge maps against the reference
  (shift), with a small rotation search (angle); when nothing aligns and glare or a cover
  hides much of the view, those report it.

Without a reference one image cannot tell a bright sky from glare or a night sky from a
cover: Glare and Obstruction then score high only for a largely blown-out or a nearly
fully covered view, and Blur uses an absolute bound on the same sharpness measure.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .alignment import (  # noqa: F401  (position_change and make_thumbnail: this module's API)
    Alignment,
    align,
    make_thumbnail,
    position_change,
)
from .blocks import (  # noqa: F401  (decode_gray and the grid are part of this module's API)
    ANALYSIS_WIDTH,
    BLOCK,
    Blocks,
    block_stats,
    components,
    decode_gray,
    grow,
    labelled_regions,
    largest_region,
    regions_at_least,
)

CONTENT_TYPES = ("Blur", "Obstruction", "Glare")
POSITION = "Position change"
ANOMALY_TYPES = (*CONTENT_TYPES, POSITION)

# Tuned on the tuning split of fixtures/generate.py (fixtures/evaluate.py prints both splits).
BLUR_ABSOLUTE_MID = 0.37  # median per-block fine/coarse ratio scoring 0.5 without a reference
BLUR_RELATIVE_MID = 0.78  # the same ratio relative to the reference's, scoring 0.5
TEXTURED_ENERGY = 10.0  # coarse gradient energy from which a block's sharpness is judged
FLAT_DETAIL = 2.2  # a block whose detail (std after removing mean and slope) is below: flat
TEXTURED_DETAIL = 4.0  # a reference block with at least this much detail had texture
CHANGED_MEAN = 25.0  # brightness change (beyond the exposure change) of "something else there"
DARK = 110.0  # without a reference, only flat blocks darker than this count as covered
UNREFERENCED_COVER_MID = 0.9  # without a reference: only a nearly fully covered view
OBSTRUCTION_MID = 0.22  # obstructed share of the frame that scores 0.5
BLOWN = 0.5  # share of a block's pixels saturated for the block to count as blown out
SURROUNDED = 5  # of 8 neighbours covered: a flat block inside a cover
REGION_BLOCKS = 6  # smaller blown or covered regions: a highlight, a lost edge, no cause
GLARE_MID = 0.12  # newly blown-out share of the frame that scores 0.5
UNREFERENCED_GLARE_MID = 0.4  # without a reference: only a largely blown-out view
BRIGHT_EXPECTED = 235.0  # a reference block the exposure change brings this bright may blow
MIN_BLOCKS = 8  # fewer comparable blocks than this: too little left to fit the exposure
JUDGED_SHARE = 0.08  # share of the frame that must be left to judge sharpness on


@dataclass(frozen=True)
class Analysis:
    """Content scores of one image (as if it had no reference) and its signature."""

    width: int
    height: int
    scores: dict[str, float]
    signature: dict


@dataclass(frozen=True)
class Findings:
    """What each content rule counted on the current view's block grid, and the measures
    its score is computed from (one computation for the scores and for ``explain``)."""

    glare: np.ndarray  # blown-out blocks counted as glare
    covered: np.ndarray  # the largest covered region
    candidates: np.ndarray  # every covered block (any region)
    blurred: np.ndarray  # judged blocks less sharp than the bound
    sharpness: float  # median judged sharpness (relative to the reference's, if any)
    referenced: bool

    def scores(self) -> dict[str, float]:
        size = self.glare.size
        if self.referenced:
            glare = _logistic((self.glare.sum() / size - GLARE_MID) * 30.0)
            cover = _logistic((self.covered.sum() / size - OBSTRUCTION_MID) * 20.0)
            blur = _logistic((BLUR_RELATIVE_MID - self.sharpness) * 15.0)
        else:
            glare = _logistic((self.glare.sum() / size - UNREFERENCED_GLARE_MID) * 30.0)
            cover = _logistic((self.covered.sum() / size - UNREFERENCED_COVER_MID) * 40.0)
            ratio = max(self.sharpness, 1e-6)
            blur = _logistic((math.log(BLUR_ABSOLUTE_MID) - math.log(ratio)) * 10.0)
        return {"Blur": blur, "Obstruction": cover, "Glare": glare}


# -- entry points -------------------------------------------------------------------------


def analyse(content: bytes) -> Analysis:
    """Decode once at reduced size; content scores (no reference) and the signature."""
    gray, width, height = decode_gray(content)
    stats = block_stats(gray)
    signature = {"thumb": make_thumbnail(gray), "blocks": stats.to_json()}
    return Analysis(width, height, findings(stats).scores(), signature)


def compare(signature: dict, reference: dict) -> dict[str, float]:
    """All four scores of an image against its camera's reference signature."""
    current, ref = Blocks.from_json(signature["blocks"]), _reference_blocks(reference["blocks"])
    if current.shape != ref.shape:  # another aspect ratio: not the same view
        return {POSITION: 1.0}
    found, alignment, hidden = _against(signature, reference, current, ref)
    return {**found.scores(), POSITION: alignment.score(hidden)}


def explain(signature: dict, reference: dict | None) -> dict[str, np.ndarray]:
    """The blocks each content rule counted, as boolean masks on the analysis image's block
    grid (rows x cols of ``Blocks``): Obstruction (the covered region), Glare (blocks newly
    blown out, or blown out without a reference) and Blur (blocks judged blurred)."""
    current = Blocks.from_json(signature["blocks"])
    if reference is None:
        found = findings(current)
    else:
        ref = _reference_blocks(reference["blocks"])
        if current.shape != ref.shape:
            empty = np.zeros(current.shape, dtype=bool)
            return {name: empty.copy() for name in ("Obstruction", "Glare", "Blur")}
        found = _against(signature, reference, current, ref)[0]
    return {"Obstruction": found.covered, "Glare": found.glare, "Blur": found.blurred}


def _reference_blocks(data: dict) -> Blocks:
    """A reference's block grid, unpacked once per process (it is reused for every upload
    of its camera until it changes; the arrays are shared and never written)."""
    return _unpacked(tuple(sorted(data.items())))


@functools.lru_cache(maxsize=256)
def _unpacked(items: tuple) -> Blocks:
    return Blocks.from_json(dict(items))


def _against(
    signature: dict, reference: dict, current: Blocks, ref: Blocks
) -> tuple[Findings, Alignment, float]:
    """Align, apply the content rules on the aligned reference, and the hidden share."""
    alignment = align(signature, reference)
    found = findings(current, *alignment.reference_grid(ref))
    hidden = found.candidates | (current.saturated > 0)
    return found, alignment, float(hidden.mean())


# -- the content rules --------------------------------------------------------------------


def findings(
    current: Blocks, reference: Blocks | None = None, seen: np.ndarray | None = None
) -> Findings:
    """Apply the content rules; ``seen`` marks the blocks the (moved) reference showed."""
    blown = current.saturated >= BLOWN * BLOCK * BLOCK
    flat = (current.detail < FLAT_DETAIL) & (current.saturated == 0)
    if reference is None:
        glare = regions_at_least(blown, REGION_BLOCKS)
        candidates = flat & (current.mean < DARK)
        needed = int((UNREFERENCED_COVER_MID - 0.15) * candidates.size)
        covered = largest_region(candidates, needed)
        judged = (current.coarse > TEXTURED_ENERGY) & ~grow((current.saturated > 0) | glare)
        ratio = _sharpness(current)
        return _judge(glare, covered, candidates, judged, ratio, BLUR_ABSOLUTE_MID, False)
    seen = np.ones(current.shape, dtype=bool) if seen is None else seen
    was_bright = (reference.saturated > 0.25 * BLOCK * BLOCK) | (
        reference.near_white >= BLOWN * BLOCK * BLOCK
    )
    # A glare's light brightens far around it: keep it out of the exposure fit.
    lit = lit_by(
        regions_at_least(blown & seen & ~was_bright, REGION_BLOCKS),
        current.mean - reference.mean >= CHANGED_MEAN,
    )
    expected = exposure_matched(current, reference, seen & ~grow(lit))
    could_blow = was_bright | (expected >= BRIGHT_EXPECTED)
    glare = regions_at_least(blown & seen & ~could_blow, REGION_BLOCKS)
    change = current.mean - expected
    halo = lit_by(glare, change >= CHANGED_MEAN)  # veiled by the glare's light: no cover
    lost = (reference.detail >= TEXTURED_DETAIL) | (np.abs(change) >= CHANGED_MEAN)
    candidates = filled(flat & lost & seen & ~halo, flat & seen & ~halo)
    covered = largest_region(candidates, int((OBSTRUCTION_MID - 0.12) * candidates.size))
    # Blur is judged away from whatever another cause touched; a few isolated blocks that
    # lost their texture are what defocus does, not a cover, and stay judged.
    covers = regions_at_least(candidates, REGION_BLOCKS)
    touched = grow(covers | halo | (current.saturated > 0) | (reference.saturated > 0))
    judged = (
        seen & ~touched & (reference.coarse > TEXTURED_ENERGY) & (np.abs(change) < CHANGED_MEAN)
    )
    ratio = _sharpness(current) / np.maximum(_sharpness(reference), 1e-6)
    return _judge(glare, covered, candidates, judged, ratio, BLUR_RELATIVE_MID, True)


def filled(covered: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """``covered`` plus the flat blocks mostly surrounded by it: a cover is one solid
    object, so a plain block inside it (dim, or as plain as the cover in the reference)
    is part of it too."""
    for _ in range(2):
        cells = covered.astype(np.int8)
        tall = cells.copy()  # 3x3 neighbourhood sums, one pass per axis
        tall[1:] += cells[:-1]
        tall[:-1] += cells[1:]
        around = tall.copy()
        around[:, 1:] += tall[:, :-1]
        around[:, :-1] += tall[:, 1:]
        around -= cells
        covered = covered | (flat & (around >= SURROUNDED))
    return covered


def lit_by(glare: np.ndarray, brighter: np.ndarray) -> np.ndarray:
    """The glare's blocks and the brightened blocks connected to them (its halo)."""
    if not glare.any():
        return glare
    labels, _, _ = labelled_regions(glare | brighter)
    return np.isin(labels, np.unique(labels[glare]))


def _judge(glare, covered, candidates, judged, ratio, bound, referenced) -> Findings:
    if judged.sum() < JUDGED_SHARE * judged.size:  # too little of the view left to judge
        sharpness, blurred = 1.0, np.zeros(judged.shape, dtype=bool)
    else:
        sharpness = float(np.median(ratio[judged]))
        blurred = judged & (ratio < bound)
    return Findings(glare, covered, candidates, blurred, sharpness, referenced)


def _sharpness(stats: Blocks) -> np.ndarray:
    """Per block: fine- over coarse-scale gradient energy."""
    return stats.fine / np.maximum(stats.coarse, 1e-3)


def exposure_matched(current: Blocks, reference: Blocks, seen: np.ndarray) -> np.ndarray:
    """The reference's block means as the current exposure would show them.

    Exposure, gamma and a white-balance drift map gray levels through a monotone curve;
    a power law ``y = a·x^g`` (a line in log-log) fitted on blocks textured in both images
    and unsaturated (a cover is flat, a glare saturated: neither takes part), refitted once
    without the blocks that fit worst, follows them closely enough.
    """
    use = (
        seen
        & (reference.detail >= TEXTURED_DETAIL)
        & (current.detail >= FLAT_DETAIL)
        & (reference.saturated == 0)
        & (current.saturated == 0)
        & (reference.mean > 8)
        & (current.mean > 8)
    )
    if use.sum() < MIN_BLOCKS:
        return reference.mean
    x = np.log(reference.mean[use] / 255.0)
    y = np.log(current.mean[use] / 255.0)
    keep = np.ones(x.shape, dtype=bool)
    for _ in range(2):  # least squares in closed form, then once more without the worst
        xs, ys = x[keep], y[keep]
        centred = xs - xs.mean()
        spread = float((centred * centred).sum())
        slope = float((centred * ys).sum()) / spread if np.ptp(xs) > 0.05 else 1.0
        slope = min(max(slope, 0.5), 2.0)
        offset = float(ys.mean() - slope * xs.mean())
        residual = np.abs(y - (offset + slope * x))
        keep = residual <= max(3.0 * float(np.median(residual)), 0.05)
    level = np.log(np.maximum(reference.mean, 1.0) / 255.0)
    return np.minimum(255.0 * np.exp(offset + slope * level), 255.0)


def _logistic(x: float) -> float:
    return round(1.0 / (1.0 + math.exp(-x)), 4)
