"""Policy: risk decisions (with expiry), the baseline, the severity gate, and the verdict.

Order of the stage, per run: the engine gives each finding ``open`` or ``mitigated``; then
decisions (from the model, then from decisions files: for one finding the last one wins) set
``accepted``, ``false_positive`` or ``mitigated``, except that an expired acceptance leaves the
finding open and says so; then the baseline marks known open findings; then the gate fails on
open findings at or above the gate severity that are not in the baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from threatgraph.baseline import Baseline
from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.model.schema import Decision
from threatgraph.util.errors import Problem
from threatgraph.util.hints import suggest

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass
class Notice:
    """Something the user must hear about a decision, baseline entry or piece of evidence."""

    level: str  # 'warning' or 'error' (an error fails the run with exit code 1)
    message: str
    location: str = ""

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


@dataclass
class PolicyConfig:
    """Options of the policy stage, from the config file merged with CLI flags."""

    #: Decisions from decisions files (the model's own decisions are always applied).
    decisions: list[Decision] = field(default_factory=list)
    #: Longest time from an acceptance's date (else the run's date) to its expiry.
    max_acceptance_days: int | None = None
    #: Days ahead of the run date in which vendor BAAs and certifications that end are
    #: warned about (TG-VEN-015).
    expiry_warning_days: int = 60
    #: The decisions belong to a past revision (a diff's base): judge them, refuse none.
    history: bool = False
    #: Stale decisions and baseline entries are errors (exit 1), not warnings.
    strict: bool = False
    baseline: Baseline | None = None
    #: A control counts as present only when it cites evidence that checks out.
    require_evidence: bool = False
    #: Check cited evidence against the repository (``diff`` turns this off).
    verify_evidence: bool = True
    #: Root for evidence paths of a model outside any git repository (the config's directory).
    config_root: str | None = None
    #: Only some of the project's models are checked (pre-commit mode): decisions-file entries
    #: and baseline entries that match nothing may belong to the others, so they are not stale.
    partial: bool = False


@dataclass
class Verdict:
    """What the gate decided."""

    fail_on: str
    failing: list[Finding]
    notices: list[Notice] = field(default_factory=list)
    baselined: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 clean, 1 open findings at or above the gate (or a strict-mode error)."""
        if self.failing or any(n.level == "error" for n in self.notices):
            return EXIT_FINDINGS
        return EXIT_CLEAN


def _where(d: Decision) -> str:
    return str(d.location) if d.location else ""


def acceptance_problems(
    decisions: Iterable[Decision], today: date, max_days: int | None, history: bool = False
) -> list[Problem]:
    """Decisions dated after the run's date, and acceptances that run too long.

    A decision cannot be taken in the future: a date after ``today`` is an error whatever the
    limit, since the span of an acceptance is counted from it. With ``max_days``, an
    acceptance's expiry may lie at most that many days after its date (the run's date when
    it has none): as its date is never after the run's, that is never later than
    ``max_days`` after the run's date either (``None``: no limit on the span). ``history``
    judges a past revision (the base of a diff): nothing is refused.
    """
    out: list[Problem] = []
    if history:
        return out
    for d in decisions:
        file, line = (d.location.file, d.location.line) if d.location else ("<decisions>", 0)
        if d.date is not None and d.date > today:
            out.append(
                Problem(
                    file,
                    line,
                    f"decision on {d.finding} is dated {d.date.isoformat()}, after the run's "
                    f"date {today.isoformat()}: a decision cannot be taken in the future "
                    "(check its date, or the run's --as-of)",
                    "date",
                )
            )
            continue
        if max_days is None or d.status != "accepted" or d.expires is None:
            continue
        start = d.date or today
        span = (d.expires - start).days
        if span > max_days:
            out.append(
                Problem(
                    file,
                    line,
                    f"acceptance of {d.finding} runs {span} days (from {start.isoformat()} to "
                    f"{d.expires.isoformat()}); the maximum is {max_days} days "
                    "(max_acceptance_days)",
                    "expires",
                )
            )
    return out


