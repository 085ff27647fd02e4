"""Export a threatgraph model and its findings as an Open Threat Model (OTM 0.2.0) document.

Boundaries become trust zones (trustRating from the trust level), elements become components
whose ``type`` is the threatgraph kind, flows become dataflows, data become assets. Findings
become OTM threats: one top-level threat per rule, and on each component or dataflow a threat
instance whose state is the finding's status and whose mitigations are its checklist
(``implemented`` when the control is present, ``required`` when missing). Facts OTM has no
field for are kept under ``attributes.x-threatgraph`` so that importing the file again gives
back the same model. Output is deterministic: model order, then ids.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from threatgraph.engine.findings import Finding
from threatgraph.interop import otm_map
from threatgraph.model.schema import Element, SystemModel, Trust

#: Element fields written as OTM fields; everything else goes to attributes.x-threatgraph.
_OTM_ELEMENT_FIELDS = {
    "id",
    "name",
    "kind",
    "boundary",
    "description",
    "stores",
    "processes",
    "tags",
    "location",
}


def _outside_trust(el: Element) -> Trust:
    """The trust the graph gives an element outside every boundary (graph.DEFAULT_TRUST)."""
    from threatgraph.graph import DEFAULT_TRUST

    return el.trust or DEFAULT_TRUST.get(el.kind, Trust.INTERNAL)


def _controls(items: list[Any]) -> list[Any]:
    return [c["id"] if isinstance(c, dict) and set(c) == {"id"} else c for c in items]


def _attrs(facts: dict[str, Any]) -> dict[str, Any] | None:
    facts = {k: v for k, v in facts.items() if v not in (None, [], {}, "")}
    if "controls" in facts:
        facts["controls"] = _controls(facts["controls"])
    return {otm_map.ATTR: facts} if facts else None


def _location_repr(loc: Any, ref_id: str, base: Path | None) -> list[dict[str, Any]]:
    if loc is None:
        return []
    from threatgraph.formats.common import display_path

    item: dict[str, Any] = {
        "representation": "threatgraph-source",
        "id": ref_id,
        "file": display_path(loc.file, base),
    }
    if loc.line:
        item["line"] = loc.line
    return [item]


def _instances(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    out = []
    for f in sorted(findings, key=lambda f: (f.rule.id, f.id)):
        out.append(
            {
                "threat": f.rule.id,
                "state": otm_map.THREAT_STATE.get(f.status, f.status),
                "mitigations": [
                    {
                        "mitigation": c.control,
                        "state": otm_map.MITIGATION_IMPLEMENTED
                        if c.present
                        else otm_map.MITIGATION_REQUIRED,
                    }
                    for c in f.checklist
                ],
            }
        )
    return out


def document(
    model: SystemModel,
    findings: Sequence[Finding] = (),
    controls: dict[str, Any] | None = None,
    base: Path | None = None,
) -> dict[str, Any]:
    """The OTM document for one model; ``controls`` is the catalogue (for mitigation names)."""
    controls = controls or {}
    info = model.model
    project: dict[str, Any] = {"name": info.name, "id": info.id}
    if info.description:
        project["description"] = info.description
    if info.owner:
        project["owner"] = info.owner
    proj_facts: dict[str, Any] = {}
    if info.version:
        proj_facts["version"] = info.version
    if info.controls:
        proj_facts["controls"] = [
            c.model_dump(mode="json", exclude_defaults=True) for c in info.controls
        ]
    if model.decisions:
        proj_facts["decisions"] = [
            d.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
            for d in model.decisions
        ]
    attrs = _attrs(proj_facts)
    if attrs:
        project["attributes"] = attrs

    doc: dict[str, Any] = {"otmVersion": otm_map.EXPORT_VERSION, "project": project}
    has_locations = any(el.location for el in model.elements)
    if has_locations:
        doc["representations"] = [
            {"name": "threatgraph model source", "id": "threatgraph-source", "type": "code"}
        ]

    # Trust zones, plus stand-ins for elements outside every boundary (OTM requires a parent).
    zones: list[dict[str, Any]] = []
    for b in model.boundaries:
        z: dict[str, Any] = {
            "id": b.id,
            "name": b.name,
            "type": b.trust.value,
            "risk": {"trustRating": otm_map.TRUST_RATING[b.trust]},
        }
        if b.description:
            z["description"] = b.description
        if b.parent:
            z["parent"] = {"trustZone": b.parent}
        z["attributes"] = {otm_map.ATTR: {"trust": b.trust.value}}
        zones.append(z)
    taken = {b.id for b in model.boundaries}
    outside: dict[Trust, str] = {}
    for el in model.elements:
        if el.boundary is None:
            t = _outside_trust(el)
            if t not in outside:
                zid, n = f"outside-{t.value.replace('_', '-')}", 2
                while zid in taken:
                    zid, n = f"outside-{t.value.replace('_', '-')}-{n}", n + 1
                taken.add(zid)
                outside[t] = zid
    for t in sorted(outside, key=lambda t: t.rank):
        zones.append(
            {
                "id": outside[t],
                "name": f"Outside any boundary ({t.value.replace('_', ' ')})",
                "type": t.value,
                "risk": {"trustRating": otm_map.TRUST_RATING[t]},
                "attributes": {otm_map.ATTR: {"synthetic": True, "trust": t.value}},
            }
        )

    doc["assets"] = [
        {
            "name": d.name,
            "id": d.id,
            **({"description": d.description} if d.description else {}),
            "risk": {
                "confidentiality": otm_map.CONFIDENTIALITY[d.classification],
                "integrity": 50,
                "availability": 50,
                "comment": f"threatgraph classification: {d.classification.value}; "
                "integrity and availability are not modelled",
            },
            "attributes": {otm_map.ATTR: {"classification": d.classification.value}},
        }
        for d in model.data
    ]

    on_element: dict[str, list[Finding]] = {}
    on_flow: dict[str, list[Finding]] = {}
    for f in findings:
        if f.flow is not None:
            on_flow.setdefault(f.flow, []).append(f)
        else:
            on_element.setdefault(f.element, []).append(f)

    components = []
    for el in model.elements:
        c: dict[str, Any] = {
            "id": el.id,
            "name": el.name,
            "type": el.kind.value,
            "parent": {"trustZone": el.boundary or outside[_outside_trust(el)]},
        }
        if el.description:
            c["description"] = el.description
        if el.tags:
            c["tags"] = list(el.tags)
        if el.stores or el.processes:
            c["assets"] = {"processed": list(el.processes), "stored": list(el.stores)}
        reps = _location_repr(el.location, el.id, base)
        if reps:
            c["representations"] = reps
        if on_element.get(el.id):
            c["threats"] = _instances(on_element[el.id])
        facts = el.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        facts = {k: v for k, v in facts.items() if k not in _OTM_ELEMENT_FIELDS}
        facts["kind"] = el.kind.value
        c["attributes"] = _attrs(facts)
        components.append(c)
    doc["components"] = components

    names = {el.id: el.name for el in model.elements}
    flows = []
    for fl in model.flows:
        d: dict[str, Any] = {
            "id": fl.id,
            "name": fl.name
            or f"{names.get(fl.source, fl.source)} to {names.get(fl.target, fl.target)}",
            "bidirectional": False,
            "source": fl.source,
            "destination": fl.target,
        }
        if fl.description:
            d["description"] = fl.description
        if fl.data:
            d["assets"] = list(fl.data)
        if on_flow.get(fl.id):
            d["threats"] = _instances(on_flow[fl.id])
        facts = {
            "protocol": fl.protocol,
            "encrypted": fl.encrypted,
            "authenticated": fl.authenticated,
            "controls": [c.model_dump(mode="json", exclude_defaults=True) for c in fl.controls],
            "unnamed": True if not fl.name else None,
        }
        # Always present, even empty: it marks the dataflow as ours, so that import reads
        # controls from here and not from the threat instances' implemented mitigations.
        d["attributes"] = _attrs(facts) or {otm_map.ATTR: {}}
        flows.append(d)
    doc["dataflows"] = flows
    doc["trustZones"] = zones

    rules = {f.rule.id: f.rule for f in findings}
    threats = []
    for rid in sorted(rules):
        r = rules[rid]
        cwes = [
            ref.split(":", 1)[1].rsplit("@", 1)[0] for ref in r.references if ref.startswith("cwe:")
        ]
        threats.append(
            {
                "name": r.title,
                "id": r.id,
                "description": r.description,
                "categories": [otm_map.STRIDE_NAMES[s] for s in r.stride],
                "cwes": cwes,
                "risk": {
                    "likelihood": otm_map.LIKELIHOOD[r.likelihood],
                    "impact": otm_map.IMPACT[r.severity],
                },
                "tags": [r.family],
                "attributes": {
                    otm_map.ATTR: {
                        "severity": r.severity,
                        "likelihood": r.likelihood,
                        "references": list(r.references),
                    }
                },
            }
        )
    doc["threats"] = threats
    mitigations: dict[str, dict[str, Any]] = {}
    for f in findings:
        for item in f.checklist:
            if item.control in mitigations:
                continue
            ctl = controls.get(item.control)
            mitigations[item.control] = {
                "name": getattr(ctl, "title", None) or item.control,
                "id": item.control,
                "description": getattr(ctl, "description", None) or item.why or item.control,
                "riskReduction": otm_map.RISK_REDUCTION,
            }
    doc["mitigations"] = [mitigations[k] for k in sorted(mitigations)]
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """Deterministic JSON text of an OTM document."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
