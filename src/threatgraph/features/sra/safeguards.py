"""Sections 5 and 8 of the risk analysis: the controls present, and the safeguard matrix.

The matrix lists every HIPAA standard and implementation specification of the reference index
(the 18 Security Rule standards, their specifications marked required or addressable, and the
organizational, documentation, Privacy and Breach Notification sections the rules cite), each
with the status :func:`threatgraph.features.hipaa.section_status` gives it.

Under ``rule_edition="2025-proposed"`` it reads the Security Rule as HHS proposed to amend it in
January 2025 (a proposal, not law): no specification is addressable, and a table of the
proposal's new requirements is checked against the model (multi-factor authentication,
encryption at rest and in transit, restoration within 72 hours, a yearly compliance audit, a
technology asset inventory and network map, vulnerability scanning and penetration testing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from threatgraph.engine.findings import Finding
from threatgraph.engine.library import Library
from threatgraph.features import hipaa
from threatgraph.features.sra.assets import NOT_SYSTEMS, Inventory, operations
from threatgraph.features.sra.registerfile import Register
from threatgraph.graph import Graph
from threatgraph.model.schema import Kind

Edition = Literal["2013", "2025-proposed"]
EDITIONS: tuple[Edition, ...] = ("2013", "2025-proposed")
#: The proposal's ceilings: restore within 72 hours, scan every six months, test every year.
RESTORE_HOURS = 72
SCAN_DAYS = 182
PENTEST_DAYS = 365
AUDIT_DAYS = 365
#: Kinds people sign in to: the proposal wants MFA on every system with ePHI they use.
SIGN_IN_KINDS = frozenset({Kind.APP, Kind.AGENT})


@dataclass
class ControlRow:
    """A control present in the model."""

    id: str
    title: str
    category: str
    where: list[str]
    evidence: list[str]
    derived: bool
    hipaa: list[str]


@dataclass
class MatrixRow:
    """One standard or specification of the matrix, for one model."""

    section: str
    name: str
    kind: str  # standard, required, addressable (2013); standard or required (2025)
    standard: bool  # one of the Security Rule's standards (or a section's standard)
    status: str  # gap, evidenced, declared, none
    controls: list[str]
    open_findings: list[str]


@dataclass
class ProposedRow:
    """One requirement of the 2025 proposal and whether the model meets it."""

    topic: str
    requirement: str
    status: str  # met, not met, not stated, n/a
    detail: str


@dataclass
class Safeguards:
    """Sections 5 and 8."""

    edition: str
    controls: list[ControlRow]
    families: list[tuple[str, str, list[MatrixRow]]]  # family, title, rows
    proposed: list[ProposedRow]


def controls(lib: Library, g: Graph, as_of: date) -> list[ControlRow]:
    """Every control present on the analysis date, with where and with what evidence."""
    present = hipaa.declarations(g, as_of)
    out = []
    for cid in sorted(present):
        decls = present[cid]
        ctl = lib.controls.get(cid)
        out.append(
            ControlRow(
                id=cid,
                title=ctl.title if ctl else "",
                category=ctl.category if ctl else "",
                where=sorted({d.where_name for d in decls}),
                evidence=sorted({e for d in decls for e in d.evidence}),
                derived=all(d.derived for d in decls),
                hipaa=hipaa.sections_cited(ctl.references) if ctl else [],
            )
        )
    return out


def _kind(s: hipaa.Section, edition: Edition) -> str:
    if s.required is None:
        return "standard"
    if edition == "2025-proposed":
        return "required"
    return s.kind


def matrix(
    lib: Library, g: Graph, findings: list[Finding], as_of: date, edition: Edition
) -> list[tuple[str, str, list[MatrixRow]]]:
    """The matrix per safeguard family, every section listed."""
    assessed = hipaa.assess(lib, g, findings, as_of)
    out = []
    for fam, title in hipaa.SAFEGUARDS:
        rows = [
            MatrixRow(
                section=st.section.id,
                name=st.section.name,
                kind=_kind(st.section, edition),
                standard=st.section.parent is not None and "(" not in st.section.parent,
                status=st.status,
                controls=sorted({d.control for d in st.declared}),
                open_findings=st.open_findings,
            )
            for st in assessed.get(fam, [])
        ]
        if rows:
            out.append((fam, title, rows))
    return out


def _names(g: Graph, ids: list[str]) -> str:
    return ", ".join(g.describe(e) for e in ids)


def _ceiling(g: Graph, ids: list[str], field: str, limit: int) -> tuple[list[str], list[str]]:
    """The elements whose operations ``field`` exceeds ``limit``, and those that do not state it."""
    over, missing = [], []
    for e in ids:
        value = getattr(operations(g, g.elements[e]), field)
        if value is None:
            missing.append(e)
        elif value > limit:
            over.append(e)
    return over, missing


def proposed(g: Graph, inv: Inventory, register: Register, as_of: date) -> list[ProposedRow]:
    """The 2025 proposal's new requirements, checked against the model."""
    holders = [h.id for h in inv.holders if g.elements[h.id].kind not in NOT_SYSTEMS]
    rows: list[ProposedRow] = []

    sign_in = [e for e in holders if g.elements[e].kind in SIGN_IN_KINDS]
    no_mfa = [e for e in sign_in if "authn.sso_mfa" not in g.elements[e].control_ids()]
    rows.append(
        ProposedRow(
            "Multi-factor authentication",
            "MFA on every system people use to reach ePHI, internal or internet-facing",
            "n/a" if not sign_in else ("not met" if no_mfa else "met"),
            f"no authn.sso_mfa on {_names(g, no_mfa)}"
            if no_mfa
            else f"{len(sign_in)} component(s) checked",
        )
    )

    clear = [f.name or f.id for f in inv.flows if not f.encrypted]
    unenc = [h for h in holders if h in {x.id for x in inv.holders if x.at_rest == "not declared"}]
    gaps = ([f"unencrypted flows: {', '.join(clear)}"] if clear else []) + (
        [f"no encryption at rest on {_names(g, unenc)}"] if unenc else []
    )
    rows.append(
        ProposedRow(
            "Encryption",
            "ePHI encrypted at rest and in transit (no longer addressable)",
            "not met" if gaps else "met",
            "; ".join(gaps) or "every ePHI flow and store is encrypted",
        )
    )

    slow, unstated = _ceiling(g, holders, "rto_hours", RESTORE_HOURS)
    rows.append(
        ProposedRow(
            "Restoration within 72 hours",
            "Critical systems and ePHI restored within 72 hours of a loss",
            "not met" if slow else ("not stated" if unstated else "met"),
            "; ".join(
                ([f"recovery objective over 72 hours: {_names(g, slow)}"] if slow else [])
                + ([f"no recovery objective stated: {_names(g, unstated)}"] if unstated else [])
            )
            or "every ePHI component states a recovery objective of 72 hours or less",
        )
    )

    audits = [
        r
        for r in register.reviews
        if "audit" in f"{r.role or ''} {r.note or ''}".lower()
        and 0 <= (as_of - r.date).days <= AUDIT_DAYS
    ]
    rows.append(
        ProposedRow(
            "Compliance audit",
            "A Security Rule compliance audit at least every 12 months",
            "met" if audits else "not stated",
            f"audit on {audits[-1].date.isoformat()} by {audits[-1].by}"
            if audits
            else "no audit in the review log within the last 12 months",
        )
    )

    rows.append(
        ProposedRow(
            "Asset inventory and network map",
            "A written technology asset inventory and network map of ePHI, kept current",
            "met",
            "section 2 of this document, as complete as the model is",
        )
    )

    for topic, field, limit, what in (
        ("Vulnerability scanning", "scan_days", SCAN_DAYS, "at least every six months"),
        ("Penetration testing", "pentest_days", PENTEST_DAYS, "at least every 12 months"),
    ):
        over, missing = _ceiling(g, holders, field, limit)
        rows.append(
            ProposedRow(
                topic,
                f"{topic} of systems with ePHI {what}",
                "not met" if over else ("not stated" if missing else "met"),
                "; ".join(
                    ([f"interval too long: {_names(g, over)}"] if over else [])
                    + ([f"no interval stated: {_names(g, missing)}"] if missing else [])
                )
                or f"every ePHI component states an interval of {limit} days or less",
            )
        )
    return rows


def build(
    lib: Library,
    g: Graph,
    findings: list[Finding],
    as_of: date,
    edition: Edition,
    inv: Inventory,
    register: Register,
) -> Safeguards:
    """Sections 5 and 8 for one model under one edition of the Security Rule."""
    return Safeguards(
        edition=edition,
        controls=controls(lib, g, as_of),
        families=matrix(lib, g, findings, as_of, edition),
        proposed=proposed(g, inv, register, as_of) if edition == "2025-proposed" else [],
    )
