"""Section 1 of the risk analysis: the scope (boundaries, components, data)."""

from __future__ import annotations

from dataclasses import dataclass

from threatgraph.features.sra.common import element_loc, zone
from threatgraph.graph import Graph


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
class Scope:
    """Boundaries (name, trust, parent name), components and data (name, class, text)."""

    boundaries: list[tuple[str, str, str]]
    elements: list[ElementRow]
    data: list[tuple[str, str, str]]


def build(g: Graph) -> Scope:
    """The scope of one model, sorted for a stable document."""
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
                zone=zone(g, e.id),
                trust=g.trust[e.id].value,
                vendor=g.describe(e.provider) if e.provider else "",
                owner=e.owner or "",
                location=element_loc(e),
            )
            for e in g.elements.values()
        ),
        key=lambda r: (r.zone, r.kind, r.name, r.id),
    )
    data = sorted((d.name, d.classification.value, d.description or "") for d in g.data.values())
    return Scope(boundaries, elements, data)