def decide(
    findings: Sequence[Finding], decisions: Sequence[Decision], today: date, strict: bool = False
) -> tuple[list[Notice], set[int]]:
    """Apply ``decisions`` in order; returns notices and the indexes of those that matched.

    For one finding the last decision wins (earlier ones get a notice). A decision about a
    finding that the model's own controls already mitigate changes nothing and is reported
    as no longer needed (an error under ``strict``).
    """
    # Only the findings some decision names: on a large model most have none, and indexing
    # every finding by id cost more than all the rest of this function.
    named = {d.finding for d in decisions}
    by_id: dict[str, list[Finding]] = {}
    if named:
        for f in findings:
            if f.id in named:
                by_id.setdefault(f.id, []).append(f)
    chosen: dict[str, tuple[int, Decision]] = {}
    notices: list[Notice] = []
    matched: set[int] = set()
    for i, d in enumerate(decisions):
        if d.finding not in by_id:
            continue
        matched.add(i)
        if d.finding in chosen:
            _, earlier = chosen[d.finding]
            notices.append(
                Notice(
                    "warning",
                    f"decision for {d.finding} replaces the one at {_where(earlier) or '?'}",
                    _where(d),
                )
            )
        chosen[d.finding] = (i, d)
    stale = "error" if strict else "warning"
    for fid in sorted(chosen):
        _, d = chosen[fid]
        for f in by_id[fid]:
            if f.status == "mitigated" and f.decision is None:
                notices.append(
                    Notice(
                        stale,
                        f"decision ({d.status}) for {fid} is no longer needed: the model's "
                        "controls mitigate the finding",
                        _where(d),
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
                            f"acceptance of {fid} expired on {d.expires.isoformat()}: "
                            "the finding is open again",
                            _where(d),
                        )
                    )
                else:
                    f.status = "accepted"
            elif d.status == "false_positive":
                f.status = "false_positive"
            else:
                f.status = "mitigated"
    return notices, matched


def unmatched_notice(
    d: Decision,
    strict: bool,
    disabled: dict[str, str] | None = None,
    known: Iterable[str] = (),
) -> Notice:
    """The notice for a decision that matches no finding.

    ``known`` are the finding ids of the run: the closest one is suggested, since a
    decision usually misses by a typo or by an element renamed since it was written.
    """
    rule = d.finding.split("/", 1)[0]
    if disabled and rule in disabled:
        why = f"rule {rule} is disabled"
    else:
        hint = suggest(d.finding, sorted(set(known)), n=1).strip(" ()")
        why = f"fixed, renamed, or a typo? {hint}" if hint else "fixed, renamed, or a typo?"
    scope = f" in model {d.model!r}" if d.model else ""
    return Notice(
        "error" if strict else "warning",
        f"decision for {d.finding!r}{scope} matches no finding ({why})",
        _where(d),
    )


def apply_baseline(
    findings_by_model: dict[str, list[Finding]],
    baseline: Baseline,
    strict: bool = False,
    partial: bool = False,
) -> tuple[list[Finding], list[Notice]]:
    """Open findings in the baseline, and notices for baseline entries that no longer occur.

    Entries of models not checked in this run are stale only when the run is not ``partial``.
    """
    known: list[Finding] = []
    open_keys: set[tuple[str, str]] = set()
    for mid, fs in findings_by_model.items():
        for f in fs:
            if f.status == "open":
                open_keys.add((mid, f.id))
                if (mid, f.id) in baseline:
                    known.append(f)
    notices: list[Notice] = []
    level = "error" if strict else "warning"
    for (mid, fid), line in sorted(baseline.entries.items()):
        if (mid, fid) in open_keys:
            continue
        if mid not in findings_by_model and partial:
            continue
        what = "is not open any more" if mid in findings_by_model else "belongs to no model here"
        notices.append(
            Notice(
                level,
                f"baseline entry {fid} (model {mid}) {what}: remove it "
                "(`threatgraph baseline -o FILE` rewrites the file)",
                f"{baseline.path}:{line}" if line else baseline.path,
            )
        )
    return known, notices


def gate(
    findings: Iterable[Finding], fail_on: str, exclude: Iterable[Finding] = ()
) -> list[Finding]:
    """Open findings at or above the gate severity, except those in ``exclude`` (baseline)."""
    threshold = severity_rank(fail_on)
    skip = {id(f) for f in exclude}
    return [
        f
        for f in findings
        if f.status == "open" and severity_rank(f.severity) >= threshold and id(f) not in skip
    ]
