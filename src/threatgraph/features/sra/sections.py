"""What the risk analysis document holds, section by section, as blocks (see :mod:`.blocks`).

One function per section; Markdown and HTML are both written from the result.
"""

from __future__ import annotations

from threatgraph.features.sra import risk as risk_mod
from threatgraph.features.sra.blocks import (
    Bullets,
    Cell,
    Diagram,
    Document,
    Heading,
    Inline,
    Para,
    Table,
    Warning,
    c,
    codes,
    join,
    lv,
    t,
    words,
)
from threatgraph.features.sra.build import Sra
from threatgraph.features.sra.text import (
    EDITION_TEXT,
    LIMITATIONS,
    MATRIX_TEXT,
    METHOD,
    RETENTION_TEXT,
    STATUS_TEXT,
    yes_no,
)


def _st(text: str) -> Cell:
    return (Inline("status", text),)


def header(s: Sra, d: Document) -> None:
    """The identification table, the no-PHI warning, the summary and the run's notices."""
    if s.warning:
        d.add(Warning(s.warning))
    d.table(
        ["", ""],
        [
            [t("System"), join(t(f"{s.model_name} ("), c(s.model_id), t(")"))],
            [t("Version"), t(s.model_version or "not recorded")],
            [t("System owner"), t(s.owner or "not recorded")],
            [t("Threat model"), c(s.model_file)],
            [t("Model commit"), c(s.doc.commit)],
            [t("Analysis date"), t(s.as_of)],
            [t("Next review due"), t(f"{s.next_review}, or earlier on a material change")],
            [t("Keep until"), t(s.doc.retain_until)],
            [
                t("Produced with"),
                join(
                    t(f"threatgraph {s.tool_version}, threat library "),
                    c(s.library_version),
                    t(f" ({s.rules_active} rules active)"),
                ),
            ],
            [t("Security Rule edition"), t(EDITION_TEXT[s.edition])],
            [
                t("Requirement"),
                t(
                    "HIPAA Security Rule, 45 CFR 164.308(a)(1)(ii)(A) and (B): risk analysis "
                    "and risk management"
                ),
            ],
        ],
    )
    sm = s.summary
    lvl = sm.open_by_level
    d.add(
        Heading(2, "Summary"),
        Bullets(
            (
                t(
                    f"{sm.findings} threats apply to this system: {sm.open} open "
                    f"({lvl['critical']} critical, {lvl['high']} high, {lvl['medium']} medium, "
                    f"{lvl['low']} low risk), {sm.mitigated} mitigated, {sm.accepted} accepted, "
                    f"{sm.false_positive} false positive."
                ),
                t(f"Open findings that involve ePHI: {sm.phi_findings}."),
                t(
                    f"Components holding ePHI: {sm.phi_holders}; flows carrying it: "
                    f"{sm.phi_flows} (not encrypted: {sm.phi_flows_unencrypted}; leaving the "
                    f"organisation's trust: {sm.phi_flows_leaving})."
                ),
                t(f"Vendors that receive ePHI: {sm.vendors_with_phi}."),
                t(f"HIPAA sections with a gap (open critical or high finding): {sm.gaps}."),
                t(f"Accepted risks awaiting sign-off: {sm.awaiting_signoff}."),
            )
        ),
    )
    if s.notices:
        d.add(Para(t("Notices from this run:")), Bullets(tuple(t(n) for n in s.notices)))


