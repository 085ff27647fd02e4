"""Findings: a rule bound to elements and flows of one model, with its checklist."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from threatgraph.engine.rules import SEVERITIES, Rule
from threatgraph.model.schema import Decision, Location

Status = Literal["open", "mitigated", "accepted", "false_positive"]
STATUSES: tuple[Status, ...] = ("open", "mitigated", "accepted", "false_positive")


_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def severity_rank(severity: str) -> int:
    """0 (info) .. 4 (critical)."""
    try:
        return _RANK[severity]
    except KeyError:
        raise ValueError(f"{severity!r} is not a severity") from None


class CheckItem(NamedTuple):
    """One mitigation of a finding's checklist (a named tuple: immutable, and cheap to make
    for the tens of thousands a large model produces)."""

    control: str
    present: bool
    where: tuple[str, ...]  # ids of the elements/flows (or 'model'/'path') that declare it
    places: tuple[str, ...]  # where the rule looks for it
    why: str | None = None


@dataclass(slots=True)
class Finding:
    """A threat that applies to a model: a rule and what it bound to."""

    id: str
    rule: Rule
    model_id: str
    element: str  # the primary element id
    elements: tuple[str, ...]  # every element the finding binds (primary first)
    flow: str | None
    path: tuple[str, ...]  # witness path of element ids, for path rules
    path_flows: tuple[str, ...]
    sources: tuple[str, ...]  # every source that reaches the element, for path rules
    location: Location
    severity: str
    checklist: list[CheckItem]
    explanation: str
    status: Status = "open"
    decision: Decision | None = None
    notes: list[str] = field(default_factory=list)
    _fp: tuple[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def threat(self) -> str:
        """The rule id."""
        return self.rule.id

    @property
    def fingerprint(self) -> str:
        """A short stable hash of the id (SARIF partialFingerprints, CSV keys)."""
        # Kept with the id it was made from: JSON, SARIF and CSV each ask for it.
        got = self._fp
        if got is None or got[0] != self.id:
            got = self._fp = (self.id, hashlib.sha256(self.id.encode("utf-8")).hexdigest()[:16])
        return got[1]

    @property
    def missing(self) -> list[str]:
        """Controls still to declare."""
        return [c.control for c in self.checklist if not c.present]

    def sort_key(self) -> tuple[int, str, str]:
        """Worst first, then by rule and id: a deterministic order."""
        return (-_RANK[self.severity], self.rule.id, self.id)


def group_keys(rule: Rule) -> list[str]:
    """The group of each of the rule's mitigations, in order: its ``group``, or the control
    itself when it has none (then it is an alternative to nothing)."""
    return [m.group or f"control:{m.control}" for m in rule.mitigations]


def groups_needed(rule: Rule) -> int:
    """How many groups (alternatives counted once) must be present to mitigate the rule."""
    ngroups = len(set(group_keys(rule)))
    need = {"all": ngroups, "any": 1}.get(str(rule.mitigated_when))
    return int(rule.mitigated_when) if need is None else need


class StillNeeded(NamedTuple):
    """What closes an open finding: ``needed`` more of the ``missing`` alternatives, each a
    tuple of controls any one of which counts (a group), in the rule's order."""

    needed: int
    missing: tuple[tuple[str, ...], ...]


def still_needed(rule: Rule, checklist: list[CheckItem]) -> StillNeeded:
    """The groups of the checklist that are not present, and how many of them it still takes.

    The checklist is in the rule's mitigation order (the engine builds it so), possibly
    with items left out that cannot apply to the finding (:mod:`threatgraph.engine.applicable`
    leaves out only what leaves enough groups to close it); a checklist that does not line up
    with the rule (a converted pytm threat) is read one control a group.
    """
    index = aligned(rule, checklist)
    if index is not None:
        every = group_keys(rule)
        keys = [every[i] for i in index]
        need = groups_needed(rule)
    else:
        keys = [f"item:{i}" for i in range(len(checklist))]
        need = len(keys)
    present = {k for k, item in zip(keys, checklist, strict=True) if item.present}
    missing: dict[str, list[str]] = {}
    for k, item in zip(keys, checklist, strict=True):
        if k not in present:
            missing.setdefault(k, []).append(item.control)
    return StillNeeded(
        max(0, min(need - len(present), len(missing))),
        tuple(tuple(v) for v in missing.values()),
    )


def aligned(rule: Rule, checklist: list[CheckItem]) -> list[int] | None:
    """The index of the rule's mitigation behind each checklist item, or None when the
    checklist is neither the rule's list nor a part of it in the same order (a converted pytm
    threat). Items are matched in order by control and why, since one control may sit in two
    groups; a checklist may have items left out (:mod:`threatgraph.engine.applicable`)."""
    mits = rule.mitigations
    if len(checklist) == len(mits):
        return list(range(len(mits)))
    out: list[int] = []
    i = 0
    for item in checklist:
        while i < len(mits) and (mits[i].control != item.control or mits[i].why != item.why):
            i += 1
        if i == len(mits):
            return None
        out.append(i)
        i += 1
    return out


def finding_id(rule_id: str, bound: list[str]) -> str:
    """Stable id: the rule id and the stable ids of what it binds."""
    return f"{rule_id}/{'+'.join(bound)}"
