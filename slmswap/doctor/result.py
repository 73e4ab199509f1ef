"""What the doctor reports: one result per check (pass, warn, fail or skip), with the reason and the fix."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CheckResult", "DoctorReport", "Status"]


class Status(str, enum.Enum):
    """The outcome of one check."""

    PASS = "pass"
    WARN = "warn"
    """Not wrong for certain, but worth a look."""
    FAIL = "fail"
    """Training or evaluation would be wrong, or its result cannot be trusted."""
    SKIP = "skip"
    """Not judged: the check needs an input that was not given, or more of it (the reason says which)."""


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict."""

    check: str
    status: Status
    reason: str
    fix: str = ""
    """What to do about a warning or failure."""
    details: tuple[str, ...] = ()
    """Evidence for a human to read: offending examples, sample outputs."""


_MARKS = {Status.PASS: "PASS", Status.WARN: "WARN", Status.FAIL: "FAIL", Status.SKIP: "skip"}


@dataclass(frozen=True)
class DoctorReport:
    """Every check's result, in the order they ran."""

    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        """No check failed (warnings and skips allowed)."""
        return not self.failed

    @property
    def failed(self) -> list[CheckResult]:
        """The failed checks."""
        return [result for result in self.results if result.status is Status.FAIL]

    def __getitem__(self, check: str) -> CheckResult:
        for result in self.results:
            if result.check == check:
                return result
        raise KeyError(check)

    def render(self) -> str:
        """The report as plain text: one line per check, then its evidence and fix, then a verdict."""
        lines = []
        for result in self.results:
            lines.append(f"[{_MARKS[result.status]}] {result.check}: {result.reason}")
            lines.extend(f"         {detail}" for detail in result.details)
            if result.fix and result.status in (Status.WARN, Status.FAIL):
                lines.append(f"         fix: {result.fix}")
        counts = {status: sum(r.status is status for r in self.results) for status in Status}
        summary = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])
        lines.append(f"doctor: {'FAILED' if self.failed else 'ok'} ({summary})")
        return "\n".join(lines)


def worst(statuses: Sequence[Status]) -> Status:
    """The most severe of ``statuses`` (pass when empty)."""
    for status in (Status.FAIL, Status.WARN):
        if status in statuses:
            return status
    return Status.PASS
