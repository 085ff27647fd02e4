"""The HIPAA mapping: safeguard matrix, controls and rules per standard, and per-model status.

The HIPAA sections come from the library's reference index (``threats/references.yaml``,
scheme ``hipaa``): each entry has a name, a safeguard family and, for implementation
specifications, a parent standard and whether it is required or addressable. A control
bears on a section when the controls catalogue cites it (``hipaa:<section>@2013``); a rule
bears on it when the rule cites it. A citation of an implementation specification also
bears on the standard above it, so a standard's row collects what its specifications cite.

For one analysed model, :func:`assess` tells for every standard whether an open critical or
high finding of a rule citing it leaves a gap, or else whether the model declares a control
that bears on it with evidence, without evidence, or not at all (see :func:`section_status`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from threatgraph.engine.findings import Finding
from threatgraph.engine.library import Library
from threatgraph.engine.rules import ElementPred, Rule
from threatgraph.graph import Graph
from threatgraph.model.validate import DERIVED_NOTE
from threatgraph.model.vendors import SECURITY_ATTESTATIONS, baa_in_force, effective_controls
from threatgraph.util.jsonvalue import JSONValue

SCHEME = "hipaa"

#: Safeguard families in the order reports show them, with their heading.
SAFEGUARDS: tuple[tuple[str, str], ...] = (
    ("administrative", "Administrative safeguards (45 CFR 164.308)"),
    ("physical", "Physical safeguards (45 CFR 164.310)"),
    ("technical", "Technical safeguards (45 CFR 164.312)"),
    ("organizational", "Organizational requirements (45 CFR 164.314)"),
    ("documentation", "Policies, procedures and documentation (45 CFR 164.316)"),
    ("privacy", "Privacy Rule: uses and disclosures (45 CFR 164.502-164.514)"),
    ("breach", "Breach Notification Rule (45 CFR 164.402-164.410)"),
)
#: Security Rule families: their bare section numbers (164.308...) are headings, not rows.
_SECURITY_RULE = frozenset(
    {"administrative", "physical", "technical", "organizational", "documentation"}
)

Status = Literal["gap", "evidenced", "declared", "none"]
#: Open findings at these severities make the section a gap, whatever the model declares.
GAP_SEVERITIES = frozenset({"critical", "high"})
#: Controls that state encryption in transit on a flow.
TRANSIT_CONTROLS = frozenset({"crypto.tls", "crypto.mtls"})

_TOKEN = re.compile(r"\d+|[A-Za-z]+")


def section_key(section: str) -> tuple[tuple[int, int | str], ...]:
    """Natural sort key: 164.308(a)(1)(ii)(A) sorts after 164.308(a)(1) and before (a)(3)."""
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in _TOKEN.findall(section))


def _ref_section(ref: str) -> str | None:
    """The HIPAA section of a reference 'hipaa:164.312(b)@2013', else None."""
    scheme, _, rest = ref.partition(":")
    if scheme != SCHEME:
        return None
    return rest.rpartition("@")[0] or None


@dataclass(frozen=True)
class Section:
    """One HIPAA section from the reference index, with what bears on it."""

    id: str
    name: str
    safeguard: str
    parent: str | None
    required: bool | None  # True required, False addressable, None: a standard or heading
    url: str | None
    heading: bool  # a Security Rule section heading (e.g. '164.308'), not a standard or spec
    controls: tuple[str, ...] = ()  # catalogue controls citing it or one of its descendants
    rules: tuple[str, ...] = ()  # library rules citing it or one of its descendants

    @property
    def kind(self) -> str:
        """'required' or 'addressable' for implementation specifications, else 'standard'."""
        if self.required is None:
            return "standard"
        return "required" if self.required else "addressable"


def sections(lib: Library) -> list[Section]:
    """Every HIPAA section of the reference index, in natural order, with its controls and rules.

    Controls and rules that cite a section also count for each of its ancestors.
    """
    entries: Mapping[str, Any] = (lib.references.get("entries") or {}).get(SCHEME) or {}
    parents = {
        sid: (e.get("parent") if isinstance(e, dict) else None) for sid, e in entries.items()
    }

    def lineage(sid: str) -> list[str]:
        out: list[str] = []
        cur: str | None = sid
        while cur is not None and cur in entries and cur not in out:
            out.append(cur)
            cur = parents.get(cur)
        return out

    controls: dict[str, set[str]] = {sid: set() for sid in entries}
    rules: dict[str, set[str]] = {sid: set() for sid in entries}
    for cid, ctl in lib.controls.items():
        for ref in ctl.references:
            sec = _ref_section(ref)
            for s in lineage(sec) if sec else ():
                controls[s].add(cid)
    for lr in lib.active:
        for ref in lr.rule.references:
            sec = _ref_section(ref)
            for s in lineage(sec) if sec else ():
                rules[s].add(lr.rule.id)
    out = []
    for sid, e in entries.items():
        if not isinstance(e, dict):
            continue
        parent = e.get("parent")
        out.append(
            Section(
                id=str(sid),
                name=str(e.get("name", "")),
                safeguard=str(e.get("safeguard", "")),
                parent=str(parent) if parent else None,
                required=e.get("required") if isinstance(e.get("required"), bool) else None,
                url=str(e["url"]) if e.get("url") else None,
                heading=parent is None and e.get("safeguard") in _SECURITY_RULE,
                controls=tuple(sorted(controls[sid])),
                rules=tuple(sorted(rules[sid])),
            )
        )
    out.sort(key=lambda s: section_key(s.id))
    return out


def matrix(lib: Library) -> dict[str, list[Section]]:
    """The safeguard matrix: family -> its standards and specifications (headings left out)."""
    out: dict[str, list[Section]] = {fam: [] for fam, _ in SAFEGUARDS}
    for s in sections(lib):
        if not s.heading:
            out.setdefault(s.safeguard, []).append(s)
    return out


# -- what a model declares ---------------------------------------------------------------------
@dataclass(frozen=True)
class Declaration:
    """A control present in a model: where, with what evidence, and whether facts derived it."""

    control: str
    where: str  # element id, flow id, or 'model'
    where_name: str
    evidence: tuple[str, ...]
    derived: bool  # from vendor facts (BAA, clauses, certifications, assessment date)


def _fact_evidence(graph: Graph, eid: str, cid: str, day: date) -> tuple[str, ...]:
    """Evidence recorded in vendor facts for a control they derive."""
    prof = graph.elements[eid].vendor
    if prof is None:
        return ()
    if cid == "vendor.baa" and prof.baa is not None and baa_in_force(prof, day):
        return (prof.baa.evidence,) if prof.baa.evidence else ()
    if cid == "vendor.security_certification":
        return tuple(
            sorted(
                c.evidence
                for c in prof.certifications
                if c.evidence
                and c.name in SECURITY_ATTESTATIONS
                and (c.expires is None or c.expires >= day)
            )
        )
    return ()


def declarations(graph: Graph, day: date) -> dict[str, list[Declaration]]:
    """Every control present in the model as of ``day``, by control id, in a stable order.

    Element controls are taken as the engine sees them on that day (vendor facts re-checked:
    an expired BAA does not count); flow and model controls as declared.
    """
    out: dict[str, list[Declaration]] = {}

    def add(d: Declaration) -> None:
        out.setdefault(d.control, []).append(d)

    model = graph.model
    for c in model.model.controls:
        add(Declaration(c.id, "model", model.model.name, tuple(c.evidence), False))
    for eid in sorted(graph.elements):
        el = graph.elements[eid]
        declared = {c.id: c for c in el.controls}
        for cid in sorted(effective_controls(el, day)):
            ref = declared.get(cid)
            derived = ref is None or ref.note == DERIVED_NOTE
            evidence = tuple(ref.evidence) if ref is not None else ()
            if derived:
                evidence = evidence + _fact_evidence(graph, eid, cid, day)
            add(Declaration(cid, eid, el.name, evidence, derived))
    for fid in sorted(graph.flows):
        facts = graph.flows[fid]
        fl = facts.flow
        for c in fl.controls:
            add(Declaration(c.id, fid, fl.name or fid, tuple(c.evidence), False))
        # An encrypted protocol (https, mtls, ...) is encryption in transit even when no
        # crypto control is declared on the flow: the model states it through the protocol.
        if facts.encrypted and not facts.controls & TRANSIT_CONTROLS:
            name = f"{fl.name or fid} ({fl.protocol or 'encrypted'})"
            add(Declaration("crypto.tls", fid, name, (), True))
    return out


@dataclass
class SectionStatus:
    """How one model stands against one HIPAA standard or specification."""

    section: Section
    status: Status
    declared: list[Declaration] = field(default_factory=list)
    open_findings: list[str] = field(default_factory=list)
    closed_findings: list[str] = field(default_factory=list)  # mitigated, accepted, false positive


def section_status(decls: Sequence[Declaration], open_findings: Sequence[Finding]) -> Status:
    """How a section stands: a **gap** while an open critical or high finding cites it,
    whatever is declared; **evidenced** only when a control bearing on it cites evidence and
    no finding citing it is open; **declared** when a control bears on it; else **none**."""
    if any(f.severity in GAP_SEVERITIES for f in open_findings):
        return "gap"
    if any(d.evidence for d in decls) and not open_findings:
        return "evidenced"
    return "declared" if decls else "none"


def assess(
    lib: Library, graph: Graph, findings: Sequence[Finding], day: date
) -> dict[str, list[SectionStatus]]:
    """The safeguard matrix for one model: per family, each standard's status and findings."""
    present = declarations(graph, day)
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule.id, []).append(f)
    out: dict[str, list[SectionStatus]] = {}
    for fam, rows in matrix(lib).items():
        for s in rows:
            decls = [d for cid in s.controls for d in present.get(cid, [])]
            fs = [f for rid in s.rules for f in by_rule.get(rid, [])]
            status = section_status(decls, [f for f in fs if f.status == "open"])
            out.setdefault(fam, []).append(
                SectionStatus(
                    section=s,
                    status=status,
                    declared=decls,
                    open_findings=sorted(f.id for f in fs if f.status == "open"),
                    closed_findings=sorted(f.id for f in fs if f.status != "open"),
                )
            )
    return out


