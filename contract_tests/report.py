"""The fidelity report: per endpoint, how many cases ran and which checks held.

Every validated response is recorded (Schemathesis' ``after_validate`` hook hands over
each check's outcome); at the end of the session the table is written as Markdown and
as JUnit XML (one test case per operation, one failure per failing check).
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree


@dataclass
class OperationStats:
    spec: str
    label: str
    cases: int = 0
    passed: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    skipped: str | None = None
    statuses: Counter = field(default_factory=Counter)


class Recorder:
    def __init__(self) -> None:
        self.operations: dict[tuple[str, str], OperationStats] = {}
        self.totals: dict[str, int] = defaultdict(int)
        self.started = time.monotonic()
        self.target = "in-process emulator"

    def declare(self, spec: str, labels: list[str]) -> None:
        """All operations of a spec, so the report shows the uncovered ones too."""
        self.totals[spec] = len(labels)
        for label in labels:
            self.operations.setdefault((spec, label), OperationStats(spec, label))

    def _stats(self, spec: str, label: str) -> OperationStats:
        return self.operations.setdefault((spec, label), OperationStats(spec, label))

    def record(self, spec: str, label: str, case, response, results) -> None:
        stats = self._stats(spec, label)
        stats.cases += 1
        stats.statuses[response.status_code] += 1
        for result in results:
            name = result.name
            if result.failure is None:
                stats.passed[name] += 1
            else:
                stats.failed[name] += 1
                if len(stats.failures) < 20:
                    stats.failures.append(_describe(name, result.failure, case, response))

    def record_check(self, spec: str, label: str, name: str, error: str | None) -> None:
        """A scenario's own assertion, counted like a check on that operation."""
        stats = self._stats(spec, label)
        if error is None:
            stats.passed[name] += 1
        else:
            stats.failed[name] += 1
            stats.failures.append(f"{name}: {error}"[:600])

    def skip(self, spec: str, label: str, reason: str) -> None:
        self._stats(spec, label).skipped = reason

    # -- output -------------------------------------------------------------------------

    def summary(self) -> dict:
        ops = list(self.operations.values())
        covered = [op for op in ops if op.cases > 0]
        return {
            "operations": len(ops),
            "covered": len(covered),
            "cases": sum(op.cases for op in ops),
            "checks_passed": sum(sum(op.passed.values()) for op in ops),
            "checks_failed": sum(sum(op.failed.values()) for op in ops),
        }

    def markdown(self) -> str:
        total = self.summary()
        lines = [
            "# Contract fidelity report",
            "",
            f"Target: {self.target}. Duration: {time.monotonic() - self.started:.1f} s.",
            "",
            f"Operations covered: **{total['covered']} / {total['operations']}**; "
            f"cases generated: **{total['cases']}**; checks run: "
            f"**{total['checks_passed'] + total['checks_failed']}** "
            f"({total['checks_passed']} passed, {total['checks_failed']} failed).",
            "",
            "| spec | operation | cases | checks passed | checks failed | statuses | note |",
            "| --- | --- | ---: | ---: | ---: | --- | --- |",
        ]
        for op in sorted(self.operations.values(), key=lambda item: (item.spec, item.label)):
            statuses = " ".join(f"{code}×{count}" for code, count in sorted(op.statuses.items()))
            failed = ", ".join(f"{name}×{count}" for name, count in sorted(op.failed.items()))
            lines.append(
                f"| {op.spec} | `{op.label}` | {op.cases} | {sum(op.passed.values())} | "
                f"{sum(op.failed.values())}{' (' + failed + ')' if failed else ''} | {statuses} | "
                f"{op.skipped or ''} |"
            )
        checks = Counter()
        failed_checks = Counter()
        for op in self.operations.values():
            checks.update(op.passed)
            failed_checks.update(op.failed)
        lines += ["", "## Checks", "", "| check | passed | failed |", "| --- | ---: | ---: |"]
        for name in sorted(set(checks) | set(failed_checks)):
            lines.append(f"| `{name}` | {checks[name]} | {failed_checks[name]} |")
        failures = [(op, text) for op in self.operations.values() for text in op.failures]
        if failures:
            lines += ["", "## Failures", ""]
            lines += [f"* `{op.label}` — {text}" for op, text in failures[:100]]
        return "\n".join(lines) + "\n"

    def junit(self) -> bytes:
        total = self.summary()
        suite = ElementTree.Element(
            "testsuite",
            name="contract",
            tests=str(len(self.operations)),
            failures=str(sum(1 for op in self.operations.values() if op.failed)),
            skipped=str(sum(1 for op in self.operations.values() if op.skipped and not op.cases)),
            time=f"{time.monotonic() - self.started:.3f}",
        )
        properties = ElementTree.SubElement(suite, "properties")
        for key, value in total.items():
            ElementTree.SubElement(properties, "property", name=key, value=str(value))
        for op in sorted(self.operations.values(), key=lambda item: (item.spec, item.label)):
            case = ElementTree.SubElement(suite, "testcase", classname=op.spec, name=op.label)
            ElementTree.SubElement(
                case, "system-out"
            ).text = f"cases={op.cases} passed={sum(op.passed.values())} failed={sum(op.failed.values())}"
            for name, count in sorted(op.failed.items()):
                message = next((text for text in op.failures if text.startswith(name)), name)
                ElementTree.SubElement(
                    case, "failure", message=f"{name} failed {count}×"
                ).text = message
            if op.skipped and not op.cases:
                ElementTree.SubElement(case, "skipped", message=op.skipped)
        return ElementTree.tostring(suite, encoding="utf-8", xml_declaration=True)

    def write(self, directory: str | os.PathLike) -> tuple[Path, Path]:
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        markdown = folder / "contract-fidelity.md"
        junit = folder / "contract-fidelity.xml"
        markdown.write_text(self.markdown(), encoding="utf-8")
        junit.write_bytes(self.junit())
        return markdown, junit


def _shown(value: object) -> object:
    """A request body as the report shows it: files as their size, not their bytes."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {key: _shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shown(item) for item in value]
    return value


def _describe(name: str, failure, case, response) -> str:
    """One failure, with what was sent and what came back (enough to route it)."""
    body = response.text if isinstance(response.text, str) else ""
    message = " ".join(str(failure.message).split())
    meta = case.meta
    data = meta.phase.data if meta is not None else None
    how = (
        f"[{meta.phase.name.value} {meta.generation.mode.value}: {getattr(data, 'description', '')}] "
        if meta is not None
        else ""
    )
    sent = (
        f"{how}{case.method} {case.formatted_path} query={case.query!r} "
        f"media_type={case.media_type} body={_shown(case.body)!r}"
    )
    return (
        f"{name}: {failure.title} — {message[:400]} | sent: {sent[:600]} | "
        f"got: {response.status_code} {body[:300]}"
    )


RECORDER = Recorder()
