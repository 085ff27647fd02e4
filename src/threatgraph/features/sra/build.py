"""Build the security risk analysis (HIPAA 164.308(a)(1)(ii)(A)) of one analysed model.

Each section is computed by its own module (scope, assets, register, threats_ai, continuity,
safeguards, vendors, doccontrol); this one puts them together. Everything comes from the
model, the graph and the findings of one run, plus the optional register file and previous
analysis; the renderers only lay it out. Lists are sorted so that the same input gives the
same document, and the only date in it is the run's date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from threatgraph.engine.findings import Finding
from threatgraph.engine.library import Library
from threatgraph.features.sra import (
    assets,
    continuity,
    doccontrol,
    register,
    safeguards,
    scope,
    threats_ai,
    vendors,
)
from threatgraph.features.sra.common import days_after, received_data
from threatgraph.features.sra.registerfile import Register
from threatgraph.formats.render import Renderer
from threatgraph.graph import Graph
from threatgraph.results import ModelResult
from threatgraph.util.paths import display_path
from threatgraph.version import __version__

NO_PHI_WARNING = (
    "The model classifies no data as PHI. This document is not a HIPAA risk analysis of "
    "ePHI: if the system creates, receives, keeps or sends health information, classify that "
    "data as phi in the model and run the analysis again."
)


@dataclass
class Options:
    """What a run of ``sra`` adds to the model: register file, previous analysis, edition of
    the Security Rule, a Graphviz renderer for the network map, and whether to ask git for
    the model's commit and history."""

    register: Register = field(default_factory=Register)
    previous: Path | None = None
    edition: safeguards.Edition = "2013"
    renderer: Renderer | None = None
    use_git: bool = True


@dataclass
class Summary:
    """The counts the summary shows."""

    findings: int
    open: int
    mitigated: int
    accepted: int
    false_positive: int
    open_by_level: dict[str, int]
    phi_findings: int
    phi_flows: int
    phi_flows_unencrypted: int
    phi_flows_leaving: int
    phi_holders: int
    vendors_with_phi: int
    gaps: int
    awaiting_signoff: int


@dataclass
class Sra:
    """The whole security risk analysis of one model."""

    title: str
    phi: bool
    warning: str
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
    edition: str
    scope: scope.Scope
    inventory: assets.Inventory
    network: assets.NetworkMap
    risks: list[register.RiskRow]
    callouts: list[threats_ai.Callout]
    continuity: continuity.Continuity
    safeguards: safeguards.Safeguards
    vendors: list[vendors.VendorRow]
    doc: doccontrol.DocControl
    summary: Summary
    notices: list[str]
    #: Notices about the register file and the previous analysis (also in ``notices``).
    input_notices: list[str] = field(default_factory=list)


def _summary(
    findings: list[Finding],
    risks: list[register.RiskRow],
    inv: assets.Inventory,
    vendor_rows: list[vendors.VendorRow],
    guards: safeguards.Safeguards,
) -> Summary:
    return Summary(
        findings=len(findings),
        open=sum(1 for f in findings if f.status == "open"),
        mitigated=sum(1 for f in findings if f.status == "mitigated"),
        accepted=sum(1 for f in findings if f.status == "accepted"),
        false_positive=sum(1 for f in findings if f.status == "false_positive"),
        open_by_level=register.spread(risks),
        phi_findings=sum(1 for r in risks if r.phi and r.status == "open"),
        phi_flows=len(inv.flows),
        phi_flows_unencrypted=sum(1 for x in inv.flows if not x.encrypted),
        phi_flows_leaving=sum(1 for x in inv.flows if x.leaves),
        phi_holders=len(inv.holders),
        vendors_with_phi=sum(1 for v in vendor_rows if v.phi != "none"),
        gaps=sum(1 for _f, _t, rows in guards.families for r in rows if r.status == "gap"),
        awaiting_signoff=sum(1 for r in risks if r.signoff == "awaiting sign-off"),
    )


def build(result: ModelResult, lib: Library, as_of: date, options: Options | None = None) -> Sra:
    """The SRA of one pipeline ModelResult (its loaded model, graph and findings)."""
    opts = options or Options()
    g: Graph = result.graph
    findings: list[Finding] = list(result.findings)
    notices_in = list(result.notices)
    model = g.model
    info = model.model
    received = received_data(g)
    file = model.location.file if model.location is not None else ""
    source = Path(file) if file else None

    reg = register.build(g, findings, received, opts.register, info.id)
    inv = assets.build_inventory(g, received)
    guards = safeguards.build(lib, g, findings, as_of, opts.edition, inv, opts.register)
    vendor_rows = vendors.build(g, received, findings, as_of)
    previous = (
        doccontrol.load_previous(opts.previous, info.id) if opts.previous is not None else None
    )
    doc = doccontrol.build(
        source,
        as_of,
        opts.register,
        previous,
        [(r.id, r.status, r.level) for r in reg.rows],
        opts.use_git,
    )
    phi = bool(inv.assets)
    inputs = list(reg.notices)
    if opts.previous is not None and previous is None:
        inputs.append(f"{opts.previous}: holds no earlier analysis of {info.id}")
    notices = sorted({str(n) for n in notices_in} | set(inputs))
    return Sra(
        title=(
            f"HIPAA security risk analysis: {info.name}"
            if phi
            else f"Security risk analysis (no PHI modelled, not a HIPAA risk analysis): {info.name}"
        ),
        phi=phi,
        warning="" if phi else NO_PHI_WARNING,
        model_name=info.name,
        model_id=info.id,
        model_version=info.version or "",
        owner=info.owner or "",
        description=info.description or "",
        model_file=display_path(file) if file else "",
        as_of=as_of.isoformat(),
        next_review=days_after(as_of, 365),
        tool_version=__version__,
        library_version=lib.version,
        rules_active=len(lib.active),
        rules_disabled=sorted(lib.disabled.items()),
        edition=opts.edition,
        scope=scope.build(g),
        inventory=inv,
        network=assets.network_map(
            g, findings, lib, as_of, display_path(file) if file else "", opts.renderer
        ),
        risks=reg.rows,
        callouts=threats_ai.build(lib, g, reg.by_category),
        continuity=continuity.build(g, inv),
        safeguards=guards,
        vendors=vendor_rows,
        doc=doc,
        summary=_summary(findings, reg.rows, inv, vendor_rows, guards),
        notices=notices,
        input_notices=inputs,
    )