# -- which rules must cite HIPAA ------------------------------------------------------------
def _mentions_phi(node: JSONValue, named: Mapping[str, ElementPred], seen: set[str]) -> bool:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "not":
                continue  # a rule that leaves PHI out (to another rule) is not about PHI
            if key == "classification" and isinstance(value, list) and "phi" in value:
                return True
            if key == "use" and isinstance(value, str) and value not in seen:
                seen.add(value)
                pred = named.get(value)
                if pred is not None and _mentions_phi(
                    pred.model_dump(mode="json", by_alias=True, exclude_none=True), named, seen
                ):
                    return True
            if _mentions_phi(value, named, seen):
                return True
    elif isinstance(node, list):
        return any(_mentions_phi(v, named, seen) for v in node)
    return False


def touches_phi(rule: Rule, named: Mapping[str, ElementPred] | None = None) -> bool:
    """Whether a rule is about PHI: its match or severity_when names classification phi
    (directly or through a named predicate) other than to exclude it (under ``not``), or its
    family is vendor or hipaa."""
    if rule.family in ("vendor", "hipaa"):
        return True
    doc: dict[str, JSONValue] = {
        "match": rule.match.model_dump(mode="json", by_alias=True, exclude_none=True),
        "severity_when": [
            s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in rule.severity_when
        ],
    }
    return _mentions_phi(doc, named or {}, set())


def cites_hipaa(rule: Rule) -> bool:
    """Whether the rule cites at least one HIPAA section."""
    return any(_ref_section(r) for r in rule.references)


def phi_rules_without_hipaa(lib: Library) -> list[str]:
    """Ids of active rules that are about PHI but cite no HIPAA section."""
    return sorted(
        lr.rule.id
        for lr in lib.active
        if touches_phi(lr.rule, lib.predicates) and not cites_hipaa(lr.rule)
    )


def sections_cited(refs: Iterable[str]) -> list[str]:
    """The HIPAA sections among references, in natural order."""
    return sorted({s for r in refs if (s := _ref_section(r))}, key=section_key)
