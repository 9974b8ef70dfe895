"""The fidelity report: per endpoint, how many cases ran and which checks held.

Every validated response is recorded (Schemathesis' ``after_validate`` hook hands over
each check's outcome); at the end of the session the table is written as Markdown and
as JUnit XML (one test case per operation, one failure per failing check).

A check counts as *exercised* on a response only when it had something to check there
(:mod:`contract_tests.exercised`); a check that ran but was never exercised is listed as
"not exercised", never as passed. The verdict tells apart "the server broke the
contract" (a check failed) from "the run could not proceed" (the target could not be
reached, or an error that is no contract failure stopped a test).
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from . import exercised
from .rules import LEDGER


@dataclass
class OperationStats:
    spec: str
    label: str
    cases: int = 0
    passed: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    idle: Counter = field(default_factory=Counter)  # ran, but had nothing to check
    failures: list[str] = field(default_factory=list)
    skipped: str | None = None
    statuses: Counter = field(default_factory=Counter)


class Recorder:
    def __init__(self) -> None:
        self.operations: dict[tuple[str, str], OperationStats] = {}
        self.totals: dict[str, int] = defaultdict(int)
        self.started = time.monotonic()
        self.target = "in-process emulator"
        self.declared_checks: set[str] = set()
        self.blocked: list[tuple[str, str]] = []  # (what, why) parts the world did not offer
        self.run_errors: list[tuple[str, str]] = []  # (test, error) not contract failures
        self.broken: list[str] = []  # tests that failed on a contract check
        self.why_idle: dict[str, str] = {}  # check → why a run cannot exercise it

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
                if exercised.applies(name, case, response):
                    stats.passed[name] += 1
                else:
                    stats.idle[name] += 1
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

    def declare_checks(self, names) -> None:
        """Checks the suite runs, listed even when nothing exercised them."""
        self.declared_checks.update(names)

    def explain(self, check: str, reason: str) -> None:
        """Why this run cannot exercise ``check`` (shown if it stays not exercised)."""
        self.why_idle[check] = reason

    def could_not_proceed(self, what: str, reason: str) -> None:
        """A part of the run the target offered nothing for (not a contract failure)."""
        if (what, reason) not in self.blocked:
            self.blocked.append((what, reason))

    # -- totals ---------------------------------------------------------------------------

    def check_counts(self) -> dict[str, tuple[int, int, int]]:
        """check → (exercised, passed, failed) over every operation."""
        passed, failed, idle = Counter(), Counter(), Counter()
        for op in self.operations.values():
            passed.update(op.passed)
            failed.update(op.failed)
            idle.update(op.idle)
        names = self.declared_checks | set(passed) | set(failed) | set(idle)
        return {
            name: (passed[name] + failed[name], passed[name], failed[name])
            for name in sorted(names)
        }

    def not_exercised(self) -> list[str]:
        return [name for name, (count, _, _) in self.check_counts().items() if count == 0]

    def verdict(self) -> str:
        total = self.summary()
        if total["checks_failed"] or self.broken:
            return "BROKEN: the server broke the contract"
        if self.run_errors or not (total["checks_passed"]):
            return "COULD NOT PROCEED: the run could not exercise the contract (see below)"
        return "HELD: every exercised check passed"

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
            f"Verdict: **{self.verdict()}**.",
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
        lines += ["", *LEDGER.markdown()]
        counts = self.check_counts()
        lines += [
            "",
            "## Checks",
            "",
            "Exercised: the responses on which the check had something to check.",
            "",
            "| check | exercised | passed | failed |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, (count, passed, failed) in counts.items():
            shown = str(count) if count else "0 (not exercised)"
            lines.append(f"| `{name}` | {shown} | {passed} | {failed} |")
        idle = self.not_exercised()
        lines += ["", "## Not exercised", ""]
        lines += [
            f"* `{name}`" + (f": {self.why_idle[name]}" if name in self.why_idle else "")
            for name in idle
        ] or ["(none)"]
        if self.blocked or self.run_errors:
            lines += ["", "## Could not proceed", ""]
            lines += [f"* {what}: {why}" for what, why in self.blocked]
            lines += [
                f"* {test} (error, not a contract failure): {why}" for test, why in self.run_errors
            ]
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
