"""Section 7 of the risk analysis: the vendor and business associate register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from threatgraph.engine.findings import Finding
from threatgraph.features.sra.common import (
    BREACH_NOTIFICATION_LIMIT_DAYS,
    PHI,
    SECURITY_ATTESTATIONS,
    Received,
    assessment_overdue,
    baa_covers,
    baa_in_force,
    days_after,
)
from threatgraph.graph import Graph
from threatgraph.model.schema import Element, Kind, VendorProfile
from threatgraph.model.validate import CLAUSE_CONTROLS


@dataclass
class CertRow:
    """A vendor certification and its status on the analysis date."""

    name: str
    expires: str
    status: str  # current, expired, no expiry recorded
    evidence: str


@dataclass
class VendorRow:
    """A vendor in the register."""

    id: str
    name: str
    services: list[str]
    hosts: list[str]
    subprocessor_of: list[str]
    subprocessors: list[str]
    phi: str  # how PHI reaches it, or 'none'
    baa: str
    baa_coverage: list[tuple[str, bool]]  # hosted elements handling PHI and whether covered
    certifications: list[CertRow]
    clauses: list[str]
    missing_clauses: list[str]
    breach_window: str
    training: str
    assessment: str
    findings: list[str]


def _baa_text(g: Graph, el: Element, day: date) -> str:
    """The BAA on record in one line: state, dates, services covered, evidence."""
    prof = el.vendor
    if prof is not None and prof.baa is not None:
        b = prof.baa
        state = (
            "in force"
            if baa_in_force(prof, day)
            else ("not yet signed" if b.signed is not None and b.signed > day else "expired")
        )
        covered = (
            "all services"
            if not b.services or "*" in b.services
            else ", ".join(g.describe(s) for s in sorted(b.services))
        )
        baa = (
            f"{state}; signed {b.signed.isoformat() if b.signed else 'date not recorded'}"
            f"; {'expires ' + b.expires.isoformat() if b.expires else 'no end date'}"
            f"; covers {covered}" + (f"; evidence {b.evidence}" if b.evidence else "")
        )
    elif "vendor.baa" in el.control_ids():
        baa = "declared as a control (terms not recorded)"
    else:
        baa = "none on record"
    return baa


def _certs(prof: VendorProfile | None, day: date) -> list[CertRow]:
    """The vendor's certifications and their status on ``day``."""
    certs = []
    for c in sorted(prof.certifications if prof else [], key=lambda c: (c.name, str(c.expires))):
        if c.expires is None:
            status = "no expiry recorded"
        elif c.expires < day:
            status = "expired"
        else:
            status = "current"
        if c.name not in SECURITY_ATTESTATIONS:
            status += " (not a security attestation)"
        certs.append(
            CertRow(c.name, c.expires.isoformat() if c.expires else "", status, c.evidence or "")
        )
    return certs


def vendor_row(
    g: Graph,
    vid: str,
    received: Received,
    findings: list[Finding],
    day: date,
) -> VendorRow:
    """The register row of one vendor as of ``day``."""
    el = g.elements[vid]
    prof = el.vendor
    hosted = sorted(g.hosted_by.get(vid, []), key=lambda h: (g.describe(h), h))
    parents = sorted(
        g.describe(v)
        for v in g.by_kind.get(Kind.VENDOR, [])
        if (p := g.elements[v].vendor) is not None and vid in p.subprocessors
    )
    subs = sorted(g.describe(s) for s in (prof.subprocessors if prof else []))

    routes = []
    if PHI in g.element_data(vid):
        routes.append("directly (flows or stored data)")
    phi_hosted = [h for h in hosted if PHI in g.element_data(h)]
    if phi_hosted:
        routes.append("through " + ", ".join(g.describe(h) for h in phi_hosted))
    if not routes and PHI in received.get(vid, frozenset()):
        routes.append("as a sub-processor of " + ", ".join(parents))
    phi = "; ".join(routes) if routes else "none"

    baa = _baa_text(g, el, day)
    coverage = [(g.describe(h), baa_covers(el, h, day)) for h in phi_hosted]

    certs = _certs(prof, day)
    clauses: list[str] = sorted(prof.clauses) if prof else []
    missing = sorted(set(CLAUSE_CONTROLS) - set(clauses))

    days = prof.breach_notification_days if prof else None
    if days is None:
        window = "not recorded"
    elif days > BREACH_NOTIFICATION_LIMIT_DAYS:
        window = f"{days} days (over the {BREACH_NOTIFICATION_LIMIT_DAYS}-day limit)"
    else:
        window = f"{days} days"

    if prof is not None and "no_training_on_customer_data" in prof.clauses:
        training = "excluded by contract"
    elif prof is not None and prof.trains_on_customer_data is False:
        training = "vendor states it does not train on customer data (no clause)"
    elif prof is not None and prof.trains_on_customer_data:
        training = "vendor trains on customer data"
    else:
        training = "not ruled out"

    if prof is None or prof.last_assessment is None:
        assessment = "no assessment on record"
    else:
        due = days_after(prof.last_assessment, prof.review_interval_days)
        assessment = (
            f"last {prof.last_assessment.isoformat()}, every {prof.review_interval_days} days; "
            + (f"OVERDUE since {due}" if assessment_overdue(prof, day) else f"next due {due}")
        )
    own = sorted(
        f.id
        for f in findings
        if f.status == "open"
        and (f.element == vid or (f.rule.family == "vendor" and f.element in hosted))
    )
    return VendorRow(
        id=vid,
        name=el.name,
        services=sorted(prof.services) if prof else [],
        hosts=[f"{g.describe(h)} ({g.elements[h].kind.value})" for h in hosted],
        subprocessor_of=parents,
        subprocessors=subs,
        phi=phi,
        baa=baa,
        baa_coverage=coverage,
        certifications=certs,
        clauses=clauses,
        missing_clauses=missing,
        breach_window=window,
        training=training,
        assessment=assessment,
        findings=own,
    )


def build(g: Graph, received: Received, findings: list[Finding], day: date) -> list[VendorRow]:
    """Every vendor of the model, sorted by name."""
    rows = [vendor_row(g, vid, received, findings, day) for vid in g.by_kind.get(Kind.VENDOR, [])]
    return sorted(rows, key=lambda v: (v.name, v.id))
