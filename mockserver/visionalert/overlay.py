"""The explanation overlay: the blocks the analysis counted, drawn over the snapshot.

The masks come from ``scoring.explain`` — the same block statistics and rules that
produced the log's scores — and are drawn as an SVG in analysis pixels (the snapshot
scaled to 320 px wide), stretched over the image by the page. No client text goes in.
"""

from __future__ import annotations

import numpy as np

from . import judging, scoring

#: fill colour of each kind of block (also the legend's)
COLOURS = {"Obstruction": "#8a2be2", "Glare": "#ff6a00", "Blur": "#1f6fff"}


def _rects(mask: np.ndarray, colour: str) -> list[str]:
    """One rectangle per horizontal run of marked blocks (fewer elements than blocks)."""
    size = scoring.BLOCK
    out = []
    for row in range(mask.shape[0]):
        col, cols = 0, mask.shape[1]
        while col < cols:
            if not mask[row, col]:
                col += 1
                continue
            start = col
            while col < cols and mask[row, col]:
                col += 1
            out.append(
                f'<rect x="{start * size}" y="{row * size}" width="{(col - start) * size}" '
                f'height="{size}" fill="{colour}"/>'
            )
    return out


def render_svg(signature: dict, reference: dict | None) -> str:
    masks = scoring.explain(signature, reference)
    thumb = signature["thumb"]
    width = scoring.ANALYSIS_WIDTH
    height = round(thumb["h"] * width / thumb["w"])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" preserveAspectRatio="none">'
    ]
    for name, colour in COLOURS.items():
        mask = masks.get(name)
        if mask is None or not mask.any():
            continue
        parts.append(
            f'<g class="{name.lower()}" fill-opacity="0.5" stroke="{colour}" '
            'stroke-opacity="0.9" stroke-width="0.6">'
        )
        parts += _rects(mask, colour)
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def counted(signature: dict, reference: dict | None) -> dict[str, float]:
    """Share of the frame each mask covers (shown beside the legend)."""
    return {
        name: round(float(mask.mean()), 4)
        for name, mask in scoring.explain(signature, reference).items()
    }


def explanation(emulator, snapshot_sha: str, reference_sha: str | None) -> str | None:
    """The overlay of a log's snapshot against its reference (None: the snapshot's image
    is gone or unreadable, there is nothing to explain)."""
    try:
        snapshot = judging.analysis_of(emulator, snapshot_sha)
    except (OSError, ValueError):
        return None
    try:
        reference = judging.analysis_of(emulator, reference_sha) if reference_sha else None
    except (OSError, ValueError):
        reference = None  # explained as it would be scored: without a reference
    return render_svg(snapshot.signature, reference.signature if reference else None)
