"""The parity report: one line per exchange, as Markdown for people and JUnit XML for CI.

Each exchange is ``identical``, ``equal except volatile`` or ``different``, the last with
the JSON paths that differ (and what each side had there).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

from .compare import DIFFERENT
from .replay import Result


def summary(results: list[Result]) -> Counter:
    return Counter(result.verdict.outcome for result in results)


def _name(result: Result) -> str:
    request = result.exchange["request"]
    query = "&".join(f"{n}={v}" for n, v in request["query"])
    return f"{request['method']} {request['path']}" + (f"?{query}" if query else "")


def markdown(results: list[Result], cassette: str, url: str) -> str:
    counts = summary(results)
    lines = [
        f"# Parity: `{cassette}` against {url}",
        "",
        f"{len(results)} exchanges: "
        + ", ".join(f"{counts[o]} {o}" for o in ("identical", "equal except volatile", DIFFERENT)),
        "",
        "| # | request | recorded | replayed | verdict | differences |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        verdict = result.verdict
        differences = "<br>".join(
            f"`{d.path}`: {d.recorded} → {d.replayed}" for d in verdict.differences
        )
        cells = [
            str(result.exchange["seq"]),
            f"`{_name(result)}`".replace("|", "\\|"),
            str(result.exchange["response"]["status"]),
            str(result.replayed["status"]),
            f"**{verdict.outcome}**" if verdict.outcome == DIFFERENT else verdict.outcome,
            differences.replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def junit(results: list[Result], cassette: str) -> str:
    counts = summary(results)
    suite = ElementTree.Element(
        "testsuite",
        name=f"parity {cassette}",
        tests=str(len(results)),
        failures=str(counts[DIFFERENT]),
        errors="0",
        skipped="0",
    )
    for result in results:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname="parity",
            name=f"{result.exchange['seq']:04d} {_name(result)}",
        )
        if result.verdict.outcome == DIFFERENT:
            failure = ElementTree.SubElement(
                case, "failure", message=f"{len(result.verdict.differences)} differences"
            )
            failure.text = "\n".join(str(d) for d in result.verdict.differences)
        else:
            ElementTree.SubElement(case, "system-out").text = result.verdict.outcome
    ElementTree.indent(suite)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write(results: list[Result], cassette: str, url: str, folder: str | Path) -> tuple[Path, Path]:
    """``parity.md`` and ``parity.xml`` in ``folder``; returns their paths."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    text, xml = target / "parity.md", target / "parity.xml"
    text.write_text(markdown(results, cassette, url), encoding="utf-8")
    xml.write_text(junit(results, cassette), encoding="utf-8")
    return text, xml