def scope(s: Sra, d: Document) -> None:
    """Section 1."""
    d.add(Heading(2, "1. Scope and system description"))
    if s.description:
        d.add(Para(t(s.description)))
    d.add(Para(t(METHOD)))
    if s.rules_disabled:
        d.add(
            Para(t("Rules disabled for this analysis, with the reasons given:")),
            Bullets(tuple(join(c(rid), t(f": {why}")) for rid, why in s.rules_disabled)),
        )
    sc = s.scope
    d.add(Heading(3, "Trust boundaries"))
    d.table(
        ["Boundary", "Trust", "Inside"],
        ([t(n), t(tr), t(p or "-")] for n, tr, p in sc.boundaries),
        "No trust boundaries are modelled.",
    )
    d.add(Heading(3, "Components"))
    d.table(
        ["Component", "Kind", "Zone (trust)", "Hosted by", "Owner", "Declared at"],
        (
            [t(e.name), t(e.kind), t(e.zone), t(e.vendor or "-"), t(e.owner or "-"), c(e.location)]
            for e in sc.elements
        ),
        "The model has no components.",
    )
    d.add(Heading(3, "Data"))
    d.table(
        ["Data", "Classification", "Description"],
        ([t(n), t(cl), t(desc or "-")] for n, cl, desc in sc.data),
        "No data assets are modelled.",
    )


def inventory(s: Sra, d: Document) -> None:
    """Section 2: ePHI, the asset inventory and the network map."""
    inv = s.inventory
    d.add(Heading(2, "2. ePHI inventory, asset inventory and network map"))
    if not inv.assets:
        d.add(Para(t("The model classifies no data as PHI.")))
    else:
        d.add(Heading(3, "PHI data assets"))
        d.table(
            ["Data", "Records", "Stored in", "Processed by", "Trained into", "Flows"],
            (
                [
                    t(a.name),
                    t(a.records),
                    words(a.stored, "-"),
                    words(a.processed, "-"),
                    words(a.trained, "-"),
                    t(str(a.flows)),
                ]
                for a in inv.assets
            ),
        )
        d.add(Heading(3, "Where ePHI is stored, processed and transmitted"))
        d.table(
            ["Component", "Kind", "Zone (trust)", "Vendor", "How", "ePHI", "Encrypted at rest"],
            (
                [
                    t(h.name),
                    t(h.kind),
                    t(h.zone),
                    t(h.vendor or "-"),
                    t(", ".join(h.how)),
                    words(h.data, "-"),
                    (Inline("bad", h.at_rest),)
                    if h.at_rest == "not declared"
                    else t(h.at_rest or "-"),
                ]
                for h in inv.holders
            ),
        )
        d.add(Heading(3, "ePHI flows"))
        d.table(
            [
                "Flow",
                "From → to",
                "ePHI",
                "Protocol",
                "Encrypted",
                "Authenticated",
                "Crosses boundary",
                "Leaves organisation",
            ],
            (
                [
                    t(f.name) if f.name else c(f.id),
                    t(f"{f.source} → {f.target}"),
                    words(f.data),
                    t(f.protocol or "unspecified"),
                    t(yes_no(f.encrypted)) if f.encrypted else (Inline("bad", "no"),),
                    t(yes_no(f.authenticated)),
                    t(f"yes: {f.zones}" if f.crosses else "no"),
                    t(yes_no(f.leaves)),
                ]
                for f in inv.flows
            ),
            "No modelled flow carries PHI.",
        )
    asset_inventory(s, d)
    network_map(s, d)


def asset_inventory(s: Sra, d: Document) -> None:
    """Every component holding ePHI and the stores its controls or its host imply."""
    inv = s.inventory
    d.add(Heading(3, "Asset inventory"))
    d.add(
        Para(
            t(
                "Every component that holds ePHI, and the stores its declared controls or its "
                "host imply (prompt and tool-call logs, backups, a vendor's caches and logs)."
            )
        )
    )
    d.table(
        [
            "Asset",
            "Kind",
            "Owner",
            "Site",
            "ePHI",
            "Records",
            "Criticality",
            "Retention",
            "Implied by",
        ],
        (
            [
                t(a.name),
                t(a.kind),
                t(a.owner),
                t(a.site),
                words(a.ephi, "-"),
                t(a.records),
                t(a.criticality),
                t(a.retention),
                t(a.implied_by or "-"),
            ]
            for a in inv.inventory
        ),
        "No component holds ePHI.",
    )


def network_map(s: Sra, d: Document) -> None:
    """The data-flow diagram."""
    n = s.network
    d.add(
        Heading(3, "Network map"),
        Para(t("The data-flow diagram of the model: components, trust boundaries and flows.")),
        Diagram(n.svg, tuple(n.mermaid), n.dot, n.problem),
    )


