"""Likelihood and impact of each finding, worked out from the model, with the reason for each.

Likelihood starts from the rule's rating (how often the attack or failure is seen in systems
shaped like this one) and moves one step with the element's exposure: up when it is
internet-facing or untrusted parties reach it directly, down when only the organisation's own
components reach it. Impact is rated separately for confidentiality, integrity and
availability, from the severity of the finding on the dimensions its STRIDE categories touch;
a PHI record volume of 500 or more raises confidentiality (a breach that size needs media
notice, 164.406), output that feeds medical or safety decisions raises integrity and
availability (patient safety), and a component the model rates high or critical raises
availability. The overall impact is the largest of the three; risk is likelihood x impact.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from threatgraph.engine.findings import Finding
from threatgraph.graph import Graph
from threatgraph.model.schema import Classification, Trust

LIKELIHOOD_SCORE = {"low": 1, "medium": 2, "high": 3}
LIKELIHOOD_NAMES = {1: "low", 2: "medium", 3: "high"}
IMPACT_SCORE = {"info": 1, "low": 1, "medium": 2, "high": 3, "critical": 4}
IMPACT_NAMES = {0: "n/a", 1: "minor", 2: "moderate", 3: "major", 4: "severe"}
LEVELS: tuple[tuple[int, str], ...] = ((9, "critical"), (6, "high"), (3, "medium"), (1, "low"))
#: A breach of this many individuals' records or more must also be reported to the media
#: and to HHS without delay (164.406, 164.408(b)).
LARGE_BREACH = 500
#: Decision areas whose wrong answer can hurt a patient.
SAFETY_AREAS = frozenset({"medical", "safety"})

#: Which of confidentiality, integrity and availability each STRIDE category harms.
STRIDE_CIA: dict[str, tuple[str, ...]] = {
    "spoofing": ("c", "i"),
    "tampering": ("i",),
    "repudiation": ("i",),
    "information_disclosure": ("c",),
    "denial_of_service": ("a",),
    "elevation_of_privilege": ("c", "i"),
}


def level(score: int) -> str:
    """Risk level for a likelihood x impact product (0 means eliminated)."""
    if score <= 0:
        return "eliminated"
    for floor, name in LEVELS:
        if score >= floor:
            return name
    return "low"


@dataclass(frozen=True)
class Exposure:
    """How reachable an element is: 1 internal only, 2 partly exposed, 3 exposed."""

    step: int
    reason: str


def _reachers(g: Graph, eid: str) -> list[str]:
    """Elements that send to ``eid`` or ask it something, sorted."""
    who = {g.flow_source[fid] for fid in g.flows_in.get(eid, [])}
    who |= {req for fid in g.flows_out.get(eid, []) if (req := g.interactions[fid][0]) != eid}
    who.discard(eid)
    return sorted(who)


def exposure(g: Graph, eid: str) -> Exposure:
    """The exposure of one element, from its facts and the trust of who can reach it."""
    if eid not in g.elements:
        return Exposure(2, "no element to rate; rated as partly exposed")
    el = g.elements[eid]
    if el.internet_facing:
        return Exposure(3, "internet-facing")
    own = g.trust[eid]
    if own is Trust.UNTRUSTED:
        return Exposure(3, f"{g.describe(eid)} is itself untrusted")
    direct = _reachers(g, eid)
    worst = min(direct, key=lambda e: (g.trust[e].rank, e), default=None)
    if worst is not None and g.trust[worst] is Trust.UNTRUSTED:
        return Exposure(3, f"reached directly by {g.describe(worst)} (untrusted)")
    if own.rank <= Trust.PARTNER.rank:
        return Exposure(
            2, "held by a third party" if own is Trust.THIRD_PARTY else "held by a partner"
        )
    if worst is not None and g.trust[worst].rank <= Trust.PARTNER.rank:
        return Exposure(2, f"reached directly by {g.describe(worst)} ({g.trust[worst].value})")
    # Further back: the least trusted party whose content arrives through other components
    # (breadth first, so the nearest of the least trusted is named).
    seen = {eid, *direct}
    queue = deque(direct)
    found: tuple[int, str, str] | None = None  # (trust rank, who, through)
    while queue:
        cur = queue.popleft()
        for prev in _reachers(g, cur):
            if prev in seen:
                continue
            seen.add(prev)
            rank = g.trust[prev].rank
            if rank <= Trust.PARTNER.rank and (found is None or rank < found[0]):
                found = (rank, prev, cur)
            queue.append(prev)
    if found is not None:
        _rank, who, through = found
        return Exposure(
            2, f"reached through {g.describe(through)} by {g.describe(who)} ({g.trust[who].value})"
        )
    if not direct:
        return Exposure(1, "nothing in the model reaches it")
    return Exposure(1, "reached only by the organisation's own components")


@dataclass(frozen=True)
class Impact:
    """Impact per dimension (0 when the threat does not touch it, else 1..4) and reasons."""

    c: int
    i: int
    a: int
    reasons: tuple[str, ...]

    @property
    def overall(self) -> int:
        """The largest of the three."""
        return max(self.c, self.i, self.a, 1)


def _records(g: Graph, data_ids: Iterable[str]) -> tuple[int | None, bool]:
    """The largest record volume stated for these PHI data, and whether any PHI is unstated."""
    most: int | None = None
    unstated = False
    for did in data_ids:
        d = g.data.get(did)
        if d is None or d.classification is not Classification.PHI:
            continue
        if d.records is None:
            unstated = True
        else:
            most = d.records if most is None else max(most, d.records)
    return most, unstated


def _finding_data(g: Graph, f: Finding) -> set[str]:
    """Ids of the data a finding touches: its flow's, else what its elements hold."""
    if f.flow is not None and f.flow in g.flows:
        return set(g.flows[f.flow].flow.data)
    out: set[str] = set()
    for e in f.elements:
        el = g.elements.get(e)
        if el is None:
            continue
        out |= set(el.stores) | set(el.processes) | set(el.trained_on)
        for fid in (*g.flows_in.get(e, []), *g.flows_out.get(e, [])):
            out |= set(g.flows[fid].flow.data)
    return out


