"""Section 3 (risk register) and section 6 (risk management plan) of the risk analysis.

Each finding becomes a register row: its likelihood and impact (rated by :mod:`.risk` with
reasons), its inherent risk, the risk left with the controls present today and the risk left
once the planned response is carried out, and the plan itself: response (mitigate, accept,
transfer, avoid), owner, due date, ticket, progress and, for an accepted risk, its sign-off.

Where the plan comes from, first match wins: the register file (``--register``), then the
finding's decision (an acceptance carries owner, expiry and ticket), then the model (the
element's owner, else the system owner). Without a register entry an open finding is planned
for mitigation by adding every missing control, a mitigated one is done, an accepted one is
accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.features import hipaa
from threatgraph.features.sra import risk as risk_mod
from threatgraph.features.sra import threats_ai
from threatgraph.features.sra.common import Received, data_of, decision_text, where_text
from threatgraph.features.sra.registerfile import Register, RiskEntry
from threatgraph.graph import Graph
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.paths import display_path

STATUS_ORDER = {"open": 0, "accepted": 1, "mitigated": 2, "false_positive": 3}


@dataclass
class RiskRow:
    """One finding in the risk register, with its rating and its plan."""

    id: str
    rule: str
    title: str
    family: str
    element: str
    location: str
    status: str
    severity: str
    phi: bool
    likelihood: str
    likelihood_reason: str
    confidentiality: str
    integrity: str
    availability: str
    impact: str
    impact_reason: str
    score: int
    level: str
    residual_present_score: int | None
    residual_present_level: str
    residual_planned_score: int | None
    residual_planned_level: str
    response: str  # mitigate, accept, transfer, avoid, or '' for a false positive
    owner: str
    due: str
    ticket: str
    progress: str  # planned, in progress, done, or ''
    planned: list[str]
    signoff: str
    note: str
    explanation: str
    present: list[str]
    missing: list[tuple[str, str]]  # (control id, where it goes)
    hipaa: list[str]
    references: list[str]
    ai: list[str] = field(default_factory=list)
    decision: str = ""


@dataclass
class RegisterResult:
    """The rows, the finding ids per AI category, and notices about the register file."""

    rows: list[RiskRow]
    by_category: dict[str, list[str]]
    notices: list[str]


def _owner(g: Graph, f: Finding, entry: RiskEntry | None) -> str:
    if entry is not None and entry.owner:
        return entry.owner
    if f.decision is not None and f.decision.owner:
        return f.decision.owner
    el = g.elements.get(f.element)
    if el is not None and el.owner:
        return el.owner
    return g.model.model.owner or ""


def _response(f: Finding, entry: RiskEntry | None) -> tuple[str, str]:
    """(response, progress) from the register entry, else from the finding's status."""
    if entry is not None:
        progress = entry.status.replace("_", " ")
        if f.status == "mitigated":
            progress = "done"
        return entry.response, progress
    return {
        "open": ("mitigate", "planned"),
        "mitigated": ("mitigate", "done"),
        "accepted": ("accept", "done"),
        "false_positive": ("", ""),
    }[f.status]


def _residuals(
    f: Finding, rating: risk_mod.Rating, response: str, progress: str, planned: list[str]
) -> tuple[int | None, int | None]:
    """Residual scores with the present controls and once the planned response is done."""
    if f.status == "false_positive":
        return None, None
    impact = rating.impact.overall
    present = (
        risk_mod.lowered(rating.likelihood, impact) if f.status == "mitigated" else rating.score
    )
    missing = {c.control for c in f.checklist if not c.present}
    if response == "avoid":
        return present, 0
    if response == "mitigate" and progress != "done" and missing <= set(planned):
        return present, risk_mod.lowered(rating.likelihood, impact)
    return present, present


def _signoff(entry: RiskEntry | None, response: str) -> str:
    if entry is not None and entry.signoff is not None:
        s = entry.signoff
        return f"{s.by}" + (f" ({s.role})" if s.role else "") + f", {s.date.isoformat()}"
    return "awaiting sign-off" if response == "accept" else ""


