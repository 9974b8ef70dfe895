"""Benchmark: VisionAlert analysis of a 1920×1080 JPEG next to Pillow's full-size decode.

``python load_tests/bench_scoring.py [--images 60] [--dir DIR]`` renders part of the
labelled natural-photo set at 1920 px (two photographs, their whole and over-exposed views:
normal frames, nuisances and degradations; fixtures/generate.py, cached in DIR) and reports,
per image,
the median over the set of: the whole content analysis (reduced-size decode + Blur,
Obstruction, Glare + signature), the comparison against the camera's reference (Blur and
Obstruction relative to it, Position change), and Pillow's own full-size decode of the
same file, all measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PIL import Image  # noqa: E402

from fixtures.generate import generate  # noqa: E402
from mockserver.visionalert.scoring import analyse, compare  # noqa: E402


def fastest(works: list, repeat: int) -> list[float]:
    """Each work's fastest run (seconds of this thread's CPU time: all of it is
    single-threaded, and CPU time does not count the moments another process had the
    core), the works interleaved round by round so that a busy machine affects all alike."""
    best = [float("inf")] * len(works)
    for _ in range(repeat):
        for index, work in enumerate(works):
            start = time.thread_time()
            work()
            best[index] = min(best[index], time.thread_time() - start)
    return best


def full_decode(content: bytes) -> None:
    with Image.open(io.BytesIO(content)) as image:
        image.load()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=9, help="runs per image (fastest kept)")
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "va-bench-1920"))
    args = parser.parse_args()
    cases = generate(args.dir, 1920, ("astronaut", "coffee"), ("wide", "bright"))[: args.images]
    files = {}
    for case in cases:
        with open(os.path.join(args.dir, case.file), "rb") as handle:
            files[case.file] = handle.read()
    references = {case.reference: analyse(files[case.reference]) for case in cases}
    decode, analysis, comparison = [], [], []
    for case in cases:
        content = files[case.file]
        signature = analyse(content).signature
        reference = references[case.reference].signature
        times = fastest(
            [
                lambda content=content: full_decode(content),
                lambda content=content: analyse(content),
                lambda s=signature, r=reference: compare(s, r),
            ],
            args.repeat,
        )
        decode.append(times[0])
        analysis.append(times[1])
        comparison.append(times[2])
    size = Image.open(io.BytesIO(files[cases[0].file])).size
    ms = lambda values: statistics.median(values) * 1000  # noqa: E731
    print(f"{len(cases)} JPEGs {size[0]}x{size[1]}, median per image:")
    print(f"  Pillow full-size decode           {ms(decode):7.2f} ms")
    print(f"  analysis (decode+score+signature) {ms(analysis):7.2f} ms")
    print(f"  comparison with the reference     {ms(comparison):7.2f} ms")
    whole = [a + c for a, c in zip(analysis, comparison, strict=True)]
    print(f"  whole analysis (both)             {ms(whole):7.2f} ms")
    ratio = statistics.median(whole) / statistics.median(decode)
    print(f"  whole analysis / full decode      {ratio:7.2f}")
    return 0 if ratio < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