def threats(s: Sra, d: Document) -> None:
    """Section 3: AI-specific threats, then the threats that are not about AI."""
    d.add(Heading(2, "3. Threats and vulnerabilities"), Heading(3, "AI-specific threats"))
    for co in s.callouts:
        tail = (
            join(t(" Findings: "), codes(co.findings), t(".")) if co.findings else t(" " + co.note)
        )
        d.add(Para(join((Inline("strong", co.title + "."),), t(" " + co.about), tail)))
    ct = s.continuity
    d.add(Heading(3, "Natural, environmental and human threats to ePHI"))
    d.table(
        ["Component", "Threat", "Harms", "Controls present", "Controls missing"],
        (
            [t(r.component), t(r.threat), t(r.harms), codes(r.present), codes(r.missing)]
            for r in ct.threats
        ),
        "No component holds ePHI.",
    )
    d.add(Heading(3, "Criticality, recovery and maintenance"))
    d.table(
        [
            "Component",
            "Site",
            "Criticality",
            "RTO",
            "RPO",
            "Patched within",
            "Scanned every",
            "Pen-tested every",
        ],
        (
            [
                t(r.component),
                t(r.site),
                t(r.criticality),
                t(r.rto),
                t(r.rpo),
                t(r.patching),
                t(r.scanning),
                t(r.pentest),
            ]
            for r in ct.components
        ),
        "No component holds ePHI.",
    )


def determination(s: Sra, d: Document) -> None:
    """Section 4: the method, the matrix, the register and the detail of open findings."""
    d.add(Heading(2, "4. Risk determination and register"))
    d.add(Para(t(" ".join((risk_mod.__doc__ or "").split()))))
    d.table(
        ["Likelihood \\ impact", "minor", "moderate", "major", "severe"],
        ([t(name), *(lv(x) for x in levels)] for name, levels in risk_mod.matrix_rows()),
    )
    d.add(
        Para(
            t(
                "Likelihood: low 1, medium 2, high 3. Impact: minor 1, moderate 2, major 3, "
                "severe 4. Risk = likelihood x impact: 9-12 critical, 6-8 high, 3-4 medium, "
                "1-2 low. Residual risk now: with the controls present (a mitigated finding one "
                "likelihood step lower). Residual risk planned: once the response is carried out "
                "(mitigate: one step lower when the plan adds every missing control; avoid: "
                "eliminated; accept and transfer: unchanged, since a contract does not lower the "
                "harm to patients)."
            )
        ),
    )
    register_table(s, d)
    details(s, d)


def register_table(s: Sra, d: Document) -> None:
    """The risk register: every finding with its rating and residual risks."""
    d.add(Heading(3, "Risk register"))
    d.table(
        [
            "Finding",
            "Threat",
            "Component",
            "Status",
            "Likelihood",
            "C",
            "I",
            "A",
            "Risk",
            "Residual now",
            "Residual planned",
            "HIPAA",
        ],
        (
            [
                c(r.id),
                t(r.title),
                t(r.element),
                t(STATUS_TEXT[r.status]),
                t(r.likelihood),
                t(r.confidentiality),
                t(r.integrity),
                t(r.availability),
                lv(r.level, r.score if r.level != "n/a" else None),
                lv(r.residual_present_level, r.residual_present_score),
                lv(r.residual_planned_level, r.residual_planned_score),
                t(", ".join(r.hipaa) or "-"),
            ]
            for r in s.risks
        ),
        "No threat in the library applies to this model.",
    )


