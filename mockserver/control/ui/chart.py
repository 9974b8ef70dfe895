"""The overview's rates over time as one inline SVG, drawn on the server: it needs no
script and no outside asset, and it is as fresh as the page that carries it."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from ..metrics.rates import OUTCOMES, Point

WIDTH, PANEL, GAP, LEFT, RIGHT = 720, 96, 30, 56, 110
COLOURS = {
    "accepted": "#2e7d32",
    "throttled": "#ef6c00",
    "window": "#f9a825",
    "invalid": "#6a1b9a",
    "denied": "#455a64",
    "fault": "#c62828",
    "error": "#000000",
    "p50": "#1565c0",
    "p99": "#8e24aa",
    "lag": "#d84315",
}


def rates_svg(points: Sequence[Point]) -> Markup:
    """Three panels over the last 15 minutes: uploads/s by outcome, p50/p99 latency (ms),
    due-work lag (s)."""
    panels = [
        ("uploads/s", [(o, [p.uploads.get(o, 0.0) for p in points]) for o in _seen(points)]),
        (
            "latency ms",
            [("p50", [p.p50_ms for p in points]), ("p99", [p.p99_ms for p in points])],
        ),
        ("due-work lag s", [("lag", [p.lag_seconds for p in points])]),
    ]
    height = len(panels) * (PANEL + GAP) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rates" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        'aria-label="rates over the last 15 minutes" font-family="sans-serif" font-size="11">'
    ]
    for index, (title, series) in enumerate(panels):
        parts.append(_panel(index * (PANEL + GAP) + 14, title, series, len(points)))
    parts.append("</svg>")
    return Markup("".join(parts))


def _seen(points: Sequence[Point]) -> list[str]:
    """The outcomes present in the window (accepted always), in their usual order."""
    present = {outcome for point in points for outcome in point.uploads}
    return [o for o in OUTCOMES if o in present or o == "accepted"]


def _panel(top: int, title: str, series: list, count: int) -> str:
    plot = WIDTH - LEFT - RIGHT
    values = [v for _, vs in series for v in vs if v is not None]
    ceiling = _nice(max(values, default=0.0))
    bottom = top + PANEL
    out = [
        f'<text x="{LEFT}" y="{top - 4}" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{top}" width="{plot}" height="{PANEL}" fill="#fafafa" '
        'stroke="#ccc"/>',
        f'<text x="{LEFT - 4}" y="{top + 10}" text-anchor="end">{_label(ceiling)}</text>',
        f'<text x="{LEFT - 4}" y="{bottom}" text-anchor="end">0</text>',
    ]
    for minutes, fraction in (("-15 min", 0.0), ("-10", 1 / 3), ("-5", 2 / 3), ("now", 1.0)):
        x = LEFT + plot * fraction
        anchor = "start" if fraction == 0 else "end" if fraction == 1 else "middle"
        out.append(f'<text x="{x:.0f}" y="{bottom + 12}" text-anchor="{anchor}">{minutes}</text>')
    step = plot / max(count - 1, 1)
    for row, (name, vs) in enumerate(series):
        colour = COLOURS.get(name, "#333")
        for run in _runs(vs):
            coords = " ".join(
                f"{LEFT + i * step:.1f},{bottom - (v / ceiling) * PANEL:.1f}" for i, v in run
            )
            out.append(
                f'<polyline data-series="{escape(name)}" data-values="{_values(run)}" '
                f'fill="none" stroke="{colour}" '
                f'stroke-width="1.6" points="{coords}"/>'
            )
        # the legend: the last complete interval (the current one has only begun)
        latest = next((v for v in reversed(vs[:-1]) if v is not None), None)
        y = top + 10 + row * 13
        out.append(
            f'<rect x="{WIDTH - RIGHT + 8}" y="{y - 8}" width="9" height="9" fill="{colour}"/>'
        )
        shown = "–" if latest is None else _label(latest)
        out.append(
            f'<text x="{WIDTH - RIGHT + 21}" y="{y}" data-legend="{escape(name)}">'
            f"{escape(name)} {shown}</text>"
        )
    return "".join(out)


def _runs(values: list) -> list[list[tuple[int, float]]]:
    """Consecutive known values (a gap where an interval saw no request); a lone point is
    drawn as a tiny segment ending on it, so it shows."""
    runs, current = [], []
    for index, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((index, value))
    if current:
        runs.append(current)
    return [run if len(run) > 1 else [_beside(run[0]), run[0]] for run in runs]


def _beside(point: tuple[float, float]) -> tuple[float, float]:
    index, value = point
    return (index - 0.3 if index > 0 else index + 0.3), value


def _values(run: list[tuple[float, float]]) -> str:
    """The drawn values, for readers of the markup (tests, scripts)."""
    return " ".join(f"{v:g}" for i, v in run if i == int(i))


def _nice(value: float) -> float:
    """A round ceiling at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(f * power for f in (1, 2, 5, 10) if f * power >= value)


def _label(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"
