"""The security risk analysis as Markdown. Every model-supplied string is escaped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from threatgraph.features.sra import risk as risk_mod
from threatgraph.features.sra.build import Sra
from threatgraph.features.sra.text import (
    LIMITATIONS,
    METHOD,
    SAFEGUARD_STATUS,
    STATUS_TEXT,
    yes_no,
)
from threatgraph.formats.markdown import code, escape


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return [*out, ""]


def _list(items: Iterable[str], empty: str = "none") -> str:
    got = [escape(i) for i in items]
    return ", ".join(got) if got else empty


def _codes(items: Iterable[str], empty: str = "none") -> str:
    got = [code(i) for i in items]
    return ", ".join(got) if got else empty


def render(s: Sra) -> str:
    """The whole document."""
    o: list[str] = [f"# {escape(s.title)}", ""]
    o += _table(
        ["", ""],
        [
            ["System", f"{escape(s.model_name)} ({code(s.model_id)})"],
            ["Version", escape(s.model_version) or "not recorded"],
            ["System owner", escape(s.owner) or "not recorded"],
            ["Threat model", code(s.model_file)],
            ["Analysis date", s.as_of],
            ["Next review due", f"{s.next_review}, or earlier on a material change"],
            [
                "Produced with",
                f"threatgraph {escape(s.tool_version)}, threat library {code(s.library_version)} "
                f"({s.rules_active} rules active)",
            ],
            ["Requirement", "HIPAA Security Rule, 45 CFR 164.308(a)(1)(ii)(A): risk analysis"],
        ],
    )
    sm = s.summary
    lv = sm["open_by_level"]
    o += [
        "## Summary",
        "",
        f"- {sm['findings']} threats apply to this system: {sm['open']} open "
        f"({lv['critical']} critical, {lv['high']} high, {lv['medium']} medium, {lv['low']} low "
        f"risk), {sm['mitigated']} mitigated, {sm['accepted']} accepted, "
        f"{sm['false_positive']} false positive.",
        f"- Open findings that involve ePHI: {sm['phi_findings']}.",
        f"- Components holding ePHI: {sm['phi_holders']}; flows carrying it: "
        f"{sm['phi_flows']} (not encrypted: {sm['phi_flows_unencrypted']}; leaving the "
        f"organisation's trust: {sm['phi_flows_leaving']}).",
        f"- Vendors that receive ePHI: {sm['vendors_with_phi']}.",
        "",
    ]
    if s.notices:
        o += ["Notices from this run:", ""] + [f"- {escape(n)}" for n in s.notices] + [""]

    # 1. Scope ---------------------------------------------------------------------------
    o += ["## 1. Scope and system description", ""]
    if s.description:
        o += [escape(s.description), ""]
    o += [escape(METHOD), ""]
    if s.rules_disabled:
        o += ["Rules disabled for this analysis, with the reasons given:", ""]
        o += [f"- {code(rid)}: {escape(reason)}" for rid, reason in s.rules_disabled] + [""]
    o += ["### Trust boundaries", ""]
    o += (
        _table(
            ["Boundary", "Trust", "Inside"],
            ([escape(n), t, escape(p) or "-"] for n, t, p in s.boundaries),
        )
        if s.boundaries
        else ["No trust boundaries are modelled.", ""]
    )
    o += ["### Components", ""]
    o += _table(
        ["Component", "Kind", "Zone (trust)", "Hosted by", "Owner", "Declared at"],
        (
            [
                escape(e.name),
                e.kind,
                escape(e.zone),
                escape(e.vendor) or "-",
                escape(e.owner) or "-",
                code(e.location) if e.location else "-",
            ]
            for e in s.elements
        ),
    )
    o += ["### Data", ""]
    o += (
        _table(
            ["Data", "Classification", "Description"],
            ([escape(n), c, escape(d) or "-"] for n, c, d in s.data),
        )
        if s.data
        else ["No data assets are modelled.", ""]
    )

    # 2. ePHI inventory ------------------------------------------------------------------
    o += ["## 2. ePHI inventory", ""]
    if not s.phi_assets:
        o += ["The model classifies no data as PHI.", ""]
    else:
        o += ["### PHI data assets", ""]
        o += _table(
            ["Data", "Stored in", "Processed by", "Trained into", "Flows"],
            (
                [
                    escape(a.name),
                    _list(a.stored, "-"),
                    _list(a.processed, "-"),
                    _list(a.trained, "-"),
                    str(a.flows),
                ]
                for a in s.phi_assets
            ),
        )
        o += ["### Where ePHI is stored, processed and transmitted", ""]
        o += _table(
            ["Component", "Kind", "Zone (trust)", "Vendor", "How", "ePHI", "Encrypted at rest"],
            (
                [
                    escape(h.name),
                    h.kind,
                    escape(h.zone),
                    escape(h.vendor) or "-",
                    ", ".join(h.how),
                    _list(h.data, "-"),
                    h.at_rest or "-",
                ]
                for h in s.phi_holders
            ),
        )
        o += ["### ePHI flows", ""]
        o += (
            _table(
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
                        escape(f.name) or code(f.id),
                        f"{escape(f.source)} → {escape(f.target)}",
                        _list(f.data),
                        escape(f.protocol) or "unspecified",
                        yes_no(f.encrypted),
                        yes_no(f.authenticated),
                        f"yes: {escape(f.zones)}" if f.crosses else "no",
                        yes_no(f.leaves),
                    ]
                    for f in s.phi_flows
                ),
            )
            if s.phi_flows
            else ["No modelled flow carries PHI.", ""]
        )

    # 3. Threats and vulnerabilities -----------------------------------------------------
    o += ["## 3. Threats and vulnerabilities", "", "### AI-specific threats", ""]
    for c in s.callouts:
        o += [f"**{escape(c.title)}.** {escape(c.about)}", ""]
        if c.findings:
            o += [f"Findings: {_codes(c.findings)}.", ""]
        else:
            o += [escape(c.note), ""]
    o += ["### Risk register", ""]
    o += (
        _table(
            [
                "Finding",
                "Threat",
                "Component",
                "Status",
                "Likelihood",
                "Impact",
                "Risk",
                "Residual",
                "HIPAA",
            ],
            (
                [
                    code(r.id),
                    escape(r.title),
                    escape(r.element),
                    STATUS_TEXT[r.status],
                    r.likelihood,
                    r.impact + (" (ePHI)" if r.phi else ""),
                    f"{r.level} ({r.score})" if r.level != "n/a" else "n/a",
                    f"{r.residual_level} ({r.residual_score})" if r.residual_score else "-",
                    ", ".join(r.hipaa) or "-",
                ]
                for r in s.risks
            ),
        )
        if s.risks
        else ["No threat in the library applies to this model.", ""]
    )
    details = [r for r in s.risks if r.status in ("open", "accepted")]
    if details:
        o += ["### Open and accepted findings in detail", ""]
        for r in details:
            o += [
                f"#### {code(r.id)}: {escape(r.title)}",
                "",
                f"- Where: {escape(r.element)} ({code(r.location)})",
                f"- Why it applies: {escape(r.explanation)}",
                f"- Risk: likelihood {r.likelihood} x impact {r.impact} = {r.level} ({r.score})",
                f"- Controls present: {_codes(r.present)}",
                f"- Controls missing: {_codes(r.missing)}",
                f"- References: {_codes(r.references)}",
            ]
            if r.decision:
                o.append(f"- Decision: {escape(r.decision)}")
            o.append("")

    # 4. Risk determination --------------------------------------------------------------
    o += ["## 4. Risk determination", "", escape(risk_mod.__doc__ or "").strip(), ""]
    o += _table(
        [
            "Likelihood \\ impact",
            *(risk_mod.IMPACT_NAMES[i] for i in sorted(risk_mod.IMPACT_NAMES)),
        ],
        ([name, *levels] for name, levels in risk_mod.matrix_rows()),
    )
    o += [
        "Likelihood: low 1, medium 2, high 3. Impact: the larger of the severity's (info and "
        "low 1 minor, medium 2 moderate, high 3 major, critical 4 severe) and the data's (ePHI "
        "3 major, other sensitive data 2 moderate). Risk = likelihood x impact: 9-12 critical, "
        "6-8 high, 3-4 medium, 1-2 low.",
        "",
    ]

    # 5. Current controls ----------------------------------------------------------------
    o += ["## 5. Current controls", ""]
    o += (
        _table(
            ["Control", "Title", "Category", "Declared on", "Evidence", "HIPAA"],
            (
                [
                    code(c.id),
                    escape(c.title),
                    c.category,
                    _list(c.where) + (" (from vendor facts)" if c.derived else ""),
                    _codes(c.evidence, "none cited"),
                    ", ".join(c.hipaa) or "-",
                ]
                for c in s.controls
            ),
        )
        if s.controls
        else ["The model declares no controls.", ""]
    )

    # 6. Planned mitigations -------------------------------------------------------------
    o += ["## 6. Planned mitigations (risk management plan)", ""]
    if s.plan:
        rows = []
        for p in s.plan:
            todo = "; ".join(f"{code(cid)} on {escape(where)}" for cid, where in p.missing)
            rows.append(
                [
                    code(p.finding),
                    p.level,
                    escape(p.element),
                    todo or "-",
                    escape(p.owner) or "unassigned",
                    escape(p.decision) or "-",
                ]
            )
        o += _table(["Finding", "Risk", "Component", "Add", "Owner", "Decision"], rows)
    else:
        o += ["No open or accepted findings: nothing to plan.", ""]

    # 7. Vendors -------------------------------------------------------------------------
    o += ["## 7. Vendor and BAA register", ""]
    if not s.vendors:
        o += ["The model names no vendors.", ""]
    for v in s.vendors:
        certs = "; ".join(
            f"{escape(c.name)} {('until ' + c.expires) if c.expires else ''} ({escape(c.status)})"
            + (f", evidence {code(c.evidence)}" if c.evidence else "")
            for c in v.certifications
        )
        cov = "; ".join(
            f"{escape(n)}: {'covered' if ok else 'NOT covered'}" for n, ok in v.baa_coverage
        )
        o += [f"### {escape(v.name)} ({code(v.id)})", ""]
        o += _table(
            ["", ""],
            [
                ["Services", _list(v.services)],
                ["Hosts", _list(v.hosts)],
                ["Sub-processor of", _list(v.subprocessor_of)],
                ["Sub-processors", _list(v.subprocessors)],
                ["ePHI exposure", escape(v.phi)],
                ["BAA", escape(v.baa)],
                ["BAA coverage of ePHI services", cov or "-"],
                ["Certifications", certs or "none on record"],
                ["Contract clauses", _list(v.clauses)],
                ["Clauses not on record", _list(v.missing_clauses)],
                ["Breach notification", escape(v.breach_window)],
                ["Training on our data", escape(v.training)],
                ["Security assessment", escape(v.assessment)],
                ["Open findings", _codes(v.findings)],
            ],
        )

    # 8. Safeguard matrix ----------------------------------------------------------------
    o += ["## 8. HIPAA safeguard matrix", ""]
    o += [
        "Status: **evidenced**, a control that bears on the standard is declared and cites "
        "evidence; **declared**, declared without evidence; **none**, nothing in the model "
        "addresses it (which may be right for a standard met outside this system, such as "
        "facility access at a cloud provider; say so in the sign-off).",
        "",
    ]
    for _fam, title, statuses in s.safeguards:
        o += [f"### {escape(title)}", ""]
        o += _table(
            ["Section", "Standard", "Type", "Status", "Controls in the model", "Open findings"],
            (
                [
                    r.section.id,
                    escape(r.section.name),
                    r.section.kind,
                    SAFEGUARD_STATUS[r.status],
                    _codes(sorted({d.control for d in r.declared}), "-"),
                    _codes(r.open_findings, "-"),
                ]
                for r in statuses
            ),
        )

    # 9. Limits and sign-off -------------------------------------------------------------
    o += ["## 9. Limitations", "", escape(LIMITATIONS), ""]
    o += ["## 10. Review and approval", ""]
    o += _table(
        ["Role", "Name", "Signature", "Date"],
        [
            ["Prepared by", "", "", ""],
            ["Security official", "", "", ""],
            ["Privacy official", "", "", ""],
        ],
    )
    return "\n".join(o).rstrip("\n") + "\n"