def details(s: Sra, d: Document) -> None:
    """Each open or accepted finding with the reasons for its rating."""
    rows = [r for r in s.risks if r.status in ("open", "accepted")]
    if rows:
        d.add(Heading(3, "Open and accepted findings in detail"))
    for r in rows:
        items = [
            join(t(f"Where: {r.element} ("), c(r.location), t(")")),
            t(f"Why it applies: {r.explanation}"),
            t(f"Likelihood {r.likelihood}: {r.likelihood_reason}."),
            t(
                f"Impact {r.impact} (confidentiality {r.confidentiality}, integrity "
                f"{r.integrity}, availability {r.availability}): {r.impact_reason}."
            ),
            join(t("Risk: "), lv(r.level, r.score)),
            join(t("Controls present: "), codes(r.present)),
            join(t("Controls missing: "), codes(m for m, _ in r.missing)),
            join(t("References: "), codes(r.references)),
        ]
        if r.decision:
            items.append(t(f"Decision: {r.decision}"))
        d.add(Heading(4, f"{r.id}: {r.title}"), Bullets(tuple(items)))


def controls(s: Sra, d: Document) -> None:
    """Section 5."""
    d.add(Heading(2, "5. Current controls"))
    d.table(
        ["Control", "Title", "Category", "Declared on", "Evidence", "HIPAA"],
        (
            [
                c(x.id),
                t(x.title),
                t(x.category),
                t(", ".join(x.where) + (" (from model facts)" if x.derived else "")),
                codes(x.evidence, "none cited"),
                t(", ".join(x.hipaa) or "-"),
            ]
            for x in s.safeguards.controls
        ),
        "The model declares no controls.",
    )


def plan(s: Sra, d: Document) -> None:
    """Section 6: the risk management plan."""
    d.add(Heading(2, "6. Risk management plan"))
    rows = [r for r in s.risks if r.status != "false_positive"]
    d.table(
        [
            "Finding",
            "Risk",
            "Response",
            "Owner",
            "Due",
            "Ticket",
            "Progress",
            "Planned controls",
            "Residual planned",
            "Sign-off",
        ],
        (
            [
                c(r.id),
                lv(r.level, r.score),
                t(r.response),
                t(r.owner or "unassigned"),
                t(r.due or "not set"),
                c(r.ticket),
                t(r.progress),
                codes(r.planned, "-"),
                lv(r.residual_planned_level, r.residual_planned_score),
                (Inline("bad", r.signoff),)
                if r.signoff == "awaiting sign-off"
                else t(r.signoff or "-"),
            ]
            for r in rows
        ),
        "No findings: nothing to plan.",
    )
    where = [
        (r.id, m) for r in rows if r.progress != "done" for m in r.missing if m[0] in r.planned
    ]
    if where:
        d.add(Heading(3, "Where the planned controls go"))
        d.table(
            ["Finding", "Control", "Where"],
            ([c(fid), c(cid), t(place)] for fid, (cid, place) in where),
        )


def vendor_register(s: Sra, d: Document) -> None:
    """Section 7."""
    d.add(Heading(2, "7. Vendor and BAA register"))
    if not s.vendors:
        d.add(Para(t("The model names no vendors.")))
    for v in s.vendors:
        certs: list[Inline] = []
        for i, cr in enumerate(v.certifications):
            certs += [Inline("text", "; " if i else ""), Inline("text", cr.name)]
            certs.append(Inline("text", f" until {cr.expires}" if cr.expires else ""))
            status = (
                Inline("bad", cr.status)
                if cr.status.startswith("expired")
                else Inline("text", cr.status)
            )
            certs += [Inline("text", " ("), status, Inline("text", ")")]
            if cr.evidence:
                certs += [Inline("text", ", evidence "), Inline("code", cr.evidence)]
        cov: list[Inline] = []
        for i, (name, ok) in enumerate(v.baa_coverage):
            cov.append(Inline("text", ("; " if i else "") + f"{name}: "))
            cov.append(Inline("text", "covered") if ok else Inline("bad", "NOT covered"))
        d.add(Heading(3, f"{v.name} ({v.id})"))
        d.table(
            ["", ""],
            [
                [t("Services"), words(v.services)],
                [t("Hosts"), words(v.hosts)],
                [t("Sub-processor of"), words(v.subprocessor_of)],
                [t("Sub-processors"), words(v.subprocessors)],
                [t("ePHI exposure"), t(v.phi)],
                [t("BAA"), t(v.baa)],
                [t("BAA coverage of ePHI services"), tuple(cov) or t("-")],
                [t("Certifications"), tuple(certs) or t("none on record")],
                [t("Contract clauses"), words(v.clauses)],
                [t("Clauses not on record"), words(v.missing_clauses)],
                [t("Breach notification"), t(v.breach_window)],
                [t("Training on our data"), t(v.training)],
                [t("Security assessment"), t(v.assessment)],
                [t("Open findings"), codes(v.findings)],
            ],
        )


