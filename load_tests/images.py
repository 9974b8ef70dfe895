"""Camera frames for load runs: real JPEGs of natural photographs, every anomaly labelled.

The frames come from the fixture generator (``fixtures/generate.py``: scikit-image's
photographs, degraded as the README's VisionAlert upload section describes), rendered at
the run's width and cached under ``load_tests/results/frames/``. One scene per source photo: its reference frame,
everyday normal variations, and blurred, obstructed, glared and moved views.

Each upload gets a unique JPEG comment (``unique_bytes``) so no two uploads share bytes: the
emulator caches analysis by content, and a real fleet never sends the same frame twice.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "load_tests" / "results" / "frames"
SOURCES = ("astronaut", "coffee", "rocket")
KINDS = {
    "normal": "normal",
    "Blur": "blur",
    "Obstruction": "obstruction",
    "Glare": "glare",
    "Position change": "shift",
}


@dataclass(frozen=True)
class Scene:
    """One camera's view: the reference frame and the frames of each kind."""

    name: str
    reference: bytes
    frames: dict[str, list[bytes]]


def load_scenes(width: int = 1920) -> list[Scene]:
    """The scenes at ``width`` (16:9 frames), generated once and then read from the cache."""
    generator = _fixture_generator()
    out_dir = CACHE / str(width)
    cases = generator.generate(str(out_dir), width, sources=SOURCES)
    scenes = []
    for source in SOURCES:
        frames: dict[str, list[bytes]] = {kind: [] for kind in KINDS.values()}
        reference = b""
        for case in cases:
            if case.source != source:
                continue
            content = (out_dir / case.file).read_bytes()
            frames[KINDS[case.label]].append(content)
            if case.file == case.reference:
                reference = content
        scenes.append(Scene(source, reference or frames["normal"][0], frames))
    return scenes


def unique_bytes(jpeg: bytes, nonce: bytes) -> bytes:
    """The same image with a JPEG comment holding ``nonce``: new bytes, same pixels."""
    if jpeg[:2] != b"\xff\xd8":
        return jpeg
    segment = b"\xff\xfe" + struct.pack(">H", len(nonce) + 2) + nonce
    return jpeg[:2] + segment + jpeg[2:]


def _fixture_generator():
    path = ROOT / "fixtures" / "generate.py"
    name = "mockserver_fixtures_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    os.makedirs(CACHE, exist_ok=True)
    return sys.modules[name]
