"""Section 3 of the risk analysis, second part: threats that are not about AI.

A HIPAA risk analysis weighs every reasonably anticipated threat to ePHI, not only attacks on
models: natural disasters (fire, flood, storm), environmental failures (power, cooling, water,
hardware), human error, the loss or theft of a device, and ransomware. For each component that
holds ePHI this section lists the threats that apply, the controls the model declares against
them and those it lacks, with the component's site, criticality and recovery objectives, and
the patching, scanning and penetration-test cadence the model states ("not stated" otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

from threatgraph.features.sra.assets import NOT_SYSTEMS, Inventory, operations
from threatgraph.graph import Graph

#: Threat, what it harms, the controls that answer it, and whether it needs ePHI at rest.
THREATS: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    (
        "Natural disaster (fire, flood, storm, earthquake)",
        "availability and integrity of the ePHI it keeps",
        ("infra.backup", "hipaa.contingency_plan"),
        True,
    ),
    (
        "Environmental failure (power, cooling, water, hardware)",
        "availability of the ePHI it keeps",
        ("infra.backup", "hipaa.contingency_plan"),
        True,
    ),
    (
        "Human error (misconfiguration, misdirected data, accidental deletion)",
        "confidentiality and integrity",
        ("audit.logging", "authz.least_privilege", "process.security_training"),
        False,
    ),
    (
        "Ransomware and malicious software",
        "availability and confidentiality",
        ("infra.backup", "infra.hardening", "supply.vulnerability_scanning"),
        False,
    ),
)
DEVICE_LOSS = (
    "Loss or theft of the device",
    "confidentiality of the ePHI on it",
    ("crypto.at_rest", "hipaa.device_media_controls"),
)


@dataclass
class ThreatRow:
    """One non-AI threat to one component holding ePHI."""

    component: str
    threat: str
    harms: str
    present: list[str]
    missing: list[str]


@dataclass
class ContinuityRow:
    """Site, criticality, recovery objectives and cadences of one component holding ePHI."""

    component: str
    site: str
    criticality: str
    rto: str
    rpo: str
    patching: str
    scanning: str
    pentest: str


@dataclass
class Continuity:
    """The non-AI threats and the continuity facts of the components holding ePHI."""

    threats: list[ThreatRow]
    components: list[ContinuityRow]


def _stated(value: int | None, unit: str) -> str:
    return f"{value} {unit}" if value is not None else "not stated"


def build(g: Graph, inv: Inventory) -> Continuity:
    """The section for every (non-vendor) component holding ePHI, in inventory order."""
    model_controls = {c.id for c in g.model.model.controls}
    threats: list[ThreatRow] = []
    comps: list[ContinuityRow] = []
    for h in inv.holders:
        el = g.elements[h.id]
        if el.kind in NOT_SYSTEMS:
            continue
        have = el.control_ids() | model_controls
        ops = operations(g, el)
        stores = "stores" in h.how or "trained on" in h.how
        chosen = [(t, harms, ctl) for t, harms, ctl, at_rest in THREATS if stores or not at_rest]
        if ops.portable:
            chosen.append(DEVICE_LOSS)
        for threat, harms, ctl in chosen:
            threats.append(
                ThreatRow(
                    component=el.name,
                    threat=threat,
                    harms=harms,
                    present=[c for c in ctl if c in have],
                    missing=[c for c in ctl if c not in have],
                )
            )
        comps.append(
            ContinuityRow(
                component=el.name,
                site=ops.site or "not stated",
                criticality=ops.criticality or "not stated",
                rto=_stated(ops.rto_hours, "hours"),
                rpo=_stated(ops.rpo_hours, "hours"),
                patching=_stated(ops.patch_days, "days"),
                scanning=_stated(ops.scan_days, "days"),
                pentest=_stated(ops.pentest_days, "days"),
            )
        )
    return Continuity(threats, comps)