def matrix(s: Sra, d: Document) -> None:
    """Section 8, with the 2025 proposal's requirements under that edition."""
    g = s.safeguards
    d.add(Heading(2, "8. HIPAA safeguard matrix"), Para(t(MATRIX_TEXT)))
    if g.edition == "2025-proposed":
        d.add(
            Heading(3, "Requirements of the 2025 proposed rule"), Para(t(EDITION_TEXT[g.edition]))
        )
        d.table(
            ["Topic", "Requirement", "Status", "Detail"],
            ([t(p.topic), t(p.requirement), _st(p.status), t(p.detail)] for p in g.proposed),
        )
    for _fam, title, rows in g.families:
        d.add(Heading(3, title))
        d.table(
            [
                "Section",
                "Standard or specification",
                "Type",
                "Status",
                "Controls in the model",
                "Open findings",
            ],
            (
                [
                    t(r.section),
                    (Inline("strong", r.name),) if r.standard else t(r.name),
                    t(r.kind),
                    _st(r.status),
                    codes(r.controls, "-"),
                    codes(r.open_findings, "-"),
                ]
                for r in rows
            ),
        )


def document_control(s: Sra, d: Document) -> None:
    """Section 9."""
    dc = s.doc
    d.add(Heading(2, "9. Document control"))
    for note in dc.notes:
        d.add(Para((Inline("bad", note),)))
    d.add(Para(t(RETENTION_TEXT.format(until=dc.retain_until))))
    d.add(Heading(3, "Version history of the model"))
    d.table(
        ["Commit", "Date", "Change"],
        ([c(h), t(day), t(subject)] for h, day, subject in dc.history),
        "No version history: the model's commit was not looked up, or the file is not in git.",
    )
    d.add(Heading(3, "Changes since the previous analysis"))
    if not dc.previous:
        d.add(
            Para(
                t(
                    "No previous analysis was given (--previous FILE, the JSON export of an "
                    "earlier run)."
                )
            )
        )
    else:
        d.add(Para(t(f"Compared with {dc.previous}.")))
        d.table(
            ["Finding", "Change", "Before", "Now"],
            ([c(ch.finding), t(ch.change), t(ch.before), t(ch.after)] for ch in dc.changes),
            "Nothing changed.",
        )
    d.add(Heading(3, "Review log"))
    d.table(
        ["Date", "Reviewed by", "Role", "Note"],
        ([t(day), t(by), t(role or "-"), t(note or "-")] for day, by, role, note in dc.reviews),
        "No reviews recorded (add them to the register file's reviews).",
    )


def closing(s: Sra, d: Document) -> None:
    """Sections 10 and 11: limitations and the sign-off block."""
    d.add(
        Heading(2, "10. Limitations"), Para(t(LIMITATIONS)), Heading(2, "11. Review and approval")
    )
    blank = t("")
    d.add(
        Table(
            ("Role", "Name", "Signature", "Date"),
            tuple(
                (t(role), blank, blank, blank)
                for role in ("Prepared by", "Security official", "Privacy official")
            ),
            css="sign",
        )
    )


SECTIONS = (
    header,
    scope,
    inventory,
    threats,
    determination,
    controls,
    plan,
    vendor_register,
    matrix,
    document_control,
    closing,
)


def document(s: Sra) -> Document:
    """The whole document as blocks."""
    d = Document(s.title)
    for section in SECTIONS:
        section(s, d)
    return d


def excerpt(s: Sra) -> Document:
    """The identification, summary, risk register and plan: the example docs/hipaa.md shows."""
    d = Document(s.title)
    for section in (header, register_table, plan):
        section(s, d)
    return d
