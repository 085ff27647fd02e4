"""Policy: risk decisions (with expiry), the severity gate, and the verdict (exit code)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.model.schema import Decision

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass
class Notice:
    """Something the user must hear about a decision or baseline entry."""

    level: str  # 'warning' or 'error'
    message: str
    location: str = ""

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


@dataclass
class Verdict:
    """What the gate decided."""

    fail_on: str
    failing: list[Finding]
    notices: list[Notice] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 clean, 1 open findings at or above the gate (or a strict-mode error)."""
        if self.failing or any(n.level == "error" for n in self.notices):
            return EXIT_FINDINGS
        return EXIT_CLEAN


def apply_decisions(
    findings: Sequence[Finding], decisions: Iterable[Decision], today: date
) -> list[Notice]:
    """Set finding status from decisions; expired acceptances re-open their finding.

    Returns notices: expired acceptances and decisions that match no finding.
    """
    by_id = {f.id: f for f in findings}
    notices: list[Notice] = []
    for d in decisions:
        where = str(d.location) if d.location else ""
        f = by_id.get(d.finding)
        if f is None:
            notices.append(
                Notice(
                    "warning",
                    f"decision for {d.finding!r} matches no finding (fixed, renamed, or a typo?)",
                    where,
                )
            )
            continue
        f.decision = d
        if d.status == "accepted":
            if d.expires is not None and d.expires < today:
                f.status = "open"
                f.notes.append(f"acceptance by {d.owner} expired on {d.expires.isoformat()}")
                notices.append(
                    Notice(
                        "warning",
                        f"acceptance of {d.finding} expired on "
                        f"{d.expires.isoformat()}: the finding is open again",
                        where,
                    )
                )
            else:
                f.status = "accepted"
        elif d.status == "false_positive":
            f.status = "false_positive"
        else:
            f.status = "mitigated"
    return notices


def gate(findings: Iterable[Finding], fail_on: str) -> list[Finding]:
    """Open findings at or above the gate severity."""
    threshold = severity_rank(fail_on)
    return [f for f in findings if f.status == "open" and severity_rank(f.severity) >= threshold]
