"""Checklists that offer only what can be declared where it would be looked for.

A rule lists every control that mitigates its threat, but a control's catalogue entry says
which kinds of element (and whether flows) it can be declared on (``applies_to``). A rule that
matches stores and models alike would otherwise tell a datastore to log prompts. After the
engine has worked out a finding's status from its full checklist, :func:`trim` leaves out the
items whose control cannot apply at any place the rule looks for it on that finding. What
closes a finding does not change: an item that is present stays, a group of alternatives still
counts once, and when leaving items out would leave fewer groups than the rule needs, nothing
is left out and the finding says which control it needs where it cannot be declared (a rule
error that ``threats lint`` reports on the rule's fixtures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from threatgraph.engine.findings import CheckItem, Finding, group_keys, groups_needed
from threatgraph.engine.library import Control
from threatgraph.graph import Graph

#: The start of the note a finding gets when the rule needs a control that cannot be
#: declared where the rule looks for it (``threats lint`` reports it on fixtures).
UNCLOSABLE = "cannot be closed as the rule is written:"


def _place_can_hold(place: str, finding: Finding, graph: Graph, applies: frozenset[str]) -> bool:
    """Whether the control could be declared at one place the rule looks for it.

    Only places whose element is known from the finding alone are judged: the primary
    element, a vendor provider, a flow. Neighbours, path sources, the two ends of a flow and
    the model as a whole may be anything, so they always could hold it.
    """
    if place == "element" or (place == "target" and finding.flow is None):
        el = graph.elements.get(finding.element)
        return el is None or el.kind.value in applies
    if place == "provider":
        return "vendor" in applies
    if place == "flow":
        return "flow" in applies
    return True


def can_apply(item: CheckItem, finding: Finding, graph: Graph, control: Control | None) -> bool:
    """Whether the item's control can be declared at some place the rule looks for it on
    this finding (a control with no ``applies_to``, or unknown, applies anywhere)."""
    if control is None or not control.applies_to:
        return True
    applies = frozenset(control.applies_to)
    return any(_place_can_hold(p, finding, graph, applies) for p in item.places)


def trim(findings: Sequence[Finding], graph: Graph, controls: Mapping[str, Control]) -> None:
    """Leave out of each finding's checklist the absent items that cannot apply to it.

    Works on findings of library rules only (a checklist in the rule's mitigation order);
    the status is not touched. A finding whose rule would need a group that cannot apply
    keeps its whole checklist and gets a note naming the control and the element's kind.
    """
    # Whether each of a rule's items can apply depends only on the rule, the kind of the
    # finding's element and whether the finding is on a flow: worked out once for each.
    applies: dict[tuple[str, str, bool], list[bool]] = {}
    for f in findings:
        checklist = f.checklist
        rule = f.rule
        if len(checklist) != len(rule.mitigations) or not checklist:
            continue
        el = graph.elements.get(f.element)
        key = (rule.id, el.kind.value if el is not None else "", f.flow is None)
        can = applies.get(key)
        if can is None:
            can = applies[key] = [
                can_apply(item, f, graph, controls.get(item.control)) for item in checklist
            ]
        if all(can):
            continue
        keep = [item.present or ok for item, ok in zip(checklist, can, strict=True)]
        if all(keep):
            continue
        keys = group_keys(rule)
        left = {k for k, ok in zip(keys, keep, strict=True) if ok}
        if len(left) >= groups_needed(rule):
            f.checklist = [item for item, ok in zip(checklist, keep, strict=True) if ok]
            continue
        lost = sorted(
            {item.control for item, k in zip(checklist, keys, strict=True) if k not in left}
        )
        kind = graph.elements[f.element].kind.value if f.element in graph.elements else "?"
        f.notes.append(
            f"{UNCLOSABLE} it needs {', '.join(lost)}, which the control catalogue does not "
            f"let a {kind} declare"
        )


__all__ = ["UNCLOSABLE", "can_apply", "trim"]
