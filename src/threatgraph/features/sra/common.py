"""Helpers every section of the risk analysis uses, and the one import of the vendor facts.

The vendor predicates (BAA in force, attestations, breach-notification limit...) are imported
here and nowhere else in the package, so moving them out of the engine changes one line.
"""

from __future__ import annotations

from datetime import date

from threatgraph.engine.compile import kinds_of, vendor_received_data
from threatgraph.engine.findings import Finding
from threatgraph.formats.view import decision_text
from threatgraph.graph import Graph
from threatgraph.model.schema import SENSITIVE, Classification, Element, Kind, Location
from threatgraph.model.vendors import (
    BREACH_NOTIFICATION_LIMIT_DAYS,
    SECURITY_ATTESTATIONS,
    assessment_overdue,
    baa_covers,
    baa_in_force,
)
from threatgraph.util.paths import display_path

__all__ = [
    "BREACH_NOTIFICATION_LIMIT_DAYS",
    "PHI",
    "SECURITY_ATTESTATIONS",
    "Received",
    "assessment_overdue",
    "baa_covers",
    "baa_in_force",
    "data_of",
    "days_after",
    "decision_text",
    "kinds_of",
    "loc",
    "received_data",
    "where_text",
    "zone",
]

PHI = Classification.PHI
#: Vendor id -> the classifications of data that reach it (directly, hosted, sub-processed).
Received = dict[str, frozenset[Classification]]


def received_data(g: Graph) -> Received:
    """What reaches each vendor, through its hosted services and as a sub-processor."""
    return vendor_received_data(g, lambda e: frozenset(g.element_data(e)))


def days_after(day: date, days: int) -> str:
    """The ISO date ``days`` after ``day``, or "after 9999-12-31" past the last date Python
    has: --as-of 9999-12-31 and an assessment on 9999-12-31 are valid input, and their next
    review saturates instead of overflowing."""
    n = day.toordinal() + days
    if n > date.max.toordinal():
        return f"after {date.max.isoformat()}"
    return date.fromordinal(max(n, 1)).isoformat()


def zone(g: Graph, eid: str) -> str:
    """'Boundary name (trust)' of an element."""
    chain = g.boundary_chain.get(eid, ())
    name = g.boundaries[chain[0]].name if chain else "outside any boundary"
    return f"{name} ({g.trust[eid].value})"


def loc(where: Location | None) -> str:
    """'file:line' of a declaration, or ''."""
    return f"{display_path(where.file)}:{where.line}" if where is not None and where.line else ""


def element_loc(el: Element) -> str:
    """'file:line' of an element's declaration, or ''."""
    return loc(el.location)


def data_of(g: Graph, f: Finding, received: Received) -> str:
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


def where_text(g: Graph, places: tuple[str, ...], f: Finding) -> str:
    """Where a missing control goes, in words."""
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