def _row(g: Graph, f: Finding, entry: RiskEntry | None, received: Received) -> RiskRow:
    """The register row of one finding: its rating, its residual risks and its plan."""
    phi = data_of(g, f, received) == "phi"
    rating = risk_mod.rate(g, f, phi)
    response, progress = _response(f, entry)
    missing = [(c.control, where_text(g, c.places, f)) for c in f.checklist if not c.present]
    planned = (
        sorted(entry.planned) if entry is not None and entry.planned else [c for c, _ in missing]
    )
    if response != "mitigate":
        planned = sorted(entry.planned) if entry is not None else []
    present_score, planned_score = _residuals(f, rating, response, progress, planned)
    cats = threats_ai.categories(f.rule, phi)
    im = rating.impact
    return RiskRow(
        id=f.id,
        rule=f.rule.id,
        title=f.rule.title,
        family=f.rule.family,
        element=g.describe(f.element),
        location=f"{display_path(f.location.file)}:{f.location.line}"
        if f.location.line
        else display_path(f.location.file),
        status=f.status,
        severity=f.severity,
        phi=phi,
        likelihood=risk_mod.LIKELIHOOD_NAMES[rating.likelihood],
        likelihood_reason=rating.likelihood_reason,
        confidentiality=risk_mod.IMPACT_NAMES[im.c],
        integrity=risk_mod.IMPACT_NAMES[im.i],
        availability=risk_mod.IMPACT_NAMES[im.a],
        impact=risk_mod.IMPACT_NAMES[im.overall],
        impact_reason="; ".join(im.reasons),
        score=rating.score,
        level=rating.level if f.status != "false_positive" else "n/a",
        residual_present_score=present_score,
        residual_present_level=risk_mod.level(present_score) if present_score is not None else "",
        residual_planned_score=planned_score,
        residual_planned_level=risk_mod.level(planned_score) if planned_score is not None else "",
        response=response,
        owner=_owner(g, f, entry),
        due=entry.due.isoformat()
        if entry is not None and entry.due
        else (f.decision.expires.isoformat() if f.decision and f.decision.expires else ""),
        ticket=(entry.ticket if entry is not None and entry.ticket else "")
        or (f.decision.ticket if f.decision and f.decision.ticket else ""),
        progress=progress,
        planned=planned,
        signoff=_signoff(entry, response),
        note=entry.note or "" if entry is not None else "",
        explanation=f.explanation,
        present=[c.control for c in f.checklist if c.present],
        missing=missing,
        hipaa=hipaa.sections_cited(f.rule.references),
        references=list(f.rule.references),
        ai=cats,
        decision=decision_text(f.decision),
    )


def build(
    g: Graph,
    findings: list[Finding],
    received: Received,
    register: Register,
    model_id: str,
) -> RegisterResult:
    """The register rows of one model, riskiest first within each status.

    A register entry that contradicts a decision (the decision accepts the finding, the
    entry plans another response) is an input error naming the entry's line.
    """
    rows: list[RiskRow] = []
    by_category: dict[str, list[str]] = {c.key: [] for c in threats_ai.AI_CATEGORIES}
    problems: list[Problem] = []
    for f in findings:
        entry = register.entry(model_id, f.id)
        if (
            entry is not None
            and f.status == "accepted"
            and entry.response not in ("accept", "transfer")
        ):
            problems.append(
                Problem(
                    register.file,
                    entry.line,
                    f"{f.id} is accepted by a decision; the register plans to {entry.response}",
                    "response",
                )
            )
            continue
        row = _row(g, f, entry, received)
        for key in row.ai:
            by_category[key].append(f.id)
        rows.append(row)
    if problems:
        raise InputError(problems)
    known = {f.id for f in findings}
    notices = sorted(
        f"{register.file}:{e.line}: {e.finding} is not a finding of this model (fixed, or a typo?)"
        for e in register.risks
        if e.model in (None, model_id) and e.finding not in known
    )
    rows.sort(key=lambda x: (STATUS_ORDER[x.status], -x.score, -severity_rank(x.severity), x.id))
    return RegisterResult(rows, by_category, notices)


def spread(rows: list[RiskRow]) -> dict[str, int]:
    """Open findings per level, critical first."""
    return {
        lv: sum(1 for r in rows if r.status == "open" and r.level == lv)
        for lv in ("critical", "high", "medium", "low")
    }