def _safety(g: Graph, eid: str) -> str:
    """The component (itself or one it feeds) whose output decides medical or safety matters."""
    cands = [eid, *sorted(g.flow_target[fid] for fid in g.flows_out.get(eid, []))]
    for e in cands:
        el = g.elements.get(e)
        if el is not None and SAFETY_AREAS & set(el.decides):
            return e
    return ""


def impact(g: Graph, f: Finding, phi: bool) -> Impact:
    """The impact of one finding on C, I and A, with the model facts that raised it."""
    base = IMPACT_SCORE[f.severity]
    dims = {d for s in f.rule.stride for d in STRIDE_CIA[s]}
    c, i, a = (base if d in dims else 0 for d in ("c", "i", "a"))
    reasons = [f"severity {f.severity} on {', '.join(_DIM_NAMES[d] for d in sorted(dims))}"]
    if phi and c:
        most, unstated = _records(g, _finding_data(g, f))
        if most is not None and most >= LARGE_BREACH:
            c = min(4, c + 1)
            reasons.append(f"ePHI of {most} individuals (a breach of 500 or more is reported)")
        elif most is not None:
            reasons.append(f"ePHI of {most} individuals")
        if unstated:
            reasons.append("ePHI record volume not stated")
    safety = _safety(g, f.element)
    if safety and (i or a):
        i, a = (min(4, x + 1) if x else 0 for x in (i, a))
        reasons.append(f"patient safety: {g.describe(safety)} decides medical or safety matters")
    el = g.elements.get(f.element)
    ops = el.operations if el is not None else None
    if a and ops is not None and ops.criticality in ("high", "critical"):
        a = min(4, a + 1)
        reasons.append(f"{g.describe(f.element)} is rated {ops.criticality}")
    return Impact(c, i, a, tuple(reasons))


_DIM_NAMES = {"a": "availability", "c": "confidentiality", "i": "integrity"}


@dataclass(frozen=True)
class Rating:
    """A finding's likelihood and impact with the reasons, and the resulting risk."""

    likelihood: int  # 1..3
    likelihood_reason: str
    impact: Impact

    @property
    def score(self) -> int:
        """Likelihood x impact (1..12)."""
        return self.likelihood * self.impact.overall

    @property
    def level(self) -> str:
        """low, medium, high or critical."""
        return level(self.score)


def rate(g: Graph, f: Finding, phi: bool) -> Rating:
    """Rate one finding from its rule, the exposure of its element and the model's facts."""
    rule_lk = LIKELIHOOD_SCORE[f.rule.likelihood]
    ex = exposure(g, f.element)
    if f.flow is not None and f.flow in g.flows:
        src = exposure(g, g.flow_source[f.flow])
        ex = max(ex, src, key=lambda x: x.step)
    lk = max(1, min(3, rule_lk + ex.step - 2))
    move = {3: "one step up", 2: "unchanged", 1: "one step down"}[ex.step]
    reason = f"rule rates it {f.rule.likelihood}; {ex.reason}: {move}"
    return Rating(lk, reason, impact(g, f, phi))


def lowered(score_likelihood: int, impact_overall: int) -> int:
    """The score once controls take the likelihood one step lower."""
    return max(1, score_likelihood - 1) * impact_overall


def matrix_rows() -> list[tuple[str, list[str]]]:
    """The matrix as rows (likelihood high..low) of levels per impact (minor..severe)."""
    return [(LIKELIHOOD_NAMES[lk], [level(lk * im) for im in (1, 2, 3, 4)]) for lk in (3, 2, 1)]
