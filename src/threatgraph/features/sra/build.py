"""Build the security risk analysis (HIPAA 164.308(a)(1)(ii)(A)) of one analysed model.

Everything here is computed from the model, the graph and the findings of one run; the
renderers (Markdown, HTML) only lay it out. Lists are sorted so that the same input gives
the same document, and the only date in it is the run's date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from threatgraph.engine.compile import kinds_of, vendor_received_data
from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.engine.library import Library
from threatgraph.features import hipaa
from threatgraph.features.sra import risk as risk_mod
from threatgraph.graph import Graph
from threatgraph.model.schema import SENSITIVE, Classification, Element, Kind
from threatgraph.model.validate import CLAUSE_CONTROLS
from threatgraph.model.vendors import (
    BREACH_NOTIFICATION_LIMIT_DAYS,
    SECURITY_ATTESTATIONS,
    assessment_overdue,
    baa_covers,
    baa_in_force,
)
from threatgraph.util.paths import display_path
from threatgraph.version import __version__

PHI = Classification.PHI

#: AI-specific threat categories the analysis calls out, each with the references and rule
#: families that put a finding in it. ``phi_only``: only findings that touch PHI count.
AI_CATEGORIES: tuple[dict[str, Any], ...] = (
    {
        "key": "prompt-injection-phi",
        "title": "Prompt injection that can leak or alter PHI",
        "refs": ("owasp-llm:LLM01", "atlas:AML.T0051", "owasp-asi:ASI01"),
        "families": ("prompt-injection",),
        "phi_only": True,
        "about": "Instructions hidden in user input or retrieved content steer a model that "
        "sees PHI into revealing it or acting on it.",
    },
    {
        "key": "model-inversion",
        "title": "Model inversion",
        "refs": ("owasp-ml:ML03", "atlas:AML.T0024.001", "nist-aml:NISTAML.032"),
        "families": (),
        "phi_only": False,
        "about": "An attacker reconstructs training records (or features of them) from a "
        "model's outputs.",
    },
    {
        "key": "membership-inference",
        "title": "Membership inference",
        "refs": (
            "owasp-ml:ML04",
            "atlas:AML.T0024.000",
            "nist-aml:NISTAML.033",
        ),
        "families": (),
        "phi_only": False,
        "about": "An attacker learns whether a given patient's record was in the training set, "
        "which by itself can disclose a diagnosis.",
    },
    {
        "key": "phi-disclosure",
        "title": "PHI disclosed through models (memorisation, retrieval, prompts)",
        "refs": ("atlas:AML.T0057", "atlas:AML.T0024"),
        "families": ("disclosure",),
        "phi_only": True,
        "about": "A model repeats records it was trained on, retrieval hands it records the user "
        "may not see, or prompts carry more PHI than the task needs to someone who keeps it.",
    },
    {
        "key": "poisoning",
        "title": "Data and model poisoning",
        "refs": (
            "owasp-llm:LLM04",
            "owasp-ml:ML02",
            "owasp-ml:ML10",
            "atlas:AML.T0020",
            "atlas:AML.T0018",
            # NIST AI 100-2 E2025 ids of data, backdoor, targeted and model poisoning.
            "nist-aml:NISTAML.011",
            "nist-aml:NISTAML.012",
            "nist-aml:NISTAML.013",
            "nist-aml:NISTAML.021",
            "nist-aml:NISTAML.023",
            "nist-aml:NISTAML.024",
            "nist-aml:NISTAML.026",
            "nist-aml:NISTAML.051",
        ),
        "families": ("poisoning",),
        "phi_only": False,
        "about": "Tampered training, fine-tuning or retrieval data changes what a model says or "
        "does, including clinical content.",
    },
    {
        "key": "vendor",
        "title": "Vendors and business associates",
        "refs": (),
        "families": ("vendor",),
        "phi_only": False,
        "about": "Third parties that host models or receive PHI without the agreements, "
        "attestations and monitoring HIPAA expects.",
    },
)


def days_after(day: date, days: int) -> str:
    """The ISO date ``days`` after ``day``, or "after 9999-12-31" past the last date Python
    has: --as-of 9999-12-31 and an assessment on 9999-12-31 are valid input, and their next
    review saturates instead of overflowing."""
    n = day.toordinal() + days
    if n > date.max.toordinal():
        return f"after {date.max.isoformat()}"
    return date.fromordinal(max(n, 1)).isoformat()


def _ref_matches(ref: str, prefixes: Iterable[str]) -> bool:
    base = ref.rpartition("@")[0] or ref
    return any(base == p or base.startswith(p + ".") for p in prefixes)


# -- document structure --------------------------------------------------------------------
@dataclass
class ElementRow:
    """An element of the system, for the scope section."""

    id: str
    name: str
    kind: str
    zone: str
    trust: str
    vendor: str  # hosting vendor's name, or ''
    owner: str
    location: str


@dataclass
class FlowRow:
    """A flow carrying ePHI."""

    id: str
    name: str
    source: str
    target: str
    data: list[str]
    protocol: str
    encrypted: bool
    authenticated: bool
    crosses: bool
    zones: str  # 'Clinic network (internal) → Acme AI cloud (third_party)'
    leaves: bool  # the target is a third party or less trusted
    location: str


@dataclass
class PhiHolder:
    """An element holding ePHI and how."""

    id: str
    name: str
    kind: str
    zone: str
    vendor: str
    how: list[str]  # 'stores', 'processes', 'trained on', 'receives', 'sends'
    data: list[str]
    at_rest: str  # 'encrypted', 'not declared', or '' when it stores nothing


@dataclass
class PhiAsset:
    """One data asset classified PHI."""

    id: str
    name: str
    description: str
    stored: list[str]
    processed: list[str]
    trained: list[str]
    flows: int


@dataclass
class RiskRow:
    """One finding in the risk register."""

    id: str
    rule: str
    title: str
    family: str
    element: str
    location: str
    status: str
    severity: str
    likelihood: str
    impact: str
    phi: bool
    score: int
    level: str
    residual_score: int | None
    residual_level: str
    explanation: str
    present: list[str]
    missing: list[str]
    hipaa: list[str]
    references: list[str]
    ai: list[str]  # AI category keys
    decision: str


@dataclass
class Callout:
    """An AI-specific threat category and the findings in it."""

    key: str
    title: str
    about: str
    findings: list[str]
    rules: list[str]  # library rules that can raise it
    note: str


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
class PlanRow:
    """A planned mitigation: an open or accepted finding and what closes it."""

    finding: str
    title: str
    level: str
    element: str
    missing: list[tuple[str, str]]  # (control id, where to declare it / why)
    owner: str
    decision: str


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


@dataclass
class Sra:
    """The whole security risk analysis of one model."""

    title: str
    model_name: str
    model_id: str
    model_version: str
    owner: str
    description: str
    model_file: str
    as_of: str
    next_review: str
    tool_version: str
    library_version: str
    rules_active: int
    rules_disabled: list[tuple[str, str]]
    boundaries: list[tuple[str, str, str]]  # name, trust, parent name
    elements: list[ElementRow]
    data: list[tuple[str, str, str]]  # name, classification, description
    phi_assets: list[PhiAsset]
    phi_holders: list[PhiHolder]
    phi_flows: list[FlowRow]
    risks: list[RiskRow]
    callouts: list[Callout]
    controls: list[ControlRow]
    plan: list[PlanRow]
    vendors: list[VendorRow]
    safeguards: list[tuple[str, str, list[hipaa.SectionStatus]]]  # family, title, rows
    summary: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


# -- helpers -------------------------------------------------------------------------------
def _zone(g: Graph, eid: str) -> str:
    chain = g.boundary_chain.get(eid, ())
    name = g.boundaries[chain[0]].name if chain else "outside any boundary"
    return f"{name} ({g.trust[eid].value})"


def _loc(el: Element) -> str:
    loc = el.location
    return f"{display_path(loc.file)}:{loc.line}" if loc is not None and loc.line else ""


def _phi_ids(g: Graph) -> set[str]:
    return {d.id for d in g.data.values() if d.classification is PHI}


def _data_of(g: Graph, f: Finding, received: dict[str, frozenset[Classification]]) -> str:
    """'phi', 'sensitive' or 'other': the most sensitive data a finding touches.

    A flow finding touches what the flow carries; other findings what their elements handle
    (for vendors, what reaches them).
    """
    classes: set[Classification] = set()
    if f.flow is not None:
        classes = {d.classification for d in g.flows[f.flow].data}
    else:
        for e in f.elements:
            if e not in g.elements:
                continue
            if g.elements[e].kind is Kind.VENDOR:
                classes |= received.get(e, frozenset())
            else:
                classes |= g.element_data(e)
    if PHI in classes:
        return "phi"
    return "sensitive" if classes & SENSITIVE else "other"


def _decision_text(f: Finding) -> str:
    d = f.decision
    if d is None:
        return ""
    parts = [d.status.replace("_", " ")]
    if d.owner:
        parts.append(f"by {d.owner}")
    if d.expires:
        parts.append(f"until {d.expires.isoformat()}")
    if d.ticket:
        parts.append(f"({d.ticket})")
    return " ".join(parts) + (f": {d.reason}" if d.reason else "")


def _where_text(g: Graph, places: tuple[str, ...], f: Finding) -> str:
    names = {
        "element": g.describe(f.element),
        "model": "the whole system (process control)",
        "path": "every route to it",
        "upstream": "the flow or caller feeding it",
        "downstream": "the flow or component it feeds",
        "provider": "its hosting vendor",
        "flow": f"flow {f.flow}" if f.flow else "the flow",
        "source": g.describe(f.elements[1]) if len(f.elements) > 1 else "the source",
        "target": g.describe(f.element),
    }
    return ", ".join(names.get(p, p) for p in places)


# -- build ---------------------------------------------------------------------------------
def build(result: Any, lib: Library, as_of: date) -> Sra:
    """The SRA of one pipeline ModelResult (its loaded model, graph and findings)."""
    g: Graph = result.graph
    model = g.model
    info = model.model
    findings: list[Finding] = list(result.findings)
    received = vendor_received_data(g, lambda e: frozenset(g.element_data(e)))
    vendor_ids = sorted(g.by_kind.get(Kind.VENDOR, []))

    # Scope ----------------------------------------------------------------------------
    boundaries = sorted(
        (
            b.name,
            b.trust.value,
            g.boundaries[b.parent].name if b.parent and b.parent in g.boundaries else "",
        )
        for b in g.boundaries.values()
    )
    elements = sorted(
        (
            ElementRow(
                id=e.id,
                name=e.name,
                kind=e.kind.value,
                zone=_zone(g, e.id),
                trust=g.trust[e.id].value,
                vendor=g.describe(e.provider) if e.provider else "",
                owner=e.owner or "",
                location=_loc(e),
            )
            for e in g.elements.values()
        ),
        key=lambda r: (r.zone, r.kind, r.name, r.id),
    )
    data = sorted((d.name, d.classification.value, d.description or "") for d in g.data.values())

    # ePHI inventory -------------------------------------------------------------------
    phi_ids = _phi_ids(g)
    assets = []
    for did in sorted(phi_ids, key=lambda d: (g.data[d].name, d)):
        d = g.data[did]
        assets.append(
            PhiAsset(
                id=did,
                name=d.name,
                description=d.description or "",
                stored=sorted(e.name for e in g.elements.values() if did in e.stores),
                processed=sorted(e.name for e in g.elements.values() if did in e.processes),
                trained=sorted(e.name for e in g.elements.values() if did in e.trained_on),
                flows=sum(1 for f in g.flows.values() if did in f.flow.data),
            )
        )
    holders = []
    for eid in sorted(g.elements, key=lambda e: (g.elements[e].name, e)):
        el = g.elements[eid]
        how: list[str] = []
        held: set[str] = set()
        for label, ids in (
            ("stores", el.stores),
            ("processes", el.processes),
            ("trained on", el.trained_on),
        ):
            hit = [d for d in ids if d in phi_ids]
            if hit:
                how.append(label)
                held.update(hit)
        ins = {d for fid in g.flows_in[eid] for d in g.flows[fid].flow.data if d in phi_ids}
        outs = {d for fid in g.flows_out[eid] for d in g.flows[fid].flow.data if d in phi_ids}
        if ins:
            how.append("receives")
        if outs:
            how.append("sends")
        held |= ins | outs
        if el.kind is Kind.VENDOR and not held and PHI in received.get(eid, frozenset()):
            how.append("through hosted services or as a sub-processor")
        if not how:
            continue
        stores_phi = any(d in phi_ids for d in el.stores)
        encrypted = bool({"crypto.at_rest", "crypto.field_level"} & el.control_ids())
        holders.append(
            PhiHolder(
                id=eid,
                name=el.name,
                kind=el.kind.value,
                zone=_zone(g, eid),
                vendor=g.describe(el.provider) if el.provider else "",
                how=how,
                data=sorted(g.data[d].name for d in held),
                at_rest=("encrypted" if encrypted else "not declared") if stores_phi else "",
            )
        )
    flows = []
    for fid in sorted(g.flows):
        facts = g.flows[fid]
        fl = facts.flow
        carried = [d for d in fl.data if d in phi_ids]
        if not carried:
            continue
        flows.append(
            FlowRow(
                id=fid,
                name=fl.name,
                source=g.describe(fl.source),
                target=g.describe(fl.target),
                data=sorted(g.data[d].name for d in carried),
                protocol=fl.protocol or "",
                encrypted=fl.is_encrypted,
                authenticated=fl.is_authenticated,
                crosses=facts.crosses_boundary,
                zones=f"{_zone(g, fl.source)} → {_zone(g, fl.target)}",
                leaves=g.trust[fl.target].rank <= 1 < g.trust[fl.source].rank,
                location=f"{display_path(fl.location.file)}:{fl.location.line}"
                if fl.location is not None and fl.location.line
                else "",
            )
        )

    # Risk register --------------------------------------------------------------------
    risks: list[RiskRow] = []
    by_category: dict[str, list[str]] = {c["key"]: [] for c in AI_CATEGORIES}
    for f in findings:
        r = f.rule
        data_kind = _data_of(g, f, received)
        phi = data_kind == "phi"
        inherent = risk_mod.assess(r.likelihood, f.severity, data_kind)
        residual = inherent.residual() if f.status == "mitigated" else None
        cats = []
        for c in AI_CATEGORIES:
            in_cat = r.family in c["families"] or any(
                _ref_matches(ref, c["refs"]) for ref in r.references
            )
            if in_cat and (phi or not c["phi_only"]):
                cats.append(c["key"])
                by_category[c["key"]].append(f.id)
        risks.append(
            RiskRow(
                id=f.id,
                rule=r.id,
                title=r.title,
                family=r.family,
                element=g.describe(f.element),
                location=f"{display_path(f.location.file)}:{f.location.line}"
                if f.location.line
                else display_path(f.location.file),
                status=f.status,
                severity=f.severity,
                likelihood=r.likelihood,
                impact=risk_mod.IMPACT_NAMES[inherent.impact],
                phi=phi,
                score=inherent.score,
                level=inherent.level if f.status != "false_positive" else "n/a",
                residual_score=residual.score if residual else None,
                residual_level=residual.level if residual else "",
                explanation=f.explanation,
                present=[c.control for c in f.checklist if c.present],
                missing=[c.control for c in f.checklist if not c.present],
                hipaa=hipaa.sections_cited(r.references),
                references=list(r.references),
                ai=cats,
                decision=_decision_text(f),
            )
        )
    order = {"open": 0, "accepted": 1, "mitigated": 2, "false_positive": 3}
    risks.sort(key=lambda x: (order[x.status], -x.score, -severity_rank(x.severity), x.id))

    callouts = []
    for c in AI_CATEGORIES:
        rules = sorted(
            lr.rule.id
            for lr in lib.active
            if lr.rule.family in c["families"]
            or any(_ref_matches(ref, c["refs"]) for ref in lr.rule.references)
        )
        found = sorted(by_category[c["key"]])
        if found:
            note = ""
        elif not rules:
            note = "No rule in the library addresses this category."
        else:
            absent = _absent_kinds(lib, rules, g)
            note = (
                f"{len(rules)} rule(s) evaluated; none matched this model"
                + (f" (it has no {absent})" if absent else "")
                + "."
            )
        callouts.append(Callout(c["key"], c["title"], c["about"], found, rules, note))

    # Current controls -----------------------------------------------------------------
    present = hipaa.declarations(g, as_of)
    controls = []
    for cid in sorted(present):
        decls = present[cid]
        ctl = lib.controls.get(cid)
        controls.append(
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

    # Planned mitigations --------------------------------------------------------------
    by_id = {f.id: f for f in findings}
    plan = []
    for row in risks:
        if row.status not in ("open", "accepted"):
            continue
        f = by_id[row.id]
        pel = g.elements.get(f.element)
        owner = (pel.owner if pel is not None and pel.owner else None) or info.owner or ""
        if f.decision is not None and f.decision.owner:
            owner = f.decision.owner
        plan.append(
            PlanRow(
                finding=f.id,
                title=f.rule.title,
                level=row.level,
                element=row.element,
                missing=[
                    (c.control, _where_text(g, c.places, f)) for c in f.checklist if not c.present
                ],
                owner=owner,
                decision=row.decision,
            )
        )

    # Vendor register ------------------------------------------------------------------
    vendors = [_vendor_row(g, vid, received, findings, as_of) for vid in vendor_ids]
    vendors.sort(key=lambda v: (v.name, v.id))

    # Safeguards -----------------------------------------------------------------------
    assessed = hipaa.assess(lib, g, findings, as_of)
    safeguards = [
        (fam, title, assessed.get(fam, [])) for fam, title in hipaa.SAFEGUARDS if assessed.get(fam)
    ]

    summary = {
        "findings": len(findings),
        "open": sum(1 for f in findings if f.status == "open"),
        "mitigated": sum(1 for f in findings if f.status == "mitigated"),
        "accepted": sum(1 for f in findings if f.status == "accepted"),
        "false_positive": sum(1 for f in findings if f.status == "false_positive"),
        "open_by_level": {
            lv: sum(1 for r in risks if r.status == "open" and r.level == lv)
            for lv in ("critical", "high", "medium", "low")
        },
        "phi_findings": sum(1 for r in risks if r.phi and r.status == "open"),
        "phi_flows": len(flows),
        "phi_flows_unencrypted": sum(1 for x in flows if not x.encrypted),
        "phi_flows_leaving": sum(1 for x in flows if x.leaves),
        "phi_holders": len(holders),
        "vendors_with_phi": sum(1 for v in vendors if v.phi != "none"),
    }
    file = model.location.file if model.location is not None else str(result.loaded.path)
    return Sra(
        title=f"AI security risk analysis: {info.name}",
        model_name=info.name,
        model_id=info.id,
        model_version=info.version or "",
        owner=info.owner or "",
        description=info.description or "",
        model_file=display_path(file),
        as_of=as_of.isoformat(),
        next_review=days_after(as_of, 365),
        tool_version=__version__,
        library_version=lib.version,
        rules_active=len(lib.active),
        rules_disabled=sorted(lib.disabled.items()),
        boundaries=boundaries,
        elements=elements,
        data=data,
        phi_assets=assets,
        phi_holders=holders,
        phi_flows=flows,
        risks=risks,
        callouts=callouts,
        controls=controls,
        plan=plan,
        vendors=vendors,
        safeguards=safeguards,
        summary=summary,
        notices=sorted(str(n) for n in getattr(result, "notices", [])),
    )


def _absent_kinds(lib: Library, rule_ids: list[str], g: Graph) -> str:
    """Kinds that the given rules need and the model lacks, as text ('' when unknown)."""
    missing: set[str] = set()
    for rid in rule_ids:
        m = lib.rule(rid).rule.match
        pred = m.element or (m.path.to if m.path else None)
        if m.flow is not None:
            pred = m.flow.target if m.primary == "target" else m.flow.source
        kinds = kinds_of(pred)
        if kinds and not any(g.by_kind.get(k) for k in kinds):
            missing |= {k.value for k in kinds}
    return " or ".join(sorted(missing)) + (" element" if missing else "")


def _vendor_row(
    g: Graph,
    vid: str,
    received: dict[str, frozenset[Classification]],
    findings: list[Finding],
    day: date,
) -> VendorRow:
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
    coverage = [(g.describe(h), baa_covers(el, h, day)) for h in phi_hosted]

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
